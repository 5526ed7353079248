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

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from leafnb.errors import InvalidRequest, NotFound
from leafnb.events import utc_now
from leafnb.keys import Origin, StepStatus
from leafnb.resources import Batch, Field, File, Operation
from leafnb.store.artifacts import read_json
from leafnb.store.catalog import Catalog
from leafnb.store.layout import FILTER_MASK, RAW, RAW_SOURCE, STANDARD, SUMMARY, Layout
from leafnb.store.query import OPERATION_QUERY, Query

__all__ = [
    "API_OWNER",
    "MERGED_DOC_FACTS",
    "batch_file_ids",
    "batch_owner",
    "batch_partfields",
    "batch_resource",
    "batch_row",
    "batch_upload_response",
    "config_doc",
    "delete_config_doc",
    "delete_field",
    "event_payloads",
    "field_geometries",
    "field_geometries_by_id",
    "field_operation_ids",
    "field_resource",
    "field_row",
    "field_with_hash",
    "file_artifact",
    "file_exists",
    "file_owner",
    "file_resource",
    "file_row",
    "file_steps",
    "files_by_id",
    "insert_field",
    "list_page",
    "operation_owner",
    "operation_resource",
    "operation_row",
    "operations_page",
    "operations_with_file",
    "processed_upload_rows",
    "replace_steps",
    "set_file_doc",
    "set_file_status",
    "set_operation_status",
    "update_config_doc",
    "update_doc",
    "update_field",
    "upsert_merged_file",
    "user_field_geometries",
    "user_field_rows",
    "write_file_outcome",
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


def file_artifact(catalog: Catalog, layout: Layout, file_id: str, name: str) -> Path:
    """The path of artifact *name* (e.g. ``standard.parquet``) of a file that has it.

    Parameters
    ----------
    catalog : Catalog
        The records.
    layout : Layout
        Where the file's artifacts are.
    file_id : str
        The file.
    name : str
        File name of the artifact in the file's folder.

    Returns
    -------
    Path
        The artifact.

    Raises
    ------
    NotFound
        Unknown file, or a file without that artifact (the message gives its status).
    """
    row = file_row(catalog, file_id)
    path = layout.file_dir(file_id) / name
    if not path.exists():
        raise NotFound(
            f"file {file_id} has no {name.split('.')[0]} (status {row['status']}: {catalog.loads(row['doc']).get('message', '')})"
        )
    return path


def operation_row(catalog: Catalog, op_id: str):
    """The ``operations`` row of *op_id*."""
    return _row(catalog, "operations", "operation", op_id)


def field_row(catalog: Catalog, field_id: str):
    """The ``fields`` row of *field_id*."""
    return _row(catalog, "fields", "field", field_id)


def file_exists(catalog: Catalog, file_id: str) -> bool:
    """True when the catalog has a ``files`` row for *file_id*."""
    return bool(catalog.query("SELECT 1 FROM files WHERE id=?", (file_id,)))


def list_page(
    catalog: Catalog,
    query: Query,
    filters: dict[str, Any],
    page: int,
    size: int,
    sort: str | list[str] | None,
) -> tuple[list[Any], int]:
    """The rows of one page of a list endpoint (:mod:`leafnb.store.query`) and the total count."""
    sql, params, count_sql, count_params = query.compile(filters, page, size, sort)
    return catalog.query(sql, params), catalog.query(count_sql, count_params)[0][0]


def operations_page(
    catalog: Catalog,
    filters: dict[str, Any],
    page: int,
    size: int,
    sort: str | list[str] | None,
) -> tuple[list[Any], int]:
    """One page of ``GET /operations`` rows and the total count.

    ``fieldId`` and ``provider`` match one entry of the operation's comma-separated list.

    Parameters
    ----------
    catalog : Catalog
        The records.
    filters : dict
        Leaf's filters (see :meth:`leafnb.Workspace.get_operations`).
    page, size : int
        0-based page and its size.
    sort : str or list of str, optional
        ``"startTime,desc"`` or a list of such strings.

    Returns
    -------
    tuple of (list, int)
        The rows of the page and the count of every matching row.

    Raises
    ------
    InvalidRequest
        A ``fieldId`` or ``provider`` containing ``,``, ``%`` or ``_``.
    """
    filters = dict(filters)
    for key in ("fieldId", "provider"):
        if filters.get(key) is not None:
            value = str(filters[key])
            if any(c in value for c in ",%_"):
                raise InvalidRequest(
                    f"{key} must not contain ',', '%' or '_', got {value!r}"
                )
            filters[key] = f"%,{value},%"
    return list_page(catalog, OPERATION_QUERY, filters, page, size, sort)


def field_operation_ids(catalog: Catalog, field_id: str) -> list[str]:
    """Ids of every operation of a field, in ``GET /operations`` order (pages of 100).

    Parameters
    ----------
    catalog : Catalog
        The records.
    field_id : str
        The field.

    Returns
    -------
    list of str
        The operation ids.

    Raises
    ------
    NotFound
        Unknown field.
    """
    field = field_resource(catalog, field_row(catalog, field_id))
    ops: list[str] = []
    page = 0
    while True:
        rows, total = operations_page(
            catalog,
            {"leafUserId": field["leafUserId"], "fieldId": field_id},
            page,
            100,
            None,
        )
        ops += [r["id"] for r in rows]
        if (page + 1) * 100 >= total:
            break
        page += 1
    return ops


def file_owner(catalog: Catalog, file_id: str) -> str | None:
    """The leafUserId of file *file_id*, or None when there is no such file."""
    rows = catalog.query("SELECT leaf_user_id FROM files WHERE id=?", (file_id,))
    return rows[0]["leaf_user_id"] if rows else None


def operation_owner(catalog: Catalog, op_id: str) -> str | None:
    """The leafUserId of operation *op_id*, or None when there is no such operation."""
    rows = catalog.query("SELECT leaf_user_id FROM operations WHERE id=?", (op_id,))
    return rows[0]["leaf_user_id"] if rows else None


# ----------------------------------------------------------------------------- batches
def batch_owner(catalog: Catalog, batch_id: str) -> str | None:
    """The leafUserId of batch *batch_id*, or None when there is no such batch."""
    rows = catalog.query("SELECT leaf_user_id FROM batches WHERE id=?", (batch_id,))
    return rows[0]["leaf_user_id"] if rows else None


def batch_file_ids(catalog: Catalog, batch_id: str) -> list[str]:
    """Ids of the files of batch *batch_id*, by file name (a batch's ``leafFiles``)."""
    rows = catalog.query(
        "SELECT id FROM files WHERE batch_id=? ORDER BY file_name", (batch_id,)
    )
    return [r["id"] for r in rows]


def batch_partfields(
    catalog: Catalog, batch_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """``(file id, partfield Feature)`` of every partfield the batch's files carried (ISOXML PFD)."""
    return [
        (r["id"], feature)
        for r in catalog.query(
            "SELECT id, doc FROM files WHERE batch_id=?", (batch_id,)
        )
        for feature in catalog.loads(r["doc"]).get("partfields") or []
    ]


# ----------------------------------------------------------------------------- files
def set_file_status(catalog: Catalog, file_id: str, status: str) -> None:
    """Set the ``status`` of file *file_id* (e.g. ``failed`` to queue it for a retry)."""
    with catalog.transaction() as conn:
        conn.execute("UPDATE files SET status=? WHERE id=?", (status, file_id))


def file_steps(catalog: Catalog, file_id: str) -> list[Any]:
    """The recorded steps of file *file_id* (``step``, ``status``, ``message``) in pipeline order."""
    return catalog.query(
        "SELECT step, status, message FROM steps WHERE file_id=? ORDER BY position",
        (file_id,),
    )


def files_by_id(catalog: Catalog, file_ids: Sequence[str]) -> dict[str, Any]:
    """``{id: files row}`` of the *file_ids* that exist."""
    if not file_ids:
        return {}
    return {
        r["id"]: r
        for r in catalog.query(
            f"SELECT * FROM files WHERE id IN ({','.join('?' * len(file_ids))})",
            list(file_ids),
        )
    }


def upsert_merged_file(
    catalog: Catalog,
    file_id: str,
    *,
    leaf_user_id: str,
    provider: str,
    name: str,
    operation_type: str,
    origin: str,
    size: int,
    doc: dict[str, Any],
    now: str,
) -> None:
    """Insert the ``files`` row of a merged/automerged file, or reset an existing one to processing.

    An existing row keeps its name, creation time and doc keys that *doc* does not set.
    """
    with catalog.transaction() as conn:
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
                    catalog.dumps({**catalog.loads(old["doc"]), **doc}),
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
                    origin,
                    operation_type,
                    now,
                    now,
                    size,
                    catalog.dumps(doc),
                ),
            )


#: facts a merged file's outcome keeps in its doc (:func:`write_file_outcome`)
MERGED_DOC_FACTS = ("recordCount", "skippedRecords", "cleanup", "outOfStandard")


def replace_steps(
    conn: sqlite3.Connection, file_id: str, steps: Iterable[Any], now: str
) -> None:
    """Replace the recorded steps of file *file_id* inside the caller's transaction."""
    conn.execute("DELETE FROM steps WHERE file_id=?", (file_id,))
    conn.executemany(
        "INSERT INTO steps (file_id, step, position, status, message, updated_time) VALUES (?,?,?,?,?,?)",
        [(file_id, s.step, i, s.status, s.message, now) for i, s in enumerate(steps)],
    )


def write_file_outcome(
    conn: sqlite3.Connection,
    file_id: str,
    status: str,
    facts: dict[str, Any],
    message: str,
    steps: Iterable[Any],
    now: str,
    *,
    doc_facts: Sequence[str] = MERGED_DOC_FACTS,
    fresh_facts: Sequence[str] = (),
    format_facts: bool = False,
) -> None:
    """Store a converted file's status, facts, message and *steps* (``step``/``status``/``message``), in the caller's transaction.

    The facts ``operationType`` (kept when None), ``startTime``, ``endTime``,
    ``totalAreaM2`` and ``crop`` go to their columns; the *doc_facts* into the doc, where
    those of *fresh_facts* that the facts lack are removed (left by an earlier
    conversion). With *format_facts* the facts ``provider`` and ``file_format`` (when
    set) replace their columns. The file's previous steps are replaced. One transaction
    can hold several files' outcomes (:class:`leafnb.pipeline.batch.OutcomeRecorder`).
    """
    row = conn.execute(
        "SELECT doc, provider, file_format FROM files WHERE id=?", (file_id,)
    ).fetchone()
    doc = Catalog.loads(row["doc"])
    for key in doc_facts:
        if key in facts:
            doc[key] = facts[key]
        elif key in fresh_facts:
            doc.pop(key, None)
    doc["message"] = message
    provider, file_format = (
        (facts.get("provider"), facts.get("file_format"))
        if format_facts
        else (None, None)
    )
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
            provider or row["provider"],
            file_format or row["file_format"],
            Catalog.dumps(doc),
            file_id,
        ),
    )
    replace_steps(conn, file_id, steps, now)


def processed_upload_rows(
    catalog: Catalog, leaf_user_id: str, *, by_start_time: bool = False
) -> list[Any]:
    """Rows of *leaf_user_id*'s processed uploaded/provider files (what automerge groups).

    Oldest first by creation time, or by the records' start time with *by_start_time*.
    """
    order = "start_time, id" if by_start_time else "created_time, id"
    return catalog.query(
        "SELECT * FROM files WHERE leaf_user_id=? AND status=? AND origin IN (?, ?)"
        f" ORDER BY {order}",
        (leaf_user_id, StepStatus.PROCESSED, Origin.UPLOADED, Origin.PROVIDER),
    )


def set_file_doc(catalog: Catalog, file_id: str, doc: dict[str, Any]) -> None:
    """Replace the JSON ``doc`` of file *file_id*."""
    with catalog.transaction() as conn:
        conn.execute("UPDATE files SET doc=? WHERE id=?", (catalog.dumps(doc), file_id))


# ----------------------------------------------------------------------------- fields
def user_field_geometries(catalog: Catalog, leaf_user_id: str) -> list[dict[str, Any]]:
    """GeoJSON geometries of every field of *leaf_user_id*."""
    return [
        catalog.loads(r["doc"])["geometry"]
        for r in catalog.query(
            "SELECT doc FROM fields WHERE leaf_user_id=?", (leaf_user_id,)
        )
    ]


def user_field_rows(catalog: Catalog, leaf_user_id: str) -> list[Any]:
    """The ``fields`` rows of *leaf_user_id*, oldest first."""
    return catalog.query(
        "SELECT * FROM fields WHERE leaf_user_id=? ORDER BY created_time, id",
        (leaf_user_id,),
    )


def field_geometries_by_id(
    catalog: Catalog, field_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``{id: GeoJSON geometry}`` of the fields *field_ids* that exist."""
    if not field_ids:
        return {}
    return {
        r["id"]: catalog.loads(r["doc"])["geometry"]
        for r in catalog.query(
            f"SELECT id, doc FROM fields WHERE id IN ({','.join('?' * len(field_ids))})",
            list(field_ids),
        )
    }


def field_geometries(
    catalog: Catalog, field_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """GeoJSON geometries of the fields *field_ids* that exist (catalog order)."""
    return list(field_geometries_by_id(catalog, field_ids).values())


def insert_field(
    catalog: Catalog,
    field_id: str,
    leaf_user_id: str,
    name: str | None,
    source: str,
    area_ha: float,
    geom_hash: str,
    doc: dict[str, Any],
) -> None:
    """Insert a ``fields`` row (created and updated now); *doc* holds the GeoJSON ``geometry``."""
    now = utc_now()
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO fields (id, leaf_user_id, name, source, area_ha, geom_hash, created_time, updated_time, doc)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (
                field_id,
                leaf_user_id,
                name,
                source,
                area_ha,
                geom_hash,
                now,
                now,
                catalog.dumps(doc),
            ),
        )


def field_with_hash(catalog: Catalog, leaf_user_id: str, geom_hash: str) -> bool:
    """True when *leaf_user_id* has a field whose boundary hashes to *geom_hash*."""
    return bool(
        catalog.query(
            "SELECT 1 FROM fields WHERE leaf_user_id=? AND geom_hash=?",
            (leaf_user_id, geom_hash),
        )
    )


def update_field(
    catalog: Catalog,
    field_id: str,
    *,
    name: str | None = None,
    geometry: dict[str, Any] | None = None,
    area_ha: float | None = None,
    geom_hash: str | None = None,
) -> None:
    """Rename a field and/or give it a new boundary (GeoJSON *geometry*, its area and hash).

    ``updated_time`` becomes now. The field must exist.
    """
    row = catalog.query("SELECT doc FROM fields WHERE id=?", (field_id,))[0]
    doc = catalog.loads(row["doc"])
    sets: list[str] = ["updated_time=?"]
    params: list[Any] = [utc_now()]
    if name is not None:
        sets.append("name=?")
        params.append(name)
    if geometry is not None:
        doc["geometry"] = geometry
        sets += ["area_ha=?", "geom_hash=?", "doc=?"]
        params += [area_ha, geom_hash, catalog.dumps(doc)]
    with catalog.transaction() as conn:
        conn.execute(
            f"UPDATE fields SET {', '.join(sets)} WHERE id=?", (*params, field_id)
        )


def delete_field(catalog: Catalog, field_id: str) -> None:
    """Delete the ``fields`` row of *field_id*."""
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM fields WHERE id=?", (field_id,))


# ----------------------------------------------------------------------------- operations
def operations_with_file(
    catalog: Catalog, leaf_user_id: str, file_id: str
) -> list[str]:
    """Ids of *leaf_user_id*'s operations built from file *file_id*."""
    return [
        r["id"]
        for r in catalog.query(
            "SELECT id, doc FROM operations WHERE leaf_user_id=?", (leaf_user_id,)
        )
        if file_id in (catalog.loads(r["doc"]).get("files") or [])
    ]


def set_operation_status(
    catalog: Catalog, op_id: str, status: str, doc: dict[str, Any] | None = None
) -> None:
    """Set an operation's ``status`` (and its ``doc`` when given); ``updated_time`` is now."""
    with catalog.transaction() as conn:
        if doc is None:
            conn.execute(
                "UPDATE operations SET status=?, updated_time=? WHERE id=?",
                (status, utc_now(), op_id),
            )
        else:
            conn.execute(
                "UPDATE operations SET doc=?, status=?, updated_time=? WHERE id=?",
                (catalog.dumps(doc), status, utc_now(), op_id),
            )


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
        if (fdir / FILTER_MASK).exists() or (fdir / "filtered.parquet").exists()
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
