"""Helpers for rendering tests: points written straight into a workspace as a file or operation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from leafnb.store.artifacts import write_geoparquet


def put_points(
    ws,
    rid: str,
    columns: dict,
    units: dict | None = None,
    *,
    op: str = "harvested",
    kind: str = "standard",
    folder: str = "operations",
):
    """Write a points table (lon/lat + properties) as ``<folder>/<rid>/<kind>.parquet``."""
    table = pa.table({k: np.asarray(v) for k, v in columns.items()})
    return write_geoparquet(
        ws.path / folder / rid / f"{kind}.parquet",
        table,
        {"units": units or {}, "operation_type": op},
    )


def utm_to_lonlat(x, y, epsg=32615):
    from pyproj import Transformer

    t = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    lon, lat = t.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


@pytest.fixture
def harvest_op(workspace):
    """A simulated harvest operation (generated points, 3000 of them) with id ``op1``."""
    from leafnb.testing import make_points, point_units

    t = make_points("harvested", 3000, seed=2)
    write_geoparquet(
        workspace.path / "operations" / "op1" / "standard.parquet",
        t.replace_schema_metadata(None),
        {"units": point_units(t), "operation_type": "harvested"},
    )
    return workspace, "op1"
