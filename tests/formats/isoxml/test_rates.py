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
