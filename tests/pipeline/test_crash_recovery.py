"""``kill -9`` of a converting process at four points; the next open recovers (issue 14 item 5).

Before: the batch stayed PROCESSING forever, pool workers and the resource tracker kept
running, and a kill during extraction left the partial extraction on disk.

Each test runs ``upload_batch`` in a child process with ``LEAFNB_PAUSE_AT=<point>``
(:mod:`leafnb.pipeline.checkpoints`): the child writes its pid to a file and freezes
at that point; the test then kills it with SIGKILL. No sleeps decide anything: the
test waits for the pause file (the only deadlines are failure guards).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leafnb import Workspace
from tests.conftest import SMS_CSV, make_zip

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs Linux /proc"
)

CHILD = """
import sys
from leafnb import Workspace
from leafnb.pipeline.executors import ProcessPoolRunner

folder, upload, kind = sys.argv[1:4]
runner = ProcessPoolRunner(2, min_bytes=0, share_bytes=0) if kind == "pool" else "inline"
Workspace(folder, executor=runner).upload_batch(upload, "grower", progress=False)
"""


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def children(pid: int) -> dict[int, str]:
    """{pid: start time} of the processes whose parent is *pid*."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) and fields[1] == str(pid):
            out[int(entry)] = fields[19]
    return out


def running(pid: int, start: str) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X") and fields[19] == start


def kill_at(point: str, folder: Path, upload: Path, kind: str = "inline"):
    """Run the child until it freezes at *point*, SIGKILL it; return its children."""
    pause, log = folder.parent / f"pause-{point}", folder.parent / f"child-{point}.log"
    env = {**os.environ, "LEAFNB_PAUSE_AT": point, "LEAFNB_PAUSE_FILE": str(pause)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), str(upload), kind],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while not (pause.exists() and pause.read_text().endswith("\n")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the child never reached {point!r}:\n{log.read_text()}")
        time.sleep(0.02)
    kids = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return kids


def wait_gone(kids: dict[int, str], timeout: float = 60) -> list[int]:
    """Pids of *kids* still running after *timeout* s (a failure guard, not a timing)."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p, s in kids.items() if running(p, s)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return alive


def only_batch(folder: Path) -> str:
    (batch_id,) = os.listdir(folder / "batches")
    return batch_id


@pytest.fixture
def three_csvs(tmp_path):
    return make_zip(
        tmp_path / "three.zip",
        {
            f"{day}.csv": SMS_CSV.replace(b"2024-10-01", f"2024-10-{day}".encode())
            for day in ("01", "02", "03")
        },
    )


@pytest.mark.parametrize("point", ["extract", "detect"])
def test_kill_before_the_files_are_recorded(tmp_path, point):
    folder = tmp_path / "ws"
    upload = make_zip(
        tmp_path / "card.zip",
        {
            "a/harvest.csv": SMS_CSV,
            **{f"b/blob{i}.bin": os.urandom(1024 * 1024) for i in range(4)},
        },
    )
    kill_at(point, folder, upload)
    batch_id = only_batch(folder)
    extracted = folder / "batches" / batch_id / "extracted"
    assert any(p.is_file() for p in extracted.rglob("*"))  # the partial extraction

    ws = Workspace(folder, executor="inline")
    assert ws.recovered == [batch_id]
    batch = ws.get_batch(batch_id)
    assert batch["status"] == "FAILED"
    assert batch["statusDetails"].startswith("interrupted while extracting the upload")
    assert not extracted.exists()  # reclaimed
    assert (folder / "batches" / batch_id / "upload.zip").is_file()  # kept for retry
    ws.retry_batch(batch_id)
    batch = ws.get_batch(batch_id)
    assert batch["status"] == "PROCESSED" and len(batch["leafFiles"]) == 1


def test_kill_during_conversion_on_worker_processes(tmp_path, three_csvs):
    folder = tmp_path / "ws"
    kids = kill_at("convert", folder, three_csvs, kind="pool")
    assert len(kids) >= 2  # two workers (and the multiprocessing resource tracker)
    assert wait_gone(kids) == [], "workers outlived their killed parent"

    batch_id = only_batch(folder)
    ws = Workspace(folder, executor="inline")
    assert ws.recovered == [batch_id]
    batch = ws.get_batch(batch_id)
    assert batch["status"] == "FAILED"
    assert "3 file(s) did not finish converting" in batch["statusDetails"]
    for fid in batch["leafFiles"]:
        assert ws.get_file(fid)["status"] == "failed"
        message = ws.get_file_status(fid)["rawGeojson"]["message"]
        assert message.startswith("interrupted: the process working on it stopped")
    ws.retry_batch(batch_id)
    batch = ws.get_batch(batch_id)
    assert batch["status"] == "PROCESSED"
    assert {ws.get_file(f)["status"] for f in batch["leafFiles"]} == {"processed"}
    finished = [e["fileId"] for e in ws.get_events("uploadedFileProcessingFinished")]
    assert sorted(finished) == sorted(batch["leafFiles"])  # each file once


def test_kill_after_the_first_outcome_is_recorded(tmp_path, three_csvs):
    folder = tmp_path / "ws"
    kill_at("record", folder, three_csvs)
    batch_id = only_batch(folder)
    ws = Workspace(folder, executor="inline")
    assert ws.recovered == [batch_id]
    files = [ws.get_file(f) for f in ws.get_batch(batch_id)["leafFiles"]]
    done = [f for f in files if f["status"] == "processed"]
    assert len(done) == 1 and sum(f["status"] == "failed" for f in files) == 2
    batch = ws.get_batch(batch_id)
    assert batch["status"] == "PROCESSED"  # one file converted (Leaf's rule)
    assert "2 file(s) did not finish converting" in batch["statusDetails"]
    ws.retry_batch(batch_id)
    assert ws.get_file(done[0]["id"])["updatedTime"] == done[0]["updatedTime"]
    assert {ws.get_file(f["id"])["status"] for f in files} == {"processed"}
    assert "statusDetails" not in ws.get_batch(batch_id)


def test_orphan_folders_are_reclaimed(tmp_path, harvest_csv_zip):
    folder = tmp_path / "ws"
    ws = Workspace(folder, executor="inline")
    batch = ws.upload_batch(harvest_csv_zip, "g")
    old = time.time() - 2 * 3600
    orphans = [folder / "batches" / "dead-batch", folder / "files" / "dead-file"]
    for path in orphans:
        (path / "extracted").mkdir(parents=True)
        (path / "extracted" / "big.bin").write_bytes(b"\0" * 4096)
        os.utime(path, (old, old))
    young = folder / "files" / "being-created"
    young.mkdir()
    Workspace(folder, executor="inline")
    assert not any(p.exists() for p in orphans)
    assert young.exists()  # may belong to a live process that has not recorded it yet
    assert (folder / "batches" / batch["id"] / "upload.zip").is_file()
    assert all((folder / "files" / f).is_dir() for f in batch["leafFiles"])
