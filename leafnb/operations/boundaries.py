"""Field records: create a field from a boundary (REST or ISOXML partfield) and change one.

Boundaries are stored in WGS84 with their area (ha) and a geometry hash; an ISOXML partfield
whose boundary a field of the same leafUserId already has does not make a second field.
Automerge is the caller's (the face's) business.
"""

from __future__ import annotations

import uuid
from typing import Any

from shapely.geometry import shape

from leafnb.context import Context
from leafnb.keys import Event
from leafnb.operations.fields import area_m2, geojson, geometry_hash, to_multipolygon
from leafnb.store import records

__all__ = ["field_from_partfield", "insert_field", "update_field"]


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
