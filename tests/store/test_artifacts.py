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
