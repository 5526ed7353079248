"""A task's time log read in record ranges gives the whole read's rows (leafnb.formats.isoxml.ranges)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from leafnb.formats.isoxml.ranges import plan_ranges
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.taskdata import clear_cache
from leafnb.formats.isoxml.timelogs import NotRanged
from leafnb.formats.isoxml.tlg import frame_log, kernel_available, parse_tlg_header
from leafnb.formats.isoxml.writer import write_taskdata
from leafnb.testing import make_points
from leafnb.testing.writers import write_isoxml
from tests.formats.isoxml.builders import DlvSpec, TimeLogSpec, track
from tests.pipeline.test_stream import assert_same_conversion, convert_in_ranges

pytestmark = pytest.mark.skipif(not kernel_available(), reason="needs the C kernel")

READER = IsoxmlReader()
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data" / "isoxml"


def _same_column(x: pa.ChunkedArray, y: pa.ChunkedArray) -> bool:
    """Equal values, NaN equal to NaN (Arrow's ``equals`` says NaN != NaN)."""
    if x.type != y.type or x.null_count != y.null_count:
        return False
    if x.equals(y):
        return True
    if not pa.types.is_floating(x.type):
        return False
    a, b = x.to_numpy(), y.to_numpy()
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def assert_ranges_are_whole(path: Path, part: str, rows: int) -> int:
    """The ranges, concatenated, are the whole read: rows, metadata, record count."""
    clear_cache()
    ranges = list(READER.read_ranges(path, part=part, rows=rows))
    whole = READER.read(path, part=part)
    table = pa.concat_tables([r.table for r in ranges])
    assert table.schema.equals(whole.table.schema)
    differ = [
        c for c in table.column_names if not _same_column(table[c], whole.table[c])
    ]
    assert not differ, differ
    assert [r.table.num_rows for r in ranges[:-1]] == [rows] * (len(ranges) - 1)
    counts = [r.meta["record_count"] for r in ranges]
    assert sum(counts) == whole.meta["record_count"]
    strip = lambda meta: {k: v for k, v in meta.items() if k != "record_count"}  # noqa: E731
    for r in ranges:
        assert strip(r.meta) == strip(whole.meta)
        assert r.issues == whole.issues == ()
    return len(ranges)


def _harvest(folder: Path, n: int = 3000, seed: int = 4) -> Path:
    clear_cache()
    return write_isoxml(make_points("harvested", n, seed=seed), folder)


@pytest.mark.parametrize("rows", [700, 1000, 2999, 3000])
def test_generated_harvest_in_ranges(tmp_path, rows):
    path = _harvest(tmp_path / "TASKDATA")
    assert READER.record_count(path, "TSK1") == 3000  # one record size: exact
    n = assert_ranges_are_whole(path, "TSK1", rows)
    assert n == -(-3000 // rows)


def _sparse_log(n: int, total_every: int) -> TimeLogSpec:
    """A harvest whose values are written now and then: fill forward across ranges."""
    t, lat, lon = track(n)
    rng = np.random.default_rng(7)
    i = np.arange(n)
    on = ((i // 230) % 4 != 3).astype(np.int64)  # work state switches now and then
    return TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=[
            DlvSpec(84, values=rng.integers(500, 900, n)),
            DlvSpec(90, values=np.cumsum(rng.integers(0, 4, n)), present=i % total_every == 5),
            DlvSpec(116, values=np.cumsum(on * 18), present=(i % 50 == 0) & (i >= 120)),
            DlvSpec(67, values=np.full(n, 9000) - (i >= 2200) * 1000, present=(i == 1500) | (i == 2200)),
            DlvSpec(141, values=on, present=np.r_[True, on[1:] != on[:-1]]),
            DlvSpec(99, values=150_000 + (i // 400) * 1000, present=(i % 400 == 0) & (i > 0)),
        ],
    )  # fmt: skip


@pytest.mark.parametrize("rows", [400, 700, 1111])
def test_values_written_now_and_then_in_ranges(tmp_path, rows):
    """Running totals spread over records in two ranges; a width first written late."""
    clear_cache()
    log = _sparse_log(3000, total_every=37)
    path = write_taskdata(tmp_path / "TASKDATA", [log], totals={90: 4000, 116: 9000})
    raw = READER.read(path, part="TSK1")
    assert np.isnan(raw.table["DDI0043"][0].as_py())  # not written yet
    # the implement's width before the first value is that value (backfill)
    assert raw.table["agg_equipmentWidth"][0].as_py() == 9000.0
    assert_ranges_are_whole(path, "TSK1", rows)


def test_actual_rate_resolution_is_the_whole_logs_in_ranges(tmp_path):
    """Most records write the actual rate 100x below the setpoint, the last third not:
    the median over the whole log decides, in every range (properties, rule "Actual
    rate in another resolution")."""
    from leafnb.formats.isoxml.writer import DeviceSpec, ElementSpec

    n = 3000
    t, lat, lon = track(n)
    actual = np.where(np.arange(n) < 1800, 34_370, 3_437_000)
    log = TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=[
            DlvSpec(2, "DET-1", actual),
            DlvSpec(1, "DET-1", np.full(n, 3_741_583)),
            DlvSpec(141, "DET-1", np.ones(n, np.int64)),
        ],
    )
    sprayer = DeviceSpec(
        "DVC-1", "Sprayer", 6, [ElementSpec("DET-1", 1, properties={67: 24_000})]
    )
    clear_cache()
    path = write_taskdata(
        tmp_path / "TASKDATA", [log], devices=[sprayer], task_name="Spraying"
    )
    raw = READER.read(path, part="TSK1")
    assert "10^-2" in raw.meta["isoxml"]["rate_resolution"]
    assert_ranges_are_whole(path, "TSK1", 700)  # the last ranges alone would say 10^0


def test_cultural_practice_of_the_whole_log_in_ranges(tmp_path):
    """DDI 179 written in the last ranges only, two practices as often: the first written
    wins in every range (leafnb.formats.isoxml.practice)."""
    n = 3000
    t, lat, lon = track(n)
    i = np.arange(n)
    practice = np.where(i < 2500, 4, 1)  # tillage, then application
    log = TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=[
            DlvSpec(179, values=practice, present=i >= 2000),
            DlvSpec(67, values=np.full(n, 6000)),
            DlvSpec(141, values=np.ones(n, np.int64)),
        ],
    )
    clear_cache()
    path = write_taskdata(tmp_path / "TASKDATA", [log], device_class=0, task_name="Job")
    raw = READER.read(path, part="TSK1")
    assert raw.meta["operation_type"] == "tillage"
    assert "= 4" in raw.meta["isoxml"]["operation_type_source"]
    assert_ranges_are_whole(path, "TSK1", 700)


def test_a_total_silent_for_more_than_a_range_is_read_whole(tmp_path, monkeypatch):
    clear_cache()
    log = _sparse_log(3000, total_every=900)
    path = write_taskdata(tmp_path / "TASKDATA", [log], totals={90: 4000})
    with pytest.raises(NotRanged, match="more than a range"):
        list(READER.read_ranges(path, part="TSK1", rows=400))
    assert_ranges_are_whole(path, "TSK1", 1000)  # a range holds the gap: ranges


def _convert(
    path: Path, out: Path, rows: int, monkeypatch, part: str = "TSK1"
) -> tuple:
    """Convert *part* of *path* in ranges of *rows* records (tests/pipeline/test_stream)."""
    clear_cache()
    return convert_in_ranges(path, "isoxml", out, rows, monkeypatch, part)


def test_conversion_with_machine_totals_in_ranges(tmp_path, monkeypatch):
    """Every artifact and fact as whole, machine totals reconciled over every record."""
    path = _harvest(tmp_path / "src" / "TASKDATA")
    ranged = _convert(path, tmp_path / "ranged", 700, monkeypatch)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not whole[2]
    assert not ranged[0].failed
    summary = json.loads((tmp_path / "ranged" / "summary.json").read_text())
    rows = {r["key"]: r for r in summary["properties"]["machineTotals"]}
    assert rows["totalWetMass"]["leafnbAllRecordsValue"] is not None
    assert_same_conversion(ranged, whole)
    assert not list((tmp_path / "ranged").glob(".all-records-*"))


def test_sparse_conversion_in_ranges(tmp_path, monkeypatch):
    clear_cache()
    log = _sparse_log(3000, total_every=37)
    path = write_taskdata(
        tmp_path / "src" / "TASKDATA", [log], totals={90: 4000, 116: 9000}
    )
    ranged = _convert(path, tmp_path / "ranged", 700, monkeypatch)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not whole[2]
    assert_same_conversion(ranged, whole)


def test_parallel_logs_are_read_whole(tmp_path):
    from leafnb.formats.isoxml.writer import split_parallel

    clear_cache()
    logs = split_parallel(_sparse_log(500, total_every=3), 3)
    assert len(logs) > 1
    path = write_taskdata(tmp_path / "TASKDATA", logs)
    assert READER.record_count(path, "TSK1") is None


def test_skipped_records_are_read_whole(tmp_path):
    path = _harvest(tmp_path / "TASKDATA", n=500)
    binp = path.parent / "TLG00001.bin"
    data = bytearray(binp.read_bytes())
    data[1000:1010] = b"\xff" * 10  # a malformed stretch
    binp.write_bytes(bytes(data))
    framing = frame_log(binp, parse_tlg_header(path.parent / "TLG00001.xml"))
    assert framing is not None and not framing.clean
    with pytest.raises(NotRanged, match="skipped"):
        list(READER.read_ranges(path, part="TSK1", rows=100))


# -- real data ----------------------------------------------------------------------------


def _tasks() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(SHARED.glob("*/TASKDATA/TASKDATA.XML")) + sorted(
        (REPO / "tests" / "data").glob("*/TASKDATA/TASKDATA.XML")
    ):
        clear_cache()
        out.extend((path, part) for part in READER.parts(path) if part)
    return out


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_real_tasks_in_ranges():
    """Every real task is read in ranges exactly as whole, or refused (read whole)."""
    ranged, refused = [], []
    for path, part in _tasks():
        try:
            assert_ranges_are_whole(path, part, 500)
            ranged.append(f"{path.parents[1].name} {part}")
        except NotRanged as exc:
            refused.append(str(exc))
    # the CCI forage harvester's tasks of one clean log each are read in ranges
    assert sum("cci_forage_harvester_yield" in r for r in ranged) >= 17
    # parallel logs and skipped records are read whole
    assert any("not one time log" in r for r in refused)
    assert any("skipped" in r for r in refused)
    assert not any("resolution" in r for r in refused)
    assert any("kverneland_imtpro_benchtest" in r for r in ranged)


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("part", ["TSK3", "TSK12", "TSK19", "TSK7"])
def test_real_conversion_in_ranges(part, tmp_path, monkeypatch):
    """CCI harvests with Total Area and yield totals (TIM) convert in ranges as whole.

    TSK7's ranges differ in what the pipeline derives (a range without dry yield per
    area): the stream converts it whole, with the same result.
    """
    path = SHARED / "cci_forage_harvester_yield" / "TASKDATA" / "TASKDATA.XML"
    ranged = _convert(path, tmp_path / "ranged", 500, monkeypatch, part)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch, part)
    assert ranged[2] == (part != "TSK7") and not whole[2]
    assert "machineTotals" in ranged[0].facts
    assert_same_conversion(ranged, whole)


ORACLE = REPO / "tests" / "oracle"


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.skipif(
    not (ORACLE / "node_modules" / "isoxml").is_dir(), reason="run `npm ci`"
)
def test_ranged_counts_match_isoxml_js():
    """Records and per-DLV counts, minima and maxima of the summary pass, as isoxml-js."""
    from tests.formats.isoxml.test_oracle_isoxml_js import oracle, real_pairs

    pairs = []
    for xml, binp in real_pairs():
        framing = frame_log(binp, parse_tlg_header(xml))
        if framing is not None and framing.clean:
            pairs.append((xml, binp, framing))
    assert len(pairs) >= 10
    results = oracle([(xml, binp) for xml, binp, _ in pairs])
    for (xml, _, framing), theirs in zip(pairs, results, strict=True):
        assert framing.n_framed == theirs["records"], xml
        plan = plan_ranges(framing, 300)
        keys = {k.upper(): v for k, v in theirs["keys"].items()}
        for dlv, written in zip(framing.header.dlvs, plan.written, strict=True):
            if (
                sum(d.ddi == dlv.ddi and d.det == dlv.det for d in framing.header.dlvs)
                > 1
            ):
                continue  # isoxml-js merges DLVs of one DDI and element (PGN bits)
            their = keys.get(f"{dlv.ddi:04X}_{dlv.det}".upper(), {"count": 0})
            assert written.count == their["count"], (xml, dlv)
            if written.count:
                assert (written.vmin, written.vmax) == (their["min"], their["max"])
