"""Points of a file that lie inside no field of its leafUserId (``outsideFieldGeojson``).

A point is outside when no field boundary of the file's leafUserId contains it (the same
point-in-polygon test as cropping, :func:`leafnb.operations.combine.clip_mask`). The result
is written as ``outsideField.geojson`` in the file's folder, again on every request, so it
follows the current fields.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from shapely.geometry import shape

from leafnb.context import Context
from leafnb.errors import InvalidRequest
from leafnb.operations.combine import clip_mask
from leafnb.resources import Resource
from leafnb.store.artifacts import read_points_table, write_geojson
from leafnb.store.records import (
    file_artifact,
    file_row,
    processed_upload_rows,
    user_field_geometries,
)

__all__ = ["file_outside_field_geojson", "files_outside_field_geojson"]


def file_outside_field_geojson(ctx: Context, file_id: str) -> Resource:
    """Write and describe the points of a file inside no field of its leafUserId.

    Parameters
    ----------
    ctx : Context
        Records, layout and configuration.
    file_id : str
        A converted file.

    Returns
    -------
    Resource
        ``{fields, featureCount, outsideFieldGeojson, downloadOutsideFieldGeojson}``.

    Raises
    ------
    NotFound
        Unknown file, or one without standard points.
    InvalidRequest
        ``splitOperationsByField`` or ``enableOutsideFieldGeojson`` is not set.
    """
    row = file_row(ctx.catalog, file_id)
    config = ctx.config(row["leaf_user_id"])
    if not (
        config.get("splitOperationsByField") and config.get("enableOutsideFieldGeojson")
    ):
        raise InvalidRequest(
            "outsideFieldGeojson needs splitOperationsByField and enableOutsideFieldGeojson set to true"
        )
    table, _ = read_points_table(
        file_artifact(ctx.catalog, ctx.layout, file_id, "standard.parquet")
    )
    lon = table.column("lon").to_numpy(zero_copy_only=False)
    lat = table.column("lat").to_numpy(zero_copy_only=False)
    inside = np.zeros(len(lon), dtype=bool)
    for geometry in user_field_geometries(ctx.catalog, row["leaf_user_id"]):
        inside |= clip_mask(lon, lat, shape(geometry))
    outside = table.filter(pa.array(~inside))
    target = ctx.layout.file_dir(file_id) / "outsideField.geojson"
    write_geojson(target, outside)
    return Resource(
        fields=ctx.catalog.loads(row["doc"]).get("fields", []),
        featureCount=outside.num_rows,
        outsideFieldGeojson=str(target),
        downloadOutsideFieldGeojson=target.as_uri(),
    )


def files_outside_field_geojson(ctx: Context, leaf_user_id: str) -> list[Resource]:
    """The outside-field points of every processed uploaded/provider file that has any.

    Parameters
    ----------
    ctx : Context
        Records, layout and configuration.
    leaf_user_id : str
        Owner of the files.

    Returns
    -------
    list of Resource
        :func:`file_outside_field_geojson` of each such file, with its ``id`` first.
    """
    out = []
    for r in processed_upload_rows(ctx.catalog, leaf_user_id):
        item = file_outside_field_geojson(ctx, r["id"])
        if item["featureCount"]:
            out.append(Resource(id=r["id"], **item))
    return out
