"""A task's time log read in record ranges gives the whole read's rows (leafnb.formats.isoxml.ranges)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from leafnb.formats.base import NotRanged
from leafnb.formats.isoxml.ranges import plan_ranges
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.taskdata import clear_cache
from leafnb.formats.isoxml.tlg import frame_log, kernel_available, parse_tlg_header
from leafnb.formats.isoxml.writer import write_taskdata
from leafnb.testing import make_points
from leafnb.testing.writers import write_isoxml
from tests.formats.isoxml.builders import DlvSpec, TimeLogSpec, track
from tests.pipeline.test_stream import (
    assert_same_conversion,
    convert_in_ranges,
    same_values,
)

pytestmark = pytest.mark.skipif(not kernel_available(), reason="needs the C kernel")

READER = IsoxmlReader()
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data" / "isoxml"


def assert_ranges_are_whole(path: Path, part: str | None, rows: int) -> int:
    """The ranges, concatenated, are the whole read: rows, metadata, record count."""
    clear_cache()
    ranges = list(READER.read_ranges(path, part=part, rows=rows))
    whole = READER.read(path, part=part)
    table = pa.concat_tables([r.table for r in ranges])
    assert table.schema.equals(whole.table.schema)
    differ = [
        c for c in table.column_names if not same_values(table[c], whole.table[c])
    ]
    assert not differ, differ
    # ranges of *rows* records, a log's last range shorter (a range is one log's)
    assert all(0 < r.table.num_rows <= rows for r in ranges)
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


def test_no_part_named_is_the_first_task_in_ranges_too(tmp_path):
    """``part=None`` reads the first task with a log, whole and in ranges alike (the
    ranges used to find no log, and a big task was then read whole)."""
    path = _harvest(tmp_path / "TASKDATA")
    assert READER.record_count(path) == READER.record_count(path, "TSK1") == 3000
    assert assert_ranges_are_whole(path, None, 1000) == 3


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


def test_a_log_of_many_buffers_converts_in_ranges(tmp_path, monkeypatch):
    """The whole conversion of a log longer than the framing's buffer, in ranges, as the
    benchmark's 10M-record log (32 MiB buffers): every artifact as the whole read's.
    (Framed in one buffer, every test passed while such logs were read whole.)"""
    from leafnb.formats.isoxml import tlg

    path = _harvest(tmp_path / "src" / "TASKDATA")
    assert (path.parent / "TLG00001.bin").stat().st_size > 10 * 4093
    monkeypatch.setattr(tlg, "CHUNK_BYTES", 4093)
    ranged = _convert(path, tmp_path / "ranged", 700, monkeypatch)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not whole[2]
    assert not ranged[0].failed
    assert_same_conversion(ranged, whole)


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
    with pytest.raises(NotRanged, match="parallel logs"):
        list(READER.read_ranges(path, part="TSK1", rows=100))


# -- a task of several logs, one after another ---------------------------------------------

HOUR = 3_600_000


def _later(spec: TimeLogSpec, name: str, after_ms: int, **changes) -> TimeLogSpec:
    """*spec* recorded *after_ms* later as log *name*, with *changes* to its fields."""
    from dataclasses import replace

    return replace(spec, name=name, time_ms=spec.time_ms + after_ms, **changes)


def _resumed_task() -> list[TimeLogSpec]:
    """A harvest resumed twice: three logs one after another, each naming other values.

    The second log drops the flow (DDI 84), gives the width in its header only (never
    writes it) and writes a running total the first log does not; the third writes
    only the work state and the area total, and logs heading (PTN E) as well.
    """
    first = _sparse_log(1500, total_every=37)
    n = 1200
    second = _sparse_log(n, total_every=11)
    i = np.arange(n)
    dlvs = [d for d in second.dlvs if d.ddi not in (84, 67)]
    dlvs += [
        DlvSpec(67, values=np.full(n, 7000), present=np.zeros(n, bool), header=7000),
        DlvSpec(91, values=np.cumsum(i % 3), present=i % 7 == 2),
    ]
    second = _later(second, "TLG00002", 2 * HOUR, dlvs=dlvs)
    third = _later(
        _sparse_log(900, total_every=5),
        "TLG00003",
        4 * HOUR,
        logged="ABDE",
        ptn_values={"E": np.arange(900) % 360},
    )
    third.dlvs = [d for d in third.dlvs if d.ddi in (141, 116)]
    return [first, second, third]


@pytest.mark.parametrize("rows", [250, 700, 1500, 5000])
def test_logs_one_after_another_in_ranges(tmp_path, rows):
    """Each log's ranges, in task order, are the whole task's rows: columns of every
    log, values filled forward within a log only, totals spread within a log."""
    clear_cache()
    path = write_taskdata(
        tmp_path / "TASKDATA", _resumed_task(), totals={90: 4000, 116: 9000}
    )
    assert READER.record_count(path, "TSK1") == 1500 + 1200 + 900
    raw = READER.read(path, part="TSK1")
    assert raw.meta["record_count"] == 3600
    pdop = raw.table["PTN_pdop"].to_numpy()  # PTN E: the third log's only
    assert np.isnan(pdop[:2700]).all() and not np.isnan(pdop[2700:]).any()
    n = assert_ranges_are_whole(path, "TSK1", rows)
    assert n == sum(-(-k // rows) for k in (1500, 1200, 900))


def _hourly_logs(n: int, count: int, dlvs) -> list[TimeLogSpec]:
    """*count* logs of *n* records on one track, an hour apart; ``dlvs(k)`` of log *k*."""
    t, lat, lon = track(n)
    return [
        TimeLogSpec(f"TLG{k + 1:05d}", t + k * HOUR, lat, lon, dlvs=dlvs(k))
        for k in range(count)
    ]


def test_header_values_of_every_log_decide_in_ranges(tmp_path):
    """A width the logs never write but one header gives (DLV B) decides the working
    width of the whole task, in the ranges of the other logs too."""
    clear_cache()
    n = 800
    logs = _hourly_logs(
        n,
        3,
        lambda k: [
            DlvSpec(84, values=np.full(n, 600 + k)),
            DlvSpec(141, values=np.ones(n, np.int64)),
            DlvSpec(
                67,
                values=np.zeros(n),
                present=np.zeros(n, bool),
                header=9000 if k == 1 else None,
            ),
        ],
    )
    path = write_taskdata(tmp_path / "TASKDATA", logs)
    raw = READER.read(path, part="TSK1")
    width = raw.table["agg_equipmentWidth"].to_numpy()
    assert (width[n : 2 * n] == 9000).all()  # the other logs give none
    assert not (width[:n] == 9000).any() and not (width[2 * n :] == 9000).any()
    assert_ranges_are_whole(path, "TSK1", 300)


def test_practice_over_every_log_in_ranges(tmp_path):
    """The cultural practice counted over the task's logs: a practice the first log
    writes now and then loses to one the second log writes on every record."""
    clear_cache()
    n = 1000
    i = np.arange(n)
    logs = _hourly_logs(
        n,
        2,
        lambda k: [
            DlvSpec(
                179,
                values=np.full(n, 1 if k == 0 else 4),
                present=(i % 10 == 0) if k == 0 else None,
            ),
            DlvSpec(67, values=np.full(n, 6000)),
            DlvSpec(141, values=np.ones(n, np.int64)),
        ],
    )
    path = write_taskdata(tmp_path / "TASKDATA", logs, device_class=0, task_name="Job")
    raw = READER.read(path, part="TSK1")
    assert raw.meta["operation_type"] == "tillage"
    assert_ranges_are_whole(path, "TSK1", 300)  # the first log's ranges alone: applied


def test_a_log_without_the_lateral_offset_is_read_whole(tmp_path):
    """A lateral offset (DDI 135) one log does not give is filled with the task's
    median when read whole: the ranges refuse it."""
    clear_cache()
    n = 600
    base = [DlvSpec(84, values=np.full(n, 700)), DlvSpec(67, values=np.full(n, 6000))]
    offset = DlvSpec(135, values=np.full(n, -250))
    logs = _hourly_logs(n, 2, lambda k: [*base, offset] if k == 0 else base)
    path = write_taskdata(tmp_path / "TASKDATA", logs)
    with pytest.raises(NotRanged, match="lateral offset"):
        list(READER.read_ranges(path, part="TSK1", rows=200))
    logs[1].dlvs = [
        *base,
        DlvSpec(135, values=np.zeros(n), present=np.zeros(n, bool), header=-250),
    ]
    clear_cache()
    path = write_taskdata(tmp_path / "T2" / "TASKDATA", logs)
    assert_ranges_are_whole(path, "TSK1", 200)  # the header gives it: ranges


def test_conversion_of_logs_one_after_another_in_ranges(tmp_path, monkeypatch):
    """Every artifact and fact as whole, machine totals over every log."""
    clear_cache()
    logs = [_sparse_log(1500, total_every=37)]
    # (no range all at work state off: it would derive no yield per area)
    for k, n in ((1, 1200), (2, 1000)):
        log = _sparse_log(n, total_every=5 + k)
        log.dlvs[3].present = np.arange(n) % 500 == 20  # the width, now and then
        logs.append(_later(log, f"TLG0000{k + 1}", 2 * k * HOUR))
    path = write_taskdata(
        tmp_path / "src" / "TASKDATA", logs, totals={90: 4000, 116: 9000}
    )
    ranged = _convert(path, tmp_path / "ranged", 700, monkeypatch)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch)
    assert ranged[2] and not whole[2]
    assert not ranged[0].failed
    assert_same_conversion(ranged, whole)


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


def test_records_of_many_values_are_framed_in_ranges(tmp_path):
    """A record of 52 values or more (5 bytes each: 260 or more) tiles its log as any
    other: the framing's check summed the record sizes in the counts' byte type, 5 × 52
    wrapped around, and such a log was read whole (the CNH spreader's logs of ~70 values
    a record: 10 of its 15)."""
    clear_cache()
    n = 600
    t, lat, lon = track(n)
    rng = np.random.default_rng(3)
    values = [DlvSpec(84, values=rng.integers(500, 900, n))]
    values += [DlvSpec(400 + k, values=rng.integers(0, 100, n)) for k in range(59)]
    path = write_taskdata(
        tmp_path / "TASKDATA", [TimeLogSpec("TLG00001", t, lat, lon, dlvs=values)]
    )
    header = parse_tlg_header(path.parent / "TLG00001.xml")
    framing = frame_log(path.parent / "TLG00001.bin", header)
    assert framing is not None and framing.clean and framing.n_framed == n
    assert framing.offset(n) == (path.parent / "TLG00001.bin").stat().st_size
    assert assert_ranges_are_whole(path, "TSK1", 250) == 3


@pytest.mark.parametrize("chunk", [4093, 1 << 16])
def test_a_log_of_many_buffers_is_framed_as_of_one(tmp_path, chunk):
    """A log longer than the framing's read buffer (32 MiB: the 10M-record log) frames
    as if read in one: the buffers' records, and the records cut by a buffer's end,
    follow on. (A local name shadowed the file's size: from the second buffer on the
    framing failed, and every log of more than 32 MiB was read whole, 3.5 GB for the
    10M-record log.)"""
    path = _harvest(tmp_path / "TASKDATA", n=3000)
    binp = path.parent / "TLG00001.bin"
    header = parse_tlg_header(path.parent / "TLG00001.xml")
    one = frame_log(binp, header)
    many = frame_log(binp, header, chunk_bytes=chunk)
    assert binp.stat().st_size > 2 * chunk  # several buffers
    assert one is not None and many is not None and one.clean and many.clean
    assert many.n_framed == one.n_framed == 3000
    assert np.array_equal(many.counts, one.counts)
    assert np.array_equal(many.marks, one.marks)
    assert many.offset(3000) == binp.stat().st_size


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
    # tasks of logs one after another too (each CCI task of two logs)
    assert {
        "cci_forage_harvester_yield TSK6",
        "cci_forage_harvester_yield TSK14",
    } <= set(ranged)
    # skipped records, and a lateral offset one log of a task lacks, are read whole
    assert any("skipped" in r for r in refused)
    assert any("lateral offset" in r for r in refused)
    assert not any("resolution" in r for r in refused)
    assert any("kverneland_imtpro_benchtest" in r for r in ranged)
    # the CNH spreader's logs of ~70 values a record (were refused as "skipped")
    assert sum("cnh_pro1200_spreader_benchtest" in r for r in ranged) >= 12


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("part", ["TSK3", "TSK12", "TSK19", "TSK7", "TSK6", "TSK14"])
def test_real_conversion_in_ranges(part, tmp_path, monkeypatch):
    """CCI harvests with Total Area and yield totals (TIM) convert in ranges as whole.

    TSK6 and TSK14 are tasks of two logs, one after the other.

    TSK7's ranges differ in what the pipeline derives (a range without dry yield per
    area): the stream converts it whole, with the same result.
    """
    path = SHARED / "cci_forage_harvester_yield" / "TASKDATA" / "TASKDATA.XML"
    ranged = _convert(path, tmp_path / "ranged", 500, monkeypatch, part)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch, part)
    assert ranged[2] == (part != "TSK7") and not whole[2]
    assert "machineTotals" in ranged[0].facts
    assert_same_conversion(ranged, whole)


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("part", ["TSK-10", "TSK-14", "TSK-20"])
def test_real_records_of_many_values_convert_in_ranges(part, tmp_path, monkeypatch):
    """The CNH spreader's tasks (~70 values a record) convert in ranges as whole."""
    path = SHARED / "cnh_pro1200_spreader_benchtest" / "TASKDATA" / "TASKDATA.XML"
    ranged = _convert(path, tmp_path / "ranged", 50, monkeypatch, part)
    whole = _convert(path, tmp_path / "whole", 10**9, monkeypatch, part)
    assert ranged[2] and not whole[2]
    assert_same_conversion(ranged, whole)


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_real_logs_framed_in_many_buffers_as_in_one():
    """Every real log (none reaches one 32 MiB buffer) frames alike in buffers of
    4,093 bytes: records cut by a buffer's end, on real record layouts."""
    from tests.formats.isoxml.test_oracle_isoxml_js import real_pairs

    framed = 0
    for xml, binp in real_pairs():
        header = parse_tlg_header(xml)
        one = frame_log(binp, header)
        many = frame_log(binp, header, chunk_bytes=4093)
        assert one is not None and many is not None
        assert (many.clean, many.n_framed, many.n_kept) == (
            one.clean,
            one.n_framed,
            one.n_kept,
        ), xml
        assert np.array_equal(many.counts, one.counts), xml
        if one.clean:
            assert np.array_equal(many.marks, one.marks), xml
            framed += binp.stat().st_size > 4093
    assert framed >= 10


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
