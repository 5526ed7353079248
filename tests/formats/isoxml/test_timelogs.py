"""Parallel time logs of one task are joined by time (leafnb.formats.isoxml.timelogs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.timelogs import join_logs
from leafnb.formats.isoxml.tlg import decode_tlg, parse_tlg_header
from leafnb.formats.isoxml.writer import split_parallel, write_tlg
from leafnb.standard.area_yield import canonical_array, compute_area_and_yield
from leafnb.standard.normalize import normalize
from tests.formats.isoxml.builders import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    column,
    read_task,
    track,
    working_width,
)

ROWS = 48


def _wide_log(n=50):
    """A planter logging 6 values on each of 48 rows: 288 DLVs, more than one log holds."""
    t, lat, lon = track(n)
    rng = np.random.default_rng(1)
    dlvs = [DlvSpec(141, "DET-1", np.ones(n))]
    for r in range(ROWS):
        det = f"DET-R{r}"
        dlvs += [
            DlvSpec(67, det, np.full(n, 500)),
            DlvSpec(135, det, np.full(n, 500 * r)),
            DlvSpec(141, det, (np.arange(n) < 40).astype(int)),
            DlvSpec(12, det, rng.integers(80_000, 90_000, n)),
            DlvSpec(0x01A1, det, rng.integers(0, 5, n)),  # skips %
            DlvSpec(0x019F, det, rng.integers(95, 100, n)),  # singulation %
        ]
    return TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)


def _planter():
    elements = [ElementSpec("DET-1", 1, designator="Planter")] + [
        ElementSpec(f"DET-R{r}", 4, "DET-1", f"Row {r + 1}") for r in range(ROWS)
    ]
    return [DeviceSpec("DVC-1", "Planter", 4, elements)]


def test_parallel_logs_become_one_record_per_instant(tmp_path):
    whole = _wide_log()
    logs = split_parallel(whole, 100)  # 3 logs, the way controllers split > 255 DLVs
    assert len(logs) == 3
    raw = read_task(tmp_path / "TASKDATA", logs, devices=_planter(), task_name="Plant")
    table = raw.table
    assert table.num_rows == 50  # not 3 x 50
    assert raw.meta["record_count"] == 50  # one record per instant
    assert [log["records"] for log in raw.meta["time_logs"]] == [50, 50, 50]
    assert raw.meta["isoxml"]["parallel_logs"] == [["TLG00001", "TLG00002", "TLG00003"]]
    # every value is present at every instant, whichever log carried it
    for name in table.column_names:
        if name.startswith("DDI"):
            assert table[name].null_count == 0, name
    assert column(raw, "equipmentWidth").tolist() == [48 * 500.0] * 50
    assert working_width(raw).tolist() == [48 * 500.0] * 40 + [0.0] * 10
    assert column(raw, "recordingStatus").tolist() == ["On"] * 40 + ["Off"] * 10
    np.testing.assert_array_equal(
        table["timestamp"].cast("int64").to_numpy(), whole.time_ms
    )


def test_join_keeps_records_of_one_log_that_share_a_timestamp(tmp_path):
    t = np.array([0, 0, 1000, 2000, 2000, 2000], dtype=np.int64) + 1_700_000_000_000
    lat, lon = np.linspace(52, 52.001, 6), np.full(6, 10.0)
    a = TimeLogSpec("TLG00001", t, lat, lon, dlvs=[DlvSpec(99, values=np.arange(6))])
    b = TimeLogSpec(
        "TLG00002", t, lat, lon, dlvs=[DlvSpec(84, values=np.arange(6) * 10)]
    )
    logs = []
    for spec in (a, b):
        xml, binp = write_tlg(tmp_path, spec)
        logs.append(decode_tlg(binp, parse_tlg_header(xml)))
    records = join_logs(logs)
    assert records.n == 6
    assert records.filled(records.channel(84, "DET-1")).tolist() == [
        0,
        10,
        20,
        30,
        40,
        50,
    ]
    assert records.filled(records.channel(99, "DET-1")).tolist() == [0, 1, 2, 3, 4, 5]


def test_sequential_logs_follow_each_other_and_are_not_filled_across(tmp_path):
    t, lat, lon = track(10)
    first = TimeLogSpec(
        "TLG00001", t[:5], lat[:5], lon[:5], dlvs=[DlvSpec(99, values=np.full(5, 7))]
    )
    second = TimeLogSpec(
        "TLG00002", t[5:] + 60_000, lat[5:], lon[5:],
        dlvs=[DlvSpec(99, values=np.full(5, 9), present=np.arange(5) >= 2)],
    )  # fmt: skip
    raw = read_task(tmp_path / "TASKDATA", [first, second])
    assert "parallel_logs" not in raw.meta["isoxml"]
    values = raw.table["DDI0063"].to_numpy(zero_copy_only=False)
    assert values[:5].tolist() == [7] * 5
    assert np.isnan(values[5:7]).all() and values[7:].tolist() == [9] * 3


def test_topcon_planter_width_and_parallel_logs():
    """A real task (tests/data, committed): 3 parallel TLGs x 3,633 records -> 3,633
    records; the implement is the 32 row units (12.192 m), never the 63.8 m sum of the
    tree; row 2 never plants (its condensed work state bits stay 00), so the working
    width is 31 rows."""
    folder = Path(__file__).resolve().parents[2] / "data" / "topcon_case2150s_planter"
    path = next(p for p in folder.rglob("*") if p.name.lower() == "taskdata.xml")
    raw = IsoxmlReader().read(path, part="TSK4")
    points = compute_area_and_yield(normalize(raw))
    facts = raw.meta["isoxml"]
    assert facts["parallel_logs"] == [["TLG00001", "TLG00002", "TLG00003"]]
    assert "32 unit at depth 4" in facts["width"][0]
    assert np.nanmax(canonical_array(points, "equipmentWidth")) == pytest.approx(12.192)
    working = raw.table["agg_workingWidth"].to_numpy(zero_copy_only=False)
    assert np.nanmax(working) == pytest.approx(12_192 - 381)
    assert raw.table.num_rows == raw.meta["record_count"] == 3_633
