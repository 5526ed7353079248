"""Field records: create a field from a boundary (REST or ISOXML partfield) and change one.

Boundaries are stored in WGS84 with their area (ha) and a geometry hash; an ISOXML partfield
whose boundary a field of the same leafUserId already has does not make a second field.
Automerge is the caller's (the face's) business.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from leafnb.context import Context
from leafnb.errors import InvalidRequest
from leafnb.keys import Event
from leafnb.operations.fields import (
    area_m2,
    geojson,
    geometry_hash,
    load_boundary,
    to_multipolygon,
)
from leafnb.store import records

__all__ = [
    "change_field",
    "create_field",
    "field_from_partfield",
    "insert_field",
    "update_field",
]


def insert_field(
    ctx: Context,
    leaf_user_id: str,
    geom,
    name: str | None,
    source: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """Record a field with boundary *geom* (WGS84 shapely); return its id (alert fieldCreated)."""
    field_id = str(uuid.uuid4())
    doc = {"geometry": geojson(geom), **(extra or {})}
    records.insert_field(
        ctx.catalog,
        field_id,
        leaf_user_id,
        name,
        source,
        area_m2(geom) / 10_000.0,
        geometry_hash(geom),
        doc,
    )
    if hasattr(Event, "FIELD_CREATED"):
        ctx.events.emit(
            Event.FIELD_CREATED,
            fieldId=field_id,
            leafUserId=leaf_user_id,
            source="REST",
        )
    return field_id


def field_from_partfield(
    ctx: Context, leaf_user_id: str, feature: dict[str, Any], file_id: str
) -> str | None:
    """A field from an ISOXML partfield Feature; None when the boundary is already a field."""
    geom = to_multipolygon(shape(feature["geometry"]), fix=True)
    if records.field_with_hash(ctx.catalog, leaf_user_id, geometry_hash(geom)):
        return None
    props = feature.get("properties") or {}
    return insert_field(
        ctx,
        leaf_user_id,
        geom,
        props.get("name") or props.get("id"),
        "ISOXML",
        {"sourceFileId": file_id, "partfieldId": props.get("id")},
    )


def update_field(
    ctx: Context, field_id: str, leaf_user_id: str, geom=None, name: str | None = None
) -> None:
    """Change a field's boundary (when *geom*) and/or name (alert fieldUpdated)."""
    if geom is None:
        records.update_field(ctx.catalog, field_id, name=name)
    else:
        records.update_field(
            ctx.catalog,
            field_id,
            name=name,
            geometry=geojson(geom),
            area_ha=area_m2(geom) / 10_000.0,
            geom_hash=geometry_hash(geom),
        )
    if hasattr(Event, "FIELD_UPDATED"):
        ctx.events.emit(
            Event.FIELD_UPDATED,
            fieldId=field_id,
            leafUserId=leaf_user_id,
            source="REST",
        )


def create_field(
    ctx: Context,
    leaf_user_id: str,
    geometry: Any = None,
    path: str | Path | None = None,
    name: str | None = None,
    crs: str | None = None,
) -> tuple[str, bool]:
    """Create a field from a boundary given through the REST API (alert fieldCreated).

    Parameters
    ----------
    ctx : Context
        Records, events and configuration.
    leaf_user_id : str
        Owner of the field.
    geometry : dict, str or shapely geometry, optional
        The boundary (see :func:`leafnb.operations.fields.load_boundary`).
    path : path, optional
        Instead of *geometry*: a boundary file.
    name : str, optional
        Field name (default: a name found in the source, else the file stem, else ``field``).
    crs : str, optional
        CRS of the coordinates when the source does not say.

    Returns
    -------
    tuple of (str, bool)
        The new field's id, and whether the leafUserId's config asks automerge to follow
        (``fieldOperationCreation``).

    Raises
    ------
    InvalidRequest
        No leafUserId, no boundary, or an unreadable or invalid one.
    """
    if not leaf_user_id or not isinstance(leaf_user_id, str):
        raise InvalidRequest("leafUserId is required")
    config = ctx.config(leaf_user_id)
    fix = bool(config.get("automaticFixBoundary", True))
    if geometry is None and path is None:
        raise InvalidRequest("give a boundary geometry or a path")
    geom, found = load_boundary(geometry, path, crs, fix=fix)
    name = name or found or (Path(path).stem if path else None) or "field"
    field_id = insert_field(ctx, leaf_user_id, geom, name, "REST")
    return field_id, bool(config.get("fieldOperationCreation", True))


def change_field(
    ctx: Context,
    field_id: str,
    geometry: Any = None,
    path: str | Path | None = None,
    name: str | None = None,
    crs: str | None = None,
) -> tuple[str, bool]:
    """Change a field's boundary (when *geometry* or *path*) and/or name (alert fieldUpdated).

    Parameters
    ----------
    ctx : Context
        Records, events and configuration.
    field_id : str
        The field.
    geometry, path, crs
        A new boundary, read as by :func:`create_field`; neither keeps the boundary.
    name : str, optional
        A new name.

    Returns
    -------
    tuple of (str, bool)
        The field's leafUserId, and whether automerge should follow (the boundary moved
        and ``fieldOperationCreation`` is on).

    Raises
    ------
    NotFound
        Unknown field.
    InvalidRequest
        An unreadable or invalid boundary.
    """
    uid = records.field_resource(ctx.catalog, records.field_row(ctx.catalog, field_id))[
        "leafUserId"
    ]
    moved = geometry is not None or path is not None
    fix = bool(ctx.config(uid).get("automaticFixBoundary", True))
    geom = load_boundary(geometry, path, crs, fix=fix)[0] if moved else None
    update_field(ctx, field_id, uid, geom, name)
    return uid, bool(moved and ctx.config(uid).get("fieldOperationCreation", True))
