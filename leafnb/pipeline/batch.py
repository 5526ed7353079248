"""Batch lifecycle: upload -> extract -> detect -> convert every file -> PROCESSED / FAILED (spec §4).

A batch goes through three stages, each ending in one catalog transaction, so a crash
between two of them leaves a state the next run can finish:

1. :func:`create_batch` (the caller's thread; fast and bounded: it reads the zip's
   central directory, never its contents, and opens no other file): checks the
   parameters and every entry name (:func:`leafnb.formats.archive.inspect_zip`),
   records the batch (``RECEIVED``, stage ``received``) together with a *run lease*
   (:mod:`leafnb.store.runs`), and stores the zip as ``batches/<id>/upload.zip``.
2. :func:`ingest` (in the background for ``wait=False``, i.e. never in an HTTP request
   thread): extracts within the upload's inflation budget and detects its files; records
   them (stage ``ready``). An archive refused while extracting (a zip bomb, a bad nested
   zip) fails the batch with the refusal as ``statusDetails`` and leaves nothing on
   disk; the refusal is final (stage ``refused``).
3. :func:`process_batch`: converts the files (all, or on retry only the ``failed``
   ones) and settles the batch. Once it settled, ``extracted/`` is deleted and only the
   upload is kept; a retry or reprocess extracts the upload again first
   (:mod:`leafnb.pipeline.originals`).

:func:`run_batch` runs stages 2-3 holding the batch's lease (renewed by a heartbeat
thread), so a second run of a batch being processed is refused with
:class:`~leafnb.errors.BatchBusy` (HTTP 409) instead of converting the same files
twice. A run that stops without settling (an exception, ``KeyboardInterrupt``, the
process killed) leaves the batch *interrupted*: :func:`mark_interrupted` fails the files
that were converting (message ``interrupted: ...``), removes their partial artifacts (or
a partial extraction) and settles the batch with a ``statusDetails`` saying so; a
retry converts them again. A killed process cannot mark anything itself: the next
Workspace opened on the folder finds its dead lease and does it
(:func:`recover_interrupted`).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leafnb.context import Context
from leafnb.errors import InvalidRequest, OriginalUnavailable
from leafnb.events import utc_now
from leafnb.formats.archive import extract_zip, inspect_zip, remove_tree
from leafnb.formats.detect import Candidate, detect, provider_contradicts
from leafnb.formats.inference import parse_user_mapping
from leafnb.keys import (
    FILE_STEPS,
    PROVIDERS,
    STATUS_DETAILS,
    BatchStatus,
    Event,
    StepStatus,
)
from leafnb.pipeline import originals
from leafnb.pipeline.checkpoints import checkpoint
from leafnb.pipeline.executors import input_sizes, prepare_workers, run_jobs
from leafnb.pipeline.steps import FileJob, FileOutcome, StepResult
from leafnb.store import batch_rows, records, runs
from leafnb.store.runs import RunLease

__all__ = [
    "OutcomeRecorder",
    "create_batch",
    "ingest",
    "mark_interrupted",
    "open_upload",
    "prepare_reprocess",
    "prepare_retry",
    "process_batch",
    "recover_interrupted",
    "run_batch",
    "start_retry",
    "status_groups",
]

log = logging.getLogger(__name__)

#: stages of a batch (``stage`` in its doc)
RECEIVED, READY, REFUSED = "received", "ready", "refused"
#: why a batch found with a dead lease was interrupted
KILLED = "the process working on it stopped (killed or crashed)"
#: facts a converted upload keeps in its doc (:func:`leafnb.store.records.write_file_outcome`)
UPLOADED_DOC_FACTS = (
    "recordCount",
    "skippedRecords",
    "cleanup",
    "cleaning",
    "outOfStandard",
    "partfields",
    "operators",
    "machineTotals",
    "columnMapping",
    "notes",
)
#: orphan folders (no catalog row) younger than this are left alone: another process
#: may be between creating the folder and recording it
ORPHAN_AGE_SECONDS = 3600.0


def _provider_for(candidate: Candidate, requested: str) -> tuple[str, str | None]:
    """(provider recorded on the file, mismatch note). Detected content wins over the parameter."""
    detected = candidate.provider
    if requested in ("Other", "Leaf"):
        return detected or "Leaf", None
    if provider_contradicts(requested, detected):
        note = (
            f"batch provider {requested!r} contradicts the content: {candidate.file_name} "
            f"looks like {detected} {candidate.file_format}; recorded as {detected}"
        )
        return detected, note
    return detected or requested, None


def _batch_dir(ctx: Context, batch_id: str) -> Path:
    return ctx.layout.batch_dir(batch_id)


def _doc(ctx: Context, batch_id: str) -> dict[str, Any]:
    row = batch_rows.find_batch(ctx.catalog, batch_id)
    return ctx.catalog.loads(row["doc"]) if row else {}


def create_batch(
    ctx: Context,
    source: str | Path,
    leaf_user_id: str,
    provider: str,
    *,
    move: bool = False,
) -> tuple[str, RunLease]:
    """Check the upload, record the batch (RECEIVED) with its run lease and store the zip.

    Nothing is extracted here: only the zip's central directory is read. *move* lets the
    zip (a temporary file of the caller) be moved instead of copied.

    Raises
    ------
    InvalidRequest
        Bad parameters, not a zip.
    UnsafeArchive
        A refused entry name or type, too many entries, declared sizes over the budget.
    """
    source = Path(source)
    if not leaf_user_id or not isinstance(leaf_user_id, str):
        raise InvalidRequest("leafUserId is required")
    if provider not in PROVIDERS:
        raise InvalidRequest(
            f"{provider!r} is not a valid provider, must be one of {', '.join(PROVIDERS)}"
        )
    if not source.is_file():
        raise InvalidRequest(f"{source} does not exist or is not a file")
    if source.suffix.lower() != ".zip":
        raise InvalidRequest(
            f"{source.name}: only .zip uploads are accepted (spec §4.3)"
        )
    contents = inspect_zip(source)
    size = source.stat().st_size
    prepare_workers(ctx.executor, contents.entries, size, contents.declared)
    batch_id = str(uuid.uuid4())
    now = utc_now()
    with ctx.catalog.transaction() as conn:
        batch_rows.insert_batch(
            conn,
            batch_id,
            leaf_user_id=leaf_user_id,
            provider=provider,
            file_name=source.name,
            size=size,
            status=BatchStatus.RECEIVED,
            doc={"stage": RECEIVED},
            now=now,
        )
        token = runs.insert_run(conn, batch_id)
    lease = RunLease(ctx.catalog, batch_id, token)
    bdir = _batch_dir(ctx, batch_id)
    try:
        bdir.mkdir(parents=True)
        target = bdir / "upload.zip"
        if move:
            try:
                os.replace(source, target)
            except OSError:  # another file system
                move = False
        if not move:
            tmp = bdir / ".upload.zip.tmp"
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
    except BaseException:
        _delete_batch(ctx, batch_id)
        raise
    return batch_id, lease


def open_upload(
    ctx: Context,
    source: str | Path,
    leaf_user_id: str,
    provider: str,
    column_mapping: dict[str, Any] | None = None,
    *,
    move: bool = False,
) -> tuple[str, RunLease]:
    """Check a column mapping, then :func:`create_batch` and keep the mapping on the batch.

    Parameters
    ----------
    ctx : Context
        Records, layout and events.
    source : path
        The uploaded zip.
    leaf_user_id : str
        Owner of the files.
    provider : str
        ``Other`` or one of Leaf's providers.
    column_mapping : dict, optional
        What source columns mean (:func:`leafnb.formats.inference.parse_user_mapping`),
        kept as the batch's ``userColumnMapping``.
    move : bool
        The zip may be moved instead of copied.

    Returns
    -------
    tuple of (str, RunLease)
        The batch id and its run lease.

    Raises
    ------
    InvalidRequest
        A malformed mapping (before anything is stored), or a refused upload.
    """
    # a malformed mapping fails before anything is extracted
    parse_user_mapping(column_mapping)
    batch_id, lease = create_batch(ctx, source, leaf_user_id, provider, move=move)
    if column_mapping:
        records.update_doc(
            ctx.catalog,
            "batches",
            batch_id,
            userColumnMapping=dict(column_mapping),
        )
    return batch_id, lease


def _delete_batch(ctx: Context, batch_id: str) -> None:
    """Forget a batch that never got past extraction (row, lease, folder)."""
    batch_rows.delete_batch(ctx.catalog, batch_id)
    originals.wait_deleted()  # a discarded extraction of it may still be going
    remove_tree(_batch_dir(ctx, batch_id))


def _set_stage(ctx: Context, batch_id: str, stage: str) -> None:
    with ctx.catalog.transaction() as conn:
        _, _, doc = batch_rows.batch_for_update(conn, batch_id)
        batch_rows.set_batch_doc(conn, batch_id, {**doc, "stage": stage}, utc_now())


def ingest(ctx: Context, batch_id: str, *, raise_refused: bool = False) -> bool:
    """Extract and detect the batch's upload and record its files; False if it failed.

    A refused archive (:class:`~leafnb.errors.InvalidRequest`, e.g. a zip bomb) fails
    the batch for good and its folder is removed; with *raise_refused* the batch is
    forgotten altogether and the error raised (``upload_batch(wait=True)``). An I/O
    error fails the batch but keeps the upload, so a retry can extract it again.
    """
    bdir = _batch_dir(ctx, batch_id)
    extracted = bdir / originals.EXTRACTED
    originals.discard(bdir)  # what an interrupted extraction left
    batch = batch_rows.find_batch(ctx.catalog, batch_id)
    try:
        report = extract_zip(
            bdir / "upload.zip",
            extracted,
            on_file=lambda _: checkpoint("extract"),
            label=batch["file_name"] if batch else None,
        )
    except InvalidRequest as exc:
        if raise_refused:
            _delete_batch(ctx, batch_id)
            raise
        originals.wait_deleted()
        remove_tree(bdir)
        _set_stage(ctx, batch_id, REFUSED)
        _settle(ctx, batch_id, details=str(exc))
        return False
    except OSError as exc:
        remove_tree(extracted)
        _settle(
            ctx,
            batch_id,
            details=f"the upload could not be extracted ({exc.strerror or type(exc).__name__}); "
            "retry the batch",
        )
        return False
    originals.mark_extracted(bdir)
    checkpoint("detect")
    detection = detect(extracted)
    now = utc_now()
    with ctx.catalog.transaction() as conn:
        provider, leaf_user_id, doc = batch_rows.batch_for_update(conn, batch_id)
        doc = {
            **doc,
            "ignoredEntries": detection.ignored + report.ignored,
            "ignoredReasons": detection.reasons,
            "nestedZips": report.nested,
            "stage": READY,
        }
        batch_rows.set_batch_doc(conn, batch_id, doc, now)
        for cand in detection.candidates:
            file_provider, note = _provider_for(cand, provider)
            fdoc = {
                "reader": cand.reader,
                "path": str(cand.path.relative_to(ctx.layout.root)),
                "part": cand.part,
                "confidence": cand.confidence,
                "sidecars": [
                    str(p.relative_to(ctx.layout.root)) for p in cand.sidecars
                ],
            }
            if note:
                fdoc["providerMismatch"] = note
            batch_rows.insert_uploaded_file(
                conn,
                str(uuid.uuid4()),
                batch_id=batch_id,
                leaf_user_id=leaf_user_id,
                provider=file_provider,
                file_format=cand.file_format,
                file_name=cand.file_name,
                operation_type=cand.operation_type,
                size_in_bytes=cand.size_in_bytes,
                doc=fdoc,
                now=now,
            )
    return True


def start_retry(ctx: Context, batch_id: str) -> RunLease:
    """Take the batch's lease for a retry (``PUT /batch/{id}/retry``) and reset its status.

    Raises
    ------
    BatchBusy
        The batch is being processed by a live run.
    InvalidRequest
        The upload was refused (a retry would refuse it again).
    """
    lease, interrupted = runs.acquire(ctx.catalog, batch_id)
    try:
        if interrupted:
            mark_interrupted(ctx, batch_id, KILLED)
        row = records.batch_row(ctx.catalog, batch_id)
        if ctx.catalog.loads(row["doc"]).get("stage") == REFUSED:
            raise InvalidRequest(
                f"batch {batch_id!r} was refused when it was uploaded "
                f"({row['status_details']}); upload a corrected zip instead"
            )
        batch_rows.reset_batch_status(ctx.catalog, batch_id, BatchStatus.RECEIVED)
    except BaseException:
        lease.release()
        raise
    return lease


def prepare_retry(
    ctx: Context, batch_id: str, column_mapping: dict[str, Any] | None = None
) -> RunLease:
    """:func:`start_retry` a batch, replacing its column mapping when one is given.

    Parameters
    ----------
    ctx : Context
        Records, layout and events.
    batch_id : str
        The batch.
    column_mapping : dict, optional
        A new ``userColumnMapping`` for this and later conversions.

    Returns
    -------
    RunLease
        The batch's run lease.

    Raises
    ------
    NotFound
        Unknown batch.
    InvalidRequest
        A malformed mapping, or an upload that was refused.
    BatchBusy
        The batch is being processed by a live run.
    """
    records.batch_row(ctx.catalog, batch_id)
    if column_mapping is not None:
        parse_user_mapping(column_mapping)
    lease = start_retry(ctx, batch_id)
    if column_mapping is not None:
        records.update_doc(
            ctx.catalog,
            "batches",
            batch_id,
            userColumnMapping=dict(column_mapping),
        )
    return lease


def prepare_reprocess(
    ctx: Context, file_id: str, column_mapping: dict[str, Any] | None = None
) -> Any:
    """Queue one file to be converted again: keep the mapping on it and mark it FAILED.

    A retry of its batch (:func:`prepare_retry`) then converts it again.

    Parameters
    ----------
    ctx : Context
        Records.
    file_id : str
        The file.
    column_mapping : dict, optional
        Kept as the file's ``userColumnMapping``.

    Returns
    -------
    sqlite3.Row
        The file's row as it was before (``batch_id``, ``leaf_user_id``, …).

    Raises
    ------
    InvalidRequest
        A malformed mapping.
    NotFound
        Unknown file.
    """
    parse_user_mapping(column_mapping)
    row = records.file_row(ctx.catalog, file_id)
    values: dict[str, Any] = {"message": "queued for reprocessing"}
    if column_mapping is not None:
        values["userColumnMapping"] = dict(column_mapping)
    records.update_doc(ctx.catalog, "files", file_id, **values)
    records.set_file_status(ctx.catalog, file_id, StepStatus.FAILED)
    return row


def run_batch(
    ctx: Context,
    batch_id: str,
    lease: RunLease,
    *,
    only_failed: bool = False,
    progress: Any = None,
    raise_refused: bool = False,
) -> bool:
    """Ingest (if not done yet) and process the batch while holding *lease*, then release it.

    Returns True when the batch's files were converted (False: the upload was refused).
    """
    lease.start()
    try:
        if _doc(ctx, batch_id).get("stage", READY) != READY:
            if not ingest(ctx, batch_id, raise_refused=raise_refused):
                return False
            only_failed = False  # every file is new
        process_batch(ctx, batch_id, only_failed=only_failed, progress=progress)
        return True
    except BaseException as exc:
        try:  # a no-op for a refused upload that was forgotten (raise_refused)
            if mark_interrupted(
                ctx, batch_id, f"the run stopped ({type(exc).__name__})"
            ):
                log.warning("batch %s interrupted by %r", batch_id, exc)
        except Exception:  # the next open of the workspace recovers it
            log.exception("batch %s could not be marked interrupted", batch_id)
        raise
    finally:
        try:
            lease.release()
        except Exception:  # a dead lease is recovered later
            log.exception("lease of batch %s not released", batch_id)


def process_batch(
    ctx: Context, batch_id: str, *, only_failed: bool = False, progress: Any = None
) -> None:
    """Convert the batch's files (all, or only the failed ones) and settle its status.

    Files in any other state are left alone: ``processed`` ones keep their results and
    ``processing`` ones belong to the run converting them. The upload is extracted again
    first when it is not (a retry), and ``extracted/`` deleted before the batch settles.
    """
    batch = records.batch_row(ctx.catalog, batch_id)
    batch_rows.set_batch_status(
        ctx.catalog, batch_id, BatchStatus.PROCESSING, utc_now()
    )
    rows = batch_rows.batch_files(ctx.catalog, batch_id)
    todo = [r for r in rows if not only_failed or r["status"] == StepStatus.FAILED]
    config = ctx.config(batch["leaf_user_id"])
    jobs = [_job(ctx, row, batch, config) for row in todo]
    try:  # a retry: the originals were deleted when the batch settled
        if jobs:
            originals.restore(_batch_dir(ctx, batch_id))
    except OriginalUnavailable as exc:
        recorder = OutcomeRecorder(ctx, batch["leaf_user_id"])
        for job in jobs:
            recorder.add(job, FileOutcome(steps=_failed_steps(0, str(exc))))
        recorder.flush()
        _settle(ctx, batch_id, details=f"{exc}; upload the files again")
        return
    batch_rows.set_files_status(
        ctx.catalog, [job.file_id for job in jobs], StepStatus.PROCESSING, utc_now()
    )
    recorder = OutcomeRecorder(ctx, batch["leaf_user_id"], jobs)
    try:
        for job, outcome in run_jobs(ctx.executor, jobs, progress=progress):
            recorder.add(job, outcome)
    except BaseException:
        recorder.flush_quietly()  # what did finish is kept; the rest is interrupted
        raise
    recorder.flush()
    # before settling: whoever sees the batch settled finds only the upload kept
    originals.discard(_batch_dir(ctx, batch_id))
    _settle(ctx, batch_id)


def job_config(
    config: dict[str, Any], batch_doc: dict[str, Any], file_doc: dict[str, Any]
) -> dict[str, Any]:
    """A file's conversion config: the column mappings of config < batch < file merged."""
    out = dict(config)
    mapping = dict(out.get("columnMapping") or {})
    mapping.update(batch_doc.get("userColumnMapping") or {})
    mapping.update(file_doc.get("userColumnMapping") or {})
    if mapping:
        out["columnMapping"] = mapping
    return out


def _job(ctx: Context, row, batch, config: dict[str, Any]) -> FileJob:
    doc = ctx.catalog.loads(row["doc"])
    return FileJob(
        row["id"],
        doc["reader"],
        str(ctx.layout.resolve(doc["path"])),
        doc.get("part"),
        str(ctx.layout.file_dir(row["id"])),
        job_config(config, ctx.catalog.loads(batch["doc"]), doc),
    )


class OutcomeRecorder:
    """Records converted files' outcomes and their events, several files per transaction.

    A small file converts in milliseconds; one transaction (files row, steps, event)
    per file would cost as much as the conversion. Outcomes are kept until *size* of
    them wait or *seconds* passed since the last write (checked as each arrives), then
    written in one transaction; the first outcome is written at once (the batch shows
    progress, and the ``record`` crash point comes after it). While a file of more
    than :attr:`slow_bytes` of *jobs* is still converting, every outcome is written at
    once: a finished file must not wait, shown as processing, for a long conversion
    (waiting is bounded by the small files' conversions and *seconds*).

    Crash safety: a file's artifacts are complete on disk before its outcome is
    handed here, and a file that is not recorded yet is still ``processing`` in the
    catalog, so a crash loses only the conversions that waited here: recovery fails
    those files as interrupted (removing their artifacts) and a retry converts them
    again. The catalog never claims an artifact that is not on disk.

    >>> OutcomeRecorder.size
    64
    """

    size = 64
    seconds = 0.25
    slow_bytes = 1 << 20

    def __init__(
        self, ctx: Context, leaf_user_id: str, jobs: Sequence[FileJob] = ()
    ) -> None:
        self.ctx = ctx
        self.leaf_user_id = leaf_user_id
        #: files whose conversion may take long, not converted yet
        self.slow = {
            job.file_id
            for job, size in zip(jobs, input_sizes(jobs), strict=True)
            if size >= self.slow_bytes
        }
        self.pending: list[tuple[FileJob, FileOutcome, str, dict[str, Any]]] = []
        self.written = 0
        self._last = time.monotonic()

    def add(self, job: FileJob, outcome: FileOutcome) -> None:
        """Keep *job*'s outcome (its time and event made now); write when due."""
        if outcome.failed:
            body = self.ctx.events.body(
                Event.UPLOADED_FILE_FAILED,
                fileId=job.file_id,
                leafUserId=self.leaf_user_id,
                message=outcome.message,
            )
        else:
            body = self.ctx.events.body(
                Event.UPLOADED_FILE_FINISHED,
                fileId=job.file_id,
                leafUserId=self.leaf_user_id,
            )
        self.pending.append((job, outcome, utc_now(), body))
        self.slow.discard(job.file_id)
        if (
            not self.written
            or self.slow
            or len(self.pending) >= self.size
            or time.monotonic() - self._last >= self.seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write the waiting outcomes and events in one transaction, then dispatch."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        with self.ctx.catalog.transaction() as conn:
            for job, outcome, now, _ in pending:
                records.write_file_outcome(
                    conn,
                    job.file_id,
                    StepStatus.FAILED if outcome.failed else StepStatus.PROCESSED,
                    outcome.facts,
                    outcome.message,
                    outcome.steps,
                    now,
                    doc_facts=UPLOADED_DOC_FACTS,
                    fresh_facts=("columnMapping", "notes"),  # not from an earlier run
                    format_facts=True,
                )
            self.ctx.catalog.insert_events(
                conn, [(body["type"], body) for *_, body in pending]
            )
        self.written += len(pending)
        self._last = time.monotonic()
        for *_, body in pending:
            self.ctx.events.dispatch(body)
        checkpoint("record")

    def flush_quietly(self) -> None:
        """:meth:`flush` while another error propagates (a failure here is logged)."""
        waiting = len(self.pending)
        try:
            self.flush()
        except Exception:  # those files stay processing: recovery fails them
            log.exception("outcomes of %d file(s) not recorded", waiting)


def _settle(ctx: Context, batch_id: str, details: str | None = None) -> None:
    """Final status from the files' statuses (*details* overrides ``statusDetails``)."""
    files = batch_rows.batch_file_states(ctx.catalog, batch_id)
    counts = Counter(r["status"] for r in files)
    if counts[StepStatus.PROCESSED]:
        status, standard = BatchStatus.PROCESSED, None
    elif not files:
        status, standard = BatchStatus.FAILED, STATUS_DETAILS["no_files"]
    else:
        status, standard = BatchStatus.FAILED, STATUS_DETAILS["unreadable"]
    owner = records.batch_owner(ctx.catalog, batch_id)
    if owner is None:
        return
    batch_rows.settle_batch_status(
        ctx.catalog, batch_id, status, details or standard, utc_now()
    )
    ctx.events.emit(Event.BATCH_FINISHED, batchId=batch_id, leafUserId=owner)


def mark_interrupted(ctx: Context, batch_id: str, reason: str) -> bool:
    """Settle a batch whose run stopped early; True if there was anything to settle.

    Files still ``processing`` fail with ``interrupted: <reason>`` (their partial
    artifacts are removed); a batch stopped while extracting loses its partial
    extraction but keeps its upload. Either way a retry goes on from there.
    """
    batch = batch_rows.find_batch(ctx.catalog, batch_id)
    if batch is None:
        return False
    stage = ctx.catalog.loads(batch["doc"]).get("stage", READY)
    settled = batch["status"] not in (BatchStatus.RECEIVED, BatchStatus.PROCESSING)
    if stage == REFUSED or (stage == RECEIVED and settled):
        return False
    if stage == RECEIVED:
        originals.discard(_batch_dir(ctx, batch_id))
        _settle(
            ctx,
            batch_id,
            details=f"interrupted while extracting the upload: {reason}; retry the batch",
        )
        return True
    stuck = batch_rows.batch_files_with_status(
        ctx.catalog, batch_id, StepStatus.PROCESSING
    )
    if not stuck and settled:
        return False
    message = f"interrupted: {reason}; retry the batch to convert this file"
    batch_rows.fail_files(
        ctx.catalog,
        [row["id"] for row in stuck],
        _interrupted_steps(message),
        utc_now(),
    )
    for row in stuck:
        remove_tree(ctx.layout.file_dir(row["id"]))
    originals.discard(_batch_dir(ctx, batch_id))  # a retry extracts the upload again
    _settle(
        ctx,
        batch_id,
        details=f"interrupted: {reason}; {len(stuck)} file(s) did not finish converting, "
        "retry the batch to convert them"
        if stuck
        else None,
    )
    return True


def _interrupted_steps(message: str) -> list[StepResult]:
    """Steps of a file whose conversion was cut off: the original is there, the rest did not run."""
    return _failed_steps(1, message)


def _failed_steps(failed: int, message: str) -> list[StepResult]:
    """Steps processed before step number *failed*, that one failed with *message*, the rest skipped."""
    return [
        *(
            StepResult(s.value, StepStatus.PROCESSED.value, "ok")
            for s in FILE_STEPS[:failed]
        ),
        StepResult(FILE_STEPS[failed].value, StepStatus.FAILED.value, message),
        *(
            StepResult(s.value, StepStatus.SKIPPED.value, "skipped")
            for s in FILE_STEPS[failed + 1 :]
        ),
    ]


def recover_interrupted(ctx: Context) -> list[str]:
    """Settle every batch whose run died, reclaim orphan folders; return the batch ids.

    Called when a Workspace is opened. A batch is interrupted when its lease holder is
    dead (:func:`leafnb.store.runs.holder_alive`) or, in a workspace written before
    leases existed, when it is RECEIVED/PROCESSING with no lease at all.
    """
    ids = set(runs.stale_runs(ctx.catalog))
    ids.update(
        batch_rows.batches_without_run(
            ctx.catalog, (BatchStatus.RECEIVED, BatchStatus.PROCESSING)
        )
    )
    done = []
    for batch_id in sorted(ids):
        try:
            lease, _ = runs.acquire(ctx.catalog, batch_id)
        except Exception:  # taken by a live run meanwhile, or the catalog is busy
            continue
        try:
            if mark_interrupted(ctx, batch_id, KILLED):
                done.append(batch_id)
        finally:
            lease.release()
    if done:
        log.warning("leafnb: %d interrupted batch(es) marked: %s", len(done), done)
    reclaim_orphans(ctx)
    return done


def reclaim_orphans(ctx: Context, min_age: float = ORPHAN_AGE_SECONDS) -> list[Path]:
    """Remove ``batches/<id>`` and ``files/<id>`` folders that no catalog row names.

    Only folders untouched for *min_age* seconds are removed (another process may be
    between creating a folder and recording it), and so are temporary extractions of
    an upload (:func:`leafnb.pipeline.originals.sweep`). Returns what was removed.
    """
    removed = []
    now = time.time()
    for folder in ("batches", "files"):  # each folder is named after its table
        root = ctx.path / folder
        try:
            names = os.listdir(root)
        except OSError:
            continue
        known = batch_rows.row_ids(ctx.catalog, folder)
        for name in names:
            path = root / name
            if name in known:
                if folder == "batches":
                    removed += originals.sweep(path, min_age)
                continue
            try:
                age = now - path.lstat().st_mtime
            except OSError:
                continue
            if age >= min_age:
                remove_tree(path)
                removed.append(path)
    return removed


def status_groups(ctx: Context, batch_id: str) -> dict[str, Any]:
    """``GET /batch/{id}/status``: files grouped as converted / processing / failed by step."""
    out: dict[str, Any] = {
        "converted": {"leafFiles": []},
        "processing": {"leafFiles": []},
        "failed": {},
    }
    for row in batch_rows.batch_file_states(ctx.catalog, batch_id):
        if row["status"] == StepStatus.PROCESSED:
            out["converted"]["leafFiles"].append(row["id"])
        elif row["status"] == StepStatus.PROCESSING:
            out["processing"]["leafFiles"].append(row["id"])
        else:
            step = next(
                (
                    s
                    for s in records.file_steps(ctx.catalog, row["id"])
                    if s["status"] == StepStatus.FAILED
                ),
                None,
            )
            name, message = (step["step"], step["message"]) if step else ("unknown", "")
            group = out["failed"].setdefault(
                name,
                {
                    "leafFiles": [],
                    "status": "failed",
                    "message": message,
                    "messages": {},
                },
            )
            group["leafFiles"].append(row["id"])
            group["messages"][row["id"]] = message
            if message != group["message"]:
                group["message"] = "several messages: see 'messages'"
    return out
