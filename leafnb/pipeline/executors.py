"""Where per-file conversions run: in-process, local worker processes, or a Dask cluster.

:func:`resolve_executor` turns the ``executor`` argument of :class:`leafnb.Workspace`
into a *runner*: an object whose ``run(jobs)`` yields ``(job, outcome)`` pairs **as
they complete**. Runners only call :func:`leafnb.pipeline.steps.convert_file` (a pure
function of a :class:`FileJob`); workers write artifacts into their own
``files/<id>/`` folder and never touch the catalog — the parent process records every
outcome, so progress bars, events and SQLite writes stay in one process.

``executor=`` accepts

- ``None`` / ``"processes"`` — a local :class:`ProcessPoolRunner` with
  ``os.cpu_count()`` spawned workers (shared by every Workspace of the process, started
  on the first batch with at least 2 files; 1-file batches run in-process);
- an ``int`` *n* — *n* local worker processes (``1`` or ``0``: in-process);
- ``"inline"`` — everything in the calling process (debugging, tiny batches);
- a ``dask.distributed.Client`` or a scheduler address (``"tcp://host:8786"``) — a
  :class:`DaskRunner` (workers must import the same leafnb and see the workspace folder
  at the same path, e.g. a shared file system);
- any :class:`concurrent.futures.Executor` (used as is, never shut down by leafnb);
- any object with a ``run(jobs)`` method (a custom runner).

A worker that dies (segfault in a native library, out-of-memory kill, ``os._exit``)
fails only the file it was converting: its outcome is ``failed`` with an
``internal error: WorkerCrashed: ...`` step message; the rest of the batch goes on.

Local workers die with their parent: each worker starts a watchdog thread
(:func:`watch_parent`, the pool's initializer) that waits on a pidfd of the parent
process (``os.pidfd_open``; polling ``os.getppid()`` where pidfds are missing) and
exits the worker when the parent is gone, even after ``kill -9`` of the parent. The
``multiprocessing`` resource tracker then sees its pipe close and exits too.
(``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that started the worker
ends, and pools are started from short-lived batch threads.)

The same runners map other work too: :func:`map_tasks` (``runner.map(fn, items)``, results in
item order) is how the out-of-core helpers of :mod:`leafnb.scale` spread partitions over the
``executor=`` they are given.

Dask is imported only when a Dask executor is used.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import logging
import multiprocessing
import os
import queue
import select
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path, PurePosixPath
from typing import Any

from leafnb.formats.registry import get_reader, readers_for
from leafnb.keys import FILE_STEPS, StepStatus
from leafnb.pipeline.steps import FileJob, FileOutcome, StepResult, convert_file
from leafnb.store.layout import RAW_SOURCE

__all__ = [
    "DaskRunner",
    "ExecutorRunner",
    "InlineRunner",
    "ProcessPoolRunner",
    "crash_outcome",
    "input_sizes",
    "largest_first",
    "map_tasks",
    "prepare_workers",
    "resolve_executor",
    "watch_parent",
]

log = logging.getLogger(__name__)

ConvertFn = Callable[[FileJob], FileOutcome]
Pair = tuple[FileJob, FileOutcome]

#: in a worker process: the shared slots of its pool and this worker's slot
#: (:func:`_init_worker`; None elsewhere)
_SLOT: tuple[Any, int] | None = None

_DASK_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")


# ----------------------------------------------------------------------------- outcomes
def crash_outcome(job: FileJob, error: BaseException | str) -> FileOutcome:
    """The outcome of a file whose conversion never returned (worker died or task errored).

    ``originalFile`` is processed when the original exists, ``rawGeojson`` when the
    step read it and recorded how (``raw.json``, written after the read; the table
    itself is made on request); the step after the last one done is ``failed`` with
    ``internal error: ...``; later steps are ``skipped``.
    """
    if isinstance(error, BaseException):
        message = f"internal error: {type(error).__name__}: {error}"
    else:
        message = f"internal error: {error}"
    out = Path(job.out_dir)
    done = 0
    if Path(job.path).exists():
        done = 1
        if (out / RAW_SOURCE).exists():
            done = 2
    steps = [
        StepResult(s.value, StepStatus.PROCESSED.value, "ok") for s in FILE_STEPS[:done]
    ]
    steps.append(StepResult(FILE_STEPS[done].value, StepStatus.FAILED.value, message))
    steps += [
        StepResult(s.value, StepStatus.SKIPPED.value, "skipped")
        for s in FILE_STEPS[done + 1 :]
    ]
    return FileOutcome(steps=steps)


def watch_parent(parent_pid: int) -> None:
    """Pool initializer: exit this worker as soon as process *parent_pid* is gone.

    *parent_pid* is the process that made the pool, not necessarily this worker's
    parent: under ``forkserver`` a worker is the fork server's child.
    """

    def alive() -> bool:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # it exists, as another user
            return True
        return True

    try:
        fd: int | None = os.pidfd_open(parent_pid)
    except ProcessLookupError:  # the pool's maker died while this worker started
        os._exit(1)
    except (AttributeError, OSError):  # no pidfds (old kernel, not Linux)
        fd = None
    if fd is None and not alive():
        os._exit(1)

    def watch() -> None:
        if fd is None:
            while alive():
                time.sleep(0.5)
            os._exit(1)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while not poller.poll():  # readable when the process has exited
            pass
        os._exit(1)

    threading.Thread(target=watch, name="leafnb-parent-watch", daemon=True).start()


def _call(fn: ConvertFn, job: FileJob) -> FileOutcome:
    """Run *fn* in this process; an escaping exception becomes the file's failure."""
    try:
        return fn(job)
    except Exception as exc:  # convert_file catches per step; this is the last net
        log.error("conversion of %s raised:\n%s", job.file_id, traceback.format_exc())
        return crash_outcome(job, exc)


def _init_worker(parent_pid: int, slots: Any, taken: Any) -> None:
    """Pool initializer: :func:`watch_parent`, and take this worker's slot of *slots*."""
    global _SLOT
    watch_parent(parent_pid)
    with taken.get_lock():
        slot = taken.value
        taken.value += 1
    if slot < len(slots):
        _SLOT = (slots, slot)


def _marked_call(fn: ConvertFn, job: FileJob, number: int) -> FileOutcome:
    """Worker-side wrapper: job *number* is in this worker's slot while it converts.

    (Shared memory, not a file: a marker file cost a small file's conversion a file
    creation and a deletion.)
    """
    if _SLOT is None:
        return fn(job)
    slots, slot = _SLOT
    slots[slot] = number
    try:
        return fn(job)
    finally:
        slots[slot] = 0


class _WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers show which job each converts (crash forensics).

    Each worker has a slot in shared memory holding the number of the job it is
    converting (0: none; :func:`_marked_call`); when a worker dies and the pool breaks,
    the numbers left in the slots are the jobs that were converting.
    """

    def __init__(self, workers: int, context: Any):
        self.slots = context.Array("q", workers, lock=False)
        super().__init__(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(os.getpid(), self.slots, context.Value("i", 0)),
        )

    def converting(self) -> set[int]:
        """The numbers of the jobs the workers are (or were, when they died) converting."""
        return {n for n in self.slots if n}


def refuse_while_a_worker_starts() -> None:
    """Raise when called while this process is a starting worker re-importing ``__main__``.

    A spawned (or forkserver) worker imports the script that made the pool again; a
    script that uploads a batch at its top level, without ``if __name__ ==
    "__main__":``, would start a batch of its own in every worker (a second, failed
    batch in the workspace). Raised there instead, before anything is written: the
    worker exits, and the pool's maker converts in-process (:meth:`ProcessPoolRunner.run`).
    """
    # multiprocessing's own flag: set while a spawn/forkserver child unpickles its
    # preparation (re-importing __main__), the check behind its own "bootstrapping
    # phase" error
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "leafnb: a batch was started while a worker process was starting: the "
            "script that made the workers starts a batch at import time; put that code "
            'under `if __name__ == "__main__":`'
        )


def _ping() -> int:
    """A worker's first job: proves the workers start (see :meth:`ProcessPoolRunner.run`).

    It also pays what every worker's first file would (pandas, which pyarrow imports
    at its first ``pa.array``; the CRS of the GeoParquet metadata; pint's registry):
    started by :meth:`ProcessPoolRunner.prepare`, that overlaps the upload's extraction.
    """
    try:
        from leafnb.pipeline.steps import warm_up

        warm_up()
    except Exception:  # the first file pays it again, and reports what fails
        log.debug("worker warm-up failed", exc_info=True)
    return os.getpid()


def _spawn_safe() -> bool:
    """False when spawned workers could not re-import ``__main__`` (a script read from stdin).

    ``spawn`` re-runs the parent's main module by path in each worker; ``python - < x.py``
    has ``__file__ == "<stdin>"``, which would crash every worker, so such runs stay inline.
    Notebooks and ``python -c`` have no ``__file__`` and are fine.
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.isfile(path)


def largest_first(
    jobs: Sequence[FileJob], sizes: Sequence[int] | None = None
) -> list[FileJob]:
    """*jobs* by input size (:func:`input_sizes`), largest first; equal sizes keep their order.

    Workers take jobs in submission order: a big file started last runs alone while
    the other workers have nothing left to do. Largest first, the last jobs are the
    smallest, and a batch ends when its work is done (the longest-processing-time rule).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name, size in (("a.csv", 10), ("b.csv", 30), ("c.csv", 20)):
    ...     _ = (folder / name).write_bytes(b"x" * size)
    >>> jobs = [FileJob(n, "delimited", str(folder / n), None, "", {}) for n in ("a.csv", "b.csv", "c.csv")]
    >>> [job.file_id for job in largest_first(jobs)]
    ['b.csv', 'c.csv', 'a.csv']
    """
    jobs = list(jobs)
    sizes = list(input_sizes(jobs)) if sizes is None else sizes
    order = sorted(range(len(jobs)), key=lambda i: -sizes[i])
    return [jobs[i] for i in order]


#: the files an ISOXML task's size counts, every one of its folder
_TASK_ENDINGS = (".bin", ".xml")


def input_sizes(jobs: Sequence[FileJob]) -> Iterator[int]:
    """Approximate input size of each job (file and sidecars, or an ISOXML task's files).

    A file counts with its same-stem sidecars, an ISOXML task file with the .bin/.xml
    files beside it. Each folder is listed once (the files of an uploaded zip share one:
    a listing per file made a batch quadratic in its files); only the matching files are
    statted. Sizes are yielded as computed, so a caller can stop early.
    """
    listings: dict[str, list[os.DirEntry[str]]] = {}
    #: per folder, ``{name up to a dot: entries}``: ``name.startswith(stem + ".")`` is
    #: ``stem`` being one of the name's prefixes before a dot, so a job's sidecars are
    #: one look-up, not a pass over the folder (quadratic in the files of a zip)
    by_stem: dict[str, dict[str, list[os.DirEntry[str]]]] = {}

    def listing(folder: str) -> list[os.DirEntry[str]]:
        if folder not in listings:
            try:
                with os.scandir(folder) as it:
                    listings[folder] = list(it)
            except OSError:
                listings[folder] = []
        return listings[folder]

    def sidecars(folder: str, stem: str) -> list[os.DirEntry[str]]:
        if folder not in by_stem:
            index: dict[str, list[os.DirEntry[str]]] = {}
            for e in listing(folder):
                dot = e.name.find(".")
                while dot >= 0:
                    index.setdefault(e.name[:dot], []).append(e)
                    dot = e.name.find(".", dot + 1)
            by_stem[folder] = index
        return by_stem[folder].get(stem, [])

    def size(entry: os.DirEntry[str]) -> int:
        try:
            return entry.stat().st_size
        except OSError:
            return 0

    for job in jobs:
        path = Path(job.path)
        if path.suffix.lower() == ".xml":
            yield sum(
                size(e)
                for e in listing(str(path.parent))
                if os.path.splitext(e.name)[1].lower() in _TASK_ENDINGS
            )
        else:
            stem = path.name[: -len(path.suffix)] if path.suffix else path.name
            yield sum(size(e) for e in sidecars(str(path.parent), stem))


# ----------------------------------------------------------------------------- runners
class InlineRunner:
    """Convert files one after another in the calling process."""

    workers = 1

    def __init__(self, fn: ConvertFn | None = None):
        self.fn = fn

    def run(
        self, jobs: Sequence[FileJob], fn: ConvertFn | None = None
    ) -> Iterator[Pair]:
        """Yield ``(job, outcome)`` for *jobs*, converting with *fn* (default :func:`convert_file`)."""
        fn = fn or self.fn or convert_file
        for job in jobs:
            yield job, _call(fn, job)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]`` in this process."""
        return [fn(x) for x in items]

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "InlineRunner()"


def _drain(futures: dict[Future, FileJob]) -> Iterator[tuple[FileJob, Future]]:
    """Yield (job, future) as futures complete; cancel the rest if the consumer stops."""
    try:
        for fut in as_completed(futures):
            yield futures[fut], fut
    finally:
        for fut in futures:
            fut.cancel()


def _in_process_safe(reader: str) -> bool:
    """Whether files of *reader* may convert in the calling process (``Reader.in_process_safe``)."""
    try:
        return bool(get_reader(reader).in_process_safe)
    except Exception:  # an unknown reader: its job fails on a worker and says why
        return False


@functools.lru_cache(maxsize=256)  # (bounded: the endings come from users' uploads)
def _ending_shareable(ending: str) -> bool:
    """Whether every reader that claims files ending in *ending* is ``in_process_safe``."""
    return all(reader.in_process_safe for _, _, reader in readers_for(f"f{ending}"))


def _shareable(declared: Sequence[tuple[str, int]], below: int) -> bool:
    """Whether an upload's file entries can only be files this process converts too.

    *declared*: ``(path, size)`` of each entry, as the zip's directory declares them
    (:func:`~leafnb.formats.archive.inspect_zip`), judged before extraction as
    :meth:`ProcessPoolRunner.run` judges the files after detection: each file smaller
    than *below* bytes, counted as :func:`input_sizes` counts it (with its same-stem
    sidecars; an ISOXML task with every ``.xml`` and ``.bin`` of its folder), and every
    ending claimed only by readers whose files this process may convert
    (:func:`~leafnb.formats.registry.readers_for`): a ``.shp`` or ``.gpkg`` is GDAL's,
    converted on a worker; a nested zip may hold anything.

    >>> _shareable([("a/yield.csv", 900), ("b/TASKDATA.XML", 100)], 1000)
    True
    >>> _shareable([("a/yield.csv", 900), ("a/yield.prj", 200)], 1000)
    False
    >>> _shareable([("b/TASKDATA.XML", 100), ("b/TLG00001.BIN", 900)], 1000)
    False
    >>> _shareable([("f.csv", 9), ("f.shp", 9)], 1000), _shareable([("a.zip", 9)], 1000)
    (False, False)
    """
    totals: Counter[tuple[str, str]] = Counter()
    endings = set()
    for name, size in declared:
        path = PurePosixPath(name)
        ending = path.suffix.lower()
        endings.add(ending)
        stem = "" if ending in _TASK_ENDINGS else path.name.split(".")[0]
        totals[str(path.parent), stem] += size
    if any(total >= below for total in totals.values()):
        return False
    return ".zip" not in endings and all(_ending_shareable(e) for e in endings)


def _shared(
    futures: dict[Future, FileJob], ours: Callable[[FileJob], bool]
) -> Iterator[tuple[FileJob, Future | None]]:
    """:func:`_drain`, with the calling process converting jobs too: ``(job, None)``.

    Whenever no job has completed, the last job submitted that no worker has taken yet
    is taken back (``Future.cancel``), when *ours* allows it, and yielded for the
    caller to convert: the workers work from the front of the batch, the caller from
    its back. When none can be taken back, this waits for the workers. Each future is
    looked at once from the back (a job a worker has taken stays taken) and each
    completion arrives once (a callback): linear in the jobs.
    """
    order = list(futures)  # submission order
    finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
    for fut in order:
        fut.add_done_callback(finished.put)
    taken: set[int] = set()  # cancelled here: their callbacks run too
    back, left = len(order), len(order)

    def take_back() -> Future | None:
        nonlocal back
        while back > 0:
            back -= 1
            fut = order[back]
            if ours(futures[fut]) and fut.cancel():
                taken.add(id(fut))
                return fut
        return None

    try:
        while left:
            try:
                fut = finished.get_nowait()
            except queue.Empty:
                mine = take_back()
                if mine is not None:
                    left -= 1
                    yield futures[mine], None
                    continue
                fut = finished.get()  # nothing to take back: a worker's next outcome
            if id(fut) in taken:
                continue
            left -= 1
            yield futures[fut], fut
    finally:
        for fut in order:
            fut.cancel()


class ExecutorRunner:
    """Run conversions on a user-supplied :class:`concurrent.futures.Executor` (not owned)."""

    def __init__(self, executor: Executor, fn: ConvertFn | None = None):
        self.executor = executor
        self.fn = fn
        self.workers = getattr(executor, "_max_workers", None) or 1

    def run(
        self, jobs: Sequence[FileJob], fn: ConvertFn | None = None
    ) -> Iterator[Pair]:
        """Yield ``(job, outcome)`` as the executor completes each job."""
        fn = fn or self.fn or convert_file
        futures = {self.executor.submit(_call, fn, job): job for job in jobs}
        for job, fut in _drain(futures):
            try:
                yield job, fut.result()
            except Exception as exc:
                yield job, crash_outcome(job, exc)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over *items* on the executor, results in item order (errors propagate)."""
        return list(self.executor.map(fn, items))

    def close(self) -> None:
        """The executor belongs to the caller: nothing to do."""

    def __repr__(self) -> str:
        return f"ExecutorRunner({self.executor!r})"


class ProcessPoolRunner:
    """Local worker processes (``spawn`` start method: safe with threads and Jupyter).

    Parameters
    ----------
    max_workers : int, optional
        Worker processes (default ``os.cpu_count()``).
    min_jobs : int
        Batches with fewer jobs run in-process (no pool start-up cost), unless they are
        big (*isolate_bytes*). Default 2.
    isolate_bytes : int
        A batch of fewer than *min_jobs* files of at least this many input bytes runs
        on a worker: a big file's conversion holds a GB or more, which a notebook's
        kernel would keep in its allocators (Arrow's is mimalloc there when pandas was
        imported before leafnb: the 10M-record log peaked at 1.18 instead of 0.90 GB),
        and a reader crashing on a broken file kills a worker, not the kernel. The
        pool's start (about 1 s) is a few per cent of such a file's conversion.
        Default 256 MiB; 0 never.
    min_bytes : int
        While the pool is not started yet, batches whose input files total fewer bytes
        (and that have fewer than *min_files* files) run in-process: starting workers
        (spawn + imports, about 1 s) costs more than converting a few MB. Default
        32 MB; 0 always uses the pool.
    min_files : int
        ... unless the batch has at least this many files: each file costs ~15 ms
        however small it is, so a batch of hundreds of small files is worth the
        workers (200 files of 10 points on 2 cores: 3.3–3.5 s instead of 3.9–5.2 s;
        64 files: the same either way; 32 files: in-process is faster, even with the
        workers started during the extraction, :meth:`prepare`). Default 64.
    share_bytes : int
        Files of fewer input bytes are converted by this process too while the workers
        start and run, taken from the small end of the batch (the workers take it from
        the big end): the process would otherwise wait. Only files of readers that a
        malformed file cannot crash (``Reader.in_process_safe``: the text readers,
        ISOXML; not GDAL's formats). A batch whose files are all such starts one
        worker fewer (a worker's start is ~0.6 CPU s of imports and warm-up, a small
        file ~10 ms): on 2 cores, one worker and this process; a later batch with
        other files replaces that pool by a full one. 200 files of 10 points: 0.75×
        the time with two workers (``benchmarks/bench_targets.py``). Default 1 MiB;
        0 never.
    mp_context : str
        Multiprocessing start method, ``"spawn"`` (default) or ``"forkserver"``.
    fn : callable, optional
        The per-file function (default :func:`convert_file`; tests substitute it).

    The pool starts on first use and is reused by later batches; :meth:`close` (or
    interpreter exit) shuts it down. Scripts that convert batches at import time need the
    usual ``if __name__ == "__main__":`` guard, as with any ``spawn`` multiprocessing;
    without it the workers cannot start (:func:`refuse_while_a_worker_starts`) and the
    batch converts in-process with a warning.

    When a worker dies, :class:`~concurrent.futures.ProcessPoolExecutor` breaks and every
    unfinished job of the pool comes back as ``BrokenProcessPool``. Jobs that were
    converting at that moment (their numbers are in their workers' slots of shared
    memory, :class:`_WorkerPool`) are re-run one at a time in a fresh single-worker
    process, so the culprit is identified and fails alone; jobs that had not started
    are resubmitted to a new pool.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        min_jobs: int = 2,
        isolate_bytes: int = 256 * 2**20,
        min_bytes: int = 32 * 2**20,
        min_files: int = 64,
        share_bytes: int = 2**20,
        mp_context: str = "spawn",
        fn: ConvertFn | None = None,
    ):
        self.workers = max(1, int(max_workers or os.cpu_count() or 1))
        self.min_jobs = min_jobs
        self.isolate_bytes = isolate_bytes
        self.min_bytes = min_bytes
        self.min_files = min_files
        self.share_bytes = share_bytes
        self.mp_context = mp_context
        self.fn = fn
        self._pool: _WorkerPool | None = None
        self._pool_workers = 0  # the running pool's size
        self._stopped = False  # close(kill=True) happened: broken pools are not re-run
        #: why workers could not start in this process (then every batch runs in it)
        self._unstartable: str | None = None
        #: the first jobs of a pool :meth:`prepare` started (:meth:`_started` waits)
        self._pings: list[Any] = []
        #: numbers of submitted jobs (unique in this runner: batches may share a pool)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        atexit.register(self.close)

    def __repr__(self) -> str:
        return f"ProcessPoolRunner(max_workers={self.workers}, mp_context={self.mp_context!r})"

    def _new_pool(self, workers: int) -> _WorkerPool:
        return _WorkerPool(workers, multiprocessing.get_context(self.mp_context))

    def _get_pool(self, workers: int | None = None) -> _WorkerPool:
        """The running pool, or a new one of *workers* (default: all) workers."""
        with self._lock:
            if self._pool is None:
                self._pool_workers = max(1, workers or self.workers)
                self._pool = self._new_pool(self._pool_workers)
                self._stopped = False
            return self._pool

    def _share_below(self) -> int:
        """Files of fewer bytes may be converted by this process too (*share_bytes*)."""
        return min(self.share_bytes, self.isolate_bytes or self.share_bytes)

    def _pool_size(self, small_files: bool) -> int:
        """Workers a batch wants: one fewer when this process converts its small files too."""
        if small_files and self.share_bytes > 0:
            return max(1, self.workers - 1)
        return self.workers

    def _usable(self) -> bool:
        """Whether there are workers to use: several, startable, ``__main__`` importable."""
        return self.workers > 1 and _spawn_safe() and not self._unstartable

    def _wanted(self, files: int, nbytes: Callable[[], int]) -> bool:
        """Whether a batch of *files* files of ``nbytes()`` bytes runs on the workers."""
        if files < self.min_jobs:  # one file: on a worker when it is big
            return (
                files > 0
                and self.isolate_bytes > 0
                and nbytes() >= self.isolate_bytes
                and self._usable()
            )
        small = (
            self._pool is None
            and self.min_bytes > 0
            and files < self.min_files
            and nbytes() < self.min_bytes
        )
        return files >= self.min_jobs and not small and self._usable()

    def prepare(
        self, files: int, nbytes: int, declared: Sequence[tuple[str, int]] = ()
    ) -> None:
        """Start the workers now for a coming batch of *files* files (*nbytes* bytes).

        The batch's code calls it before extracting an upload: the workers start and
        import (about 0.5 s each) while the files are extracted and detected, instead
        of after. Only where that second counts and the workers will be used whatever
        the upload holds: an upload of at least *min_files* entries (small files: their
        batch is about as long as the workers' start), or of at least *isolate_bytes*
        (one big file runs on a worker too). An upload of a few entries of more than
        *min_bytes* may be one file in several entries (an ISOXML task, a shapefile):
        its workers start after detection, if there is more than one file — before,
        the two idle workers' start took CPU from the conversion in this process.
        Nothing happens when the pool is running already. One worker fewer starts
        when the upload's file entries (*declared*: path and size each) can only be
        files this process converts too (*share_bytes*), as :meth:`run` will find
        them; without *declared*, when the upload's mean entry is under *share_bytes*.

        >>> runner = ProcessPoolRunner(2)
        >>> runner.prepare(files=3, nbytes=1000)  # a small batch: in-process, no pool
        >>> runner.prepare(files=3, nbytes=100 * 2**20)  # one ISOXML task, perhaps
        >>> runner._pool is None
        True
        """
        if self._pool is not None:
            return
        sure = files >= self.min_files or (
            self.isolate_bytes > 0 and nbytes >= self.isolate_bytes
        )
        if not (sure and self._wanted(files, lambda: nbytes)):
            return
        refuse_while_a_worker_starts()
        # a pool of the size run() will want: a bigger one would replace this one,
        # its start wasted
        small = (
            _shareable(declared, self._share_below())
            if declared
            else nbytes < files * self.share_bytes
        )
        workers = self._pool_size(small)
        pool = self._get_pool(workers)
        self._pings = [pool.submit(_ping) for _ in range(workers)]

    def _start(self, workers: int | None = None) -> None:
        """Have a pool of at least *workers* (default: all) workers, started or starting.

        A pool started for small files (*share_bytes*) is replaced by a bigger one. A
        new pool is sent a :func:`_ping` (:meth:`_started` waits for it).
        """
        pool = self._pool
        if workers and pool is not None and self._pool_workers < workers:
            self._pings = []
            self._discard(pool)
        if self._pool is None:
            self._pings = [self._get_pool(workers).submit(_ping)]

    def _starting(self) -> bool:
        """Whether the workers have not yet answered their first job."""
        return any(not ping.done() for ping in self._pings)

    def _started(self, workers: int | None = None) -> bool:
        """Whether the pool's workers run jobs (a new pool proves it with :func:`_ping`).

        Starts the pool first (:meth:`_start`, *workers*), then waits for its workers.
        """
        self._start(workers)
        pings, self._pings = self._pings, []
        if not pings:
            return True
        pool = self._get_pool()
        try:
            for ping in pings:
                ping.result()
            return True
        except BrokenProcessPool as exc:
            self._discard(pool)
            self._unstartable = str(exc) or "a worker process died while starting"
            log.warning(
                "leafnb's worker processes could not start (%s); converting in this "
                "process. A script that starts a batch at import time needs "
                '`if __name__ == "__main__":`',
                self._unstartable,
            )
            return False

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self, *, kill: bool = False) -> None:
        """Shut the worker processes down (a later batch starts a new pool).

        ``kill=True`` kills workers busy with a file instead of waiting for them (a
        server stopping): their files' batches are then interrupted. Workers that could
        not start are tried again by the next batch.
        """
        with self._lock:
            pool, self._pool = self._pool, None
            self._unstartable = None
            self._pings = []
        if pool is None:
            return
        if kill:
            self._stopped = True
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    proc.kill()
        pool.shutdown(wait=not kill, cancel_futures=True)

    def run(
        self, jobs: Sequence[FileJob], fn: ConvertFn | None = None
    ) -> Iterator[Pair]:
        """Yield ``(job, outcome)`` as the worker processes complete each job.

        A new pool first runs a no-op job: if its workers die before any job (a script
        that starts a batch at import time, :func:`refuse_while_a_worker_starts`; no
        memory to start them), the jobs run in this process, with a warning, as do
        later batches of this runner.
        """
        refuse_while_a_worker_starts()
        fn = fn or self.fn or convert_file
        jobs = list(jobs)
        sizes = list(input_sizes(jobs))
        # the jobs this process may convert too (FileJob holds a dict: not hashable)
        below = self._share_below()
        small = {
            id(j)
            for j, n in zip(jobs, sizes, strict=True)
            if n < below and _in_process_safe(j.reader)
        }
        if not self._wanted(len(jobs), lambda: sum(sizes)):
            yield from InlineRunner(fn).run(jobs)
            return
        pending = largest_first(jobs, sizes)
        self._start(self._pool_size(len(small) == len(jobs)))
        # while the workers start, this process converts small files, smallest first
        early: set[int] = set()
        for job in [j for j in reversed(pending) if id(j) in small]:
            if not self._starting():
                break
            early.add(id(job))
            yield job, _call(fn, job)
        pending = [j for j in pending if id(j) not in early]
        if not pending:  # all done here: the workers go on starting for the next batch
            return
        if not self._started():
            yield from InlineRunner(fn).run(pending)
            return
        while pending:
            pool = self._get_pool()
            futures = {}
            numbers: dict[int, int] = {}  # id(job) -> its number (_marked_call)
            unresolved: list[FileJob] = []
            try:
                for job in pending:
                    numbers[id(job)] = number = next(self._numbers)
                    futures[pool.submit(_marked_call, fn, job, number)] = job
            except (BrokenProcessPool, RuntimeError):
                submitted = {
                    id(j) for j in futures.values()
                }  # FileJob holds a dict: not hashable
                unresolved += [j for j in pending if id(j) not in submitted]
            for job, fut in _shared(futures, lambda j: id(j) in small):
                if fut is None:  # taken back from the pool: converted here
                    yield job, _call(fn, job)
                    continue
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    unresolved.append(job)
                    continue
                except Exception as exc:  # e.g. the job or outcome failed to pickle
                    outcome = crash_outcome(job, exc)
                yield job, outcome
            if not unresolved:
                return
            if self._stopped:
                raise RuntimeError("the worker processes were stopped (shutting down)")
            self._discard(pool)
            converting = pool.converting()
            suspects = [j for j in unresolved if numbers.get(id(j)) in converting]
            if not suspects:  # the pool broke before anything ran: do not loop forever
                suspects = unresolved
            log.warning(
                "a leafnb worker process died; re-running %d file(s) in isolation",
                len(suspects),
            )
            for job in suspects:
                yield job, self._isolated(fn, job)
            pending = [j for j in unresolved if j not in suspects]

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over *items* on the worker processes, results in item order.

        *fn* and the items must pickle (module-level functions). Errors propagate; a
        worker that dies raises ``BrokenProcessPool`` (no isolation re-run, unlike
        :meth:`run`). In-process when there is one worker, ``__main__`` cannot be
        re-imported by spawned workers, or the workers cannot start (as :meth:`run`).
        """
        items = list(items)
        if not (len(items) >= 2 and self._usable() and self._started()):
            return [fn(x) for x in items]
        return list(self._get_pool().map(fn, items))

    def _isolated(self, fn: ConvertFn, job: FileJob) -> FileOutcome:
        """Convert one job alone in a fresh process; if that process dies too, the job failed."""
        pool = self._new_pool(1)
        try:
            return pool.submit(_marked_call, fn, job, next(self._numbers)).result()
        except BrokenProcessPool:
            return crash_outcome(
                job,
                "WorkerCrashed: the worker process converting this file died "
                "(out of memory, or a crash in a native library)",
            )
        except Exception as exc:
            return crash_outcome(job, exc)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


class DaskRunner:
    """Run conversions on a Dask cluster (``dask.distributed``).

    Parameters
    ----------
    client : distributed.Client or str
        A client, or a scheduler address (a client is then created on first use and
        closed by :meth:`close`).

    Each file is one task (``pure=False``; the key names the file). Results come back as
    they complete. A task whose worker keeps dying ends as ``KilledWorker`` after the
    scheduler's ``distributed.scheduler.allowed-failures`` retries and fails only that
    file. Workers must import the same leafnb version and see the workspace folder at the
    same path.
    """

    def __init__(self, client: Any, fn: ConvertFn | None = None):
        self._address = client if isinstance(client, str) else None
        self._client = None if isinstance(client, str) else client
        self._owned = isinstance(client, str)
        self.fn = fn

    @property
    def client(self):
        """The ``distributed.Client`` (created from the address on first use)."""
        if self._client is None:
            from distributed import Client

            self._client = Client(self._address)
        return self._client

    @property
    def workers(self) -> int:
        """Threads of the cluster's workers (1 when the scheduler cannot be asked)."""
        try:
            return (
                sum(
                    w.get("nthreads", 1)
                    for w in self.client.scheduler_info()["workers"].values()
                )
                or 1
            )
        except Exception:
            return 1

    def __repr__(self) -> str:
        return f"DaskRunner({self._address or self._client!r})"

    def run(
        self, jobs: Sequence[FileJob], fn: ConvertFn | None = None
    ) -> Iterator[Pair]:
        """Yield ``(job, outcome)`` as Dask completes each job's task."""
        from distributed import as_completed as dask_completed

        fn = fn or self.fn or convert_file
        jobs = largest_first(jobs)
        if not jobs:
            return
        client = self.client
        tag = uuid.uuid4().hex[:8]
        keys = [f"leafnb-convert-{job.file_id}-{tag}" for job in jobs]
        futures = client.map(_call, [fn] * len(jobs), jobs, key=keys, pure=False)
        by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        try:
            for fut in dask_completed(futures):
                job = by_key[fut.key]
                try:
                    outcome = fut.result()
                except Exception as exc:  # KilledWorker, CancelledError, ...
                    outcome = crash_outcome(job, exc)
                fut.release()
                yield job, outcome
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over *items* as Dask tasks (``pure=False``), gathered in item order."""
        client = self.client
        return client.gather(client.map(fn, list(items), pure=False))

    def close(self) -> None:
        """Close the client if leafnb created it from an address."""
        if self._owned and self._client is not None:
            self._client.close()
            self._client = None


# ----------------------------------------------------------------------------- resolution
_DEFAULT: ProcessPoolRunner | None = None
_DEFAULT_LOCK = threading.Lock()


def default_runner() -> ProcessPoolRunner:
    """The process-wide pool (``os.cpu_count()`` workers) shared by Workspaces by default."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = ProcessPoolRunner()
        return _DEFAULT


def _is_dask_client(obj: Any) -> bool:
    mod = type(obj).__module__ or ""
    return (
        mod.split(".")[0] == "distributed"
        and hasattr(obj, "submit")
        and hasattr(obj, "scheduler_info")
    )


def resolve_executor(spec: Any = None):
    """Return the runner for a Workspace ``executor`` argument (see module docstring).

    The environment variable ``LEAFNB_EXECUTOR`` (``inline``, ``processes``, a worker
    count or a scheduler address) gives the default when *spec* is None.
    """
    if spec is None:
        spec = os.environ.get("LEAFNB_EXECUTOR") or None
        if spec is not None and spec.strip().isdigit():
            spec = int(spec)
    if spec is None or spec in ("processes", "process", "auto", "local"):
        return default_runner()
    if isinstance(spec, bool):
        raise TypeError(
            "executor must be None, an int, a name, a Client or an Executor, not a bool"
        )
    if isinstance(spec, int):
        return InlineRunner() if spec <= 1 else ProcessPoolRunner(spec)
    if isinstance(spec, str):
        if spec in ("inline", "sync", "serial", "synchronous"):
            return InlineRunner()
        if spec.startswith(_DASK_SCHEMES) or ":" in spec:
            return DaskRunner(spec)
        raise ValueError(
            f"unknown executor {spec!r}: use 'processes', 'inline', a worker count, "
            "a dask scheduler address or a distributed.Client"
        )
    if _is_dask_client(spec):
        return DaskRunner(spec)
    if isinstance(spec, Executor):
        return ExecutorRunner(spec)
    if hasattr(spec, "run") and callable(spec.run):
        return spec
    raise TypeError(f"cannot run conversions on {spec!r}")


def map_tasks(
    fn: Callable[[Any], Any], items: Sequence[Any], executor: Any = None
) -> list[Any]:
    """``[fn(x) for x in items]`` on *executor*, results in item order.

    *executor* is None (in this process; unlike a Workspace, no pool is started) or
    anything :func:`resolve_executor` accepts: a ``concurrent.futures.Executor``
    (``executor.map``), a ``distributed.Client`` or scheduler address (``client.map`` +
    ``gather``), a worker count, ``"processes"``, ``"inline"``, or a runner with a
    ``map(fn, items)`` method; any other object with ``map`` (``multiprocessing.Pool``) is
    used as is. Runners made here from a count or an address are closed
    afterwards; the caller's executor and the shared default pool are left running.
    Errors raised by *fn* propagate.

    >>> map_tasks(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    if executor is None:
        return [fn(x) for x in items]
    try:
        runner = resolve_executor(executor)
    except TypeError:
        if callable(getattr(executor, "map", None)):  # a map-only pool
            return list(executor.map(fn, items))
        raise
    if not callable(getattr(runner, "map", None)):
        raise TypeError(f"cannot map tasks on {executor!r}: it has no map(fn, items)")
    try:
        return runner.map(fn, list(items))
    finally:
        if runner is not executor and runner is not _DEFAULT:
            runner.close()


def prepare_workers(
    runner: Any, files: int, nbytes: int, declared: Sequence[tuple[str, int]] = ()
) -> None:
    """Let *runner* start its workers for a coming batch (:meth:`ProcessPoolRunner.prepare`).

    *declared*: the upload's file entries, ``(path, size)``. Runners without workers to
    start (in-process, Dask, a user's executor) ignore it.
    """
    prepare = getattr(runner, "prepare", None)
    if callable(prepare):
        prepare(files, nbytes, declared)


def run_jobs(
    runner: Any, jobs: list[FileJob], progress: bool | None = None
) -> Iterator[Pair]:
    """Convert *jobs* on *runner*, yielding ``(job, outcome)`` as each completes.

    *runner* is a :func:`resolve_executor` result. With a progress bar when *progress* (None: when several jobs, in a
    notebook or terminal).

    Workers only write artifacts into ``files/<id>/``; the caller records outcomes in the
    catalog, so progress and events stay in the calling process.
    """
    bar = None
    if progress or (progress is None and len(jobs) > 1):
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(jobs),
            desc="converting",
            unit="file",
            leave=False,
            disable=None if progress is None else False,
        )
    try:
        for job, outcome in runner.run(jobs):
            if bar is not None:
                bar.update(1)
            yield job, outcome
    finally:
        if bar is not None:
            bar.close()
