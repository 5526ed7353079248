"""Running totals per record and the controller's task totals (leafnb.formats.isoxml.totals)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.formats.isoxml.builders import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    column,
    read_task,
    track,
)


def _sprayer():
    return [
        DeviceSpec(
            "DVC-1",
            "Sprayer",
            6,
            [
                ElementSpec("DET-1", 1, properties={67: 10_000}),
                ElementSpec("DET-B1", 3, "DET-1"),
                ElementSpec("DET-B2", 3, "DET-1"),
            ],
        )
    ]


def test_sparse_running_total_is_spread_over_its_records(tmp_path):
    """Total Area written every 10 records: each record gets its share by distance x
    working width (0 where the boom is off); the sum is the controller's total."""
    n = 31
    t, lat, lon = track(n, speed=2.0)
    work = np.ones(n, int)
    work[12:15] = 0
    area = np.concatenate([[0], np.cumsum(np.where(work[1:], 20, 0))])  # 2 m/s x 10 m
    every10 = np.arange(n) % 10 == 0
    dlvs = [
        DlvSpec(141, "DET-1", work),
        DlvSpec(116, "DET-1", area, present=every10),
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)],
        devices=_sprayer(),
        tim=[(116, "DET-1", int(area[-1]))],
    )
    per_record = column(raw, "area")
    assert per_record[0] == 0 and np.nansum(per_record) == pytest.approx(area[30])
    np.testing.assert_allclose(per_record[1:11], 20.0, rtol=1e-2)  # even shares
    assert per_record[12:15].tolist() == [0.0, 0.0, 0.0]  # off: no area
    np.testing.assert_allclose(per_record[11:21].sum(), area[20] - area[10])
    assert raw.meta["machine_totals"]["totalArea"] == {"value": area[-1], "unit": "m2"}


def test_area_before_the_first_total_is_the_model_not_the_implement_width(tmp_path):
    """Total Area first written at record 10: the records before take the model's area
    (distance x working width: 0 while the boom is off), so the pipeline never fills
    them with distance x implement width (a roading forage harvester got 7,002 m2)."""
    n = 21
    t, lat, lon = track(n, speed=2.0)
    work = np.zeros(n, int)
    work[5:] = 1
    area = np.concatenate([[0], np.cumsum(np.where(work[1:], 20, 0))])
    dlvs = [
        DlvSpec(141, "DET-1", work),
        DlvSpec(116, "DET-1", area, present=np.arange(n) >= 10),
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)],
        devices=_sprayer(),
    )
    per_record = column(raw, "area")
    assert not np.isnan(per_record).any()
    assert per_record[:5].tolist() == [0.0] * 5  # off
    np.testing.assert_allclose(per_record[5:11], 20.0, rtol=1e-3)  # model: 2 m x 10 m
    assert per_record[11:].sum() == pytest.approx(area[-1] - area[10])
    assert raw.meta["isoxml"]["area"] == "DDI 116, the model before its first value"
    assert "modelled_properties" not in raw.meta  # the machine's area, mostly


def test_task_totals_from_the_element_that_carries_the_work(tmp_path):
    """TIM areas on the device and on two product bins: the device's counts; product
    masses of the bins add up."""
    t, lat, lon = track(4)
    raw = read_task(
        tmp_path / "TASKDATA",
        [
            TimeLogSpec(
                "TLG00001", t, lat, lon, dlvs=[DlvSpec(141, "DET-1", np.ones(4))]
            )
        ],
        devices=_sprayer(),
        tim=[
            (116, "DET-B1", 1200),
            (116, "DET-1", 1500),
            (116, "DET-B2", 1400),
            (81, "DET-B1", 30),
            (81, "DET-B2", 20),
        ],
    )
    totals = raw.meta["machine_totals"]
    assert totals["totalArea"] == {"value": 1500.0, "unit": "m2"}
    assert totals["totalApplied"] == {"value": 50.0, "unit": "kg"}
    assert totals["DDI0074_DETB1"] == {"value": 1200.0, "unit": "m2"}


def test_planted_application_total_is_total_planted(tmp_path):
    t, lat, lon = track(4)
    cart = [
        DeviceSpec(
            "DVC-1", "Air Cart", 4, [ElementSpec("DET-1", 1, properties={67: 12_000})]
        )
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [
            TimeLogSpec(
                "TLG00001", t, lat, lon, dlvs=[DlvSpec(7, "DET-1", np.full(4, 1))]
            )
        ],
        devices=cart,
        tim=[(81, "DET-1", 211)],
    )
    assert raw.meta["machine_totals"]["totalPlanted"] == {"value": 211.0, "unit": "kg"}
    assert "totalApplied" not in raw.meta["machine_totals"]


def test_log_running_past_its_tim_shows_the_logged_increase(tmp_path):
    """The TIM is a snapshot (here at record 20: 40 L, 400 m2); the log runs on and its
    Application Total Volume counter rises to 60 L while the area stays: the TIM stays
    the task total and the log's increase is shown next to it (``_TLG``); a total that
    agrees with its TIM (Total Area) gets no such row."""
    n = 31
    t, lat, lon = track(n, speed=2.0)
    area = np.minimum(np.arange(n), 20) * 20  # 2 m/s x 10 m until record 20, then still
    volume = np.arange(n) * 2  # L: the counter keeps running
    every10 = np.arange(n) % 10 == 0
    dlvs = [
        DlvSpec(141, "DET-1", np.ones(n, int)),
        DlvSpec(116, "DET-1", area, present=every10),
        DlvSpec(80, "DET-1", volume, present=every10),
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)],
        devices=_sprayer(),
        tim=[(116, "DET-1", int(area[20])), (80, "DET-1", int(volume[20]))],
    )
    totals = raw.meta["machine_totals"]
    assert totals["totalApplied"] == {"value": 40.0, "unit": "L"}
    assert totals["DDI0050_TLG"] == {"value": 60.0, "unit": "L", "source": "TLG"}
    assert totals["totalArea"] == {"value": 400.0, "unit": "m2"}
    assert "DDI0074_TLG" not in totals
