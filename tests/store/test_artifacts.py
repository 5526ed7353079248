"""GeoParquet artifacts: metadata that other tools read correctly."""

from __future__ import annotations

import geopandas as gpd
import pyarrow as pa

from leafnb.store.artifacts import write_geoparquet


def test_geoparquet_declares_wgs84_lon_lat(tmp_path):
    table = pa.table({"lon": [9.0, 9.1], "lat": [52.0, 52.1], "speed": [1.0, 2.0]})
    path = write_geoparquet(tmp_path / "p.parquet", table)
    gdf = gpd.read_parquet(path)
    assert gdf.crs is not None and gdf.crs.equals("OGC:CRS84")
    assert gdf.crs.to_epsg() in (4326, None)
    assert list(gdf.geometry.x) == [9.0, 9.1]


def test_geometry_is_a_native_point_column_holding_lon_lat(tmp_path):
    import json

    import pyarrow.parquet as pq

    table = pa.table({"lon": [9.0, None], "lat": [52.0, 52.1]})
    path = write_geoparquet(tmp_path / "p.parquet", table)
    stored = pq.read_table(path)
    geo = json.loads(stored.schema.metadata[b"geo"])
    assert geo["columns"]["geometry"]["encoding"] == "point"
    points = stored["geometry"].to_pylist()
    assert points[0] == {"x": 9.0, "y": 52.0}
    assert points[1]["x"] != points[1]["x"]  # a missing longitude is NaN, never null
