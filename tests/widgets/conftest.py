"""Workspaces with generated machine files for the panel tests (no kernel, no browser)."""

from __future__ import annotations

import pytest

from leafnb.testing import make_points, write_as
from tests.conftest import SMS_CSV, make_zip

pytest.importorskip("ipywidgets")
pytest.importorskip("ipyleaflet")


def upload_generated(ws, tmp, n=600, formats=(("harvested", "sms_csv"),), seed=3):
    """Generate points, write them as machine files, zip and upload; return the batch."""
    files = {}
    for i, (optype, fmt) in enumerate(formats):
        out = tmp / f"gen{i}"
        out.mkdir(parents=True, exist_ok=True)
        write_as(make_points(optype, n, seed=seed + i), fmt, out)
        for p in out.rglob("*"):
            if p.is_file():
                files[f"{i}/{p.relative_to(out).as_posix()}"] = p
    return ws.upload_batch(make_zip(tmp / "gen.zip", files), "grower-1")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(workspace, batch, processed harvest file id): shared by read-only tests of a module."""
    from leafnb import Workspace

    tmp = tmp_path_factory.mktemp("converted")
    ws = Workspace(tmp / "ws", executor="inline")
    batch = upload_generated(
        ws, tmp, formats=(("harvested", "sms_csv"), ("applied", "sms_csv"))
    )
    assert batch["status"] == "PROCESSED", batch
    fid = next(
        f["id"]
        for f in ws.get_files(batchId=batch["id"])
        if f["operationType"] == "harvested"
    )
    return ws, batch, fid


@pytest.fixture
def failed_batch(workspace, tmp_path):
    """(workspace, batch) whose only file fails at standardGeojson (no points passed the filter)."""
    bad = SMS_CSV.replace(b",18.5,", b",0,")
    batch = workspace.upload_batch(
        make_zip(tmp_path / "bad.zip", {"bad.csv": bad}), "g"
    )
    assert batch["status"] == "FAILED"
    return workspace, batch


@pytest.fixture(scope="module")
def with_operation(tmp_path_factory):
    """(workspace, operation id): a harvest file inside a field, automerged into an operation."""
    from leafnb import Workspace

    tmp = tmp_path_factory.mktemp("operation")
    ws = Workspace(tmp / "ws", executor="inline")
    batch = upload_generated(ws, tmp)
    fid = batch["leafFiles"][0]
    import shapely

    box = shapely.box(*ws.points(fid).total_bounds).buffer(0.001)
    ws.create_field("grower-1", geometry=shapely.geometry.mapping(box), name="north")
    ops = ws.get_operations(leafUserId="grower-1", size=100)
    assert ops, "automerge must create an operation for a file inside a field"
    return ws, ops[0]["id"]
