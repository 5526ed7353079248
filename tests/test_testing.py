"""leafnb.testing: generator properties and the write → read round trip of every format."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.formats.delimited import AgLeaderTextReader, CsvReader
from leafnb.formats.geojson import GeoJSONReader
from leafnb.formats.geopackage import GeoPackageReader
from leafnb.formats.shapefile import ShapefileReader
from leafnb.standard.optype import detect_operation_type
from leafnb.testing import (
    FORMATS,
    assert_points_equal,
    make_points,
    point_units,
    to_standard,
    write_as,
    write_samples,
)

READERS = [
    ShapefileReader(),
    GeoPackageReader(),
    GeoJSONReader(),
    CsvReader(),
    AgLeaderTextReader(),
]
EXPECTED_READER = {
    "sms_shapefile": "shapefile",
    "jd_shapefile": "shapefile",
    "geopackage": "geopackage",
    "sms_csv": "csv",
    "csv_wkt": "csv",
    "agleader_text": "agleader_text",
    "farmobile_geojson": "geojson",
}
EXPECTED_PROVIDER = {
    "sms_shapefile": "AgLeader",
    "jd_shapefile": "JohnDeere",
    "geopackage": "AgLeader",
    "sms_csv": "AgLeader",
    "agleader_text": "AgLeader",
    "farmobile_geojson": "Farmobile",
}
CASES = [(fmt, op) for fmt, ops in FORMATS.items() for op in ops]


@pytest.mark.parametrize("op", ["harvested", "planted", "applied", "tillage"])
def test_make_points_is_deterministic_and_realistic(op):
    a, b = make_points(op, 800, seed=3), make_points(op, 800, seed=3)
    assert a.equals(b)
    assert a.num_rows == 800
    units = point_units(a)
    assert {"distance", "speed", "heading", "elevation", "equipmentWidth"} <= set(units)
    speed = a["speed"].to_numpy()
    assert (speed == 0).any()  # stops at turns
    on = np.array(a["recordingStatus"].to_pylist()) == "On"
    expected = {"harvested": 2.0, "planted": 2.5, "applied": 4.0, "tillage": 3.0}[op]
    assert np.median(speed[on]) == pytest.approx(expected, rel=0.05)
    lon, lat = a["lon"].to_numpy(), a["lat"].to_numpy()
    assert np.all((lon > -93.7) & (lon < -93.5) & (lat > 41.9) & (lat < 42.1))
    ts = a["timestamp"].cast("int64").to_numpy()
    assert np.all(np.diff(ts) == 1000)
    props = [
        c for c in a.column_names if c not in ("lon", "lat", "timestamp", "passNumber")
    ]
    if op != "tillage":
        assert str(detect_operation_type(props)) == op


def test_harvest_bad_points_and_spatial_yield():
    pts = make_points("harvested", 2000, seed=0)
    moist = pts["harvestMoisture"].to_numpy()
    assert moist.max() == 45.0  # the spike
    dist = pts["distance"].to_numpy()
    assert dist.max() > 250  # the GPS jump
    yld = pts["wetMassPerArea"].to_numpy()
    on = yld > 0
    assert 8000 < np.median(yld[on]) < 14000  # kg/ha of wet corn
    np.testing.assert_allclose(
        pts["wetMass"].to_numpy(),
        yld * pts["area"].to_numpy() / 10_000,
        rtol=1e-3,
        atol=1e-3,
    )


@pytest.mark.parametrize(("fmt", "op"), CASES, ids=[f"{f}-{o}" for f, o in CASES])
def test_round_trip(tmp_path, fmt, op):
    pts = make_points(op, 700, seed=5)
    path = write_as(pts, fmt, tmp_path)
    scores = {r.name: r.sniff(path) for r in READERS}
    reader = max(READERS, key=lambda r: scores[r.name])
    assert reader.name == EXPECTED_READER[fmt], scores
    raw = reader.read(path)
    assert raw.meta["record_count"] == 700
    assert raw.meta["skipped_records"] == 0
    if fmt in EXPECTED_PROVIDER:
        assert raw.meta.get("provider") == EXPECTED_PROVIDER[fmt]
    std = to_standard(raw, point_units(pts))
    assert_points_equal(pts, std, rtol=1e-5, atol=1e-4)
    props = set(std.column_names) - {"lon", "lat", "timestamp"}
    assert len(props) >= 6
    found = raw.meta.get("operation_type") or detect_operation_type(
        c.property for c in raw.meta["columns"].values()
    )
    if op != "tillage":  # tillage has no evidence property in csv_wkt beyond depths
        assert str(found) == op


def test_write_as_rejects_unsupported(tmp_path):
    with pytest.raises(ValueError, match="does not carry tillage"):
        write_as(make_points("tillage", 50), "sms_shapefile", tmp_path)
    with pytest.raises(ValueError, match="unknown format"):
        write_as(make_points("harvested", 50), "nope", tmp_path)


def test_assert_points_equal_detects_differences():
    a = make_points("harvested", 100)
    b = a.set_column(a.column_names.index("wetMass"), "wetMass", [[0.0] * 100])
    with pytest.raises(AssertionError, match="wetMass"):
        assert_points_equal(a, b)


def test_write_samples(tmp_path):
    paths = write_samples(tmp_path)
    assert [p.suffix for p in paths] == [".shp", ".shp", ".csv", ".txt"]
    assert (tmp_path / "jd_planting_corn-Deere-Metadata.json").exists()
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total < 2_000_000
