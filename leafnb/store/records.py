"""Catalog rows by id (a missing id is :class:`NotFound`) and catalog rows → resources.

The ``*_resource`` functions turn one catalog row into the resource dict a Workspace method
returns (Leaf's key names); they are the only place that knows both shapes.

>>> import tempfile, pathlib
>>> from leafnb.store.catalog import Catalog
>>> catalog = Catalog(pathlib.Path(tempfile.mkdtemp()) / "catalog.sqlite")
>>> file_row(catalog, "nope")
Traceback (most recent call last):
...
leafnb.errors.NotFound: file 'nope' not found
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leafnb.errors import NotFound
from leafnb.resources import Batch, Field, File, Operation
from leafnb.store.artifacts import read_json
from leafnb.store.catalog import Catalog
from leafnb.store.layout import RAW, RAW_SOURCE, STANDARD, SUMMARY, Layout

__all__ = [
    "API_OWNER",
    "batch_resource",
    "batch_row",
    "batch_upload_response",
    "config_doc",
    "delete_config_doc",
    "event_payloads",
    "field_resource",
    "file_resource",
    "file_row",
    "operation_resource",
    "operation_row",
    "update_config_doc",
    "update_doc",
]

#: ``apiOwnerUsername`` of every resource of a local workspace
API_OWNER = "local"


def _row(catalog: Catalog, table: str, kind: str, row_id: str):
    rows = catalog.query(f"SELECT * FROM {table} WHERE id=?", (row_id,))
    if not rows:
        raise NotFound(f"{kind} {row_id!r} not found")
    return rows[0]


def batch_row(catalog: Catalog, batch_id: str):
    """The ``batches`` row of *batch_id*."""
    return _row(catalog, "batches", "batch", batch_id)


def file_row(catalog: Catalog, file_id: str):
    """The ``files`` row of *file_id*."""
    return _row(catalog, "files", "file", file_id)


def operation_row(catalog: Catalog, op_id: str):
    """The ``operations`` row of *op_id*."""
    return _row(catalog, "operations", "operation", op_id)


def update_doc(catalog: Catalog, table: str, row_id: str, **values: Any) -> None:
    """Merge *values* into the JSON ``doc`` of one batches/files row."""
    assert table in ("batches", "files")
    with catalog.transaction() as conn:
        row = conn.execute(f"SELECT doc FROM {table} WHERE id=?", (row_id,)).fetchone()
        doc = {**catalog.loads(row["doc"]), **values}
        conn.execute(
            f"UPDATE {table} SET doc=? WHERE id=?", (catalog.dumps(doc), row_id)
        )


def batch_upload_response(row) -> Batch:
    """The ``POST /batch`` answer for a batches row."""
    return Batch(
        id=row["id"],
        leafUserId=row["leaf_user_id"],
        fileName=row["file_name"],
        size=row["size"],
        provider=row["provider"],
        status=row["status"],
        uploadTimestamp=row["upload_timestamp"],
    )


def batch_resource(catalog: Catalog, row, leaf_files: list[str]) -> Batch:
    """A batch resource (``GET /batch/{id}``) with the ids of its files."""
    doc = catalog.loads(row["doc"])
    out = Batch(
        id=row["id"],
        leafUserId=row["leaf_user_id"],
        provider=row["provider"],
        status=row["status"],
        leafFiles=leaf_files,
        fileName=row["file_name"],
        size=row["size"],
        uploadTimestamp=row["upload_timestamp"],
        updatedTime=row["updated_time"],
    )
    if row["status_details"]:
        out["statusDetails"] = row["status_details"]
    if doc.get("ignoredEntries"):
        out["ignoredEntries"] = doc["ignoredEntries"]
    if doc.get("ignoredReasons"):
        out["ignoredReasons"] = doc["ignoredReasons"]
    return out


def file_resource(catalog: Catalog, layout: Layout, row) -> File:
    """A file resource (``GET /files/{id}``) from its row and the artifacts on disk."""
    doc = catalog.loads(row["doc"])
    fdir = layout.file_dir(row["id"])
    original = layout.resolve(doc["path"])
    std_parquet = fdir / STANDARD
    raw_parquet = fdir / RAW
    summary_path = fdir / SUMMARY

    def url(p: Path) -> str | None:
        return p.as_uri() if p.exists() else None

    # made on request (leafnb.pipeline.originals): an original extracted again from the
    # batch's upload, the raw table read again from the original
    batch_dir = layout.batch_dir(row["batch_id"]) if row["batch_id"] else None
    has_original = original.exists() or (
        batch_dir is not None
        and original.is_relative_to(batch_dir / "extracted")
        and (batch_dir / "upload.zip").is_file()
    )
    has_raw = raw_parquet.exists() or (fdir / RAW_SOURCE).exists()

    out = File(
        id=row["id"],
        leafUserId=row["leaf_user_id"],
        apiOwnerUsername=API_OWNER,
        provider=row["provider"],
        fileFormat=row["file_format"],
        fileName=row["file_name"],
        operationType=row["operation_type"],
        status=row["status"],
        origin=row["origin"],
        batchId=row["batch_id"],
        createdTime=row["created_time"],
        updatedTime=row["updated_time"],
        startTime=row["start_time"],
        endTime=row["end_time"],
        sizeInBytes=row["size_in_bytes"],
        fields=doc.get("fields", []),
        recordCount=doc.get("recordCount", 0),
        skippedRecords=doc.get("skippedRecords", 0),
        originalFile=str(original),
        downloadOriginalFile=original.as_uri() if has_original else None,
        rawGeoparquet=str(raw_parquet) if has_raw else None,
        downloadRawGeoparquet=raw_parquet.as_uri() if has_raw else None,
        standardGeoparquet=str(std_parquet) if std_parquet.exists() else None,
        downloadStandardGeoparquet=url(std_parquet),
        filteredGeoparquet=str(fdir / "filtered.parquet")
        if (fdir / "filtered.parquet").exists()
        else None,
        downloadFilteredGeoparquet=url(fdir / "filtered.parquet"),
        summary=read_json(summary_path) if summary_path.exists() else None,
    )
    for key in (
        "providerMismatch",
        "outOfStandard",
        "sources",
        "machineTotals",
        "columnMapping",
        "notes",
    ):
        if doc.get(key):
            out[key] = doc[key]
    return out


def field_resource(catalog: Catalog, row) -> Field:
    """A field resource from its row."""
    doc = catalog.loads(row["doc"])
    out = Field(
        id=row["id"],
        leafUserId=row["leaf_user_id"],
        name=row["name"],
        geometry=doc["geometry"],
        area={"value": row["area_ha"], "unit": "ha"},
        createdTime=row["created_time"],
        updatedTime=row["updated_time"],
        source=row["source"],
    )
    if doc.get("sourceFileId"):
        out["sourceFileId"] = doc["sourceFileId"]
    return out


def operation_resource(catalog: Catalog, row) -> Operation:
    """An operation resource (``GET /operations/{id}``) from its row."""
    doc = catalog.loads(row["doc"])
    out = Operation(
        id=row["id"],
        apiOwnerUsername=API_OWNER,
        leafUserId=row["leaf_user_id"],
        startTime=row["start_time"],
        endTime=row["end_time"],
        updatedTime=row["updated_time"],
        createdTime=row["created_time"],
        type=row["type"],
        files=doc.get("files", []),
        fields=doc.get("fields", []),
        providers=doc.get("providers", []),
        status=row["status"],
        leafFileId=row["leaf_file_id"],
    )
    if doc.get("cropped"):
        out["croppedByField"] = True
    if doc.get("message"):
        out["message"] = doc["message"]
    return out


def config_doc(catalog: Catalog, leaf_user_id: str) -> dict[str, Any]:
    """The settings stored for *leaf_user_id* (``""``: the workspace owner); {} when none."""
    rows = catalog.query(
        "SELECT doc FROM configs WHERE leaf_user_id=?", (leaf_user_id,)
    )
    return catalog.loads(rows[0]["doc"]) if rows else {}


def update_config_doc(
    catalog: Catalog, leaf_user_id: str, values: dict[str, Any]
) -> None:
    """Merge *values* into the settings stored for *leaf_user_id*."""
    with catalog.transaction() as conn:
        row = conn.execute(
            "SELECT doc FROM configs WHERE leaf_user_id=?", (leaf_user_id,)
        ).fetchone()
        doc = {**(catalog.loads(row["doc"]) if row else {}), **values}
        conn.execute(
            "INSERT OR REPLACE INTO configs VALUES (?, ?)",
            (leaf_user_id, catalog.dumps(doc)),
        )


def delete_config_doc(catalog: Catalog, leaf_user_id: str) -> None:
    """Forget the settings stored for *leaf_user_id*."""
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM configs WHERE leaf_user_id=?", (leaf_user_id,))


def event_payloads(
    catalog: Catalog, type: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The stored event log (of one *type*), oldest first."""
    if type:
        rows = catalog.query(
            "SELECT payload FROM events WHERE type=? ORDER BY seq LIMIT ?",
            (type, limit),
        )
    else:
        rows = catalog.query(
            "SELECT payload FROM events ORDER BY seq LIMIT ?", (limit,)
        )
    return [catalog.loads(r["payload"]) for r in rows]
