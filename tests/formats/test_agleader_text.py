"""Ag Leader advanced text with and without a header row, and the Yield Editor dialects."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from leafnb.formats.delimited import AgLeaderTextReader, CsvReader
from leafnb.testing import make_points, write_as

A, C = AgLeaderTextReader(), CsvReader()
DATA = Path(__file__).resolve().parents[1] / "data"
#: the committed Yield Editor samples (tests/data/SOURCES.md); tests read their first 300 lines
SAMPLES = {
    "sample1": "yieldeditor_soybean_16col_altitude",
    "sample2": "yieldeditor_corn_15col_gpsweeksec",
    "sample3": "yieldeditor_corn_15col_quoted",
    "sample4": "yieldeditor_whitecorn_15col_floatserial",
}


def head300(sample: str, folder: Path) -> Path:
    """The first 300 lines of a committed Yield Editor sample, as a text file in *folder*."""
    with zipfile.ZipFile(DATA / SAMPLES[sample] / f"{sample}.zip") as z:
        lines = z.read(f"{sample}.txt").splitlines(keepends=True)
    out = folder / f"{sample}_head300.txt"
    out.write_bytes(b"".join(lines[:300]))
    return out


HEADER = (
    "long,lat,massflow,gpstime,cycletime,distance,cutwidth,moisture,headerstatus,"
    "passno,serialno,fieldid,loadid,graintype,gpsstatus,pdop,altitude\n"
)


@pytest.fixture
def text(tmp_path):
    return write_as(make_points("harvested", 300, seed=3), "agleader_text", tmp_path)


def test_header_row_reads_like_the_headerless_file(text, tmp_path):
    with_header = tmp_path / "with_header.csv"
    with_header.write_text(HEADER + text.read_text())
    assert A.sniff(with_header) == 0.0 and C.sniff(with_header) >= 0.6
    plain = A.read(text)
    headed = C.read(with_header)
    assert headed.meta["family"] == "agleader" and headed.meta["provider"] == "AgLeader"
    assert headed.table.num_rows == plain.table.num_rows == 300
    assert headed.table["timestamp"].equals(plain.table["timestamp"])
    pairs = {
        "massflow": "FLOW",
        "distance": "DISTANCE",
        "cutwidth": "SWATH",
        "moisture": "MOISTURE",
        "altitude": "ALTITUDE",
    }
    for h, p in pairs.items():
        assert headed.meta["columns"][h] == plain.meta["columns"][p], h
        np.testing.assert_allclose(
            headed.table[h].to_numpy(), plain.table[p].to_numpy(), rtol=1e-12
        )
    assert headed.table["headerstatus"].to_pylist() == plain.table["STATUS"].to_pylist()
    assert headed.table["graintype"].to_pylist() == plain.table["CROP"].to_pylist()


def _line(i, *, time, quoted=True, tail=(), serial="2007713498"):
    q = '"' if quoted else ""
    strings = f"{q}F1: C3S{q},{q}L1: {q},{q}Corn{q}"
    base = (
        f"{-93.26 + i * 1e-5:.6f},39.294,{5 + i % 3:.2f},{time(i)},1,{40 + i % 5},180,"
        f"18.5,33,1,{serial},{strings}"
    )
    return ",".join([base, *tail])


@pytest.mark.parametrize(
    ("tail", "names"),
    [
        (("7", "0", "935.2"), ["GPS", "PDOP", "ALTITUDE"]),
        (('"DK 616"', "1381.2"), ["VARIETY", "ALTITUDE"]),
        (("935.2",), ["ALTITUDE"]),
        (("NA",), ["ALTITUDE"]),
        (('"DK 616"',), ["VARIETY"]),
        ((), []),
    ],
)
def test_yield_editor_field_counts(tmp_path, tail, names):
    p = tmp_path / "y.txt"
    p.write_text(
        "\n".join(_line(i, time=lambda i: 1.19e9 + i, tail=tail) for i in range(50))
        + "\n"
    )
    assert A.sniff(p) == 0.9
    raw = A.read(p)
    cols = [c for c in raw.table.column_names if c not in ("lon", "lat", "timestamp")]
    assert cols[11:] == ["CROP", *names, "WETMASS"]
    if "ALTITUDE" in names and tail[-1] != "NA":
        assert raw.meta["columns"]["ALTITUDE"].property == "elevation"


def test_unquoted_strings_and_float_serial(tmp_path):
    p = tmp_path / "y.txt"
    p.write_text(
        "\n".join(
            _line(
                i,
                time=lambda i: 1.19e9 + i,
                quoted=False,
                serial="7579.3068",
                tail=("420",),
            )
            for i in range(40)
        )
        + "\n"
    )
    raw = A.read(p)
    assert raw.table.num_rows == 40 and raw.meta["skipped_records"] == 0
    assert raw.meta["crop"] == "corn"
    assert raw.table["SERIAL"][0].as_py() == pytest.approx(7579.3068)


def test_seconds_of_day_use_the_load_label_date(tmp_path):
    p = tmp_path / "y.txt"
    lines = [
        f"{-93.26 + i * 1e-5:.6f},39.294,5.0,{59242 + i},1,40,180,18.5,33,1,0,"
        f'"F0:X","L0:10/10/13-16:27:00","CORN",7,0,900'
        for i in range(30)
    ]
    p.write_text("\n".join(lines) + "\n")
    ts = A.read(p).table["timestamp"].to_pylist()
    assert ts[0].isoformat() == "2010-10-13T16:27:22+00:00"


def test_seconds_of_day_without_a_date_give_no_timestamp(tmp_path):
    p = tmp_path / "y.txt"
    p.write_text(
        "\n".join(_line(i, time=lambda i: 59242 + i) for i in range(30)) + "\n"
    )
    raw = A.read(p)
    assert "timestamp" not in raw.table.column_names
    assert any("times of day" in i and "left empty" in i for i in raw.issues)
    assert (
        raw.meta["column_mapping"]["columns"]["TIME"]["timeEncoding"]
        == "seconds_of_day"
    )


# ---------------------------------------------------------------- real: yieldcleanr
# facts: tests/data/SOURCES.md (awk over the raw columns of the first 300 lines)
REAL = {
    "sample1": (16, 2004.78, "2000-10-10T21:34:32+00:00", "soybeans"),
    "sample2": (15, 1105.361, None, "corn"),
    "sample3": (15, 2333.2, None, "corn"),
    "sample4": (15, 3764.0758, None, "corn white"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_yieldcleanr_samples(name, tmp_path):
    fields, wet_lb, first, crop = REAL[name]
    path = head300(name, tmp_path)
    assert A.sniff(path) == 0.9 and C.sniff(path) < 0.1
    raw = A.read(path)
    assert raw.meta["record_count"] == 300 and raw.meta["skipped_records"] == 0
    assert raw.meta["layout"].endswith(f"{fields} fields")
    assert float(np.nansum(raw.table["WETMASS"].to_numpy())) == pytest.approx(wet_lb)
    assert raw.meta["crop"] == crop
    if first:
        assert raw.table["timestamp"][0].as_py().isoformat() == first
    else:
        assert "timestamp" not in raw.table.column_names


def test_yieldcleanr_sample_converts_with_totals(workspace, tmp_path):
    from tests.conftest import zip_files

    batch = workspace.upload_batch(
        zip_files(tmp_path / "y.zip", [head300("sample1", tmp_path)]),
        "g",
        progress=False,
    )
    (fid,) = batch["leafFiles"]
    f = workspace.get_file(fid)
    assert f["status"] == "processed" and f["operationType"] == "harvested"
    assert f["provider"] == "AgLeader"
    pts = workspace.load_points(fid)
    wet = pts.array("wetMass")
    assert pts.units["wetMass"] in ("lb", "pound")
    assert float(np.nansum(wet)) == pytest.approx(2004.78, rel=1e-9)
