"""Work state from the working elements (leafnb.formats.isoxml.worktime)."""

from __future__ import annotations

import numpy as np

from leafnb.standard.area_yield import compute_area_and_yield
from leafnb.standard.normalize import normalize
from tests.formats.isoxml.builders import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    column,
    condensed,
    read_task,
    track,
    working_width,
)


def _sprayer(sections=4):
    elements = [ElementSpec("DET-1", 1, designator="Sprayer")] + [
        ElementSpec(f"DET-S{i}", 4, "DET-1", properties={67: 3000, 135: 3000 * i})
        for i in range(sections)
    ]
    return [DeviceSpec("DVC-1", "Sprayer", 6, elements)]


def _log(n, dlvs, name="TLG00001", t0=0):
    t, lat, lon = track(n)
    return TimeLogSpec(name, t + t0, lat, lon, dlvs=dlvs)


def test_top_level_always_on_does_not_override_sections(tmp_path):
    """A 2-minute task: the device says "on" all along, its sections work 20 s - 100 s."""
    n = 120
    on = np.zeros((4, n), int)
    on[:, 20:100] = 1
    dlvs = [
        DlvSpec(141, "DET-1", np.ones(n)),
        DlvSpec(161, "DET-1", condensed(on)),
        DlvSpec(2, "DET-1", np.full(n, 2_000_000)),  # 200 L/ha in 0.01 mm3/m2
    ]
    raw = read_task(tmp_path / "TASKDATA", [_log(n, dlvs)], devices=_sprayer())
    status = column(raw, "recordingStatus")
    assert np.flatnonzero(status == "On")[[0, -1]].tolist() == [20, 99]
    width = working_width(raw)
    assert width[19] == 0 and width[20] == 12_000
    points = compute_area_and_yield(normalize(raw))
    t = points.table["timestamp"].to_pylist()
    on_times = [t[i] for i in np.flatnonzero(status == "On")]
    assert (on_times[-1] - on_times[0]).total_seconds() == 79


def test_sections_on_while_the_master_switch_is_off_do_not_work(tmp_path):
    n = 60
    master = np.r_[np.zeros(15), np.ones(30), np.zeros(15)]
    dlvs = [
        DlvSpec(141, "DET-1", master),
        DlvSpec(161, "DET-1", condensed(np.ones((4, n), int))),
    ]
    raw = read_task(tmp_path / "TASKDATA", [_log(n, dlvs)], devices=_sprayer())
    status = column(raw, "recordingStatus")
    assert status.tolist() == ["Off"] * 15 + ["On"] * 30 + ["Off"] * 15


def test_placeholder_condensed_state_and_states_held_from_the_start(tmp_path):
    """A condensed state that is 0 at every record says nothing (the sections follow
    the device's own state); a state first written at record 3 holds from record 0."""
    n = 10
    present = np.zeros(n, bool)
    present[3:] = True
    dlvs = [
        DlvSpec(161, "DET-1", np.zeros(n)),
        DlvSpec(141, "DET-1", np.r_[np.ones(6), np.zeros(4)], present),
    ]
    raw = read_task(tmp_path / "TASKDATA", [_log(n, dlvs)], devices=_sprayer())
    assert column(raw, "recordingStatus").tolist() == ["On"] * 6 + ["Off"] * 4
    assert working_width(raw).tolist() == [12_000.0] * 6 + [0.0] * 4


def test_a_log_without_states_or_widths_adds_no_work(tmp_path):
    """A second log that writes neither work state nor width: status null, width 0
    (values are never carried from one log into the next)."""
    elements = [ElementSpec("DET-1", 1)]
    devices = [DeviceSpec("DVC-1", "Harvester", 7, elements)]
    first = _log(
        5, [DlvSpec(141, "DET-1", np.ones(5)), DlvSpec(67, "DET-1", np.full(5, 9000))]
    )
    second = _log(5, [], name="TLG00002", t0=60_000)
    raw = read_task(tmp_path / "TASKDATA", [first, second], devices=devices)
    assert column(raw, "recordingStatus").tolist() == ["On"] * 5 + [None] * 5
    assert working_width(raw).tolist() == [9000.0] * 5 + [0.0] * 5
    assert np.nansum(column(raw, "area")[5:]) == 0
