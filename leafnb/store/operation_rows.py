"""The ``operations`` rows automerge keeps: insert, regroup, build state, delete.

One function per statement :mod:`leafnb.operations.automerge` needs, so the engine holds no
SQL. Lists of ids are stored as ``,a,b,`` (``field_ids``, ``providers``) so that
``LIKE '%,id,%'`` finds one (:data:`leafnb.store.query.OPERATION_QUERY`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leafnb.events import utc_now
from leafnb.keys import StepStatus
from leafnb.store.catalog import Catalog

__all__ = [
    "delete_operation",
    "fail_operation",
    "finish_operation",
    "id_list",
    "insert_operation",
    "processed_files",
    "regroup_operation",
    "set_operation_file",
    "user_operations",
]


def id_list(values: Sequence[str]) -> str:
    """Ids as stored in ``field_ids``/``providers``: ``,a,b,`` (``,`` when empty).

    >>> id_list(["a", "b"]), id_list([])
    (',a,b,', ',')
    """
    return "," + ",".join(values) + ("," if values else "")


def user_operations(catalog: Catalog, leaf_user_id: str) -> dict[str, Any]:
    """``{id: operations row}`` of *leaf_user_id*."""
    return {
        r["id"]: r
        for r in catalog.query(
            "SELECT * FROM operations WHERE leaf_user_id=?", (leaf_user_id,)
        )
    }


def insert_operation(
    catalog: Catalog,
    op_id: str,
    leaf_user_id: str,
    *,
    operation_type: str,
    crop: str | None,
    group_key: str,
    field_ids: Sequence[str],
    doc: dict[str, Any],
) -> None:
    """Insert a new operation (status processing, no times, no automerged file yet)."""
    now = utc_now()
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO operations (id, leaf_user_id, type, crop, group_key, status, start_time, end_time, created_time,"
            " updated_time, leaf_file_id, field_ids, providers, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                op_id,
                leaf_user_id,
                operation_type,
                crop,
                group_key,
                StepStatus.PROCESSING,
                None,
                None,
                now,
                now,
                None,
                id_list(field_ids),
                ",",
                catalog.dumps(doc),
            ),
        )


def regroup_operation(
    catalog: Catalog, op_id: str, doc: dict[str, Any], field_ids: Sequence[str]
) -> None:
    """Give an operation new members/fields (*doc*) and set it processing."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE operations SET doc=?, status=?, field_ids=?, updated_time=? WHERE id=?",
            (
                catalog.dumps(doc),
                StepStatus.PROCESSING,
                id_list(field_ids),
                utc_now(),
                op_id,
            ),
        )


def processed_files(catalog: Catalog, file_ids: Sequence[str]) -> list[Any]:
    """The ``files`` rows of *file_ids* that are processed."""
    if not file_ids:
        return []
    return catalog.query(
        f"SELECT * FROM files WHERE id IN ({','.join('?' * len(file_ids))}) AND status=?",
        [*file_ids, StepStatus.PROCESSED],
    )


def set_operation_file(catalog: Catalog, op_id: str, file_id: str) -> None:
    """Record *file_id* as the operation's automerged file (``leafFileId``)."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE operations SET leaf_file_id=? WHERE id=?", (file_id, op_id)
        )


def finish_operation(
    catalog: Catalog,
    op_id: str,
    *,
    start_time: str | None,
    end_time: str | None,
    providers: Sequence[str],
    doc: dict[str, Any],
) -> None:
    """Mark an operation processed with its time range, providers and *doc*."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE operations SET status=?, start_time=?, end_time=?, updated_time=?, providers=?, doc=? WHERE id=?",
            (
                StepStatus.PROCESSED,
                start_time,
                end_time,
                utc_now(),
                id_list(providers),
                catalog.dumps(doc),
                op_id,
            ),
        )


def fail_operation(catalog: Catalog, op_id: str, message: str) -> None:
    """Mark an operation failed, with *message* on it (the operation must exist)."""
    row = catalog.query("SELECT doc FROM operations WHERE id=?", (op_id,))[0]
    doc = catalog.loads(row["doc"])
    doc["message"] = message
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE operations SET status=?, updated_time=?, doc=? WHERE id=?",
            (StepStatus.FAILED, utc_now(), catalog.dumps(doc), op_id),
        )


def delete_operation(catalog: Catalog, op_id: str) -> str | None:
    """Delete an operation and its automerged file's rows; return that file's id."""
    rows = catalog.query("SELECT leaf_file_id FROM operations WHERE id=?", (op_id,))
    file_id = rows[0]["leaf_file_id"] if rows else None
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM operations WHERE id=?", (op_id,))
        if file_id:
            conn.execute("DELETE FROM steps WHERE file_id=?", (file_id,))
            conn.execute("DELETE FROM files WHERE id=?", (file_id,))
    return file_id
