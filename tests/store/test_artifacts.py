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


def test_geo_metadata_text_is_json_dumps_of_it():
    """``_geo_text`` (the CRS encoded once) writes what ``json.dumps`` does."""
    import json

    from leafnb.store.artifacts import _geo_text, geoparquet_metadata

    for lon, lat in (
        ([1.0, -93.5], [2.0, 42.1]),
        ([float("nan"), 3.0], [0.5, 1.0]),
        ([], []),
    ):
        table = pa.table({"lon": pa.array(lon, pa.float64()), "lat": lat})
        for bbox in (True, False):
            geo = geoparquet_metadata(table, bbox=bbox)
            assert _geo_text(geo) == json.dumps(geo)
    other = {"version": "1.1.0", "columns": {"geometry": {"crs": None}}}
    assert _geo_text(other) == json.dumps(other)
