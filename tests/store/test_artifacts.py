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


def test_the_stored_crs_is_ogc_crs84_as_pyproj_writes_it():
    """``crs84.json`` (read instead of importing pyproj) is the CRS pyproj makes of OGC:CRS84."""
    from pyproj import CRS

    from leafnb.store.artifacts import _crs84_projjson

    stored = CRS.from_json_dict(_crs84_projjson())
    assert stored.equals(CRS("OGC:CRS84"))
    assert stored.to_authority() == ("OGC", "CRS84")


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


def test_units_map_in_the_footer_and_units_json_of_an_older_folder(tmp_path):
    """stored_units: the footer of standard.parquet (whole or range by range), else units.json."""
    import json

    import pytest

    from leafnb.store.artifacts import (
        UNITS_KEY,
        PointsWriter,
        footer_entry,
        read_points_table,
        stored_units,
        units_entry,
        write_geoparquet,
    )

    table = pa.table({"lon": [1.0, 2.0], "lat": [3.0, 4.0], "speed": [5.0, 6.0]})
    units = {"speed": "km/h"}
    whole, ranged, old, empty = (tmp_path / n for n in ("w", "r", "o", "e"))
    for folder in (whole, ranged, old, empty):
        folder.mkdir()
    write_geoparquet(
        whole / "standard.parquet", table, {"units": units}, footer=units_entry(units)
    )
    writer = PointsWriter(ranged / "standard.parquet", {"units": units})
    writer.write(table.slice(0, 1))
    writer.write(table.slice(1))
    writer.close(footer=units_entry(units))  # known after the last range
    assert stored_units(whole) == stored_units(ranged) == units
    assert json.loads(footer_entry(whole / "standard.parquet", UNITS_KEY)) == units
    # the footer entry is not one of the points' metadata (not carried into a merge)
    assert "propertyUnits" not in read_points_table(whole / "standard.parquet")[1]
    # a folder of an earlier leafnb: no footer entry, units.json beside
    write_geoparquet(old / "standard.parquet", table, {"units": units})
    (old / "units.json").write_text(json.dumps({"speed": "mi/hr"}))
    assert stored_units(old) == {"speed": "mi/hr"}
    with pytest.raises(FileNotFoundError):
        stored_units(empty)
