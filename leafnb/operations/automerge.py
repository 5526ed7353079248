"""Automerge: converted files → field operations (spec §5.2).

Algorithm (the spec leaves time proximity, crop matching and the intersection test open):

1. **Candidates**: the leafUserId's ``processed`` files of origin ``uploaded``/``provider``
   (merged and automerged files are outputs, never inputs).
2. **Field links**: a file is linked to a field when the area of its summary geometry
   (swath footprint) ∩ the boundary is more than ``fieldsAttachIntersection`` % of the
   boundary's area *and* at least one of its points lies in the boundary. The file's
   ``fields`` lists them; files linked to no field are "uncovered".
3. **Groups** of linked files: key = operation type (+ provider when
   ``splitOperationsByProvider``, + tillType when ``splitOperationsByTillType`` for tillage),
   and crop. Within a key, files sorted by start time are clustered by *single linkage*: a file
   joins the current group when it starts at most ``operationsMergeRange`` days
   (``operationsMergeRangeHarvested`` for harvest) after the latest end of the group.
   A file without crop joins the time-nearest group of the same key (any crop) whose span
   widened by the window overlaps the file's span; otherwise it groups with other crop-less
   files.
4. **Operations**: with ``splitOperationsByField`` one operation per (group, linked field),
   holding the points of the group's files that lie inside that field (points outside every
   field are in no operation; with ``enableOutsideFieldGeojson`` they are served by
   ``get_file_outside_field_geojson``). Without it, one operation per group with all the
   points of its files and ``fields`` = every linked field.
5. **Identity**: an existing operation with the same key and field that shares a file with
   the new group is updated (``operationUpdated``) when its files or boundary changed, else
   left alone; an operation whose files all moved elsewhere is deleted; the rest are created
   (``operationCreated``).

Coverage of a field = area(operation summary geometry ∩ boundary) ÷ boundary area × 100.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from leafnb.clean.output import REPORT
from leafnb.context import Context
from leafnb.keys import Event, Origin, StepStatus
from leafnb.operations import merge as merge_mod
from leafnb.operations.combine import clip_mask
from leafnb.operations.fields import (
    area_m2,
    geojson_shape,
    intersection_area_m2,
    local_utm,
)
from leafnb.store import operation_rows as op_rows
from leafnb.store import records
from leafnb.store.artifacts import (
    read_json,
    read_points_table,
    write_json,
)
from leafnb.store.layout import FILTER_MASK, STANDARD, SUMMARY, UNITS

__all__ = ["FileFacts", "build_operation", "file_links", "group_files", "run_automerge"]

#: artifacts of an operation that its automerged file shows as its own
_SHARED = (
    "standard.parquet",
    "summary.json",
    UNITS,  # (an operation built before the units map moved into STANDARD's footer)
    FILTER_MASK,
    REPORT,  # (an operation built before the report moved into FILTER_MASK)
    # exports of the filter result written on request: never stale ones
    "filtered.parquet",
    "removed.parquet",
    "filtered.geojson",
)


def parse_time(text: str | None) -> datetime | None:
    """Parse a stored ``...Z`` timestamp."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class FileFacts:
    """What grouping needs to know about one converted file."""

    id: str
    operation_type: str
    provider: str | None
    crop: str | None
    start: datetime
    end: datetime
    till_type: tuple[str, ...] = ()
    fields: list[str] = field(default_factory=list)
    #: kinds of its application rates (:func:`leafnb.operations.combine.rate_kind`)
    rates: tuple = ()


@dataclass
class Group:
    """A cluster of files of one key."""

    key: tuple
    crop: str | None
    start: datetime
    end: datetime
    files: list[FileFacts] = field(default_factory=list)
    #: rate kinds, when the group was split by them and this is not the first kind
    rates: tuple | None = None

    def add(self, f: FileFacts) -> None:
        self.files.append(f)
        self.start = min(self.start, f.start)
        self.end = max(self.end, f.end)


def window(operation_type: str, config: dict[str, Any]) -> timedelta:
    """The merge window of an operation type."""
    days = (
        config.get("operationsMergeRangeHarvested", 21)
        if operation_type == "harvested"
        else config.get("operationsMergeRange", 5)
    )
    return timedelta(days=float(days))


def base_key(f: FileFacts, config: dict[str, Any]) -> tuple:
    """The grouping key without crop."""
    provider = f.provider if config.get("splitOperationsByProvider", True) else None
    till = (
        f.till_type
        if (
            f.operation_type == "tillage"
            and config.get("splitOperationsByTillType", False)
        )
        else ()
    )
    return (f.operation_type, provider, till)


def group_files(files: list[FileFacts], config: dict[str, Any]) -> list[Group]:
    """Cluster files by key, crop and time (single linkage); see the module docstring."""
    groups: list[Group] = []
    with_crop = sorted((f for f in files if f.crop), key=lambda f: (f.start, f.id))
    current: dict[tuple, Group] = {}
    for f in with_crop:
        key = (*base_key(f, config), f.crop)
        g = current.get(key)
        if g is not None and f.start <= g.end + window(f.operation_type, config):
            g.add(f)
        else:
            g = Group(base_key(f, config), f.crop, f.start, f.end, [f])
            groups.append(g)
            current[key] = g
    for f in sorted((f for f in files if not f.crop), key=lambda f: (f.start, f.id)):
        w = window(f.operation_type, config)
        best, best_gap = None, None
        for g in groups:
            if (
                g.key != base_key(f, config)
                or f.start > g.end + w
                or f.end < g.start - w
            ):
                continue
            gap = max(
                (f.start - g.end).total_seconds(),
                (g.start - f.end).total_seconds(),
                0.0,
            )
            if best_gap is None or gap < best_gap:
                best, best_gap = g, gap
        if best is None:
            groups.append(Group(base_key(f, config), None, f.start, f.end, [f]))
        else:
            best.add(f)
    return groups


def _key_text(group: Group, field_id: str | None) -> str:
    op, provider, till = group.key
    key = [op, provider, list(till), group.crop, field_id]
    if group.rates is not None:
        key.append([list(r) for r in group.rates])
    return json.dumps(key)


def split_by_rate_kind(group: Group) -> list[Group]:
    """Split a group whose files' rates are of different kinds (volume vs mass per area).

    They cannot be combined without the product's density (see
    :mod:`leafnb.operations.combine`), so each kind becomes its own operation. The kind of
    the group's earliest file keeps the group's key (so existing operations keep their
    identity); the others add their kind to the key.
    """
    kinds: dict[tuple, Group] = {}
    for f in group.files:  # time order
        part = kinds.get(f.rates)
        if part is None:
            part = kinds[f.rates] = Group(group.key, group.crop, f.start, f.end)
            part.rates = f.rates if kinds.keys() - {f.rates} else None
        part.add(f)
    return list(kinds.values())


@dataclass
class _Field:
    id: str
    geom: Any
    area_m2: float
    hash: str
    utm: Any


def _load_fields(ctx: Context, leaf_user_id: str) -> list[_Field]:
    out = []
    for r in records.user_field_rows(ctx.catalog, leaf_user_id):
        geom = shape(ctx.catalog.loads(r["doc"])["geometry"])
        utm = local_utm(geom)
        out.append(_Field(r["id"], geom, area_m2(geom, utm), r["geom_hash"], utm))
    return out


def _candidates(ctx: Context, leaf_user_id: str) -> list:
    return records.processed_upload_rows(ctx.catalog, leaf_user_id, by_start_time=True)


def _summary_geometry(ctx: Context, file_id: str):
    """The coverage shape and properties of a file's summary."""
    path = ctx.layout.file_dir(file_id) / SUMMARY
    if not path.exists():
        return None, {}
    doc = read_json(path)
    geom = geojson_shape(doc["geometry"]) if doc.get("geometry") else None
    if geom is not None and not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom, doc.get("properties", {})


def _rate_kind(ctx: Context, file_id: str) -> tuple:
    return merge_mod.folder_rate_kind(ctx.layout.file_dir(file_id))


def link_file(
    ctx: Context, file_id: str, fields: list[_Field], threshold: float
) -> tuple[list[str], dict[str, Any]]:
    """Fields a file is linked to (intersection % > threshold and ≥ 1 point inside).

    With them, its summary's properties (``{}`` when it is linked to none: they are not
    used then). Automerge asks this of every processed file of the user at every
    upload, so only what decides is read: nothing for a user without fields, the
    summary (its coverage shape: megabytes for a big file) only of a file with points
    inside some field.
    """
    std = ctx.layout.file_dir(file_id) / STANDARD
    if not fields or not std.exists():
        return [], {}
    t, _ = read_points_table(std, columns=["lon", "lat"])
    lon, lat = (
        t.column("lon").to_numpy(zero_copy_only=False),
        t.column("lat").to_numpy(zero_copy_only=False),
    )
    summary: tuple[Any, dict[str, Any]] | None = None
    linked = []
    minx, miny, maxx, maxy = (
        float(np.nanmin(lon)),
        float(np.nanmin(lat)),
        float(np.nanmax(lon)),
        float(np.nanmax(lat)),
    )
    for fld in fields:
        fx0, fy0, fx1, fy1 = fld.geom.bounds
        if fx0 > maxx or fx1 < minx or fy0 > maxy or fy1 < miny:
            continue
        inside = int(clip_mask(lon, lat, fld.geom).sum())
        if not inside:
            continue
        if summary is None:
            summary = _summary_geometry(ctx, file_id)
        geom = summary[0]
        pct = (
            100.0 * intersection_area_m2(geom, fld.geom, fld.utm) / fld.area_m2
            if (geom is not None and fld.area_m2 > 0)
            else 100.0
        )
        if pct > threshold:
            linked.append(fld.id)
    return linked, (summary[1] if linked and summary is not None else {})


def _file_state(folder: Path) -> tuple[Any, ...]:
    """What a file's links are found from, as its folder holds it now.

    A reprocessed file's points and summary are new files: another inode, time or size.
    """
    state: list[tuple[int, int, int] | None] = []
    for name in (STANDARD, SUMMARY):
        try:
            st = (folder / name).stat()
        except FileNotFoundError:
            state.append(None)
        else:
            state.append((st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(state)


def file_links(
    ctx: Context, file_id: str, fields: list[_Field], threshold: float
) -> tuple[list[str], dict[str, Any]]:
    """:func:`link_file`'s fields and the summary's ``tillType`` (all automerge uses).

    Kept in ``ctx.links`` with the file's state (:func:`_file_state`), the fields' ids
    and shapes and the threshold: found again only when one of them changed. Each
    upload automerges every processed file of its user, and finding a file's links
    reads all its points (10M points in 200 files and 10 fields: 2.4 s a run).
    """
    key = (
        _file_state(ctx.layout.file_dir(file_id)),
        tuple((f.id, f.hash) for f in fields),
        threshold,
    )
    known = ctx.links.get(file_id)
    if known is not None and known[0] == key:
        return known[1], known[2]
    linked, props = link_file(ctx, file_id, fields, threshold)
    used = {"tillType": props["tillType"]} if props.get("tillType") else {}
    ctx.links[file_id] = (key, linked, used)
    return linked, used


def run_automerge(ctx: Context, leaf_user_id: str) -> dict[str, list[str]]:
    """Create/update/delete the field operations of a leafUserId; returns ids by action."""
    with ctx.lock:
        return _run(ctx, leaf_user_id)


def _run(ctx: Context, leaf_user_id: str) -> dict[str, list[str]]:
    report: dict[str, list[str]] = {
        "created": [],
        "updated": [],
        "deleted": [],
        "unchanged": [],
    }
    config = dict(ctx.config(leaf_user_id))
    if not config.get("fieldOperationCreation", True):
        return report
    fields = _load_fields(ctx, leaf_user_id)
    by_id = {f.id: f for f in fields}
    threshold = float(config.get("fieldsAttachIntersection", 0.01))
    facts: list[FileFacts] = []
    for row in _candidates(ctx, leaf_user_id):
        linked, props = file_links(ctx, row["id"], fields, threshold)
        doc = ctx.catalog.loads(row["doc"])
        if doc.get("fields", []) != linked:
            doc["fields"] = linked
            records.set_file_doc(ctx.catalog, row["id"], doc)
        start, end = parse_time(row["start_time"]), parse_time(row["end_time"])
        if not linked or start is None:
            continue
        facts.append(
            FileFacts(
                row["id"],
                row["operation_type"],
                row["provider"],
                row["crop"] or None,
                start,
                end or start,
                tuple(props.get("tillType") or ()),
                linked,
                _rate_kind(ctx, row["id"]),
            )
        )
    if not fields:
        return report
    split = config.get("splitOperationsByField", True)
    desired: list[dict[str, Any]] = []
    for g in (
        part
        for whole in group_files(facts, config)
        for part in split_by_rate_kind(whole)
    ):
        linked_fields = [fid for fid in by_id if any(fid in f.fields for f in g.files)]
        if split:
            for fid in linked_fields:
                members = sorted(f.id for f in g.files if fid in f.fields)
                desired.append(
                    {
                        "key": _key_text(g, fid),
                        "group": g,
                        "files": members,
                        "fields": [fid],
                        "clip": [fid],
                    }
                )
        else:
            desired.append(
                {
                    "key": _key_text(g, None),
                    "group": g,
                    "files": sorted(f.id for f in g.files),
                    "fields": linked_fields,
                    "clip": [],
                }
            )
    existing = op_rows.user_operations(ctx.catalog, leaf_user_id)
    claimed: set[str] = set()
    for d in desired:
        best, overlap = None, 0
        for oid, r in existing.items():
            if oid in claimed or r["group_key"] != d["key"]:
                continue
            n = len(set(ctx.catalog.loads(r["doc"]).get("files", [])) & set(d["files"]))
            if n > overlap:
                best, overlap = oid, n
        d["existing"] = best
        if best:
            claimed.add(best)
    for oid in set(existing) - claimed:
        delete_operation(ctx, oid)
        report["deleted"].append(oid)
    for d in desired:
        group: Group = d["group"]
        clip_ids = d["clip"]
        signature = hashlib.sha1(
            json.dumps(
                [d["files"], d["fields"], [by_id[i].hash for i in d["fields"]]]
            ).encode()
        ).hexdigest()
        oid = d["existing"]
        if oid:
            doc = ctx.catalog.loads(existing[oid]["doc"])
            if (
                doc.get("signature") == signature
                and existing[oid]["status"] == StepStatus.PROCESSED
            ):
                report["unchanged"].append(oid)
                continue
            doc.update(
                files=d["files"],
                fields=[{"id": i, "coverage": None} for i in d["fields"]],
                clipFieldIds=clip_ids,
                signature=signature,
            )
            op_rows.regroup_operation(ctx.catalog, oid, doc, d["fields"])
            ctx.events.emit(
                Event.OPERATION_UPDATED, operationId=oid, leafUserId=leaf_user_id
            )
            report["updated"].append(oid)
        else:
            oid = str(uuid.uuid4())
            doc = {
                "files": d["files"],
                "fields": [{"id": i, "coverage": None} for i in d["fields"]],
                "clipFieldIds": clip_ids,
                "signature": signature,
                "providers": [],
                "cropped": False,
            }
            op_rows.insert_operation(
                ctx.catalog,
                oid,
                leaf_user_id,
                operation_type=group.key[0],
                crop=group.crop,
                group_key=d["key"],
                field_ids=d["fields"],
                doc=doc,
            )
            ctx.events.emit(
                Event.OPERATION_CREATED, operationId=oid, leafUserId=leaf_user_id
            )
            report["created"].append(oid)
        build_operation(ctx, oid, config)
    return report


def delete_operation(ctx: Context, op_id: str) -> None:
    """Remove an operation, its artifacts and its automerged file."""
    file_id = op_rows.delete_operation(ctx.catalog, op_id)
    shutil.rmtree(ctx.layout.operation_dir(op_id), ignore_errors=True)
    if file_id:
        shutil.rmtree(ctx.layout.file_dir(file_id), ignore_errors=True)


def _field_geoms(ctx: Context, ids: list[str]) -> dict[str, Any]:
    return {
        fid: shape(geometry)
        for fid, geometry in records.field_geometries_by_id(ctx.catalog, ids).items()
    }


def operation_summary(
    ctx: Context,
    file_summary: dict[str, Any],
    source_ids: list[str],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The operation summary: the merged file's summary; products per entry when not summarizeByProductEntry."""
    summary = json.loads(json.dumps(file_summary))
    props = summary["properties"]
    if "products" in props and not config.get("summarizeByProductEntry", True):
        entries: list[dict[str, Any]] = []
        for fid in source_ids:
            path = ctx.layout.file_dir(fid) / "summary.json"
            if path.exists():
                entries.extend(
                    read_json(path).get("properties", {}).get("products") or []
                )
        props["products"] = entries
    return summary


def build_operation(
    ctx: Context, op_id: str, config: dict[str, Any] | None = None
) -> bool:
    """(Re)build an operation from its files: automerged file → standard points, summary, units.

    Returns True when the operation was processed.
    """
    row = records.operation_row(ctx.catalog, op_id)
    uid = row["leaf_user_id"]
    config = dict(config or ctx.config(uid))
    doc = ctx.catalog.loads(row["doc"])
    ids = doc.get("files", [])
    rows = op_rows.processed_files(ctx.catalog, ids)
    clip_ids = list(doc.get("clipFieldIds") or [])
    if doc.get("cropped"):
        clip_ids = sorted({*clip_ids, *(f["id"] for f in doc.get("fields", []))})
    geoms = _field_geoms(ctx, [f["id"] for f in doc.get("fields", [])] + clip_ids)
    clip = None
    clip_geoms = [geoms[i] for i in clip_ids if i in geoms]
    if clip_geoms:
        clip = shapely.geometry.mapping(shapely.union_all(clip_geoms))
    if not rows:
        _fail(ctx, op_id, uid, "the operation has no processed files left")
        return False
    file_id = row["leaf_file_id"] or str(uuid.uuid4())
    manifest = merge_mod.write_manifest(ctx, file_id, list(rows), row["type"], clip)
    merge_mod.upsert_merged_row(
        ctx,
        file_id,
        uid,
        list(rows),
        Origin.AUTOMERGED,
        manifest,
        {"operationId": op_id},
    )
    op_rows.set_operation_file(ctx.catalog, op_id, file_id)
    # built once, in the operation's folder; the automerged file shows the same artifacts
    fdir = ctx.layout.file_dir(file_id)
    odir = ctx.layout.operation_dir(op_id)
    shutil.rmtree(odir, ignore_errors=True)
    outcome, _points = merge_mod.build_points(
        merge_mod.member_folders(ctx, list(rows)),
        config,
        odir,
        shape(clip) if clip else None,
    )
    _share_artifacts(odir, fdir)
    merge_mod.record_outcome(ctx, file_id, outcome, Origin.AUTOMERGED, uid)
    if outcome.failed:
        _fail(ctx, op_id, uid, outcome.message)
        return False
    summary = operation_summary(
        ctx, read_json(odir / "summary.json"), [r["id"] for r in rows], config
    )
    write_json(odir / "summary.json", summary)
    geom = geojson_shape(summary["geometry"]) if summary.get("geometry") else None
    if geom is not None and not geom.is_valid:
        geom = shapely.make_valid(geom)
    fields_out = []
    for f in doc.get("fields", []):
        fg = geoms.get(f["id"])
        cov = None
        if fg is not None and geom is not None:
            utm = local_utm(fg)
            total = area_m2(fg, utm)
            cov = (
                round(100.0 * intersection_area_m2(geom, fg, utm) / total, 4)
                if total > 0
                else 0.0
            )
        fields_out.append({"id": f["id"], "coverage": cov})
    props = summary["properties"]
    providers = sorted({r["provider"] for r in rows if r["provider"]})
    doc.update(
        fields=fields_out,
        providers=providers,
        files=sorted(r["id"] for r in rows),
        message="",
    )
    op_rows.finish_operation(
        ctx.catalog,
        op_id,
        start_time=props.get("startTime"),
        end_time=props.get("endTime"),
        providers=providers,
        doc=doc,
    )
    ctx.render(op_id)
    ctx.events.emit(Event.OPERATION_FINISHED, operationId=op_id, leafUserId=uid)
    return True


def _share_artifacts(odir: Path, fdir: Path) -> None:
    """Show the operation's artifacts as the automerged file's too (hard links; copies if need be)."""
    shutil.rmtree(fdir / "images", ignore_errors=True)
    fdir.mkdir(parents=True, exist_ok=True)
    for name in _SHARED:
        target = fdir / name
        target.unlink(missing_ok=True)
        if not (odir / name).exists():
            continue
        try:
            os.link(odir / name, target)
        except OSError:
            shutil.copy2(odir / name, target)


def _fail(ctx: Context, op_id: str, uid: str, message: str) -> None:
    op_rows.fail_operation(ctx.catalog, op_id, message)
