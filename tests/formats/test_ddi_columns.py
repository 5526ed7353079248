"""CSV decodings of ISOXML time logs: columns named by DDI ('90/-1), European layout."""

from __future__ import annotations

import pytest

from leafnb.formats.columns import ddi_hit
from leafnb.formats.delimited import CsvReader


def test_ddi_names():
    assert ddi_hit("'99/-1").property == "harvestMoisture"
    assert ddi_hit("'99/-1").unit == "ppm"
    assert (ddi_hit("'90/-1").property, ddi_hit("'90/-1").transform) == (
        "wetMass",
        "increments",
    )
    assert ddi_hit("'141/-1").transform == "work_state"
    assert ddi_hit("'91/-1").property is None  # bale count: known, no property
    assert ddi_hit("'1/-1").property is None  # resolution 0.01: raw or scaled unknown
    assert ddi_hit("Moisture") is None


def test_semicolon_ddi_csv_with_sparse_running_total(tmp_path):
    """A baler log decoded to CSV: values only where logged; DDI 90 is a running total."""
    lines = ["Date;Time;Latitude;Longitude;Up;Status;'99/-1;'90/-1;'141/-1"]
    total = 100
    for i in range(40):
        moist = "180000" if i % 10 == 0 else ""
        mass = ""
        if i % 5 == 0:
            total += 20 if i else 0
            mass = str(total)
        state = "1" if i % 20 == 0 else ""
        lines.append(
            f"16.05.2012;10:{i // 60}:{i % 60};52,31{i:04d};7,37{i:04d};0;15;{moist};{mass};{state}"
        )
    p = tmp_path / "TLG0001.CSV"
    p.write_text("\n".join(lines) + "\n")
    raw = CsvReader().read(p)
    assert raw.meta["family"] == "isoxml_csv" and raw.meta["delimiter"] == ";"
    cols = {s: (c.property, c.unit) for s, c in raw.meta["columns"].items()}
    assert cols["'90/-1"] == ("wetMass", "kg")
    assert cols["'99/-1"] == ("harvestMoisture", "ppm")
    inc = raw.table["'90/-1"].to_pylist()
    assert sum(inc) == pytest.approx(total - 100)  # the span of the running total
    assert raw.table["'99/-1"].null_count == 0  # filled forward
    assert set(raw.table["'141/-1"].to_pylist()) == {"On"}
    ts = raw.table["timestamp"].to_pylist()
    assert ts[0].isoformat() == "2012-05-16T10:00:00+00:00"  # day first, unpadded time
    assert ts[-1].isoformat() == "2012-05-16T10:00:39+00:00"
