"""Batch lifecycle: upload -> detect -> convert every file -> PROCESSED / FAILED (spec §4)."""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leafnb.errors import InvalidRequest
from leafnb.events import utc_now
from leafnb.formats.archive import extract_zip
from leafnb.formats.detect import Candidate, detect, provider_contradicts
from leafnb.keys import (
    PROVIDERS,
    STATUS_DETAILS,
    BatchStatus,
    Event,
    Origin,
    StepStatus,
)
from leafnb.pipeline.steps import FileJob, FileOutcome

if TYPE_CHECKING:
    from leafnb.workspace import Workspace

__all__ = ["create_batch", "process_batch", "status_groups"]


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


def create_batch(
    ws: Workspace, source: str | Path, leaf_user_id: str, provider: str
) -> str:
    """Validate and extract the upload, detect its files and record them (status RECEIVED)."""
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
    batch_id = str(uuid.uuid4())
    bdir = ws.path / "batches" / batch_id
    try:
        report = extract_zip(source, bdir / "extracted")
        shutil.copyfile(source, bdir / "upload.zip")
    except BaseException:
        shutil.rmtree(bdir, ignore_errors=True)
        raise
    detection = detect(bdir / "extracted")
    now = utc_now()
    doc = {
        "ignoredEntries": detection.ignored + report.ignored,
        "ignoredReasons": detection.reasons,
        "nestedZips": report.nested,
    }
    with ws.catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO batches (id, leaf_user_id, provider, file_name, size, status, upload_timestamp, updated_time, doc)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (
                batch_id,
                leaf_user_id,
                provider,
                source.name,
                source.stat().st_size,
                BatchStatus.RECEIVED,
                now,
                now,
                ws.catalog.dumps(doc),
            ),
        )
        for cand in detection.candidates:
            file_provider, note = _provider_for(cand, provider)
            fdoc = {
                "reader": cand.reader,
                "path": str(cand.path.relative_to(ws.path)),
                "part": cand.part,
                "confidence": cand.confidence,
                "sidecars": [str(p.relative_to(ws.path)) for p in cand.sidecars],
            }
            if note:
                fdoc["providerMismatch"] = note
            conn.execute(
                "INSERT INTO files (id, batch_id, leaf_user_id, provider, file_format, file_name, status, origin,"
                " operation_type, created_time, updated_time, size_in_bytes, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    str(uuid.uuid4()),
                    batch_id,
                    leaf_user_id,
                    file_provider,
                    cand.file_format,
                    cand.file_name,
                    StepStatus.PROCESSING,
                    Origin.UPLOADED,
                    cand.operation_type,
                    now,
                    now,
                    cand.size_in_bytes,
                    ws.catalog.dumps(fdoc),
                ),
            )
    return batch_id


def process_batch(
    ws: Workspace, batch_id: str, *, only_failed: bool = False, progress: Any = None
) -> None:
    """Convert the batch's files (all, or only those not yet processed) and settle its status."""
    batch = ws.catalog.query("SELECT * FROM batches WHERE id=?", (batch_id,))[0]
    with ws.catalog.transaction() as conn:
        conn.execute(
            "UPDATE batches SET status=?, updated_time=? WHERE id=?",
            (BatchStatus.PROCESSING, utc_now(), batch_id),
        )
    rows = ws.catalog.query(
        "SELECT * FROM files WHERE batch_id=? ORDER BY file_name", (batch_id,)
    )
    todo = [
        r for r in rows if not (only_failed and r["status"] == StepStatus.PROCESSED)
    ]
    config = ws.get_config(batch["leaf_user_id"])
    jobs = []
    for row in todo:
        doc = ws.catalog.loads(row["doc"])
        jobs.append(
            FileJob(
                row["id"],
                doc["reader"],
                str(ws.path / doc["path"]),
                doc.get("part"),
                str(ws.path / "files" / row["id"]),
                ws._job_config(config, batch, doc),
            )
        )
    now = utc_now()
    with ws.catalog.transaction() as conn:
        conn.executemany(
            "UPDATE files SET status=?, updated_time=? WHERE id=?",
            [(StepStatus.PROCESSING, now, job.file_id) for job in jobs],
        )
    for job, outcome in ws._run_jobs(jobs, progress=progress):
        _record_outcome(ws, job, outcome, batch["leaf_user_id"])
    _settle(ws, batch_id)
    ws._after_batch(batch_id)


def _record_outcome(
    ws: Workspace, job: FileJob, outcome: FileOutcome, leaf_user_id: str
) -> None:
    status = StepStatus.FAILED if outcome.failed else StepStatus.PROCESSED
    facts = outcome.facts
    now = utc_now()
    with ws.catalog.transaction() as conn:
        row = conn.execute(
            "SELECT doc, provider, file_format FROM files WHERE id=?", (job.file_id,)
        ).fetchone()
        doc = ws.catalog.loads(row["doc"])
        for key in (
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
        ):
            if key in facts:
                doc[key] = facts[key]
            elif key in ("columnMapping", "notes"):
                doc.pop(key, None)  # not from an earlier conversion
        doc["message"] = outcome.message
        conn.execute(
            "UPDATE files SET status=?, updated_time=?, operation_type=COALESCE(?, operation_type), start_time=?, end_time=?,"
            " total_area=?, crop=?, provider=?, file_format=?, doc=? WHERE id=?",
            (
                status,
                now,
                facts.get("operationType"),
                facts.get("startTime"),
                facts.get("endTime"),
                facts.get("totalAreaM2"),
                facts.get("crop"),
                facts.get("provider") or row["provider"],
                facts.get("file_format") or row["file_format"],
                ws.catalog.dumps(doc),
                job.file_id,
            ),
        )
        conn.execute("DELETE FROM steps WHERE file_id=?", (job.file_id,))
        conn.executemany(
            "INSERT INTO steps (file_id, step, position, status, message, updated_time) VALUES (?,?,?,?,?,?)",
            [
                (job.file_id, s.step, i, s.status, s.message, now)
                for i, s in enumerate(outcome.steps)
            ],
        )
    if outcome.failed:
        ws.events.emit(
            Event.UPLOADED_FILE_FAILED,
            fileId=job.file_id,
            leafUserId=leaf_user_id,
            message=outcome.message,
        )
    else:
        ws.events.emit(
            Event.UPLOADED_FILE_FINISHED, fileId=job.file_id, leafUserId=leaf_user_id
        )


def _settle(ws: Workspace, batch_id: str) -> None:
    files = ws.catalog.query("SELECT status FROM files WHERE batch_id=?", (batch_id,))
    counts = Counter(r["status"] for r in files)
    if counts[StepStatus.PROCESSED]:
        status, details = BatchStatus.PROCESSED, None
    elif not files:
        status, details = BatchStatus.FAILED, STATUS_DETAILS["no_files"]
    else:
        status, details = BatchStatus.FAILED, STATUS_DETAILS["unreadable"]
    batch = ws.catalog.query(
        "SELECT leaf_user_id FROM batches WHERE id=?", (batch_id,)
    )[0]
    with ws.catalog.transaction() as conn:
        conn.execute(
            "UPDATE batches SET status=?, status_details=?, updated_time=? WHERE id=?",
            (status, details, utc_now(), batch_id),
        )
    ws.events.emit(
        Event.BATCH_FINISHED, batchId=batch_id, leafUserId=batch["leaf_user_id"]
    )


def status_groups(ws: Workspace, batch_id: str) -> dict[str, Any]:
    """``GET /batch/{id}/status``: files grouped as converted / processing / failed by step."""
    out: dict[str, Any] = {
        "converted": {"leafFiles": []},
        "processing": {"leafFiles": []},
        "failed": {},
    }
    for row in ws.catalog.query(
        "SELECT id, status FROM files WHERE batch_id=? ORDER BY file_name", (batch_id,)
    ):
        if row["status"] == StepStatus.PROCESSED:
            out["converted"]["leafFiles"].append(row["id"])
        elif row["status"] == StepStatus.PROCESSING:
            out["processing"]["leafFiles"].append(row["id"])
        else:
            step = ws.catalog.query(
                "SELECT step, message FROM steps WHERE file_id=? AND status='failed' ORDER BY position LIMIT 1",
                (row["id"],),
            )
            name, message = (
                (step[0]["step"], step[0]["message"]) if step else ("unknown", "")
            )
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
