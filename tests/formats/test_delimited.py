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


# ---- hemisphere letters (NMEA 0183: latitude, N|S, longitude, E|W) -------------------
def test_nmea_hemisphere_letters_sign_the_coordinates(tmp_path):
    # the order GGA/RMC write and loggers that decode them keep: magnitude, then letter
    p = tmp_path / "x.csv"
    p.write_text(
        "Time,y,dir_y,x,dir_x,seedRate\n"
        "10:00:00,33.5,S,64.25,W,70000\n"
        "10:00:01,33.5,S,64.26,W,70000\n"
    )
    raw = C.read(p)
    assert raw.table["lon"].to_pylist() == [-64.25, -64.26]
    assert raw.table["lat"].to_pylist() == [-33.5, -33.5]
    assert "dir_x" not in raw.table.schema.names  # a sign, not a property
    assert "dir_x" not in raw.meta["column_mapping"]["unused"]
    assert any("dir_y (N/S) and dir_x (E/W)" in i for i in raw.issues)


def test_hemisphere_letters_row_by_row_and_signed_values_kept(tmp_path):
    # a track across the Greenwich meridian; a value already negative stays negative
    p = tmp_path / "x.csv"
    p.write_text(
        "Latitude,NS,Longitude,EW,seedRate\n"
        "51.5,N,0.001,E,1\n"
        "51.5,N,0.001,W,1\n"
        "51.5,N,-0.002,W,1\n"
        "51.5,,0.003,,1\n"
    )
    raw = C.read(p)
    assert raw.table["lon"].to_pylist() == [0.001, -0.001, -0.002, 0.003]
    assert raw.table["lat"].to_pylist() == [51.5] * 4


def test_a_column_of_letters_elsewhere_is_not_a_sign(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Lat,Lon,Grade,seedRate\n42.0,93.6,S,1\n42.0,93.6,S,1\n")
    raw = C.read(p)
    assert raw.table["lat"].to_pylist() == [42.0, 42.0]  # as written
    assert raw.table["lon"].to_pylist() == [93.6, 93.6]


def test_a_hemisphere_named_column_signs_its_coordinate(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(
        "Lat,Lon,Rate,LatHemisphere,LonHemisphere\n-33.5,18.4,1,S,E\n33.5,18.4,1,S,E\n"
    )
    raw = C.read(p)
    assert raw.table["lat"].to_pylist() == [-33.5, -33.5]
    assert raw.table["lon"].to_pylist() == [18.4, 18.4]


def test_hemisphere_letters_are_not_applied_to_projected_coordinates(tmp_path):
    # UTM: "S" names the southern zones' false northing, not a sign
    p = tmp_path / "x.csv"
    p.write_text("X,Y,Hemisphere,seedRate\n445000,6290000,S,30000\n")
    raw = C.read(p, options={"crs": "EPSG:32720"})
    assert -35 < raw.table["lat"][0].as_py() < -33


def test_a_direction_of_travel_is_not_a_hemisphere(tmp_path):
    # N and S far from the equator: the way the machine drove, not a sign
    p = tmp_path / "x.csv"
    p.write_text(
        "Latitude,Direction,Longitude,seedRate\n42.0,N,-93.6,1\n42.001,S,-93.6,1\n"
    )
    raw = C.read(p)
    assert raw.table["lat"].to_pylist() == [42.0, 42.001]
    assert not any("hemisphere" in i for i in raw.issues)


def test_hemisphere_names(tmp_path):
    from leafnb.formats.columns import normalise_key
    from leafnb.formats.delimited import _HEMISPHERE_NAME

    named = [
        "N/S",
        "EW",
        "Hemisphere",
        "LatDir",
        "dir_y",
        "LonHemisphere",
        "lat_ind",
        "LatitudeDirection",
    ]
    other = ["Direction", "Dir", "Heading", "Size", "Index"]
    assert all(_HEMISPHERE_NAME.search(normalise_key(n)) for n in named)
    assert not any(_HEMISPHERE_NAME.search(normalise_key(n)) for n in other)
