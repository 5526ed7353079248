from __future__ import annotations

import pytest

from leafnb.errors import CorruptFile, SkippedRecordsWarning
from leafnb.formats.delimited import AgLeaderTextReader, CsvReader
from leafnb.testing import make_points, write_as

C, A = CsvReader(), AgLeaderTextReader()


def test_sms_csv_latin1(tmp_path):
    path = write_as(make_points("applied", 100), "sms_csv", tmp_path)
    assert path.read_bytes().count(b"\xb0") == 1  # ° in Latin-1
    assert C.sniff(path) == 0.85
    raw = C.read(path)
    assert raw.meta["encoding"] in ("cp1252", "latin-1")
    assert raw.meta["columns"]["Rt Apd Vol(L/ha)"].unit == "L/ha"
    assert raw.meta["columns"]["Product"].property == "productName"


def test_utf8_bom_and_semicolon(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(
        "\ufeffLat;Lon;Moisture(%);Yld Mass(Wet)(kg/ha)\n42.0;-93.6;17;9000\n".encode()
    )
    raw = C.read(p)
    assert raw.table.num_rows == 1
    assert raw.meta["delimiter"] == ";"
    assert raw.meta["columns"]["Yld Mass(Wet)(kg/ha)"].unit == "kg/ha"


def test_no_coordinates(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Moisture,Speed\n1,2\n")
    with pytest.raises(CorruptFile, match=r"no coordinate columns.*Moisture, Speed"):
        C.read(p)


def test_projected_xy_needs_crs(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("X,Y,seedRate\n445000,4650000,30000\n")
    with pytest.raises(CorruptFile, match="not degrees"):
        C.read(p)
    raw = C.read(p, options={"crs": "EPSG:26915"})
    assert -94 < raw.table["lon"][0].as_py() < -93


def test_bad_coordinates_and_lines_are_counted(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(
        "Longitude,Latitude,seedRate\n-93.6,42.0,1\n,42.0,2\n-93.6,42.0,3,4\n-93.6,99,5\n"
    )
    with pytest.warns(SkippedRecordsWarning):
        raw = C.read(p)
    assert raw.table.num_rows == 1
    assert raw.meta["record_count"] == 4
    assert raw.meta["skipped_records"] == 3


def test_dates_day_first(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(
        "Longitude,Latitude,DateStamp,TimeStamp\n138.8,-34.5,5/03/2024,8:04:24\n138.8,-34.5,13/03/2024,8:04:27\n"
    )
    ts = C.read(p).table["timestamp"].to_pylist()
    assert ts[0].isoformat() == "2024-03-05T08:04:24+00:00"


def test_agleader_text(tmp_path):
    path = write_as(make_points("harvested", 400), "agleader_text", tmp_path)
    assert A.sniff(path) == 0.9
    assert C.sniff(path) == 0.05
    raw = A.read(path)
    assert raw.meta["crop"] == "corn"
    assert raw.meta["columns"]["WETMASS"].unit == "lb"
    assert set(raw.table["STATUS"].to_pylist()) == {"On", "Off"}


def test_agleader_text_bad_line(tmp_path):
    path = write_as(make_points("harvested", 20), "agleader_text", tmp_path)
    with open(path, "a") as fh:
        fh.write("garbage,line\n")
    with pytest.warns(SkippedRecordsWarning):
        raw = A.read(path)
    assert raw.meta["record_count"] == 21
    assert raw.meta["skipped_records"] == 1
