"""Operations from points, once: unit harmonisation and rates of different kinds (mixed units)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from shapely.geometry import mapping

from leafnb.errors import InvalidRequest
from leafnb.operations.combine import Member, UnitsNotCombinable, combine, rate_kind
from leafnb.testing import write_as
from tests.conftest import make_zip
from tests.operations.conftest import field_around, shifted

UID = "grower-1"


def _member(fid, rates, unit, start=0):
    n = len(rates)
    return Member(
        fid,
        pa.table(
            {
                "lon": [1.0] * n,
                "lat": [2.0] * n,
                "timestamp": pa.array(
                    [start + i for i in range(n)], pa.timestamp("ms", tz="UTC")
                ),
                "appliedRate": rates,
            }
        ),
        {"appliedRate": unit},
        "applied",
    )


def test_combine_converts_to_the_first_members_unit_and_sorts_by_time():
    points = combine(
        [_member("a", [1.0, 2.0], "kg/ha", 10), _member("b", [1.0], "g/m**2", 0)]
    )
    assert points.units == {"appliedRate": "kg/ha"}
    # g/m² -> kg/ha is x10; b's point is earliest
    assert points.table["appliedRate"].to_pylist() == [10.0, 1.0, 2.0]
    assert points.table["operationType"].to_pylist() == ["applied"] * 3


def test_combine_refuses_a_volume_and_a_mass_rate():
    with pytest.raises(
        UnitsNotCombinable, match="appliedRate of file b is in mg/m\\*\\*2"
    ):
        combine([_member("a", [1.0], "mm**3/m**2"), _member("b", [1.0], "mg/m**2")])
    assert rate_kind({"appliedRate": "mm**3/m**2"}) != rate_kind(
        {"appliedRate": "mg/m**2"}
    )
    assert rate_kind({"appliedRate": "L/ha"}) == rate_kind(
        {"appliedRate": "mm**3/m**2"}
    )


@pytest.fixture
def mixed(ws, tmp_path):
    """Two application files on one field, one day apart: rates in L/ha and in kg/ha."""
    vol = shifted("applied", 300, 1)
    mass = shifted("applied", 300, 2, days=1)
    ids = {}
    for name, table, mapping_ in (
        ("vol", vol, None),
        # an SMS export of a dry product: the monitor logs the rate as a mass per area
        (
            "mass",
            mass,
            {"Rt Apd Mass(kg/ha)": {"property": "appliedRate", "unit": "kg/ha"}},
        ),
    ):
        folder = tmp_path / name
        path = write_as(table, "sms_csv", folder, name=name)
        if mapping_:
            text = path.read_bytes()
            assert b"Rt Apd Vol(L/ha)" in text
            path.write_bytes(text.replace(b"Rt Apd Vol(L/ha)", b"Rt Apd Mass(kg/ha)"))
        z = make_zip(tmp_path / f"{name}.zip", {p.name: p for p in folder.iterdir()})
        batch = ws.upload_batch(z, UID, progress=False, column_mapping=mapping_)
        ids[name] = batch["leafFiles"][0]
    assert ws.get_file_units(ids["vol"])["appliedRate"] == "L/ha"
    assert ws.get_file_units(ids["mass"])["appliedRate"] == "kg/ha"
    return ids, vol


def test_mixed_rate_kinds_become_separate_operations(ws, mixed):
    ids, vol = mixed
    ws.create_field(UID, mapping(field_around(vol, 200)))
    ops = list(ws.get_operations(leafUserId=UID))
    assert sorted(op["files"] for op in ops) == sorted([[ids["vol"]], [ids["mass"]]])
    assert all(op["status"] == "processed" for op in ops), ops
    units = {op["files"][0]: ws.get_operation_units(op["id"]) for op in ops}
    assert units[ids["vol"]]["appliedRate"] == "L/ha"
    assert units[ids["mass"]]["appliedRate"] == "kg/ha"
    # automerge again: same operations, unchanged
    report = ws.run_automerge(UID)
    assert sorted(report["unchanged"]) == sorted(op["id"] for op in ops)


def test_manual_merge_of_mixed_rate_kinds_is_refused(ws, mixed):
    ids, _ = mixed
    with pytest.raises(InvalidRequest, match="rates of different kinds"):
        ws.merge_files([ids["vol"], ids["mass"]])


def test_operation_failure_says_why_on_its_own_status(ws, mixed, monkeypatch):
    """A member converted again into another rate kind after grouping fails that operation only."""
    from leafnb.operations import automerge

    _ids, vol = mixed
    monkeypatch.setattr(automerge, "_rate_kind", lambda ws, fid: ())  # one group
    ws.create_field(UID, mapping(field_around(vol, 200)))
    (op,) = ws.get_operations(leafUserId=UID)
    assert op["status"] == "failed"
    assert "cannot be combined without the product's density" in op["message"]
    assert ws.get_file(op["leafFileId"])["status"] == "failed"


def test_cnh_pro1200_mixed_units(ws, shared_data, tmp_path):
    """The CNH Pro-1200 set: application logs in mm³/m² and in mg/m² (README: shared data)."""
    src = shared_data / "isoxml" / "cnh_pro1200_spreader_benchtest"
    if not src.is_dir():
        pytest.skip("CNH Pro-1200 set absent")
    z = make_zip(
        tmp_path / "cnh.zip",
        {p.relative_to(src).as_posix(): p for p in src.rglob("*") if p.is_file()},
    )
    batch = ws.upload_batch(z, UID, progress=False)
    assert batch["status"] == "PROCESSED"
    kinds = set()
    for fid in batch["leafFiles"]:
        if ws.get_file(fid)["status"] == "processed":
            kinds.add(rate_kind(dict(ws.get_file_units(fid))))
    assert len({k for k in kinds if k}) == 2  # volume and mass per area
    ops = ws.get_operations(leafUserId=UID, size=100)
    assert ops.total > 0
    for op in ops:
        assert op["status"] == "processed", op
        member_kinds = {rate_kind(dict(ws.get_file_units(f))) for f in op["files"]}
        assert len(member_kinds) == 1
