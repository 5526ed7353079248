"""A retry touches only failed files; a batch being processed refuses a second run (issue 14 item 4).

Before: ``retry_batch`` during processing re-ran files still ``processing`` (21
operations instead of 19, two operations with the same file, events fired twice).
"""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest

from leafnb import Workspace
from leafnb.errors import BatchBusy
from leafnb.pipeline.steps import convert_file
from leafnb.store.runs import host_id
from tests.conftest import SMS_CSV, make_zip


class GatedRunner:
    """Converts in the calling thread; every conversion waits until the gate opens."""

    def __init__(self):
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.calls: Counter[str] = Counter()

    def run(self, jobs):
        for job in jobs:
            self.calls[job.file_id] += 1
            self.entered.set()
            assert self.gate.wait(120), "the test never opened the gate"
            yield job, convert_file(job)


@pytest.fixture
def two_files(tmp_path):
    return make_zip(
        tmp_path / "two.zip",
        {"a.csv": SMS_CSV, "b.csv": SMS_CSV.replace(b"2024-10-01", b"2024-10-02")},
    )


def test_retry_during_processing_is_refused_and_nothing_runs_twice(tmp_path, two_files):
    runner = GatedRunner()
    ws = Workspace(tmp_path / "ws", executor=runner)
    batch_id = ws.upload_batch(two_files, "g", wait=False)["id"]
    assert runner.entered.wait(60)
    # Leaf's wire says RECEIVED while work goes on; leafnb's state is processingStatus
    assert ws.get_batch(batch_id)["status"] == "RECEIVED"
    assert ws.get_batch(batch_id)["processingStatus"] == "PROCESSING"
    with pytest.raises(BatchBusy, match="is being processed"):
        ws.retry_batch(batch_id)
    # another Workspace on the same folder (another notebook, the server) is refused too
    with pytest.raises(BatchBusy, match="retry it after it has finished"):
        Workspace(tmp_path / "ws", executor="inline").retry_batch(batch_id, wait=False)
    runner.gate.set()
    ws.wait(120)
    batch = ws.get_batch(batch_id)
    assert batch["status"] == "PROCESSED"
    assert sorted(runner.calls.values()) == [1, 1]
    finished = [e["fileId"] for e in ws.get_events("uploadedFileProcessingFinished")]
    assert sorted(finished) == sorted(batch["leafFiles"])
    assert len(ws.get_events("batchUploadProcessingFinished")) == 1
    # once settled, a retry is allowed and converts nothing (no file failed)
    ws.retry_batch(batch_id)
    assert sorted(runner.calls.values()) == [1, 1]
    assert ws.get_batch(batch_id)["status"] == "PROCESSED"


def test_retry_converts_only_the_failed_files(tmp_path):
    runner = GatedRunner()
    runner.gate.set()
    bad = SMS_CSV.replace(b",18.5,", b",0,")  # every point fails cleanup
    z = make_zip(tmp_path / "mixed.zip", {"good.csv": SMS_CSV, "bad.csv": bad})
    ws = Workspace(tmp_path / "ws", executor=runner)
    batch = ws.upload_batch(z, "g")
    status = {ws.get_file(f)["fileName"]: f for f in batch["leafFiles"]}
    assert ws.get_file(status["bad.csv"])["status"] == "failed"
    ws.retry_batch(batch["id"])
    assert runner.calls == {status["good.csv"]: 1, status["bad.csv"]: 2}


def test_retry_after_a_dead_run_converts_the_interrupted_files_once(
    tmp_path, two_files
):
    ws = Workspace(tmp_path / "ws", executor="inline")
    batch = ws.upload_batch(two_files, "g")
    second = batch["leafFiles"][1]
    # what a killed process leaves: one file still 'processing', the batch PROCESSING,
    # a lease of a process that no longer exists (this pid with another start time)
    with ws.catalog.transaction() as conn:
        conn.execute("UPDATE files SET status='processing' WHERE id=?", (second,))
        conn.execute(
            "UPDATE batches SET status='PROCESSING' WHERE id=?", (batch["id"],)
        )
        conn.execute(
            "INSERT INTO runs VALUES (?, 'dead', ?, ?, 'not-this-start', '', 0)",
            (batch["id"], host_id(), os.getpid()),
        )
    runner = GatedRunner()
    runner.gate.set()
    again = Workspace(tmp_path / "ws", executor=runner)
    # opening the workspace found the dead run and marked the batch
    assert again.recovered == [batch["id"]]
    status = again.get_file_status(second)
    assert status["rawGeojson"]["status"] == "failed"
    assert status["rawGeojson"]["message"].startswith("interrupted: ")
    assert "retry" in again.get_batch(batch["id"])["statusDetails"]
    again.retry_batch(batch["id"])
    assert runner.calls == {second: 1}
    assert again.get_file(second)["status"] == "processed"
    assert again.get_batch(batch["id"])["status"] == "PROCESSED"


def test_a_live_run_of_another_workspace_is_not_taken_over(tmp_path, two_files):
    runner = GatedRunner()
    ws = Workspace(tmp_path / "ws", executor=runner)
    batch_id = ws.upload_batch(two_files, "g", wait=False)["id"]
    assert runner.entered.wait(60)
    other = Workspace(
        tmp_path / "ws", executor="inline"
    )  # its recovery sees a live lease
    assert other.recovered == []
    assert other.get_batch(batch_id)["processingStatus"] == "PROCESSING"
    runner.gate.set()
    ws.wait(120)
    assert other.get_batch(batch_id)["status"] == "PROCESSED"
