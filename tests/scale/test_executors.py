"""Batch conversion on every executor gives the same results; a dying worker fails one file."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

import pytest
from scale_helpers import crash_on_marker, exit_now, pid_outcome, raise_on_marker

from leafnb import Workspace
from leafnb.pipeline.executors import (
    DaskRunner,
    ExecutorRunner,
    InlineRunner,
    ProcessPoolRunner,
    _in_process_safe,
    _marked_call,
    _shared,
    resolve_executor,
    watch_parent,
)
from leafnb.pipeline.steps import FileJob
from tests.conftest import SMS_CSV, make_zip


def _results(ws: Workspace, batch: dict) -> dict[str, tuple]:
    """fileName -> (status, step statuses, recordCount, summary properties)."""
    out = {}
    for fid in batch["leafFiles"]:
        f = ws.get_file(fid)
        steps = tuple(
            (k, v["status"], v["message"]) for k, v in ws.get_file_status(fid).items()
        )
        props = (f["summary"] or {}).get("properties")
        geom = (f["summary"] or {}).get("geometry")
        out[f["fileName"]] = (f["status"], steps, f["recordCount"], props, geom)
    return out


@pytest.fixture(scope="module")
def inline_results(season_zip, tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("inline"), executor="inline")
    batch = ws.upload_batch(season_zip, "grower-1", progress=False)
    assert batch["status"] == "PROCESSED"
    return _results(ws, batch)


def test_resolve_executor():
    assert isinstance(resolve_executor("inline"), InlineRunner)
    assert isinstance(resolve_executor(1), InlineRunner)
    assert isinstance(resolve_executor(None), ProcessPoolRunner)
    assert resolve_executor(None) is resolve_executor(
        "processes"
    )  # one shared default pool
    assert resolve_executor(3).workers == 3
    assert isinstance(resolve_executor("tcp://127.0.0.1:8786"), DaskRunner)
    with ThreadPoolExecutor(2) as pool:
        assert isinstance(resolve_executor(pool), ExecutorRunner)
    runner = InlineRunner()
    assert resolve_executor(runner) is runner
    with pytest.raises(ValueError, match="unknown executor 'bogus'"):
        resolve_executor("bogus")
    with pytest.raises(TypeError):
        resolve_executor(True)


def test_processes_match_inline(season_zip, inline_results, tmp_path):
    runner = ProcessPoolRunner(2, min_bytes=0)
    try:
        ws = Workspace(tmp_path / "ws", executor=runner)
        batch = ws.upload_batch(season_zip, "grower-1", progress=False)
        assert batch["status"] == "PROCESSED" and len(batch["leafFiles"]) == 12
        assert _results(ws, batch) == inline_results
        assert all(r[0] == "processed" for r in inline_results.values())
        # workers wrote only their files' artifacts (no marker files)
        names = {p.name for p in (tmp_path / "ws" / "files").rglob("*")}
        assert not {n for n in names if n.startswith(".")}
    finally:
        runner.close()


def test_user_thread_pool_matches_inline(season_zip, inline_results, tmp_path):
    with ThreadPoolExecutor(2) as pool:
        ws = Workspace(tmp_path / "ws", executor=pool)
        batch = ws.upload_batch(season_zip, "grower-1", progress=False)
    assert _results(ws, batch) == inline_results


def test_progress_bar_counts_completions(season_zip, tmp_path, capsys, monkeypatch):
    import tqdm.auto

    bars = []

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    runner = ProcessPoolRunner(2, min_bytes=0)
    try:
        ws = Workspace(tmp_path / "ws", executor=runner)
        ws.upload_batch(season_zip, "grower-1", progress=True)
    finally:
        runner.close()
    # every completed file advanced the bar (printed refreshes are throttled, so count instead)
    assert [(b.desc, b.n, b.total) for b in bars] == [("converting", 12, 12)]
    assert "converting" in capsys.readouterr().err


def _zip_with_crash(season_zip, tmp_path):
    """The season plus a copy of one CSV named so that the test worker function crashes on it."""
    target = tmp_path / "with_crash.zip"
    shutil.copyfile(season_zip, target)
    with zipfile.ZipFile(season_zip) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        data = zf.read(name)
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("crash/crash_me.csv", data)
    return target


@pytest.mark.parametrize(
    "fn", [crash_on_marker, raise_on_marker], ids=["worker-dies", "escaping-exception"]
)
def test_worker_crash_fails_only_that_file(season_zip, inline_results, tmp_path, fn):
    upload = _zip_with_crash(season_zip, tmp_path)
    runner = ProcessPoolRunner(2, min_bytes=0, share_bytes=0, fn=fn)
    try:
        ws = Workspace(tmp_path / "ws", executor=runner)
        batch = ws.upload_batch(upload, "grower-1", progress=False)
    finally:
        runner.close()
    assert batch["status"] == "PROCESSED" and len(batch["leafFiles"]) == 13
    results = _results(ws, batch)
    crashed = results.pop("crash/crash_me.csv")
    assert results == inline_results  # every other file converted exactly as in-process
    assert crashed[0] == "failed"
    failed = [s for s in crashed[1] if s[1] == "failed"]
    assert len(failed) == 1 and failed[0][2].startswith("internal error: ")
    expected = "WorkerCrashed" if fn is crash_on_marker else "MemoryError: simulated"
    assert expected in failed[0][2]
    status = ws.get_batch_status(batch["id"])
    assert len(status["converted"]["leafFiles"]) == 12


def test_a_dead_workers_job_is_known_by_its_number():
    """The job a worker was converting when it died is the number left in its slot."""
    pool = ProcessPoolRunner(2)._new_pool(2)
    try:
        assert pool.submit(_marked_call, pid_outcome, "done", 5).result().facts["pid"]
        assert pool.converting() == set()  # a finished job leaves its slot
        dying = pool.submit(_marked_call, exit_now, "fatal", 7)
        with pytest.raises(BrokenProcessPool):
            dying.result()
        assert pool.converting() == {7}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@pytest.mark.slow  # ~40 s: cluster start-up + worker imports
def test_dask_local_cluster_matches_inline(season_zip, inline_results, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        # the scheduler's HTTP server on a port the OS picks: 8787 may be taken
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ws = Workspace(tmp_path / "ws", executor=client)
        batch = ws.upload_batch(season_zip, "grower-1", progress=False)
        assert _results(ws, batch) == inline_results
        # a scheduler address works too (leafnb owns and closes that client)
        ws2 = Workspace(tmp_path / "ws2", executor=cluster.scheduler_address)
        batch2 = ws2.upload_batch(season_zip, "grower-1", progress=False)
        assert _results(ws2, batch2) == inline_results
        ws2.executor.close()


def test_dask_runs_the_streamed_steps(tmp_path, monkeypatch):
    """A big file converts in record ranges on a Dask worker as in process (issue 16).

    The workers are threads of this process (``processes=False``), so the range size
    set here is theirs too: each file of the upload is converted in ranges on both
    executors, and every file's results and tables are the same.
    """
    distributed = pytest.importorskip("distributed")
    import leafnb.pipeline.steps as steps
    from leafnb.pipeline import stream
    from leafnb.store.artifacts import read_points_table
    from leafnb.testing import make_points, write_as

    monkeypatch.setattr(stream, "STREAM_ROWS", 1500)
    monkeypatch.setattr(stream, "STREAM_ABOVE", 1500)
    streamed: list[bool] = []

    def spy(*args, **kwargs):
        result = stream.stream_standard(*args, **kwargs)
        streamed.append(result is not None)
        return result

    monkeypatch.setattr(steps, "stream_standard", spy)
    src = tmp_path / "src"
    upload = tmp_path / "big.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for i, fmt in enumerate(("sms_csv", "jd_shapefile")):
            folder = src / fmt
            write_as(make_points("harvested", 5000, seed=i), fmt, folder)
            for f in folder.iterdir():
                zf.write(f, f"{fmt}/{f.name}")

    def convert(executor, where):
        ws = Workspace(tmp_path / where, executor=executor)
        batch = ws.upload_batch(upload, "grower-1", progress=False)
        tables = {
            ws.get_file(fid)["fileName"]: read_points_table(
                ws.ctx.layout.file_dir(fid) / "standard.parquet"
            )
            for fid in batch["leafFiles"]
        }
        return _results(ws, batch), tables

    inline = convert("inline", "inline")
    assert streamed == [True, True]
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = convert(client, "dask")
    assert streamed == [True] * 4  # both files in ranges on the Dask workers too
    assert on_dask[0] == inline[0]
    assert on_dask[0] and all(r[0] == "processed" for r in inline[0].values())
    for name, (table, meta) in inline[1].items():
        assert on_dask[1][name][0].equals(table) and on_dask[1][name][1] == meta


def _tiny_jobs(folder, n: int) -> list[FileJob]:
    """*n* jobs of one two-line CSV (for a substituted per-file function)."""
    (folder / "a.csv").write_text("lon,lat\n1,2\n")
    return [
        FileJob(f"f{i}", "csv", str(folder / "a.csv"), None, str(folder / f"o{i}"), {})
        for i in range(n)
    ]


def test_many_small_files_start_the_workers_and_a_few_stay_in_process(tmp_path):
    """Bytes alone do not decide: a batch of many small files is worth the workers."""
    jobs = _tiny_jobs(tmp_path, 4)
    runner = ProcessPoolRunner(2, min_files=4, share_bytes=0, fn=pid_outcome)
    try:
        few = {o.facts["pid"] for _, o in runner.run(jobs[:3])}
        assert few == {os.getpid()} and runner._pool is None
        many = {o.facts["pid"] for _, o in runner.run(jobs)}
        assert os.getpid() not in many and runner._pool is not None
    finally:
        runner.close()


def test_one_big_file_converts_on_a_worker(tmp_path):
    """A batch of one file runs in-process unless its input reaches ``isolate_bytes``:
    then a worker holds its memory, and a crash there is not the caller's."""
    (job,) = _tiny_jobs(tmp_path, 1)  # 12 bytes
    small = ProcessPoolRunner(2, isolate_bytes=13, fn=pid_outcome)
    big = ProcessPoolRunner(2, isolate_bytes=12, fn=pid_outcome)
    never = ProcessPoolRunner(2, isolate_bytes=0, fn=pid_outcome)
    try:
        assert [o.facts["pid"] for _, o in small.run([job])] == [os.getpid()]
        assert [o.facts["pid"] for _, o in never.run([job])] == [os.getpid()]
        assert small._pool is None and never._pool is None
        (pid,) = [o.facts["pid"] for _, o in big.run([job])]
        assert pid != os.getpid() and big._pool is not None
    finally:
        big.close()


def test_forkserver_workers_convert(tmp_path):
    """A forkserver worker is the fork server's child: it must not take that for its
    pool's maker having died (every job came back as a crashed worker)."""
    jobs = _tiny_jobs(tmp_path, 3)
    runner = ProcessPoolRunner(
        2, min_bytes=0, share_bytes=0, mp_context="forkserver", fn=pid_outcome
    )
    try:
        pids = {o.facts.get("pid") for _, o in runner.run(jobs)}
    finally:
        runner.close()
    assert None not in pids and os.getpid() not in pids


def _workers_cannot_start(runner: ProcessPoolRunner, monkeypatch) -> None:
    """Make *runner*'s pools of workers that die at once (their maker's pid is gone)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    monkeypatch.setattr(
        runner,
        "_new_pool",
        lambda workers: ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=watch_parent,
            initargs=(gone.pid,),
        ),
    )


def test_workers_that_cannot_start_leave_the_batch_in_process(
    tmp_path, monkeypatch, caplog
):
    """A pool whose workers die before any job (here: their maker's pid is already gone)
    converts in this process, says why, and later batches do not try again."""
    runner = ProcessPoolRunner(2, min_bytes=0, share_bytes=0, fn=pid_outcome)
    _workers_cannot_start(runner, monkeypatch)
    jobs = _tiny_jobs(tmp_path, 3)
    try:
        first = {o.facts["pid"] for _, o in runner.run(jobs)}
        again = {o.facts["pid"] for _, o in runner.run(jobs)}
        assert runner._unstartable and runner._pool is None
    finally:
        runner.close()
    assert first == again == {os.getpid()}
    assert "worker processes could not start" in caplog.text
    assert runner._unstartable is None  # closing lets the next batch try again


def test_map_on_workers_that_cannot_start_runs_in_process(monkeypatch, caplog):
    """``map`` (the scale functions' tasks) falls back as ``run`` does, with the warning."""
    runner = ProcessPoolRunner(2)
    _workers_cannot_start(runner, monkeypatch)
    try:
        assert runner.map(str, [1, 2, 3]) == ["1", "2", "3"]
        assert runner._unstartable and runner._pool is None
    finally:
        runner.close()
    assert "worker processes could not start" in caplog.text


def test_a_batch_started_while_a_worker_starts_is_refused_before_it_is_written(
    tmp_path, monkeypatch
):
    """A script without a main guard, re-imported by a starting worker, adds no batch."""
    ws = Workspace(tmp_path / "ws", executor="inline")
    upload = make_zip(tmp_path / "a.zip", {"a.csv": SMS_CSV})
    monkeypatch.setattr(
        multiprocessing.current_process(), "_inheriting", True, raising=False
    )
    with pytest.raises(RuntimeError, match='if __name__ == "__main__"'):
        ws.upload_batch(upload, "grower-1", progress=False)
    monkeypatch.undo()
    assert not list((tmp_path / "ws").glob("batches/*"))
    assert len(ws.get_batches()) == 0


def test_an_upload_of_many_files_starts_the_workers_before_extraction(tmp_path):
    """The workers start (and warm up) while the upload is extracted; the batch runs on them."""
    runner = ProcessPoolRunner(2, min_files=4, share_bytes=0)
    prepared: list[tuple[int, int, list[str]]] = []
    prepare = runner.prepare
    runner.prepare = lambda files, nbytes, declared=(): (  # type: ignore[method-assign]
        prepared.append((files, nbytes, sorted(n for n, _ in declared))),
        prepare(files, nbytes, declared),
    )
    ws = Workspace(tmp_path / "ws", executor=runner)
    try:
        few = make_zip(tmp_path / "few.zip", {f"{i}.csv": SMS_CSV for i in range(2)})
        ws.upload_batch(few, "grower-1", progress=False)
        assert runner._pool is None  # two files: in-process, no pool
        many = make_zip(tmp_path / "many.zip", {f"{i}.csv": SMS_CSV for i in range(5)})
        batch = ws.upload_batch(many, "grower-1", progress=False)
        assert runner._pool is not None and runner._pings == []
        assert [f for f, _, _ in prepared] == [2, 5]
        assert prepared[1][2] == [f"{i}.csv" for i in range(5)]  # the entries' names
        assert {ws.get_file(f)["status"] for f in batch["leafFiles"]} == {"processed"}
    finally:
        runner.close()


def test_an_upload_of_a_few_big_entries_starts_the_workers_when_they_are_used(
    tmp_path,
):
    """A few entries of many bytes may be one file (an ISOXML task): no idle workers
    started early; more than one file starts them after detection."""
    runner = ProcessPoolRunner(
        2, min_bytes=100, isolate_bytes=10**9, share_bytes=0, fn=pid_outcome
    )
    try:
        runner.prepare(files=3, nbytes=10**6)
        assert runner._pool is None
        jobs = _tiny_jobs(tmp_path, 3)
        (tmp_path / "a.csv").write_text("lon,lat\n" + "1,2\n" * 100)  # > min_bytes
        pids = {o.facts["pid"] for _, o in runner.run(jobs)}
        assert os.getpid() not in pids and runner._pool is not None
        runner.close()
        runner.prepare(files=3, nbytes=10**9)  # one big file runs on a worker: now
        assert runner._pool is not None and len(runner._pings) == 2
    finally:
        runner.close()


def test_workers_prepared_but_unable_to_start_leave_the_batch_in_process(
    tmp_path, monkeypatch, caplog
):
    """Workers started early that die before any job: the batch still runs, in-process."""
    runner = ProcessPoolRunner(2, min_files=3, share_bytes=0, fn=pid_outcome)
    _workers_cannot_start(runner, monkeypatch)
    try:
        runner.prepare(files=3, nbytes=0)
        assert runner._pool is not None and len(runner._pings) == 2
        pids = {o.facts["pid"] for _, o in runner.run(_tiny_jobs(tmp_path, 3))}
    finally:
        runner.close()
    assert pids == {os.getpid()}
    assert "worker processes could not start" in caplog.text


def test_warm_up_runs_in_this_process():
    """What a worker's first job runs before any file (its failure would only be logged)."""
    from leafnb.pipeline.steps import warm_up

    warm_up()


def test_the_caller_takes_back_the_last_job_no_worker_has_started():
    """``_shared``: completed jobs first; else the last job no worker has started, if the
    caller may convert it (``(job, None)``); a job a worker runs is waited for."""
    jobs = [FileJob(x, "csv", x, None, "", {}) for x in "abcde"]
    done, running, theirs, mine, big = (Future() for _ in range(5))
    done.set_result("a")
    running.set_running_or_notify_cancel()
    futures = dict(zip((done, running, theirs, mine, big), jobs, strict=True))
    seen = []
    for job, fut in _shared(futures, lambda j: j.file_id not in ("c", "e")):
        seen.append((job.file_id, fut is None))
        if job.file_id == "d":  # meanwhile the workers finished b, and took c and e
            running.set_result("b")
            for f in (theirs, big):
                f.set_running_or_notify_cancel()
                f.set_result("")
    assert seen == [("a", False), ("d", True), ("b", False), ("c", False), ("e", False)]
    assert mine.cancelled() and not theirs.cancelled() and not big.cancelled()


def test_small_files_of_safe_readers_leave_one_worker_to_the_caller(tmp_path):
    """A batch of small text files starts one worker fewer (the caller converts too);
    a batch with files the caller must not read (GDAL's) gets every worker, and those
    files are converted on them only."""
    assert _in_process_safe("csv") and _in_process_safe("isoxml")
    assert not any(map(_in_process_safe, ("shapefile", "geopackage", "geojson", "?")))
    runner = ProcessPoolRunner(2, min_bytes=0, fn=pid_outcome)
    try:
        text = _tiny_jobs(tmp_path, 4)
        assert len({j.file_id for j, _ in runner.run(text)}) == 4
        assert runner._pool_workers == 1
        gdal = [
            replace(j, file_id=f"s{i}", reader="shapefile", out_dir=f"{j.out_dir}s")
            for i, j in enumerate(text)
        ]
        pids = {j.file_id: o.facts["pid"] for j, o in runner.run(text + gdal)}
        assert len(pids) == 8 and runner._pool_workers == 2
        assert os.getpid() not in {pids[j.file_id] for j in gdal}
    finally:
        runner.close()
    prepared = ProcessPoolRunner(2, min_files=4)
    try:
        # small entries of text files: one worker (run() wants no more)
        prepared.prepare(100, 100 * 1000, [(f"{i}.csv", 5000) for i in range(100)])
        assert prepared._pool_workers == 1 and len(prepared._pings) == 1
    finally:
        prepared.close()
    # small shapefiles, a nested zip, or files that inflate to more than share_bytes
    # (a zip's mean entry is small): every worker, at once — one worker started here
    # would be replaced by run(), its start wasted
    for declared in (
        [("a.shp", 100), ("a.dbf", 100), ("a.shx", 100), ("b.csv", 100)],
        [("in.zip", 100), ("b.csv", 100)],
        [("a.csv", 2**20), ("b.csv", 100)],
        # an ISOXML task counts with every log of its folder, as run() counts it
        [("T/TASKDATA.XML", 100), *((f"T/TLG{i}.BIN", 2**19) for i in range(2))],
    ):
        prepared = ProcessPoolRunner(2, min_files=2)
        try:
            prepared.prepare(len(declared), 1000, declared)
            assert prepared._pool_workers == 2 and len(prepared._pings) == 2
        finally:
            prepared.close()


def test_workers_that_cannot_start_while_the_caller_converts_too(
    tmp_path, monkeypatch, caplog
):
    """The caller converts the small text files while the workers start; when they
    cannot, the rest (a file it may not read beside them) converts in-process too."""
    runner = ProcessPoolRunner(2, min_bytes=0, fn=pid_outcome)
    _workers_cannot_start(runner, monkeypatch)
    text = _tiny_jobs(tmp_path, 3)
    gdal = replace(text[0], file_id="s", reader="shapefile", out_dir=f"{tmp_path}/s")
    try:
        pids = {j.file_id: o.facts["pid"] for j, o in runner.run([*text, gdal])}
    finally:
        runner.close()
    assert pids == dict.fromkeys(("f0", "f1", "f2", "s"), os.getpid())
    assert "worker processes could not start" in caplog.text
