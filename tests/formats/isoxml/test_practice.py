"""Operation type: device class and task/product context first, DDIs second
(leafnb.formats.isoxml.practice), and logs that are no operation are refused."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.errors import FormatError
from leafnb.formats.base import Column
from leafnb.formats.isoxml.reader import IsoxmlReader
from tests.formats.isoxml.builders import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    read_task,
    track,
)

N = 8


def _log(dlvs):
    t, lat, lon = track(N)
    return TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)


def _cart(cls=4, **props):
    return [
        DeviceSpec(
            "DVC-1",
            "Air Cart",
            cls,
            [ElementSpec("DET-1", 1, properties={67: 12_000, **props})],
        )
    ]


MASS_RATE = [
    DlvSpec(7, "DET-1", np.full(N, 15_000_000)),  # 150 kg/ha as mg/m2
    DlvSpec(6, "DET-1", np.full(N, 16_000_000)),
    DlvSpec(141, "DET-1", np.ones(N)),
]


def test_air_cart_seeding_by_mass_is_planted(tmp_path):
    """Device class 4 "Planters/Seeders", task "Seeding ...": a mass rate is a seed rate."""
    folder = tmp_path / "TASKDATA"
    raw = read_task(
        folder, [_log(MASS_RATE)], devices=_cart(4), task_name="Seeding 2022"
    )
    assert raw.meta["operation_type"] == "planted"
    assert raw.meta["isoxml"]["operation_type_source"].startswith("device class 4")
    cols = raw.meta["columns"]
    assert cols["DDI0007"] == Column("seedRate", "mg/m**2")
    assert cols["DDI0006"] == Column("seedRateTarget", "mg/m**2")
    assert (
        IsoxmlReader().describe(folder / "TASKDATA.XML", "TSK1")["operation_type"]
        == "planted"
    )


def test_the_same_rates_on_a_fertiliser_spreader_are_applied(tmp_path):
    raw = read_task(tmp_path / "TASKDATA", [_log(MASS_RATE)], devices=_cart(5))
    assert raw.meta["operation_type"] == "applied"
    assert raw.meta["columns"]["DDI0007"] == Column("appliedRate", "mg/m**2")


def test_cultural_practice_of_bins_planting_wins(tmp_path):
    """A planter's bins state sowing (2), fertilizing (1) and crop protection (3, 3)."""
    elements = [ElementSpec("DET-1", 1, properties={67: 6000})] + [
        ElementSpec(f"DET-B{i}", 3, "DET-1", properties={179: code})
        for i, code in enumerate((2, 1, 3, 3))
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [_log(MASS_RATE)],
        devices=[DeviceSpec("DVC-1", "Planter", 0, elements)],
    )
    assert raw.meta["operation_type"] == "planted"
    assert raw.meta["isoxml"]["operation_type_source"] == (
        "Actual Cultural Practice (DDI 179) = 2"
    )


@pytest.mark.parametrize(
    ("cls", "attrs", "expected"),
    [
        (0, {"P094_Product_Usage": "3"}, "applied"),  # a herbicide
        (0, {"P094_Product_Form": "5"}, "planted"),  # bulk seed
        (7, {"P094_Product_Usage": "7"}, "harvested"),  # a harvested variety
    ],
)
def test_product_context(tmp_path, cls, attrs, expected):
    raw = read_task(
        tmp_path / "TASKDATA",
        [_log([DlvSpec(141, "DET-1", np.ones(N))])],
        devices=_cart(cls),
        product="Product",
        product_attrs=attrs,
        task_name="Task",
    )
    assert raw.meta["operation_type"] == expected


def test_task_designator_decides_for_a_non_specific_device(tmp_path):
    raw = read_task(
        tmp_path / "TASKDATA",
        [_log([DlvSpec(141, "DET-1", np.ones(N))])],
        devices=_cart(0),
        task_name="Pflanzenschutz Weizen",
    )
    assert raw.meta["operation_type"] == "applied"
    assert "task designator" in raw.meta["isoxml"]["operation_type_source"]


def test_tractor_only_log_is_refused(tmp_path):
    """A tractor's speed and attitude are no field operation: refused, saying why."""
    dlvs = [DlvSpec(397, "DET-1", np.full(N, 2000)), DlvSpec(144, "DET-1", np.zeros(N))]
    tractor = [DeviceSpec("DVC-1", "8250 TTV", 1, [ElementSpec("DET-1", 1)])]
    with pytest.raises(
        FormatError, match=r"TSK1: not a field operation: .*Actual Speed.*Tractor"
    ):
        read_task(
            tmp_path / "TASKDATA", [_log(dlvs)], devices=tractor, task_name="Task 9"
        )
