"""Merged files: manual merge validation (spec §5.1) and the processing of any merged file.

A merged file (origin ``merged``) or automerged file (origin ``automerged``, the file behind a
field operation) is a row of the ``files`` table like any upload. Its "original file" is a
manifest ``files/<id>/merge.json`` listing the source files' standard points; the
:class:`~leafnb.operations.merged_reader.MergedReader` turns it back into a raw table and the
normal per-file steps (:func:`leafnb.pipeline.steps.convert_file`) do the rest.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from leafnb.errors import InvalidRequest
from leafnb.events import utc_now
from leafnb.keys import Event, Origin, StepStatus
from leafnb.pipeline.steps import FileJob, FileOutcome, convert_file
from leafnb.store.artifacts import read_json, write_json

if TYPE_CHECKING:
    from leafnb.workspace import Workspace

__all__ = ["create_merged_file", "process_merged_file", "validate_merge"]

_EVENTS = {
    Origin.MERGED: (Event.MERGED_FILE_FINISHED, Event.MERGED_FILE_FAILED),
    Origin.AUTOMERGED: (Event.AUTOMERGED_FILE_FINISHED, Event.AUTOMERGED_FILE_FAILED),
}


def _listing(groups: dict[str, list[str]]) -> str:
    return "; ".join(f"{k} ({', '.join(v)})" for k, v in groups.items())


def validate_merge(ws: Workspace, ids: Any) -> list:
    """Check a ``POST /files/merge`` body; return the file rows in the given order.

    Raises :class:`InvalidRequest` (HTTP 400) naming the offending files when: fewer than two
    ids, repeated or unknown ids, several leafUserIds, files not ``processed``, or several
    operation types.
    """
    if (
        isinstance(ids, str)
        or not isinstance(ids, list | tuple)
        or not all(isinstance(i, str) for i in ids)
    ):
        raise InvalidRequest("ids must be a list of file ids")
    if len(ids) < 2:
        raise InvalidRequest(f"merge needs at least 2 file ids, got {len(ids)}")
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidRequest(f"file ids given more than once: {', '.join(dupes)}")
    rows = {
        r["id"]: r
        for r in ws.catalog.query(
            f"SELECT * FROM files WHERE id IN ({','.join('?' * len(ids))})", list(ids)
        )
    }
    unknown = [i for i in ids if i not in rows]
    if unknown:
        raise InvalidRequest(f"files not found: {', '.join(unknown)}")
    ordered = [rows[i] for i in ids]
    by_user: dict[str, list[str]] = defaultdict(list)
    for r in ordered:
        by_user[r["leaf_user_id"]].append(r["id"])
    if len(by_user) > 1:
        raise InvalidRequest(
            f"all files must belong to the same leafUserId; found {_listing(by_user)}"
        )
    not_processed = [
        f"{r['id']} ({r['status']})"
        for r in ordered
        if r["status"] != StepStatus.PROCESSED
    ]
    if not_processed:
        raise InvalidRequest(
            f"all files must have status processed; not processed: {', '.join(not_processed)}"
        )
    by_type: dict[str, list[str]] = defaultdict(list)
    for r in ordered:
        by_type[str(r["operation_type"])].append(r["id"])
    if len(by_type) > 1:
        raise InvalidRequest(
            f"all files must have the same operation type; found {_listing(by_type)}"
        )
    return ordered


def _source_entry(ws: Workspace, row) -> dict[str, Any]:
    summary_path = ws.path / "files" / row["id"] / "summary.json"
    props = (
        read_json(summary_path).get("properties", {}) if summary_path.exists() else {}
    )
    return {
        "id": row["id"],
        "path": f"files/{row['id']}/standard.parquet",
        "provider": row["provider"],
        "machinery": props.get("machinery") or [],
        "originalOperationType": props.get("originalOperationType"),
    }


def write_manifest(
    ws: Workspace, file_id: str, rows: list, operation_type: str, clip: dict | None
) -> str:
    """Write ``files/<file_id>/merge.json``; return its path relative to the workspace."""
    rows = sorted(rows, key=lambda r: (r["start_time"] or "", r["id"]))
    manifest = {
        "operationType": operation_type,
        "sources": [_source_entry(ws, r) for r in rows],
        "clip": clip,
    }
    providers = {r["provider"] for r in rows}
    if len(providers) == 1:
        manifest["provider"] = providers.pop()
    rel = f"files/{file_id}/merge.json"
    write_json(ws.path / rel, manifest)
    return rel


def upsert_merged_row(
    ws: Workspace,
    file_id: str,
    leaf_user_id: str,
    rows: list,
    origin: Origin,
    manifest_rel: str,
    extra_doc: dict[str, Any] | None = None,
) -> None:
    """Insert (or reset to processing) the files row of a merged/automerged file."""
    now = utc_now()
    providers = sorted({r["provider"] for r in rows if r["provider"]})
    provider = providers[0] if len(providers) == 1 else "Leaf"
    optype = rows[0]["operation_type"]
    operators: list[dict[str, Any]] = []
    for r in rows:
        for op in ws.catalog.loads(r["doc"]).get("operators") or []:
            if op not in operators:
                operators.append(op)
    doc = {
        "reader": "merged",
        "path": manifest_rel,
        "part": None,
        "sources": [r["id"] for r in rows],
        **(extra_doc or {}),
    }
    if operators:
        doc["operators"] = operators
    size = sum(int(r["size_in_bytes"] or 0) for r in rows)
    name = f"{origin.value}_{optype}_{file_id[:8]}"
    with ws.catalog.transaction() as conn:
        old = conn.execute(
            "SELECT doc, created_time FROM files WHERE id=?", (file_id,)
        ).fetchone()
        if old:
            conn.execute(
                "UPDATE files SET status=?, updated_time=?, provider=?, size_in_bytes=?, doc=? WHERE id=?",
                (
                    StepStatus.PROCESSING,
                    now,
                    provider,
                    size,
                    ws.catalog.dumps({**ws.catalog.loads(old["doc"]), **doc}),
                    file_id,
                ),
            )
        else:
            conn.execute(
                "INSERT INTO files (id, batch_id, leaf_user_id, provider, file_format, file_name, status, origin,"
                " operation_type, created_time, updated_time, size_in_bytes, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    file_id,
                    None,
                    leaf_user_id,
                    provider,
                    "MERGED",
                    name,
                    StepStatus.PROCESSING,
                    origin.value,
                    optype,
                    now,
                    now,
                    size,
                    ws.catalog.dumps(doc),
                ),
            )


def _job_config(ws: Workspace, config: dict[str, Any], rows: list) -> dict[str, Any]:
    """The config of a merged file's job: cleanup rules only on properties every source has.

    Concatenating sources leaves nulls where a source lacked a column; Leaf's rule "a null
    value of a property the file has fails that rule" would then drop that source's points.
    Each source was already cleaned with the rules that applied to it, so rules on
    properties missing from some source are left out (as for a single file without them).
    """
    cfg = dict(config)
    rules = cfg.get("cleanupRules") or {}
    common: set[str] | None = None
    for r in rows:
        names = set(
            pq.read_schema(ws.path / "files" / r["id"] / "standard.parquet").names
        )
        common = names if common is None else common & names
    cfg["cleanupRules"] = {k: v for k, v in rules.items() if k in (common or set())}
    return cfg


def process_merged_file(
    ws: Workspace, file_id: str, rows: list, config: dict[str, Any]
) -> FileOutcome:
    """Run the file steps on a merged/automerged file and record the outcome (+ its alert)."""
    row = ws._file_row(file_id)
    doc = ws.catalog.loads(row["doc"])
    job = FileJob(
        file_id,
        "merged",
        str(ws.path / doc["path"]),
        None,
        str(ws.path / "files" / file_id),
        _job_config(ws, config, rows),
    )
    for name in ("standard.parquet", "summary.json", "units.json", "standard.geojson"):
        (ws.path / "files" / file_id / name).unlink(missing_ok=True)
    outcome = convert_file(job)
    record_outcome(ws, file_id, outcome, Origin(row["origin"]), row["leaf_user_id"])
    return outcome


def record_outcome(
    ws: Workspace, file_id: str, outcome: FileOutcome, origin: Origin, leaf_user_id: str
) -> None:
    """Store a merged file's steps and facts (as the batch pipeline does for uploads)."""
    status = StepStatus.FAILED if outcome.failed else StepStatus.PROCESSED
    facts = outcome.facts
    now = utc_now()
    with ws.catalog.transaction() as conn:
        row = conn.execute("SELECT doc FROM files WHERE id=?", (file_id,)).fetchone()
        doc = ws.catalog.loads(row["doc"])
        for key in ("recordCount", "skippedRecords", "cleanup", "outOfStandard"):
            if key in facts:
                doc[key] = facts[key]
        doc["message"] = outcome.message
        conn.execute(
            "UPDATE files SET status=?, updated_time=?, operation_type=COALESCE(?, operation_type), start_time=?, end_time=?,"
            " total_area=?, crop=?, doc=? WHERE id=?",
            (
                status,
                now,
                facts.get("operationType"),
                facts.get("startTime"),
                facts.get("endTime"),
                facts.get("totalAreaM2"),
                facts.get("crop"),
                ws.catalog.dumps(doc),
                file_id,
            ),
        )
        conn.execute("DELETE FROM steps WHERE file_id=?", (file_id,))
        conn.executemany(
            "INSERT INTO steps (file_id, step, position, status, message, updated_time) VALUES (?,?,?,?,?,?)",
            [
                (file_id, s.step, i, s.status, s.message, now)
                for i, s in enumerate(outcome.steps)
            ],
        )
    finished, failed = _EVENTS[origin]
    if outcome.failed:
        ws.events.emit(
            failed, fileId=file_id, leafUserId=leaf_user_id, message=outcome.message
        )
    else:
        ws.events.emit(finished, fileId=file_id, leafUserId=leaf_user_id)


def create_merged_file(ws: Workspace, rows: list) -> str:
    """Record a manual-merge file (status processing) with its manifest; return its id."""
    file_id = str(uuid.uuid4())
    manifest = write_manifest(ws, file_id, rows, rows[0]["operation_type"], None)
    upsert_merged_row(
        ws, file_id, rows[0]["leaf_user_id"], rows, Origin.MERGED, manifest
    )
    return file_id
