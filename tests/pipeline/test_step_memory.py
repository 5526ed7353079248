"""Freed memory is handed back after a file's steps, except for a small table (issue 16)."""

from __future__ import annotations

import pytest

from leafnb import Workspace
from leafnb.keys import FILE_STEPS
from leafnb.pipeline import steps
from tests.conftest import SMS_CSV, make_zip


def _releases(tmp_path, monkeypatch, threshold: int) -> int:
    calls = []
    monkeypatch.setattr(steps, "release_memory", lambda: calls.append(1))
    monkeypatch.setattr(steps, "SMALL_TABLE_ROWS", threshold)
    upload = make_zip(tmp_path / f"one{threshold}.zip", {"a.csv": SMS_CSV})  # 40 rows
    ws = Workspace(tmp_path / f"ws{threshold}", executor="inline")
    batch = ws.upload_batch(upload, "grower", progress=False)
    (fid,) = batch["leafFiles"]
    assert ws.get_file(fid)["status"] == "processed"
    return len(calls)


@pytest.mark.parametrize(("threshold", "want"), [(10, len(FILE_STEPS)), (4096, 1)])
def test_memory_released_after_the_steps_of_a_big_table_only(
    tmp_path, monkeypatch, threshold, want
):
    # before the file is read its size is unknown: released after the first step
    assert _releases(tmp_path, monkeypatch, threshold) == want


def test_run_steps_releases_when_asked(monkeypatch):
    runners = {s: (lambda: "ok") for s in FILE_STEPS}
    calls = []
    monkeypatch.setattr(steps, "release_memory", lambda: calls.append(1))
    steps.run_steps(runners, "f")
    steps.run_steps(runners, "f", release=lambda: False)
    assert len(calls) == len(FILE_STEPS)
