from __future__ import annotations

import json

import numpy as np
import pytest

from leafnb.errors import CorruptFile, SkippedRecordsWarning
from leafnb.formats.shapefile import ShapefileReader
from leafnb.testing import make_points, write_as

R = ShapefileReader()


@pytest.fixture
def sms(tmp_path):
    return write_as(make_points("harvested", 300, seed=2), "sms_shapefile", tmp_path)


def test_sniff_sidecars_describe(sms):
    assert R.sniff(sms) == 0.9
    assert {p.suffix for p in R.sidecars(sms)} == {".dbf", ".shx", ".prj", ".cpg"}
    assert R.describe(sms)["provider"] == "AgLeader"
    assert R.sniff(sms.with_suffix(".dbf")) == 0.0


def test_missing_dbf_is_corrupt(sms):
    sms.with_suffix(".dbf").unlink()
    assert R.sniff(sms) == 0.2
    with pytest.raises(CorruptFile, match=r"missing its \.dbf"):
        R.read(sms)


def test_missing_prj_with_degrees_reads_as_wgs84(sms):
    sms.with_suffix(".prj").unlink()
    raw = R.read(sms)
    assert any("no CRS" in i for i in raw.issues)
    assert raw.table["lon"].to_numpy().min() > -94


def test_projected_shapefile_is_reprojected(tmp_path):
    import geopandas as gpd

    pts = make_points("harvested", 100)
    path = write_as(pts, "sms_shapefile", tmp_path)
    gdf = gpd.read_file(path).to_crs(26915)
    out = tmp_path / "utm" / "utm.shp"
    out.parent.mkdir()
    gdf.to_file(out)
    raw = R.read(out)
    np.testing.assert_allclose(
        raw.table["lon"].to_numpy(), pts["lon"].to_numpy(), atol=1e-7
    )
    assert raw.meta["crs"] != "EPSG:4326"


def test_projected_without_prj_is_corrupt(tmp_path):
    import geopandas as gpd

    path = write_as(make_points("harvested", 50), "sms_shapefile", tmp_path)
    out = tmp_path / "p" / "p.shp"
    out.parent.mkdir()
    gpd.read_file(path).to_crs(26915).to_file(out)
    out.with_suffix(".prj").unlink()
    with pytest.raises(CorruptFile, match="not degrees"):
        R.read(out)


def test_polygons_sniff_zero(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    out = tmp_path / "boundary.shp"
    gpd.GeoDataFrame(
        {"Crop": ["corn"]}, geometry=[box(-93.6, 42.0, -93.5, 42.1)], crs=4326
    ).to_file(out)
    assert R.sniff(out) == 0.0


def test_null_geometry_is_skipped_and_counted(tmp_path):
    import geopandas as gpd

    path = write_as(make_points("harvested", 50), "sms_shapefile", tmp_path)
    gdf = gpd.read_file(path)
    gdf.loc[3, "geometry"] = None
    out = tmp_path / "n" / "n.shp"
    out.parent.mkdir()
    gdf.to_file(out)
    with pytest.warns(SkippedRecordsWarning):
        raw = R.read(out)
    assert raw.meta["record_count"] == 50
    assert raw.meta["skipped_records"] == 1
    assert raw.table.num_rows == 49


def test_jd_metadata(tmp_path):
    path = write_as(make_points("planted", 200), "jd_shapefile", tmp_path)
    assert path.with_suffix(".json") in R.sidecars(path)
    d = R.describe(path)
    assert d == {
        "provider": "JohnDeere",
        "file_format": "SHAPEFILE",
        "operation_type": "planted",
    }
    raw = R.read(path)
    assert raw.meta["operation_type"] == "planted"
    assert raw.meta["original_operation_type"] == "Seeding"
    assert raw.meta["crop"] == "corn"
    assert raw.meta["machinery"][0]["name"] == "8R 370"
    assert raw.meta["columns"]["Elevation"].unit == "m"


def test_nul_filled_dbf_column(tmp_path):
    path = write_as(make_points("harvested", 30), "sms_shapefile", tmp_path)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    # blank the 'Field' column (first field, 1 byte deletion flag) with NULs
    header_len = int.from_bytes(data[8:10], "little")
    rec_len = int.from_bytes(data[10:12], "little")
    width = data[32 + 16]
    for i in range(30):
        start = header_len + i * rec_len + 1
        data[start : start + width] = b"\x00" * width
    dbf.write_bytes(bytes(data))
    raw = R.read(path)
    assert raw.table.num_rows == 30
    assert json.dumps(raw.table["Field"].to_pylist())
