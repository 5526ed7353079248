"""Merged files: manual merge validation (spec §5.1) and the processing of any merged file.

A merged file (origin ``merged``) or automerged file (origin ``automerged``, the file behind a
field operation) is a row of the ``files`` table like any upload. Its "original file" is a
manifest ``files/<id>/merge.json`` listing the member files. It is built from the members'
standard points, once (:func:`build_points`, :mod:`leafnb.operations.combine`): never by
reading and converting the sources again. Its status lists Leaf's nine steps; the steps the
members already did (normalise, area and yield) say so.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from leafnb.clean.cleanup import cleanup_step
from leafnb.context import Context
from leafnb.errors import InvalidRequest, LeafnbError, MissingProperties, NoPointsPassed
from leafnb.events import utc_now
from leafnb.keys import FILE_STEPS, Event, Origin, StepStatus
from leafnb.operations.combine import combine, common_rules, rate_kind, read_member
from leafnb.pipeline.steps import (
    FileOutcome,
    filter_step,
    missing_essential,
    missing_required,
    run_steps,
    units_step,
    write_standard,
    write_summary,
)
from leafnb.standard.points import PointSet
from leafnb.store import records
from leafnb.store.artifacts import read_json, stored_units, write_json
from leafnb.store.layout import MANIFEST, STANDARD, UNITS
from leafnb.store.records import file_row

__all__ = [
    "build_points",
    "create_merged_file",
    "process_merged_file",
    "start_merge",
    "validate_merge",
]

log = logging.getLogger(__name__)

_EVENTS = {
    Origin.MERGED: (Event.MERGED_FILE_FINISHED, Event.MERGED_FILE_FAILED),
    Origin.AUTOMERGED: (Event.AUTOMERGED_FILE_FINISHED, Event.AUTOMERGED_FILE_FAILED),
}


def _listing(groups: dict[str, list[str]]) -> str:
    return "; ".join(f"{k} ({', '.join(v)})" for k, v in groups.items())


def validate_merge(ctx: Context, ids: Any) -> list:
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
    rows = records.files_by_id(ctx.catalog, ids)
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
    by_kind: dict[str, list[str]] = defaultdict(list)
    for r in ordered:
        kind = folder_rate_kind(ctx.layout.file_dir(r["id"]))
        by_kind[", ".join(f"{p} in {d}" for p, d in kind) or "no rate"].append(r["id"])
    if len(by_kind) > 1:
        raise InvalidRequest(
            "rates of different kinds cannot be merged without the product's density;"
            f" found {_listing(by_kind)}"
        )
    return ordered


def _source_entry(ctx: Context, row) -> dict[str, Any]:
    summary_path = ctx.layout.file_dir(row["id"]) / "summary.json"
    props = (
        read_json(summary_path).get("properties", {}) if summary_path.exists() else {}
    )
    return {
        "id": row["id"],
        "path": ctx.layout.relative(ctx.layout.file_dir(row["id"]) / STANDARD),
        "provider": row["provider"],
        "machinery": props.get("machinery") or [],
        "originalOperationType": props.get("originalOperationType"),
    }


def write_manifest(
    ctx: Context, file_id: str, rows: list, operation_type: str, clip: dict | None
) -> str:
    """Write ``files/<file_id>/merge.json``; return its path relative to the workspace."""
    rows = sorted(rows, key=lambda r: (r["start_time"] or "", r["id"]))
    manifest = {
        "operationType": operation_type,
        "sources": [_source_entry(ctx, r) for r in rows],
        "clip": clip,
    }
    providers = {r["provider"] for r in rows}
    if len(providers) == 1:
        manifest["provider"] = providers.pop()
    path = ctx.layout.file_dir(file_id) / MANIFEST
    write_json(path, manifest)
    return ctx.layout.relative(path)


def upsert_merged_row(
    ctx: Context,
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
        for op in ctx.catalog.loads(r["doc"]).get("operators") or []:
            if op not in operators:
                operators.append(op)
    doc = {
        "path": manifest_rel,
        "part": None,
        "sources": [r["id"] for r in rows],
        **(extra_doc or {}),
    }
    if operators:
        doc["operators"] = operators
    size = sum(int(r["size_in_bytes"] or 0) for r in rows)
    name = f"{origin.value}_{optype}_{file_id[:8]}"
    records.upsert_merged_file(
        ctx.catalog,
        file_id,
        leaf_user_id=leaf_user_id,
        provider=provider,
        name=name,
        operation_type=optype,
        origin=origin.value,
        size=size,
        doc=doc,
        now=now,
    )


def build_points(
    members: list[tuple[str, Path]],
    config: dict[str, Any],
    out: Path,
    clip: Any = None,
) -> tuple[FileOutcome, PointSet | None]:
    """Combine members' standard points and write standard/filtered/summary/units into *out*, once.

    *members* are ``(file id, folder)`` pairs in start-time order; *clip* a shapely geometry.
    Returns the outcome (Leaf's nine steps, for the merged file's status) and the points.
    A failing step (e.g. :class:`~leafnb.operations.combine.UnitsNotCombinable`) fails the
    outcome with its message; nothing raises.
    """
    outcome = FileOutcome()
    state: dict[str, Any] = {}

    def original():
        missing = [fid for fid, d in members if not (d / "standard.parquet").exists()]
        if missing:
            raise LeafnbError(f"standard points missing for files {', '.join(missing)}")
        return f"ok: standard points of {len(members)} converted files"

    def raw():
        state["members"] = [read_member(fid, d, clip) for fid, d in members]
        n = sum(m.table.num_rows for m in state["members"])
        outcome.facts.update(recordCount=n, skippedRecords=0)
        if n == 0:
            raise NoPointsPassed("no points of the files lie inside the operation")
        return f"ok: {n} records"

    def normalized():
        state["points"] = combine(state["members"])
        outcome.facts["operationType"] = state["points"].operation_type
        return "ok: units harmonised"

    def area_yield():
        return "ok: each file's own"

    def cleanup():
        points = state["points"]
        if not config.get("cleanupStandardGeojson", True):
            state["keep"] = np.ones(len(points), dtype=bool)
            return None
        rules = common_rules(config.get("cleanupRules") or {}, state["members"])
        # (the rules read their properties in canonical units: leafnb.clean.cleanup)
        state["keep"], outcome.facts["cleanup"], message = cleanup_step(points, rules)
        return message

    def standard():
        points = state["points"]
        essential = missing_essential(points, config)
        if essential:
            raise MissingProperties(essential)
        missing = missing_required(points, config)
        if missing and not config.get("outOfStandardOperations", True):
            raise MissingProperties(missing)
        # the members' recipe, kept only where it rebuilds a column exactly (combine)
        recipe = points.meta.get("derived") or {}
        state["points"], message = write_standard(
            points, state.pop("keep"), config, out, outcome, missing, recipe
        )
        return message

    def filtered():
        return filter_step(state["points"], config, out)[0]

    def summary():
        outcome.facts.update(write_summary(state["points"], config, out))
        return "ok"

    def units():
        return units_step(out)

    runners = dict(
        zip(
            FILE_STEPS,
            (
                original,
                raw,
                normalized,
                area_yield,
                cleanup,
                standard,
                filtered,
                summary,
                units,
            ),
            strict=True,
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    outcome.steps.extend(run_steps(runners, f"a merge into {out.name}"))
    return outcome, None if outcome.failed else state.get("points")


def folder_rate_kind(folder: Path) -> tuple[tuple[str, str], ...]:
    """:func:`~leafnb.operations.combine.rate_kind` of the standard points in *folder* (none: no rate)."""
    try:
        return rate_kind(stored_units(folder))
    except FileNotFoundError:
        return ()


def member_folders(ctx: Context, rows: list) -> list[tuple[str, Path]]:
    """``(file id, artifact folder)`` of merge members, in start-time order."""
    rows = sorted(rows, key=lambda r: (r["start_time"] or "", r["id"]))
    return [(r["id"], ctx.layout.file_dir(r["id"])) for r in rows]


def process_merged_file(
    ctx: Context, file_id: str, rows: list, config: dict[str, Any]
) -> FileOutcome:
    """Build a manual merge from its members' standard points and record the outcome (+ its alert)."""
    row = file_row(ctx.catalog, file_id)
    fdir = ctx.layout.file_dir(file_id)
    for name in ("standard.parquet", "summary.json", UNITS, "standard.geojson"):
        (fdir / name).unlink(missing_ok=True)
    outcome, _points = build_points(member_folders(ctx, rows), config, fdir)
    record_outcome(ctx, file_id, outcome, Origin(row["origin"]), row["leaf_user_id"])
    return outcome


def record_outcome(
    ctx: Context, file_id: str, outcome: FileOutcome, origin: Origin, leaf_user_id: str
) -> None:
    """Store a merged file's steps and facts (as the batch pipeline does for uploads)."""
    status = StepStatus.FAILED if outcome.failed else StepStatus.PROCESSED
    facts = outcome.facts
    now = utc_now()
    with ctx.catalog.transaction() as conn:
        records.write_file_outcome(
            conn, file_id, status, facts, outcome.message, outcome.steps, now
        )
    finished, failed = _EVENTS[origin]
    if outcome.failed:
        ctx.events.emit(
            failed, fileId=file_id, leafUserId=leaf_user_id, message=outcome.message
        )
    else:
        ctx.events.emit(finished, fileId=file_id, leafUserId=leaf_user_id)


def create_merged_file(ctx: Context, rows: list) -> str:
    """Record a manual-merge file (status processing) with its manifest; return its id."""
    file_id = str(uuid.uuid4())
    manifest = write_manifest(ctx, file_id, rows, rows[0]["operation_type"], None)
    upsert_merged_row(
        ctx, file_id, rows[0]["leaf_user_id"], rows, Origin.MERGED, manifest
    )
    return file_id


def start_merge(ctx: Context, ids: Any) -> tuple[str, list, dict[str, Any]]:
    """Check a ``POST /files/merge`` body and record the merged file, to process next.

    Parameters
    ----------
    ctx : Context
        Records, layout and configuration.
    ids : list of str
        The files to merge.

    Returns
    -------
    tuple of (str, list, dict)
        The merged file's id, the member rows (in the given order) and the owner's
        configuration, as :func:`process_merged_file` takes them.

    Raises
    ------
    InvalidRequest
        See :func:`validate_merge`.
    """
    rows = validate_merge(ctx, ids)
    file_id = create_merged_file(ctx, rows)
    return file_id, rows, dict(ctx.config(rows[0]["leaf_user_id"]))
