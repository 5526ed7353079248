"""Outcomes of a batch's files are recorded several per transaction (issue 16, small files).

:class:`leafnb.pipeline.batch.OutcomeRecorder` keeps converted files' outcomes and
events and writes them together. These tests check that the catalog it writes is the
one the per-file writes made, that it really groups them, and that a crash with
outcomes still waiting leaves a consistent catalog: no file claims artifacts that are
not on disk, and a retry converts what was lost.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from leafnb import Workspace
from leafnb.pipeline.batch import OutcomeRecorder
from leafnb.pipeline.executors import InlineRunner
from leafnb.pipeline.steps import convert_file
from tests.conftest import SMS_CSV, make_zip

N_FILES = 5


@pytest.fixture
def five_csvs(tmp_path):
    return make_zip(
        tmp_path / "five.zip",
        {
            f"day{d}.csv": SMS_CSV.replace(b"2024-10-01", f"2024-10-0{d}".encode())
            for d in range(1, N_FILES + 1)
        },
    )


def _catalog(folder: Path) -> dict:
    """Files, steps and events with ids and times replaced by file names."""
    conn = sqlite3.connect(folder / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    files = conn.execute("SELECT * FROM files ORDER BY file_name").fetchall()
    names = {r["id"]: r["file_name"] for r in files}
    skip = ("id", "batch_id", "created_time", "updated_time")
    out = {
        "files": [
            {k: r[k] for k in r.keys() if k not in skip}  # noqa: SIM118 (a Row)
            | {"doc": {k: v for k, v in json.loads(r["doc"]).items() if k != "path"}}
            for r in files
        ],
        "steps": sorted(
            (names[r["file_id"]], r["position"], r["step"], r["status"], r["message"])
            for r in conn.execute("SELECT * FROM steps")
        ),
        "events": [
            (
                r["type"],
                {
                    k: names.get(v, v)
                    for k, v in json.loads(r["payload"]).items()
                    if k not in ("timestamp", "batchId")
                },
            )
            for r in conn.execute("SELECT * FROM events ORDER BY seq")
        ],
    }
    conn.close()
    return out


def _upload(folder: Path, upload: Path, executor="inline") -> dict:
    ws = Workspace(folder, executor=executor)
    return ws.upload_batch(upload, "grower", progress=False)


def test_batched_outcomes_equal_per_file_outcomes(tmp_path, five_csvs, monkeypatch):
    monkeypatch.setattr(OutcomeRecorder, "size", 1)  # one transaction per file
    _upload(tmp_path / "one", five_csvs)
    monkeypatch.setattr(OutcomeRecorder, "size", 64)
    monkeypatch.setattr(OutcomeRecorder, "seconds", math.inf)
    _upload(tmp_path / "many", five_csvs)
    one, many = _catalog(tmp_path / "one"), _catalog(tmp_path / "many")
    assert len(one["files"]) == N_FILES
    assert {f["status"] for f in one["files"]} == {"processed"}
    assert [e[0] for e in one["events"]].count(
        "uploadedFileProcessingFinished"
    ) == N_FILES
    assert one == many


@pytest.fixture
def writes(monkeypatch) -> list[int]:
    """How many outcomes each catalog write holds (no time-based writes)."""
    monkeypatch.setattr(OutcomeRecorder, "seconds", math.inf)
    sizes: list[int] = []
    flush = OutcomeRecorder.flush

    def counting_flush(self):
        if self.pending:
            sizes.append(len(self.pending))
        flush(self)

    monkeypatch.setattr(OutcomeRecorder, "flush", counting_flush)
    return sizes


def test_outcomes_are_written_in_few_transactions(tmp_path, five_csvs, writes):
    seen = []
    ws = Workspace(tmp_path / "ws", executor="inline")
    ws.on("uploadedFileProcessingFinished", seen.append)
    batch = ws.upload_batch(five_csvs, "grower", progress=False)
    # the first file at once (progress shows), the other four together
    assert writes == [1, N_FILES - 1]
    assert sorted(e["fileId"] for e in seen) == sorted(batch["leafFiles"])


def test_no_outcome_waits_for_a_slow_file(tmp_path, five_csvs, writes, monkeypatch):
    """While a file that may take long is still converting, outcomes are written at once."""
    # every file counts as slow: none is converted before the last one is
    monkeypatch.setattr(OutcomeRecorder, "slow_bytes", 1)
    _upload(tmp_path / "ws", five_csvs)
    assert writes == [1] * N_FILES


def test_a_crash_with_outcomes_waiting_leaves_a_consistent_catalog(
    tmp_path, five_csvs, monkeypatch
):
    """Files converted but not yet recorded are lost like a conversion in progress."""
    monkeypatch.setattr(OutcomeRecorder, "seconds", math.inf)
    # a hard crash: nothing runs after it (no last write of the waiting outcomes)
    monkeypatch.setattr(OutcomeRecorder, "flush_quietly", lambda self: None)
    calls = []

    def crashing(job):
        calls.append(job.file_id)
        if len(calls) == 4:
            raise KeyboardInterrupt  # while converting the fourth file
        return convert_file(job)

    folder = tmp_path / "ws"
    with pytest.raises(KeyboardInterrupt):
        _upload(folder, five_csvs, executor=InlineRunner(crashing))
    ws = Workspace(folder, executor="inline")
    (batch_id,) = (p.name for p in (folder / "batches").iterdir())
    batch = ws.get_batch(batch_id)
    files = {f: ws.get_file(f) for f in batch["leafFiles"]}
    done = [f for f, row in files.items() if row["status"] == "processed"]
    assert done == [calls[0]]  # only the first outcome was written
    for fid, row in files.items():
        artifacts = folder / "files" / fid
        if row["status"] == "processed":
            assert (artifacts / "standard.parquet").is_file()
            assert (artifacts / "summary.json").is_file()
        else:  # converted but unrecorded (2, 3), interrupted (4), never started (5)
            assert row["status"] == "failed"
            assert not (artifacts / "standard.parquet").exists()
            steps = ws.get_file_status(fid)
            assert any(s["message"].startswith("interrupted") for s in steps.values())
    ws.retry_batch(batch_id)
    assert {ws.get_file(f)["status"] for f in files} == {"processed"}
    finished = [e["fileId"] for e in ws.get_events("uploadedFileProcessingFinished")]
    assert sorted(finished) == sorted(files)  # each file once


def test_an_error_after_some_files_keeps_the_finished_ones(
    tmp_path, five_csvs, monkeypatch
):
    """An exception (not a crash) still writes the outcomes that were waiting."""
    monkeypatch.setattr(OutcomeRecorder, "seconds", math.inf)
    calls = []

    def failing(job):
        calls.append(job.file_id)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return convert_file(job)

    folder = tmp_path / "ws"
    with pytest.raises(KeyboardInterrupt):
        _upload(folder, five_csvs, executor=InlineRunner(failing))
    ws = Workspace(folder, executor="inline")
    status = {f: ws.get_file(f)["status"] for f in calls[:3]}
    assert status == dict.fromkeys(calls[:3], "processed")
    for fid in calls[:3]:
        assert (folder / "files" / fid / "standard.parquet").is_file()


def test_input_sizes_list_each_folder_once(tmp_path, monkeypatch):
    """A file counts with its same-stem sidecars, an ISOXML task with its .bin/.xml
    files; the folder of a zip's files is listed once for all of them, not per file."""
    import os

    from leafnb.pipeline import executors
    from leafnb.pipeline.steps import FileJob

    (tmp_path / "a").mkdir()
    (tmp_path / "TASKDATA").mkdir()
    files = {
        "a/f1.shp": 100, "a/f1.dbf": 10, "a/f1x.csv": 5, "a/f2.csv": 3,
        "TASKDATA/TASKDATA.XML": 50, "TASKDATA/TLG00001.BIN": 70, "TASKDATA/x.txt": 1,
        "a/f3.csv": 7, "a/f3.v2.csv": 20, "a/f3.v2.prj": 400,
    }  # fmt: skip
    for name, size in files.items():
        (tmp_path / name).write_bytes(b"x" * size)
    paths = [
        "a/f1.shp", "a/f2.csv", "TASKDATA/TASKDATA.XML", "gone/x.csv", "a/f1x.csv",
        "a/f3.csv", "a/f3.v2.csv",
    ]  # fmt: skip
    jobs = [
        FileJob(str(i), "csv", str(tmp_path / p), None, str(tmp_path / "out"), {})
        for i, p in enumerate(paths)
    ]
    listed = []
    scandir = os.scandir
    monkeypatch.setattr(
        executors.os, "scandir", lambda p: listed.append(p) or scandir(p)
    )
    # a stem with a dot: f3's files are every name starting 'f3.' (f3.v2.* too)
    assert list(executors.input_sizes(jobs)) == [110, 3, 120, 0, 5, 427, 420]
    assert sorted(listed) == sorted(
        str(tmp_path / d) for d in ("a", "TASKDATA", "gone")
    )


#: claimed by the CSV reader (its columns are understood), but no coordinates: fails
_NO_COORDINATES = (
    b"Speed(mph),Moisture(%),Yld Vol(Dry)(bu/ac)\n3.0,18.5,150\n3.1,18.4,151\n"
)


def test_a_failing_file_in_a_write_loses_no_other_row(tmp_path, writes):
    """A failed file's outcome is written with the others of its transaction, each whole."""
    upload = make_zip(
        tmp_path / "mixed.zip",
        {
            "a.csv": SMS_CSV,
            "b_broken.csv": _NO_COORDINATES,
            "c.csv": SMS_CSV.replace(b"2024-10-01", b"2024-10-02"),
            "d.csv": SMS_CSV.replace(b"2024-10-01", b"2024-10-03"),
        },
    )
    folder = tmp_path / "ws"
    ws = Workspace(folder, executor="inline")
    batch = ws.upload_batch(upload, "grower", progress=False)
    assert sum(writes) == 4 and len(writes) < 4  # outcomes shared a transaction
    rows = {ws.get_file(f)["fileName"]: ws.get_file(f) for f in batch["leafFiles"]}
    assert sorted(rows) == ["a.csv", "b_broken.csv", "c.csv", "d.csv"]
    assert rows.pop("b_broken.csv")["status"] == "failed"
    assert {r["status"] for r in rows.values()} == {"processed"}
    catalog = _catalog(folder)
    assert len({s[0] for s in catalog["steps"]}) == 4  # every file's steps
    broken = [s for s in catalog["steps"] if s[0] == "b_broken.csv"]
    assert [s[3] for s in broken][:3] == ["processed", "failed", "skipped"]
    assert "no coordinate columns" in broken[1][4]
    kinds = [e[0] for e in catalog["events"]]
    assert kinds.count("uploadedFileProcessingFinished") == 3
    assert kinds.count("uploadedFileProcessingFailed") == 1


def test_a_reader_of_the_catalog_sees_progress(tmp_path, five_csvs, monkeypatch):
    """Another connection (a status panel, the server) sees each file once its event is out."""
    monkeypatch.setattr(OutcomeRecorder, "size", 2)  # several writes in five files
    monkeypatch.setattr(OutcomeRecorder, "seconds", math.inf)
    folder = tmp_path / "ws"
    seen: list[tuple[int, int]] = []

    def look(event):
        conn = sqlite3.connect(folder / "catalog.sqlite")
        (processed,) = conn.execute(
            "SELECT count(*) FROM files WHERE status = 'processed'"
        ).fetchone()
        conn.close()
        seen.append((len(seen) + 1, processed))

    ws = Workspace(folder, executor="inline")
    ws.on("uploadedFileProcessingFinished", look)
    ws.upload_batch(five_csvs, "grower", progress=False)
    # at each event, at least as many files are processed as events were sent
    assert len(seen) == N_FILES
    assert all(processed >= n for n, processed in seen)
    assert seen[0][1] < N_FILES  # the first file shows before the batch ends
