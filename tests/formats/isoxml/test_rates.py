"""Rates (leafnb.formats.isoxml.properties, rule "Actual rate in another resolution")."""

from __future__ import annotations

import numpy as np

from leafnb.formats.base import Column
from tests.formats.isoxml.builders import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    column,
    read_task,
    track,
)

N = 10


def _sprayer_log(actual_raw, setpoint_raw):
    t, lat, lon = track(N)
    return TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=[
            DlvSpec(2, "DET-1", np.asarray(actual_raw)),
            DlvSpec(1, "DET-1", np.asarray(setpoint_raw)),
            DlvSpec(141, "DET-1", np.ones(N)),
        ],
    )


SPRAYER = [
    DeviceSpec(
        "DVC-1", "Sprayer", 6, [ElementSpec("DET-1", 1, properties={67: 24_000})]
    )
]


def test_actual_rate_100x_below_its_setpoint_is_rescaled(tmp_path):
    """374 L/ha set (raw 3,741,583 x 0.01 mm3/m2), 343.7 L/ha applied written as 34,370
    (1 mm3/m2 per count, the CNH ECU-1224 way): the actual is read as 34,370 mm3/m2."""
    raw = read_task(
        tmp_path / "TASKDATA",
        [_sprayer_log(np.full(N, 34_370), np.full(N, 3_741_583))],
        devices=SPRAYER,
        task_name="Spraying",
    )
    assert raw.meta["operation_type"] == "applied"
    rate = column(raw, "appliedRate")
    np.testing.assert_allclose(rate, 34_370.0)
    assert raw.meta["columns"]["agg_appliedRate"] == Column("appliedRate", "mm**3/m**2")
    assert "10^-2" in raw.meta["isoxml"]["rate_resolution"]
    # the logged column keeps what the device wrote
    np.testing.assert_allclose(raw.table["DDI0002"].to_numpy(), 343.70)


def test_actual_rate_a_few_times_its_setpoint_is_kept(tmp_path):
    """Over-application (3x, as the AGCO/JD sprayer logs) is a real rate: no rescale."""
    raw = read_task(
        tmp_path / "TASKDATA",
        [_sprayer_log(np.full(N, 9_000_000), np.full(N, 3_000_000))],
        devices=SPRAYER,
        task_name="Spraying",
    )
    np.testing.assert_allclose(column(raw, "appliedRate"), 90_000.0)
    assert "rate_resolution" not in raw.meta["isoxml"]


def test_a_planting_without_actual_rate_says_what_its_logs_hold(tmp_path):
    """Only the setpoint (DDI 11) and a seed counter (DDI 82) that never moves: the
    file's column mapping says the actual rate DDI 12 is missing and nothing was counted
    (the pipeline's "missing required properties: seedRate" message shows it)."""
    t, lat, lon = track(N)
    log = TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=[
            DlvSpec(11, "DET-1", np.full(N, 10_000)),  # 10 seeds/m2 set
            DlvSpec(82, "DET-1", np.full(N, 404_686_267)),
            DlvSpec(141, "DET-1", np.ones(N)),
        ],
    )
    planter = [
        DeviceSpec(
            "DVC-1", "Planter", 4, [ElementSpec("DET-1", 1, properties={67: 6000})]
        )
    ]
    raw = read_task(tmp_path / "TASKDATA", [log], devices=planter, task_name="Sowing")
    assert raw.meta["operation_type"] == "planted"
    assert not any(c.property == "seedRate" for c in raw.meta["columns"].values())
    unused = raw.meta["column_mapping"]["unused"]
    assert unused["DDI 11 (Setpoint Count Per Area Application Rate)"] == (
        "a setpoint; its actual value DDI 12 is not logged"
    )
    (counter,) = [v for k, v in unused.items() if k.startswith("DDI 82")]
    assert counter.endswith("stays 404,686,267 over the log: nothing counted")


def test_a_planting_with_its_actual_rate_has_no_such_note(tmp_path):
    t, lat, lon = track(N)
    log = TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=[
            DlvSpec(12, "DET-1", np.full(N, 9_000)),
            DlvSpec(11, "DET-1", np.full(N, 10_000)),
            DlvSpec(141, "DET-1", np.ones(N)),
        ],
    )
    planter = [
        DeviceSpec(
            "DVC-1", "Planter", 4, [ElementSpec("DET-1", 1, properties={67: 6000})]
        )
    ]
    raw = read_task(tmp_path / "TASKDATA", [log], devices=planter, task_name="Sowing")
    assert "column_mapping" not in raw.meta
