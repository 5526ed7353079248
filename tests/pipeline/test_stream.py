"""A big file converted in record ranges gives what the file read whole gives (leafnb.pipeline.stream)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import leafnb.pipeline.steps as steps
from leafnb.errors import RangedReadWarning
from leafnb.formats import delimited
from leafnb.formats.base import NotRanged
from leafnb.formats.timeparse import _cumulative_ms
from leafnb.pipeline import stream
from leafnb.pipeline.steps import FileJob, convert_file
from leafnb.standard.area_yield import running_distance
from leafnb.store.artifacts import read_points_table, stored_units
from leafnb.testing import make_points, write_as


def convert_in_ranges(
    path: Path,
    reader: str,
    out: Path,
    rows: int,
    monkeypatch,
    part: str | None = None,
    config: dict | None = None,
) -> tuple:
    """Convert *path* with ranges of *rows* records; (outcome, folder, streamed?)."""
    monkeypatch.setattr(stream, "STREAM_ROWS", rows)
    monkeypatch.setattr(stream, "STREAM_ABOVE", rows)
    streamed = []

    def spy(*args, **kwargs):
        result = stream.stream_standard(*args, **kwargs)
        streamed.append(result is not None)
        return result

    monkeypatch.setattr(steps, "stream_standard", spy)
    out.mkdir(parents=True)
    outcome = convert_file(
        FileJob("f", reader, str(path), part, str(out), config or {})
    )
    return outcome, out, streamed == [True]


def ranged_and_whole(
    path: Path,
    reader: str,
    tmp_path: Path,
    monkeypatch,
    rows: int = 700,
    config: dict | None = None,
) -> tuple[tuple, tuple]:
    """*path* converted in ranges of *rows* records and whole (:func:`convert_in_ranges`)."""
    ranged = convert_in_ranges(
        path, reader, tmp_path / "ranged", rows, monkeypatch, config=config
    )
    whole = convert_in_ranges(
        path, reader, tmp_path / "whole", 10**9, monkeypatch, config=config
    )
    return ranged, whole


def _mapping_decisions(facts: dict) -> str:
    """The facts without the evidence a column mapping quotes (it is the first range's)."""
    facts = dict(facts)
    if "columnMapping" in facts:
        facts["columnMapping"] = stream._decisions(
            {"column_mapping": facts["columnMapping"]}
        )["column_mapping"]
    return json.dumps(facts, sort_keys=True, default=str)


def same_values(x: pa.ChunkedArray, y: pa.ChunkedArray) -> bool:
    """Equal columns, NaN equal to NaN (Arrow's ``equals`` says NaN != NaN)."""
    if x.type != y.type or x.null_count != y.null_count:
        return False
    if x.equals(y):
        return True
    if not pa.types.is_floating(x.type):
        return False
    if not x.is_null().equals(y.is_null()):
        return False
    a = x.to_numpy(zero_copy_only=False)
    b = y.to_numpy(zero_copy_only=False)
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def assert_same_conversion(ranged: tuple, whole: tuple) -> None:
    """Every step, fact and artifact of the two conversions agree (see stream's docstring)."""
    (a, folder_a, _), (b, folder_b, _) = ranged, whole
    assert [vars(s) for s in a.steps] == [vars(s) for s in b.steps]
    assert _mapping_decisions(a.facts) == _mapping_decisions(b.facts)
    names = sorted(p.name for p in folder_b.iterdir())
    assert sorted(p.name for p in folder_a.iterdir()) == names
    # the units map, in the footer: a streamed file's is known only after its last range
    assert stored_units(folder_a) == stored_units(folder_b)
    for name in names:
        x, y = folder_a / name, folder_b / name
        if name == "standard.parquet":
            (tx, mx), (ty, my) = read_points_table(x), read_points_table(y)
            assert mx == my
            # columns are in the order of the first range's mapping evidence
            assert sorted(tx.column_names) == sorted(ty.column_names)
            differ = [c for c in ty.column_names if not same_values(tx[c], ty[c])]
            assert not differ, (name, differ)
        elif name.endswith(".parquet"):
            assert pq.read_table(x).equals(pq.read_table(y)), name
        else:
            assert x.read_bytes() == y.read_bytes(), name


_READERS = {
    ".gpkg": "geopackage",
    ".shp": "shapefile",
    ".csv": "csv",
    ".txt": "agleader_text",
    ".geojson": "geojson",
}


@pytest.mark.parametrize(
    "fmt",
    [
        "geopackage",
        "sms_shapefile",
        "jd_shapefile",
        "sms_csv",
        "csv_wkt",
        "agleader_text",
        "farmobile_geojson",
    ],
)
def test_ranges_give_the_whole_file_conversion(fmt, tmp_path, monkeypatch):
    points = make_points("harvested", 3000, seed=3)
    path = write_as(points, fmt, tmp_path / "src")
    reader = _READERS[path.suffix]
    ranged, whole = ranged_and_whole(path, reader, tmp_path, monkeypatch)
    assert ranged[2] and not whole[2]
    assert not ranged[0].failed
    assert_same_conversion(ranged, whole)


def test_coverage_in_blocks_is_the_same_whole_and_in_ranges(tmp_path, monkeypatch):
    """The footprint's blocks (leafnb.standard.coverage) cross the ranges' boundaries."""
    import leafnb.standard.coverage as coverage

    monkeypatch.setattr(coverage, "BLOCK_POSITIONS", 450)
    points = make_points("harvested", 3000, seed=5)
    path = write_as(points, "geopackage", tmp_path / "src")
    ranged, whole = ranged_and_whole(path, "geopackage", tmp_path, monkeypatch)
    assert ranged[2] and not whole[2]
    assert_same_conversion(ranged, whole)
    summary = json.loads((ranged[1] / "summary.json").read_text())
    assert summary["geometry"]["type"] == "MultiPolygon"


def test_time_running_back_converts_the_file_whole(tmp_path, monkeypatch):
    """The speed window needs the records before a range: a log whose time goes back is read whole."""
    points = make_points("harvested", 2000, seed=4)
    ts = points.column("timestamp")
    shifted = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False).copy()
    shifted[1500:] -= 3_600_000  # an hour back, in the third range
    points = points.set_column(
        points.schema.get_field_index("timestamp"),
        "timestamp",
        pa.array(shifted, pa.int64()).cast(ts.type),
    )
    path = write_as(points, "jd_shapefile", tmp_path / "src")  # times as written
    ranged = convert_in_ranges(path, "shapefile", tmp_path / "ranged", 600, monkeypatch)
    whole = convert_in_ranges(path, "shapefile", tmp_path / "whole", 10**9, monkeypatch)
    assert not ranged[2]
    assert_same_conversion(ranged, whole)


def test_a_defect_of_the_ranged_path_converts_whole_and_warns(tmp_path, monkeypatch):
    """A bug in the ranges (here a TypeError) does not cost the file, but is said: an
    UnboundLocalError once sent every ISOXML log of more than 32 MiB to the whole read
    unnoticed (3.5 GB for 10M records)."""
    points = make_points("harvested", 2000, seed=6)
    path = write_as(points, "geopackage", tmp_path / "src")
    whole = convert_in_ranges(
        path, "geopackage", tmp_path / "whole", 10**9, monkeypatch
    )

    def broken(self, ranges):
        raise TypeError("a defect")

    monkeypatch.setattr(stream._Run, "convert", broken)
    with pytest.warns(RangedReadWarning, match="TypeError: a defect"):
        ranged = convert_in_ranges(
            path, "geopackage", tmp_path / "ranged", 700, monkeypatch
        )
    assert not ranged[2] and not ranged[0].failed
    assert_same_conversion(ranged, whole)


def test_a_reader_refusing_ranges_converts_whole_quietly(tmp_path, monkeypatch, caplog):
    """NotRanged (a reader's answer, not a defect) reads whole without a warning."""
    points = make_points("harvested", 2000, seed=6)
    path = write_as(points, "geopackage", tmp_path / "src")

    def refused(self, ranges):
        raise NotRanged("the ranges would differ")

    monkeypatch.setattr(stream._Run, "convert", refused)
    caplog.set_level("INFO", logger="leafnb.pipeline.stream")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranged = convert_in_ranges(
            path, "geopackage", tmp_path / "ranged", 700, monkeypatch
        )
    assert not ranged[2] and not ranged[0].failed
    assert "converted whole: the ranges would differ" in caplog.text


@pytest.mark.parametrize(
    "fmt", ["sms_shapefile", "geopackage", "farmobile_geojson", "agleader_text"]
)
def test_skipped_records_are_counted_over_the_ranges(fmt, tmp_path, monkeypatch):
    """A record without a position is skipped and counted by its range; the sum is the file's."""
    points = make_points("harvested", 2000, seed=5)
    lon = points.column("lon").to_numpy().copy()
    lon[[300, 1700, 1701]] = 400.0  # no longitude: skipped and counted
    points = points.set_column(
        points.schema.get_field_index("lon"), "lon", pa.array(lon)
    )
    path = write_as(points, fmt, tmp_path / "src")
    reader = _READERS[path.suffix]
    ranged = convert_in_ranges(path, reader, tmp_path / "ranged", 600, monkeypatch)
    whole = convert_in_ranges(path, reader, tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not whole[2]
    assert "3 malformed records skipped" in ranged[0].steps[1].message
    assert ranged[0].facts["skippedRecords"] == 3
    assert_same_conversion(ranged, whole)


def _spoil(path: Path, edits: list[tuple[int, str | None, bytes]]) -> None:
    """Set field *column* of data line *i* to *value* (*column* None: the whole line)."""
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    lines = data.split(newline)
    header = lines[0].split(b",")
    for i, column, value in edits:
        if column is None:
            lines[1 + i] = value
            continue
        fields = lines[1 + i].split(b",")
        fields[header.index(column.encode("latin-1"))] = value
        lines[1 + i] = b",".join(fields)
    path.write_bytes(newline.join(lines))


def test_unreadable_cells_and_lines_are_counted_over_the_ranges(tmp_path, monkeypatch):
    """Bad cells, lines and positions in several ranges: the notes of the file read whole.

    A column's examples are its first three distinct bad cells in the file; a column
    with bad cells only in a later range still takes its place in the file's order.
    """
    points = make_points("harvested", 3000, seed=6)
    path = write_as(points, "sms_csv", tmp_path / "src")
    moisture, speed = "Moisture(%)", "Speed(km/h)"
    _spoil(
        path,
        [
            (100, moisture, b"x"),  # range 1
            (150, moisture, b"-"),
            (900, "Longitude", b"400"),  # range 2: no position
            (1600, None, b"1,2"),  # range 3: not a record of this file
            (2200, moisture, b"bad"),  # range 4: a third and fourth example
            (2300, moisture, b"?"),
            (2400, moisture, b"x"),
            (2500, speed, b"fast"),  # a column before Moisture, bad in range 4 only
        ],
    )
    ranged = convert_in_ranges(path, "csv", tmp_path / "ranged", 700, monkeypatch)
    whole = convert_in_ranges(path, "csv", tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not whole[2]
    assert not ranged[0].failed
    notes = ranged[0].facts["notes"]
    assert (
        "6 unparseable cells read as missing: Speed(km/h) 1 ('fast'); "
        "Moisture(%) 5 ('x', '-', 'bad')" in notes
    )
    assert any("skipped 2 of 3000 records" in n for n in notes), notes
    assert ranged[0].facts["skippedRecords"] == 2
    assert_same_conversion(ranged, whole)


# real files of several tools; ranges far smaller than the default make many seams
REAL = [
    ("shapefile/datacarpentry_trial_lesson_gpkg/asplanted.gpkg", "geopackage"),
    ("shapefile/datacarpentry_trial_lesson_gpkg/asapplied.gpkg", "geopackage"),
    (
        "shapefile/isu_strips_yield/agleader_advanced_export/2007-basswood.shp",
        "shapefile",
    ),
    (
        "shapefile/isu_strips_yield/agleader_advanced_export/2010-orbweaver.shp",
        "shapefile",
    ),
    (
        "shapefile/isu_strips_yield/sms_shapefile_export_2013/"
        "GARY_WILDIFE_ORB NORTH 2999_2013_SOYBEANS_1.shp",
        "shapefile",
    ),
    ("csv/csiro_pyprecag/area1_yield_ascii_wgs84.csv", "csv"),
    (
        "shapefile/isu_strips_yield/agleader_advanced_export/2010-orbweaver.txt",
        "agleader_text",
    ),
]


@pytest.mark.parametrize(("name", "reader"), REAL)
def test_real_files_in_ranges(name, reader, shared_data, tmp_path, monkeypatch):
    path = shared_data / name
    ranged = convert_in_ranges(path, reader, tmp_path / "ranged", 500, monkeypatch)
    whole = convert_in_ranges(path, reader, tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2], "converted in ranges"
    assert not ranged[0].failed
    assert_same_conversion(ranged, whole)


@pytest.mark.parametrize(
    "name",
    [
        "shapefile/isu_strips_yield/agleader_advanced_export/2010-orbweaver.shp",
        "shapefile/datacarpentry_trial_lesson_gpkg/asplanted.gpkg",
    ],
)
def test_real_records_saved_as_geojson_in_ranges(
    name, shared_data, tmp_path, monkeypatch
):
    """Real records saved as GeoJSON by GDAL (as QGIS's "Save as" does): in ranges as read
    whole, with the summary totals of the original file."""
    import pyogrio

    src = shared_data / name
    meta, table = pyogrio.read_arrow(src)
    path = tmp_path / "src" / f"{src.stem}.geojson"
    path.parent.mkdir()
    pyogrio.write_arrow(
        table,
        path,
        driver="GeoJSON",
        geometry_name=meta["geometry_name"] or "wkb_geometry",
        geometry_type=meta["geometry_type"],
        crs=meta["crs"],
    )
    ranged = convert_in_ranges(path, "geojson", tmp_path / "ranged", 500, monkeypatch)
    whole = convert_in_ranges(path, "geojson", tmp_path / "whole", 10**9, monkeypatch)
    original = convert_in_ranges(
        src, _READERS[src.suffix], tmp_path / "original", 10**9, monkeypatch
    )
    assert ranged[2] and not ranged[0].failed
    assert_same_conversion(ranged, whole)
    totals = [
        {
            k: v
            for k, v in json.loads((c[1] / "summary.json").read_text())[
                "properties"
            ].items()
            if k.startswith("total")
        }
        for c in (whole, original)
    ]
    assert totals[0] == totals[1] and totals[0]


def test_geojson_features_are_counted_across_the_scan_s_chunks(tmp_path, monkeypatch):
    from leafnb.formats import geojson

    points = make_points("harvested", 257, seed=5)
    path = write_as(points, "farmobile_geojson", tmp_path)
    expected = len(json.loads(path.read_text())["features"])
    for size in (7, 9, 64, 1000, 1 << 20):  # a "Feature" token cut at every place
        monkeypatch.setattr(geojson, "_SCAN_BYTES", size)
        assert geojson.feature_count(path) == expected == 257


def test_text_ranges_put_the_head_before_each_run_of_lines(tmp_path):
    path = tmp_path / "a.csv"
    body = b"".join(b"%d,%d\r\n" % (i, i * i) for i in range(10))
    path.write_bytes(b"\r\n \r\nx,y\r\n" + body)  # blank lines before the header
    runs = list(delimited.text_ranges(path, 4))
    head = b"\r\n \r\nx,y\r\n"
    assert all(r.startswith(head) for r in runs)
    assert b"".join(r[len(head) :] for r in runs) == body
    assert [r.count(b"\n") - 3 for r in runs] == [4, 4, 2]
    assert delimited.text_record_count(path) == 13  # every line
    assert b"".join(delimited.text_ranges(path, 4, header=False)) == path.read_bytes()


def test_the_head_of_text_with_a_byte_order_mark_ends_with_its_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\nx,y\r\n1,2\r\n3,4\r\n")
    runs = list(delimited.text_ranges(path, 1))
    assert runs == [
        b"\xef\xbb\xbf\r\nx,y\r\n1,2\r\n",
        b"\xef\xbb\xbf\r\nx,y\r\n3,4\r\n",
    ]


def test_a_quoted_field_across_two_ranges_converts_the_file_whole(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b'x,note\n1,"one\ntwo"\n2,b\n')
    with pytest.raises(ValueError, match="quoted field"):
        list(delimited.text_ranges(path, 1))
    assert len(list(delimited.text_ranges(path, 2))) == 2  # the field in one range


def test_utf16_text_is_read_whole(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("x,y\n1,2\n".encode("utf-16"))
    assert delimited.text_record_count(path) is None


def _read_whole_as_ranges_differ(path: Path, tmp_path, monkeypatch, caplog) -> tuple:
    """Convert the CSV *path* in ranges of 600: its reader decisions differ, so it is read whole."""
    with caplog.at_level("INFO", logger="leafnb.pipeline.stream"):
        ranged = convert_in_ranges(path, "csv", tmp_path / "ranged", 600, monkeypatch)
    assert "reader differs between record ranges" in caplog.text
    whole = convert_in_ranges(path, "csv", tmp_path / "whole", 10**9, monkeypatch)
    assert not ranged[2]
    assert_same_conversion(ranged, whole)
    return ranged


def test_a_later_range_in_another_encoding_converts_the_file_whole(
    tmp_path, monkeypatch, caplog
):
    """Read whole, a file that is not UTF-8 throughout is cp1252 throughout."""
    path = write_as(make_points("harvested", 2000, seed=6), "sms_csv", tmp_path / "src")
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b"\xb0", b"")  # an ASCII header ("Air Temp(C)")
    lines[1800] = lines[1800].replace(b",Corn,", b",Ma\xefs,")  # cp1252: "Maïs"
    path.write_bytes(b"\n".join(lines))
    runs = list(delimited.text_ranges(path, 600))
    encodings = [delimited.decode_text(r)[1] for r in runs]
    assert encodings == ["utf-8", "utf-8", "cp1252", "utf-8"]
    _read_whole_as_ranges_differ(path, tmp_path, monkeypatch, caplog)


def test_held_values_of_a_decoded_time_log_run_on_across_ranges(tmp_path, monkeypatch):
    """A time log decoded to CSV ('90/-1 columns) logs a value when it changes; it holds until the next."""
    rng = np.random.default_rng(8)
    n = 3000
    t0 = np.datetime64("2012-05-16T09:59:18")
    total = np.cumsum(rng.uniform(5, 15, n))  # DDI 90, a running total (kg)
    lines = ["Date,Time,Latitude,Longitude,'99/-1,'90/-1,'141/-1"]
    for i in range(n):
        t = (t0 + np.timedelta64(i, "s")).astype(object)
        moisture = str(int(rng.integers(120_000, 180_000))) if i % 7 == 3 else ""
        mass = f"{total[i]:.0f}" if i % 11 == 5 else ""
        state = ("1" if (i // 400) % 4 else "0") if i % 400 == 17 else ""
        lines.append(
            f"{t:%d.%m.%Y},{t:%H:%M:%S},{52.31 + i * 1e-5:.7f},{7.375:.7f},"
            f"{moisture},{mass},{state}"
        )
    path = tmp_path / "TLG00001.csv"
    path.write_text("\n".join(lines) + "\n")
    ranged = convert_in_ranges(path, "csv", tmp_path / "ranged", 500, monkeypatch)
    whole = convert_in_ranges(path, "csv", tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not ranged[0].failed
    points, _ = read_points_table(ranged[1] / "standard.parquet")
    assert {"harvestMoisture", "wetMass", "recordingStatus"} <= set(points.column_names)
    assert_same_conversion(ranged, whole)


def test_a_range_that_reads_its_dates_another_way_converts_the_file_whole(
    tmp_path, monkeypatch, caplog
):
    """Day-first dates in the Americas: the last range's 02/05 alone would be 5 February."""
    lines = ["Longitude,Latitude,Date,Time,Yield (bu/ac),Moisture (%),Crop"]
    for i in range(2000):
        day, month = (13 + (i * 18) // 1800, 1) if i < 1800 else (2, 5)
        sec = 8 * 3600 + i * 7
        clock = f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        lines.append(
            f"{-47.9 + i * 1e-5:.6f},-15.6,{day:02d}/{month:02d}/2023,{clock},"
            f"{150 + i % 20},15.5,Soybeans"
        )
    path = tmp_path / "brazil.csv"
    path.write_text("\n".join(lines) + "\n")
    ranged = _read_whole_as_ranges_differ(path, tmp_path, monkeypatch, caplog)
    points, _ = read_points_table(ranged[1] / "standard.parquet")
    last = points.column("timestamp")[-1].as_py()
    assert (last.month, last.day) == (5, 2)


def test_durations_run_on_across_ranges():
    """SMS records are timed by the cumulative duration within their dataset."""
    rng = np.random.default_rng(0)
    n = 1000
    labels = pa.chunked_array(
        [np.where(np.arange(n) < 400, "A", np.where(rng.random(n) < 0.5, "B", "C"))]
    )
    table = pa.table({"Duration_s": rng.choice([1.0, 2.0, 0.5], n), "Dataset": labels})
    whole = _cumulative_ms(table, "Duration_s", groups=labels)
    carry: dict = {}
    pieces = [
        _cumulative_ms(
            table.slice(a, 250), "Duration_s", groups=labels[a : a + 250], carry=carry
        )
        for a in range(0, n, 250)
    ]
    assert np.array_equal(np.concatenate(pieces), whole)
    carry = {}
    plain = [
        _cumulative_ms(table.slice(a, 300), "Duration_s", carry=carry)
        for a in range(0, n, 300)
    ]
    assert np.array_equal(np.concatenate(plain), _cumulative_ms(table, "Duration_s"))


def test_running_distance_continues_bit_for_bit():
    d = np.random.default_rng(1).uniform(0, 3, 10_001)
    whole = running_distance(d)
    k = 6_000
    assert np.array_equal(running_distance(d[k:], whole[k])[1:], whole[k + 1 :])


def test_the_units_map_is_the_whole_files(tmp_path, monkeypatch):
    """The units map (standard.parquet's footer) is written after the last range.

    A property without any value is left out, as from a file read whole (one with
    values in some ranges' stored points only is kept: the next test).
    """
    points = make_points("harvested", 3000, seed=8)
    i = points.schema.get_field_index("elevation")
    values = points.column(i).to_pylist()
    values[:] = [None] * len(values)
    points = points.set_column(i, "elevation", pa.array(values, pa.float64()))
    path = write_as(points, "geopackage", tmp_path / "src")
    ranged, whole = ranged_and_whole(path, "geopackage", tmp_path, monkeypatch)
    assert ranged[2] and not whole[2]
    assert_same_conversion(ranged, whole)
    units = stored_units(ranged[1])
    assert "elevation" not in units and units["wetMass"] == "lb"


def test_a_property_valued_only_in_later_ranges_stored_points_keeps_its_unit(
    tmp_path, monkeypatch
):
    """The units map unites the ranges': the first ranges' stored points lack a property.

    Elevation is recorded in every range (so each range maps it), but in the first two
    only on points the cleanup removes (no mass): their stored points have none.
    """
    points = make_points("harvested", 3000, seed=9)
    n = points.num_rows
    removed = np.zeros(n, bool)
    removed[0:10] = removed[700:710] = True
    valued = removed.copy()
    valued[1400:] = True
    i = points.schema.get_field_index("elevation")
    elevation = points.column(i).to_numpy()
    points = points.set_column(
        i, "elevation", pa.array(np.where(valued, elevation, np.nan), from_pandas=True)
    )
    j = points.schema.get_field_index("wetMassPerArea")  # (the file's Yld_Mass_W)
    mass = points.column(j).to_numpy()
    points = points.set_column(
        j, "wetMassPerArea", pa.array(np.where(removed, 0.0, mass))
    )
    path = write_as(points, "geopackage", tmp_path / "src")
    config = {"cleanupRules": {"wetMassPerArea": [{"operator": "GT", "value": 0.0}]}}
    per_range = []

    def units_map(points):
        per_range.append(stream_units_map(points))
        return per_range[-1]

    stream_units_map = stream.units_map
    monkeypatch.setattr(stream, "units_map", units_map)
    ranged, whole = ranged_and_whole(
        path, "geopackage", tmp_path, monkeypatch, config=config
    )
    assert ranged[2] and not whole[2]
    assert_same_conversion(ranged, whole)
    # the first two ranges' stored points have no elevation, the later ones have
    assert [("elevation" in m) for m in per_range] == [False, False, True, True, True]
    assert "elevation" in stored_units(ranged[1]) == stored_units(whole[1])
