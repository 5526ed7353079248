"""Working width from the device element hierarchy (leafnb.formats.isoxml.devices)."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.formats.isoxml.devices import device_class, working_width
from tests.formats.isoxml.builders import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    column,
    condensed,
    read_task,
    topcon_planter,
    track,
)
from tests.formats.isoxml.builders import working_width as worked_width


def _planter_log(n=40, rows_off=range(8)):
    """Seed boom on all along; rows *rows_off* switch off for the second half."""
    t, lat, lon = track(n)
    on = np.ones((32, n), int)
    for r in rows_off:
        on[r, n // 2 :] = 0
    dlvs = [
        DlvSpec(141, "DET-P", np.ones(n)),
        DlvSpec(141, "DET-SB", np.ones(n)),
        DlvSpec(67, "DET-SB", np.full(n, 12_192)),
        DlvSpec(67, "DET-LB", np.full(n, 12_192)),
        DlvSpec(161, "DET-SB", condensed(on[:16])),
        DlvSpec(162, "DET-SB", condensed(on[16:])),
        DlvSpec(12, "DET-SB", np.full(n, 85_720)),  # 85.72 seeds/m2
    ]
    return TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)


def _with_section_offsets(devices):
    for e in devices[1].elements:
        if e.type == 4:  # sections at the rows' lateral positions
            unit = next(u for u in devices[1].elements if u.parent == e.id)
            e.properties = {135: unit.properties[135]}
    return devices


def test_width_of_the_deepest_level_never_a_sum_across_levels(tmp_path):
    """Console 4 m, booms 12.192 m, sub-booms 3.048 m, 32 rows of 0.381 m -> 12.192 m."""
    devices = _with_section_offsets(topcon_planter())
    raw = read_task(
        tmp_path / "TASKDATA",
        [_planter_log()],
        devices=devices,
        task_name="Planting",
    )
    assert raw.meta["operation_type"] == "planted"
    # the implement: 32 rows of 0.381 m (mm); what works: rows 1-8 off in the 2nd half
    assert column(raw, "equipmentWidth").tolist() == [12_192.0] * 40
    width = worked_width(raw)
    assert width[:20].tolist() == [12_192.0] * 20
    assert width[20:].tolist() == [12_192.0 - 8 * 381] * 20
    # area: step x working width (2 m steps)
    area = column(raw, "area")
    np.testing.assert_allclose(area[1:], 2.0 * width[1:] / 1000, rtol=1e-2)
    assert raw.meta["modelled_properties"] == ["area"]
    facts = raw.meta["isoxml"]
    assert facts["width"] == [
        "DVC-3 '32 Row Planter' (Planters/Seeders): 32 unit at depth 4 (DDI 67 DPT), "
        "union of lateral offsets"
    ]
    assert facts["working_devices"] == ["DVC-3 '32 Row Planter' (Planters/Seeders)"]


def test_condensed_sections_ordered_by_lateral_offset_not_element_number(tmp_path):
    """Rows 19-32 carry element numbers below rows 1-18; the offsets give the order."""
    devices = _with_section_offsets(topcon_planter())
    raw = read_task(
        tmp_path / "TASKDATA",
        [_planter_log(rows_off=[1])],  # row 2 off: bit 2-3 of DDI 161
        devices=devices,
    )
    assert worked_width(raw)[-1] == 12_192.0 - 381


def test_sections_without_width_take_the_element_above(tmp_path):
    """An air cart: sections have no width; the section group (12 m) carries it and
    works when one of its sections works, whatever the group's own state says."""
    n = 30
    t, lat, lon = track(n)
    elements = [
        ElementSpec("DET-1", 1, designator="Air Cart"),
        ElementSpec("DET-2", 2, "DET-1", "Section Group", properties={70: 12_000}),
    ] + [ElementSpec(f"DET-S{i}", 4, "DET-2", f"Section {i}") for i in range(1, 7)]
    on = np.zeros((6, n), int)
    on[:, 10:20] = 1
    dlvs = [
        DlvSpec(141, "DET-2", np.ones(n)),  # the group says "on" all along
        DlvSpec(67, "DET-2", np.zeros(n)),  # a placeholder actual width of 0
        DlvSpec(161, "DET-2", condensed(on)),
        DlvSpec(7, "DET-2", np.full(n, 15_000_000)),  # 150 kg/ha
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)],
        devices=[DeviceSpec("DVC-1", "Air Cart", 4, elements)],
        task_name="Seeding",
    )
    assert column(raw, "equipmentWidth").tolist() == [12_000.0] * 30
    assert worked_width(raw).tolist() == [0.0] * 10 + [12_000.0] * 10 + [0.0] * 10
    status = column(raw, "recordingStatus")
    assert status.tolist() == ["Off"] * 10 + ["On"] * 10 + ["Off"] * 10
    assert "1 function at depth 1 (DDI 70 DPT)" in raw.meta["isoxml"]["width"][0]


def test_sum_without_offsets_and_widest_of_several_devices(tmp_path):
    n = 10
    t, lat, lon = track(n)
    drill = DeviceSpec(
        "DVC-1",
        "Drill",
        4,
        [ElementSpec("DET-1", 1)]
        + [
            ElementSpec(f"DET-S{i}", 4, "DET-1", properties={67: 2000})
            for i in range(3)
        ],
    )
    tank = DeviceSpec(
        "DVC-2", "Front tank", 4, [ElementSpec("DET-9", 1, properties={67: 4000})]
    )
    dlvs = [
        DlvSpec(141, "DET-S0", np.r_[np.ones(5), np.zeros(5)]),
        DlvSpec(141, "DET-S1", np.ones(10)),
        DlvSpec(141, "DET-S2", np.ones(10)),
    ]
    raw = read_task(
        tmp_path / "TASKDATA",
        [TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs)],
        devices=[drill, tank],
    )
    # drill: 3 x 2 m summed (no offsets), section 0 off in the second half -> 4 m;
    # the tank's 4 m covers the same swath: the widest counts
    assert column(raw, "equipmentWidth").tolist() == [6000.0] * 10
    assert worked_width(raw).tolist() == [6000.0] * 5 + [4000.0] * 5


def test_union_of_overlapping_intervals():
    w = np.full((3, 2), 3.0)
    y = np.array(
        [[0.0, 0.0], [0.0, 0.0], [3.0, 3.0]]
    )  # two product rows at 0, one at 3
    on = np.array([[True, True], [True, True], [True, False]])
    assert working_width(w, on, y).tolist() == [6.0, 3.0]
    assert working_width(w, on).tolist() == [9.0, 6.0]


@pytest.mark.parametrize(
    ("name", "cls"),
    [("A008800012E3001C", 4), ("2002FF001CEFC53D", 1), ("200E000000000000", 7)],
)
def test_device_class_from_iso_name(name, cls):
    assert device_class(name) == cls
