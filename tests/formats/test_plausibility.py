"""Issue 14 item 9: silently wrong geometry and time are caught and said.

Degrees under a UTM ``.prj`` no longer collapse to one point; a garbage ``.prj`` is
reported as unreadable (not missing); swapped lat/lon are detected (out of range, or by
the file's own heading/distance); years 1900/2999 are refused; mixed-geometry,
all-null-geometry and 0-byte files say why they were not converted.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pyarrow as pa
import pytest

from leafnb.errors import CorruptFile
from leafnb.formats.delimited import CsvReader
from leafnb.formats.detect import detect
from leafnb.formats.geojson import GeoJSONReader
from leafnb.formats.positions import check_axis_order, to_wgs84
from leafnb.formats.shapefile import ShapefileReader
from leafnb.formats.timeparse import build_timestamp
from leafnb.testing import make_points, write_as
from tests.conftest import make_zip

S, C, G = ShapefileReader(), CsvReader(), GeoJSONReader()


@pytest.fixture
def sms(tmp_path):
    return write_as(make_points("harvested", 200, seed=4), "sms_shapefile", tmp_path)


def _write_prj(shp, crs_or_text):
    from pyproj import CRS

    text = crs_or_text
    if not isinstance(crs_or_text, str) or crs_or_text.startswith("EPSG:"):
        text = CRS.from_user_input(crs_or_text).to_wkt("WKT1_ESRI")
    shp.with_suffix(".prj").write_text(text)


def test_degrees_under_a_utm_prj_are_read_as_degrees(sms):
    before = S.read(sms).table
    _write_prj(sms, "EPSG:26915")  # NAD83 / UTM 15N: Iowa is inside its area of use
    raw = S.read(sms)
    np.testing.assert_allclose(raw.table["lon"].to_numpy(), before["lon"].to_numpy())
    np.testing.assert_allclose(raw.table["lat"].to_numpy(), before["lat"].to_numpy())
    assert any(
        "are degrees although the CRS says NAD83 / UTM zone 15N" in i
        for i in raw.issues
    )


def test_without_the_rule_degrees_in_utm_collapse_to_one_point():
    """Why the rule exists: projecting degrees as UTM metres lands within metres of one spot."""
    from pyproj import Transformer

    lon = np.array([-93.60, -93.55, -93.50])
    lat = np.array([41.50, 41.55, 41.60])
    x, y = Transformer.from_crs(26915, 4326, always_xy=True).transform(lon, lat)
    assert np.ptp(x) < 1e-5 and np.ptp(y) < 1e-5
    wx, _wy, notes = to_wgs84(lon, lat, "EPSG:26915", name="t.shp", reader="shapefile")
    np.testing.assert_allclose(wx, lon)
    assert notes


def test_a_garbage_prj_is_unreadable_not_missing(sms):
    _write_prj(sms, "this is not a projection at all")
    raw = S.read(sms)
    text = " ".join(raw.issues)
    assert "cannot be read as a coordinate system ('this is not a projection" in text
    assert "missing" not in text


def test_garbage_prj_with_projected_values_fails_naming_the_prj(tmp_path):
    import geopandas as gpd

    pts = make_points("harvested", 50)
    path = write_as(pts, "sms_shapefile", tmp_path)
    gdf = gpd.read_file(path).to_crs(26915)
    out = tmp_path / "utm" / "utm.shp"
    out.parent.mkdir()
    gdf.to_file(out)
    _write_prj(out, "GEOGCS[garbage")
    with pytest.raises(
        CorruptFile, match=r"utm\.prj cannot be read as a coordinate system"
    ):
        S.read(out)


def test_projected_values_that_do_not_fit_the_prj_fail(tmp_path):
    import geopandas as gpd

    path = write_as(make_points("harvested", 50), "sms_shapefile", tmp_path)
    gdf = gpd.read_file(path).to_crs(26915)  # metres of UTM 15N ...
    out = tmp_path / "wrong" / "w.shp"
    out.parent.mkdir()
    gdf.to_file(out)
    _write_prj(out, "EPSG:27700")  # ... declared as the British National Grid
    with pytest.raises(CorruptFile, match="do not fit the declared CRS OSGB36"):
        S.read(out)


def test_swapped_projected_axes_are_swapped_back():
    from pyproj import Transformer

    lon = np.linspace(-93.6, -93.59, 30)
    lat = np.linspace(41.50, 41.51, 30)
    x, y = Transformer.from_crs(4326, 26915, always_xy=True).transform(lon, lat)
    wx, _wy, notes = to_wgs84(y, x, "EPSG:26915", name="t.csv", reader="csv")
    np.testing.assert_allclose(wx, lon, atol=1e-7)
    assert "swapped" in notes[0]


def _track(lon0, lat0, n=120, heading=30.0, step_m=2.0):
    """A straight pass: positions plus the logged heading (deg) and distance (m)."""
    from leafnb.standard.area_yield import EARTH_RADIUS_M

    d = np.arange(n) * step_m
    h = np.radians(heading)
    lat = lat0 + np.degrees(d * np.cos(h) / EARTH_RADIUS_M)
    lon = lon0 + np.degrees(d * np.sin(h) / (EARTH_RADIUS_M * np.cos(np.radians(lat0))))
    return lon, lat, np.full(n, heading), np.full(n, step_m)


def test_swapped_lat_lon_both_in_range_detected_by_heading_and_distance():
    lon, lat, heading, dist = _track(9.5, 54.3)
    # columns swapped: "lon" holds latitudes; both interpretations are within range
    out_lon, _out_lat, note = check_axis_order(
        lat, lon, {"heading": heading, "distance": dist}, name="f.csv"
    )
    np.testing.assert_allclose(out_lon, lon)
    assert "swapped back" in note
    # the right order is left alone, and without logged motion nothing can be judged
    same = check_axis_order(lon, lat, {"heading": heading, "distance": dist}, name="f")
    assert same[2] is None
    assert check_axis_order(lat, lon, {}, name="f")[2] is None


def test_swapped_lat_lon_in_a_csv_end_to_end(tmp_path):
    lon, lat, heading, dist = _track(9.5, 54.3)
    rows = [
        f"{la:.8f},{lo:.8f},{h:.1f},{d:.2f},8.{i % 9},2024-08-01T10:00:{i % 60:02d}Z"
        for i, (lo, la, h, d) in enumerate(zip(lon, lat, heading, dist, strict=True))
    ]
    p = tmp_path / "swapped.csv"
    header = "Longitude,Latitude,Heading(deg),Distance(m),Yield(t/ha),Time\n"
    p.write_text(header + "\n".join(rows) + "\n")
    raw = C.read(p)
    np.testing.assert_allclose(raw.table["lon"].to_numpy(), lon, atol=1e-7)
    assert any("swapped back" in i for i in raw.issues)


def test_latitudes_beyond_90_mean_swapped_columns(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(
        "Latitude,Longitude,seedRate\n"
        + "".join(f"{-93.6 + i * 1e-5:.6f},42.0,30000\n" for i in range(20))
    )
    raw = C.read(p)
    assert raw.table.num_rows == 20
    assert raw.table["lon"][0].as_py() == pytest.approx(-93.6)
    assert any("beyond ±90°" in i for i in raw.issues)


@pytest.mark.parametrize("year", [1900, 1970, 2999])
def test_implausible_years_are_refused(year):
    good = [f"2024-10-01T12:00:{i:02d}Z" for i in range(8)]
    bad = [f"{year}-10-01T12:00:{i:02d}Z" for i in range(2)]
    t = pa.table({"Time": good + bad})
    ts, notes, n_bad = build_timestamp(t, {"datetime": "Time"})
    assert n_bad == 2 and ts.null_count == 2
    assert any(f"year {year}" in n and "outside 1990 to today" in n for n in notes)


def test_future_years_in_a_file_become_missing_with_a_note(tmp_path):
    p = tmp_path / "y.csv"
    p.write_text(
        "Longitude,Latitude,Time,Yld Vol(Dry)(bu/ac)\n"
        + "".join(
            f"{-93.6 + i * 3e-5:.6f},42.0,2999-10-01T12:00:{i:02d}Z,150\n"
            for i in range(10)
        )
    )
    raw = C.read(p)
    assert raw.table.num_rows == 10  # records kept
    assert raw.table["timestamp"].null_count == 10
    assert any(
        "10 timestamps in 'Time' are outside 1990 to today" in i for i in raw.issues
    )


def test_mixed_geometry_geojson_reads_the_points_and_counts_the_rest(tmp_path):
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-93.6 + i * 1e-5, 42.0]},
            "properties": {"seedRate": 30000 + i},
        }
        for i in range(10)
    ]
    feats.insert(
        3,
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[-93.6, 42], [-93.5, 42]],
            },
            "properties": {"seedRate": 1},
        },
    )
    p = tmp_path / "mixed.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    assert G.sniff(p) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = G.read(p)
    assert raw.table.num_rows == 10
    assert raw.meta["skipped_records"] == 1
    assert any("1 LineString features among the points" in i for i in raw.issues)


def test_all_null_geometry_shapefile_fails_with_its_reason(tmp_path):
    import geopandas as gpd
    import pyogrio

    gdf = gpd.GeoDataFrame(
        {"Yld_Vol_Dr": [150.0, 151.0]}, geometry=[None, None], crs=4326
    )
    path = tmp_path / "null.shp"
    pyogrio.write_dataframe(gdf, path, geometry_type="Point")
    assert S.sniff(path) > 0
    with pytest.raises(CorruptFile, match="none of the 2 records has a position"):
        S.read(path)


def test_ignored_files_say_why(tmp_path):
    import geopandas as gpd
    import shapely

    root = tmp_path / "up"
    root.mkdir()
    (root / "empty.csv").write_bytes(b"")
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    (root / "orphan.dbf").write_bytes(b"\x03" + b"\x00" * 40)
    poly = gpd.GeoDataFrame(
        {"name": ["f"]}, geometry=[shapely.box(-93.6, 42, -93.5, 42.1)], crs=4326
    )
    poly.to_file(root / "boundary.shp")
    (root / "lines.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[0, 0], [1, 1]],
                        },
                        "properties": {},
                    }
                ],
            }
        )
    )
    det = detect(root)
    r = det.reasons
    assert r["empty.csv"] == "empty file (0 bytes)"
    assert r["notes.pdf"] == "no reader for .pdf files"
    assert r["orphan.dbf"] == "a .dbf side file without its main file"
    assert r["boundary.shp"].startswith("polygon shapefile: a boundary")
    assert (
        "LineString" in r["lines.geojson"]
        and "not machine points" in r["lines.geojson"]
    )
    assert set(r) == set(det.ignored)


def test_batch_records_ignored_reasons(workspace, tmp_path):
    z = make_zip(tmp_path / "u.zip", {"empty.txt": b"", "readme.pdf": b"%PDF"})
    batch = workspace.upload_batch(z, "g", progress=False)
    assert batch["ignoredReasons"] == {
        "empty.txt": "empty file (0 bytes)",
        "readme.pdf": "no reader for .pdf files",
    }


def test_sms_dataset_labels_give_start_plus_cumulative_duration():
    """Each dataset's start time is its label without the ``(...)`` tail (parsed once
    per label); a later record of a dataset follows its first by the sum of the
    ``Duration_s`` of the records after the first, its own included."""
    labels = ["13/09/30-16:45:42 (2007)"] * 3 + ["13/10/01-08:00:00 (2008)"] * 2
    labels.insert(2, None)
    t = pa.table(
        {"Dataset": labels, "Duration_s": [1.0, 2.0, 5.0, 1.5, 1.0, 3.0]},
    )
    ts, notes, _ = build_timestamp(
        t, {"sms_dataset": "Dataset"}, duration_column="Duration_s"
    )
    first = int(np.datetime64("2013-09-30T16:45:42", "ms").astype("int64"))
    second = int(np.datetime64("2013-10-01T08:00:00", "ms").astype("int64"))
    expected = [first, first + 2000, None, first + 2000 + 1500, second, second + 3000]
    got = ts.cast(pa.int64()).to_pylist()
    assert got == expected
    assert any("SMS Dataset start time" in n for n in notes)
