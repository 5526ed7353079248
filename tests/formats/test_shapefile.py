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
    metadata = path.parent / f"{path.stem}-Deere-Metadata.json"
    assert metadata in R.sidecars(path)
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
    assert raw.meta["original_operation_data"]["originalOperationField"] == "North 80"
    assert raw.meta["columns"]["Elevation"].unit == "m"  # the metadata's unit
    assert raw.meta["columns"]["VRSEEDRATE"].unit == "seeds/ac"


def _jd_export(tmp_path, op_name, names, units, values):
    """A JD export as another tool saved it again: abbreviated DBF names, the metadata's full ones."""
    import geopandas as gpd

    n = len(next(iter(values.values())))
    gdf = gpd.GeoDataFrame(
        dict(zip(names, values.values(), strict=True)),
        geometry=gpd.points_from_xy(
            -96.67 + np.arange(n) * 1e-5, np.full(n, 49.55), crs="EPSG:4326"
        ),
    )
    path = tmp_path / "Client-Farm-Field-Wheat.shp"
    gdf.to_file(path, engine="pyogrio")
    meta = {
        "Version": "1.0",
        "FieldName": "Millview",
        "Operation": op_name,
        "CropToken": "WHEAT_HRD_RD_SPR",
        "DataAttributes": [
            {"Name": full, "Unit": unit} if unit else {"Name": full}
            for full, unit in zip(values, units, strict=True)
        ],
    }
    (tmp_path / "Client-Farm-Field-Wheat-Deere-Metadata.json").write_text(
        json.dumps(meta), encoding="utf-8"
    )
    return path


def test_jd_seeding_export_rates_are_seed_rates_by_mass(tmp_path):
    """Operations Center's seeding export: AppliedRate/TargetRate in lb1ac-1 are the seed rate.

    The DBF names are abbreviated (as the OFPEDATA set's); the metadata's
    ``DataAttributes`` name them and give their ADAPT units.
    """
    n = 40
    values = {
        "IsoTime": [f"2019-05-05T04:{i // 60:02d}:{i % 60:02d}.000Z" for i in range(n)],
        "AppliedRate": np.full(n, 172.0),
        "TargetRate": np.full(n, 180.0),
        "ControlRate": np.full(n, 180.0),
        "SWATHWIDTH": np.full(n, 31.5),
        "DISTANCE": np.full(n, 4.0),
        "Heading": np.full(n, 90.0),
        "Elevation": np.full(n, 859.6),
    }
    names = [
        "IsoTime",
        "AppldRt",
        "TargtRt",
        "CntrlRt",
        "SWATHWI",
        "DISTANC",
        "Heading",
        "Elevatn",
    ]
    units = [None, "lb1ac-1", "lb1ac-1", "lb1ac-1", "ft", "ft", None, "ft"]
    path = _jd_export(tmp_path, "Seeding", names, units, values)
    raw = R.read(path)
    assert raw.meta["operation_type"] == "planted"
    assert raw.meta["crop"] == "wheat (hrd rd spr)"
    cols = raw.meta["columns"]
    assert (cols["AppliedRate"].property, cols["AppliedRate"].unit) == (
        "seedRate",
        "lb/ac",
    )
    assert (cols["TargetRate"].property, cols["TargetRate"].unit) == (
        "seedRateTarget",
        "lb/ac",
    )
    assert (cols["SWATHWIDTH"].property, cols["SWATHWIDTH"].unit) == (
        "equipmentWidth",
        "ft",
    )
    assert "AppldRt → AppliedRate" in " ".join(raw.issues)
    # the same export as an application: the product's rate
    (tmp_path / "a").mkdir()
    cols = R.read(_jd_export(tmp_path / "a", "Application", names, units, values)).meta[
        "columns"
    ]
    assert (cols["AppliedRate"].property, cols["AppliedRate"].unit) == (
        "appliedRate",
        "lb/ac",
    )


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
