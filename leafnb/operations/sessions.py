"""Machines, implements, operators and work sessions of an operation (spec §8.1, §8.2).

- Asset ids are stable: ``uuid5(NAMESPACE, "<leafUserId>/<kind>/<serialNumber or name>")``,
  so the same combine gets the same id in every operation of a leafUserId.
- Machinery comes from the member files' summaries (``machinery``: ``type`` machine or
  implement); operators from the files' ``operators`` (reader metadata, when the pipeline
  stored it).
- **Sessions** (spec gap): per machine, the operation's points of every member file run by
  that machine (the file's first ``machine``; ``unknown`` when none) are sorted by time and
  cut where two consecutive points are more than 30 minutes apart or the operator changes.
  Each session reports start/end, operator, implement and the worked area (Σ point area, ha).
  Leaf offers sessions for John Deere only; leafnb computes them for any provider.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from shapely.geometry import shape

from leafnb.context import Context
from leafnb.errors import InvalidRequest
from leafnb.operations.combine import clip_mask
from leafnb.store.artifacts import read_json, read_points_table
from leafnb.store.records import field_geometries, file_row, operation_row

__all__ = [
    "GAP_MINUTES",
    "asset_id",
    "file_assets",
    "operation_sessions",
    "sessions_of_operation",
]

NAMESPACE = uuid.UUID("6f1c1f1e-4a8e-5b0e-9c43-1eafb0000001")
GAP_MINUTES = 30


def asset_id(leaf_user_id: str, kind: str, key: str) -> str:
    """Stable uuid of a machine / implement / operator of a leafUserId."""
    return str(uuid.uuid5(NAMESPACE, f"{leaf_user_id}/{kind}/{key}"))


def file_assets(ctx: Context, file_id: str) -> dict[str, list[dict[str, Any]]]:
    """``{"machines": [...], "implements": [...], "operators": [...]}`` of one file (with ids)."""
    row = file_row(ctx.catalog, file_id)
    uid = row["leaf_user_id"]
    path = ctx.layout.file_dir(file_id) / "summary.json"
    machinery = (
        read_json(path).get("properties", {}).get("machinery") or []
        if path.exists()
        else []
    )
    out: dict[str, list[dict[str, Any]]] = {
        "machines": [],
        "implements": [],
        "operators": [],
    }
    for m in machinery:
        kind = "implement" if m.get("type") == "implement" else "machine"
        key = m.get("serialNumber") or m.get("name") or "unknown"
        out[f"{kind}s"].append({**m, "id": asset_id(uid, kind, key)})
    if not out["machines"]:  # the machine that logged it, unnamed: sessions use it too
        out["machines"].append(
            {
                "name": "unknown",
                "type": "machine",
                "brand": "unknown",
                "id": asset_id(uid, "machine", "unknown"),
            }
        )
    for op in ctx.catalog.loads(row["doc"]).get("operators") or []:
        name = op.get("name") or op.get("id") or "unknown"
        out["operators"].append(
            {
                "id": asset_id(uid, "operator", str(op.get("id") or name)),
                "name": name,
                "sourceId": op.get("id"),
            }
        )
    return out


def sessions_of_operation(ctx: Context, op_id: str) -> list[dict[str, Any]]:
    """Sessions per machine of an operation's files, inside its clip fields when cropped.

    Parameters
    ----------
    ctx : Context
        Records, layout and configuration.
    op_id : str
        The operation.

    Returns
    -------
    list of dict
        The sessions (see :func:`operation_sessions`).

    Raises
    ------
    NotFound
        Unknown operation.
    InvalidRequest
        ``enableOperationsSession`` is not set for the operation's leafUserId.
    """
    row = operation_row(ctx.catalog, op_id)
    if not ctx.config(row["leaf_user_id"]).get("enableOperationsSession"):
        raise InvalidRequest(
            "sessions are disabled: set enableOperationsSession to true"
        )
    doc = ctx.catalog.loads(row["doc"])
    clip_ids = list(doc.get("clipFieldIds") or [])
    if doc.get("cropped"):
        clip_ids += [f["id"] for f in doc.get("fields", [])]
    geoms = [shape(g) for g in field_geometries(ctx.catalog, clip_ids)]
    clip = shapely.geometry.mapping(shapely.union_all(geoms)) if geoms else None
    return operation_sessions(ctx, doc.get("files", []), clip, row["leaf_user_id"])


def operation_sessions(
    ctx: Context, file_ids: list[str], clip_geojson: dict | None, leaf_user_id: str
) -> list[dict[str, Any]]:
    """Sessions per machine (see module docstring)."""
    clip = shape(clip_geojson) if clip_geojson else None
    if clip is not None:
        shapely.prepare(clip)
    per_machine: dict[str, dict[str, Any]] = {}
    for fid in file_ids:
        std = ctx.layout.file_dir(fid) / "standard.parquet"
        if not std.exists():
            continue
        t, _ = read_points_table(std, columns=["lon", "lat", "timestamp", "area"])
        if "timestamp" not in t.column_names:
            continue
        if clip is not None:
            t = t.filter(
                pa.array(
                    clip_mask(
                        t.column("lon").to_numpy(zero_copy_only=False),
                        t.column("lat").to_numpy(zero_copy_only=False),
                        clip,
                    )
                )
            )
        if not t.num_rows:
            continue
        assets = file_assets(ctx, fid)
        machine = (
            assets["machines"][0]
            if assets["machines"]
            else {"id": asset_id(leaf_user_id, "machine", "unknown"), "name": "unknown"}
        )
        implement = assets["implements"][0] if assets["implements"] else None
        operator = assets["operators"][0] if assets["operators"] else None
        ts = pc.cast(t.column("timestamp"), pa.int64()).to_numpy(zero_copy_only=False)
        area = (
            pc.cast(t.column("area"), pa.float64()).to_numpy(zero_copy_only=False)
            if "area" in t.column_names
            else np.zeros(len(ts))
        )
        entry = per_machine.setdefault(machine["id"], {"machine": machine, "rows": []})
        op_key = operator["id"] if operator else None
        entry["rows"].append((ts, np.nan_to_num(area), op_key, operator, implement))
    out = []
    for mid, entry in per_machine.items():
        ts = np.concatenate([r[0] for r in entry["rows"]])
        area = np.concatenate([r[1] for r in entry["rows"]])
        who = np.concatenate(
            [np.full(len(r[0]), i) for i, r in enumerate(entry["rows"])]
        )
        order = np.argsort(ts, kind="stable")
        ts, area, who = ts[order], area[order], who[order]
        ops = [r[2] for r in entry["rows"]]
        op_of = np.array([ops[w] or "" for w in who])
        cut = (
            np.flatnonzero(
                (np.diff(ts) > GAP_MINUTES * 60_000) | (op_of[1:] != op_of[:-1])
            )
            + 1
        )
        sessions = []
        for seg in np.split(np.arange(len(ts)), cut):
            if not len(seg):
                continue
            src = entry["rows"][who[seg[0]]]
            start, end = int(ts[seg[0]]), int(ts[seg[-1]])
            session: dict[str, Any] = {
                "id": asset_id(leaf_user_id, "session", f"{mid}/{start}"),
                "startTime": _iso(start),
                "endTime": _iso(end),
                "operator": {"id": src[3]["id"], "name": src[3]["name"]}
                if src[3]
                else None,
                "area": {"value": float(area[seg].sum() / 10_000.0), "unit": "ha"},
            }
            if src[4]:
                session["implement"] = {"id": src[4]["id"], "name": src[4].get("name")}
            sessions.append(session)
        m = entry["machine"]
        out.append(
            {
                "machineId": mid,
                "serialNumber": m.get("serialNumber"),
                "sessions": sessions,
            }
        )
    return out


def _iso(ms: int) -> str:
    return np.datetime_as_string(np.datetime64(ms, "ms"), unit="ms") + "Z"
