"""Issue 14 item 8: bad values in ordinary files fail nothing but themselves.

One ``-`` or ``1,5`` cell in a numeric column used to fail the whole file with
``internal error: ArrowInvalid``; a 5 MB single-field line raised a raw ``_csv.Error``.
Now unparseable cells are nulls, counted and reported; comma-decimal columns (and
``;``-separated European CSV) are numbers; an over-long line is one skipped record.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from leafnb.errors import SkippedRecordsWarning
from leafnb.formats.delimited import CsvReader
from leafnb.formats.transforms import coerce_numeric
from tests.conftest import make_zip

C = CsvReader()
HEADER = "Longitude,Latitude,Time,Moisture(%),Yld Vol(Dry)(bu/ac),Speed(mph),Product\n"


def _rows(n=60, moisture=lambda i: f"{17 + i % 3}", yld=lambda i: f"{150 + i}"):
    return "".join(
        f"{-93.6 + i * 3e-5:.6f},42.000000,2024-10-01T12:{i // 60:02d}:{i % 60:02d}Z,"
        f"{moisture(i)},{yld(i)},3.0,Corn\n"
        for i in range(n)
    )


def test_coerce_numeric_counts_bad_cells_and_reads_missing_markers():
    cells = ["1.5", "-", "2", None, "NA", "", "n/a", "x1"] + ["3"] * 8
    r = coerce_numeric(pa.array(cells))
    assert r.values.to_pylist()[:8] == [1.5, None, 2.0, None, None, None, None, None]
    assert r.unparseable == 2 and r.examples == ["-", "x1"]
    assert coerce_numeric(pa.array(["Corn", "Soy", "1"])) is None  # a text column


def test_decimal_comma_column_is_numbers_but_a_stray_comma_is_a_bad_cell():
    r = coerce_numeric(pa.array(["1,5", "2,25", "3", "-0,5"]))
    assert r.decimal_comma and r.values.to_pylist() == [1.5, 2.25, 3.0, -0.5]
    mixed = coerce_numeric(pa.array(["1.5", "2.25", "1,5", "3.0", "4.5"]))
    assert not mixed.decimal_comma
    assert mixed.unparseable == 1 and mixed.examples == ["1,5"]


def test_one_dash_cell_does_not_fail_the_file(tmp_path):
    p = tmp_path / "y.csv"
    p.write_text(HEADER + _rows(moisture=lambda i: "-" if i == 7 else "17"))
    raw = C.read(p)
    assert raw.table.num_rows == 60 and raw.meta["skipped_records"] == 0
    assert raw.table["Moisture(%)"].null_count == 1
    assert raw.meta["bad_cells"] == {"Moisture(%)": 1}
    assert any(
        "1 unparseable cells read as missing: Moisture(%) 1 ('-')" in i
        for i in raw.issues
    )


def test_one_decimal_comma_cell_in_a_dot_column(tmp_path):
    p = tmp_path / "y.csv"
    # a quoted "1,5" in a dot-decimal column: a bad cell, not a failed file
    p.write_text(HEADER + _rows(yld=lambda i: '"1,5"' if i == 3 else f"{150 + i}.5"))
    raw = C.read(p)
    assert raw.table.num_rows == 60
    assert raw.meta["bad_cells"] == {"Yld Vol(Dry)(bu/ac)": 1}
    assert raw.table["Yld Vol(Dry)(bu/ac)"].null_count == 1


def test_european_semicolon_csv_with_decimal_commas(tmp_path):
    p = tmp_path / "ertrag.csv"
    lines = ["Länge;Breite;Ertrag nass (t/ha);Kornfeuchte (%);Geschwindigkeit (km/h)"]
    for i in range(50):
        lines.append(f"9,{500000 + i * 30};54,{120000 + i};8,{i % 9};14,{i % 5};6,5")
    p.write_text("\n".join(lines) + "\n", encoding="cp1252")
    raw = C.read(p)
    assert raw.meta["delimiter"] == ";"
    lon = raw.table["lon"].to_pylist()
    assert lon[0] == pytest.approx(9.5) and raw.table["lat"][
        0
    ].as_py() == pytest.approx(54.12)
    cols = {s: (c.property, c.unit) for s, c in raw.meta["columns"].items()}
    assert cols["Ertrag nass (t/ha)"] == ("wetMassPerArea", "t/ha")
    assert cols["Kornfeuchte (%)"] == ("harvestMoisture", "%")
    assert cols["Geschwindigkeit (km/h)"] == ("speed", "km/h")
    assert raw.table["Ertrag nass (t/ha)"][1].as_py() == pytest.approx(8.1)
    assert "bad_cells" not in raw.meta


def test_five_megabyte_single_field_line_is_one_skipped_record(tmp_path):
    p = tmp_path / "big.csv"
    p.write_text(HEADER + _rows(10) + "x" * 5_000_000 + "\n" + _rows(10))
    with pytest.warns(SkippedRecordsWarning):
        raw = C.read(p)
    assert raw.table.num_rows == 20
    assert raw.meta["record_count"] == 21 and raw.meta["skipped_records"] == 1


def test_five_megabyte_header_line_fails_with_a_message_not_csv_error(tmp_path):
    p = tmp_path / "big.csv"
    p.write_text("y" * 5_000_000 + "\n" + _rows(5))
    assert C.sniff(p) == pytest.approx(0.05)
    from leafnb.errors import CorruptFile

    with pytest.raises(CorruptFile, match="no coordinate columns"):
        C.read(p)


def test_pipeline_reports_bad_cells_instead_of_internal_error(workspace, tmp_path):
    # moisture written 17.5: a quoted "1,5" among dot decimals is a bad cell
    body = HEADER + _rows(moisture=lambda i: {3: "-", 9: '"1,5"'}.get(i, "17.5"))
    z = make_zip(tmp_path / "u.zip", {"yield.csv": body.encode()})
    batch = workspace.upload_batch(z, "g", progress=False)
    (fid,) = batch["leafFiles"]
    f = workspace.get_file(fid)
    assert f["status"] == "processed", workspace.get_file_status(fid)
    raw = workspace.get_file_status(fid)["rawGeojson"]["detail"]  # message is "ok"
    assert "internal error" not in raw
    assert "2 unparseable cells read as missing: Moisture(%) 2 ('-', '1,5')" in raw
    assert any("unparseable cells" in n for n in f["notes"])
    # an unquoted 1,5 in a comma file is an extra field: that line is skipped and counted
    body = HEADER + _rows(moisture=lambda i: "1,5" if i == 4 else "17")
    z = make_zip(tmp_path / "v.zip", {"yield.csv": body.encode()})
    (fid,) = workspace.upload_batch(z, "g", progress=False)["leafFiles"]
    f = workspace.get_file(fid)
    assert f["status"] == "processed"
    assert (f["recordCount"], f["skippedRecords"]) == (60, 1)
