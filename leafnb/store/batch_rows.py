"""The ``batches``/``files``/``steps`` rows the batch lifecycle writes and reads.

One function per statement :mod:`leafnb.pipeline.batch` needs, so the pipeline holds no
SQL. Functions taking a ``conn`` run inside the caller's transaction (so a batch and its
run lease, or a batch's doc and its detected files, are written together); the others
open their own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from leafnb.keys import Origin, StepStatus
from leafnb.store.catalog import Catalog
from leafnb.store.records import replace_steps

__all__ = [
    "batch_file_states",
    "batch_files",
    "batch_files_with_status",
    "batch_for_update",
    "batches_without_run",
    "delete_batch",
    "fail_files",
    "find_batch",
    "insert_batch",
    "insert_uploaded_file",
    "reset_batch_status",
    "row_ids",
    "set_batch_doc",
    "set_batch_status",
    "set_files_status",
    "settle_batch_status",
]


# ----------------------------------------------------------------------------- batches
def find_batch(catalog: Catalog, batch_id: str) -> sqlite3.Row | None:
    """The ``batches`` row of *batch_id*, or None when there is none."""
    rows = catalog.query("SELECT * FROM batches WHERE id=?", (batch_id,))
    return rows[0] if rows else None


def insert_batch(
    conn: sqlite3.Connection,
    batch_id: str,
    *,
    leaf_user_id: str,
    provider: str,
    file_name: str,
    size: int,
    status: str,
    doc: dict[str, Any],
    now: str,
) -> None:
    """Insert a ``batches`` row (uploaded and updated *now*) inside the caller's transaction."""
    conn.execute(
        "INSERT INTO batches (id, leaf_user_id, provider, file_name, size, status, upload_timestamp, updated_time, doc)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (
            batch_id,
            leaf_user_id,
            provider,
            file_name,
            size,
            status,
            now,
            now,
            Catalog.dumps(doc),
        ),
    )


def delete_batch(catalog: Catalog, batch_id: str) -> None:
    """Delete batch *batch_id* with its files' rows and its run lease, in one transaction."""
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM files WHERE batch_id=?", (batch_id,))
        conn.execute("DELETE FROM runs WHERE batch_id=?", (batch_id,))
        conn.execute("DELETE FROM batches WHERE id=?", (batch_id,))


def batch_for_update(
    conn: sqlite3.Connection, batch_id: str
) -> tuple[str, str, dict[str, Any]]:
    """``(provider, leafUserId, doc)`` of batch *batch_id*, read inside the caller's transaction."""
    row = conn.execute(
        "SELECT provider, leaf_user_id, doc FROM batches WHERE id=?", (batch_id,)
    ).fetchone()
    return row["provider"], row["leaf_user_id"], Catalog.loads(row["doc"])


def set_batch_doc(
    conn: sqlite3.Connection, batch_id: str, doc: dict[str, Any], now: str
) -> None:
    """Replace the ``doc`` of batch *batch_id* (updated *now*) inside the caller's transaction."""
    conn.execute(
        "UPDATE batches SET doc=?, updated_time=? WHERE id=?",
        (Catalog.dumps(doc), now, batch_id),
    )


def reset_batch_status(catalog: Catalog, batch_id: str, status: str) -> None:
    """Set the ``status`` of batch *batch_id* and clear its ``status_details`` (a retry)."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE batches SET status=?, status_details=NULL WHERE id=?",
            (status, batch_id),
        )


def set_batch_status(catalog: Catalog, batch_id: str, status: str, now: str) -> None:
    """Set the ``status`` of batch *batch_id* (updated *now*)."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE batches SET status=?, updated_time=? WHERE id=?",
            (status, now, batch_id),
        )


def settle_batch_status(
    catalog: Catalog, batch_id: str, status: str, details: str | None, now: str
) -> None:
    """Set the final ``status`` and ``status_details`` of batch *batch_id* (updated *now*)."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE batches SET status=?, status_details=?, updated_time=? WHERE id=?",
            (status, details, now, batch_id),
        )


def batches_without_run(catalog: Catalog, statuses: Sequence[str]) -> list[str]:
    """Ids of the batches in one of *statuses* that hold no run lease."""
    return [
        r["id"]
        for r in catalog.query(
            f"SELECT id FROM batches WHERE status IN ({','.join('?' * len(statuses))})"
            " AND id NOT IN (SELECT batch_id FROM runs)",
            tuple(statuses),
        )
    ]


def row_ids(catalog: Catalog, table: str) -> set[str]:
    """Ids of every row of *table* (``batches`` or ``files``)."""
    assert table in ("batches", "files")
    return {r["id"] for r in catalog.query(f"SELECT id FROM {table}")}


# ----------------------------------------------------------------------------- files
def insert_uploaded_file(
    conn: sqlite3.Connection,
    file_id: str,
    *,
    batch_id: str,
    leaf_user_id: str,
    provider: str,
    file_format: str,
    file_name: str,
    operation_type: str | None,
    size_in_bytes: int,
    doc: dict[str, Any],
    now: str,
) -> None:
    """Insert the ``files`` row of a detected upload (processing) inside the caller's transaction."""
    conn.execute(
        "INSERT INTO files (id, batch_id, leaf_user_id, provider, file_format, file_name, status, origin,"
        " operation_type, created_time, updated_time, size_in_bytes, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            file_id,
            batch_id,
            leaf_user_id,
            provider,
            file_format,
            file_name,
            StepStatus.PROCESSING,
            Origin.UPLOADED,
            operation_type,
            now,
            now,
            size_in_bytes,
            Catalog.dumps(doc),
        ),
    )


def batch_files(catalog: Catalog, batch_id: str) -> list[sqlite3.Row]:
    """The ``files`` rows of batch *batch_id*, by file name."""
    return catalog.query(
        "SELECT * FROM files WHERE batch_id=? ORDER BY file_name", (batch_id,)
    )


def batch_file_states(catalog: Catalog, batch_id: str) -> list[sqlite3.Row]:
    """``id`` and ``status`` of the files of batch *batch_id*, by file name."""
    return catalog.query(
        "SELECT id, status FROM files WHERE batch_id=? ORDER BY file_name", (batch_id,)
    )


def batch_files_with_status(
    catalog: Catalog, batch_id: str, status: str
) -> list[sqlite3.Row]:
    """The ``files`` rows of batch *batch_id* whose status is *status*."""
    return catalog.query(
        "SELECT * FROM files WHERE batch_id=? AND status=?", (batch_id, status)
    )


def set_files_status(
    catalog: Catalog, file_ids: Iterable[str], status: str, now: str
) -> None:
    """Set the ``status`` of the files *file_ids* (updated *now*) in one transaction."""
    with catalog.transaction() as conn:
        conn.executemany(
            "UPDATE files SET status=?, updated_time=? WHERE id=?",
            [(status, now, file_id) for file_id in file_ids],
        )


def fail_files(
    catalog: Catalog, file_ids: Iterable[str], steps: Sequence[Any], now: str
) -> None:
    """Fail the files *file_ids* (updated *now*) with *steps* as their steps, in one transaction."""
    with catalog.transaction() as conn:
        for file_id in file_ids:
            conn.execute(
                "UPDATE files SET status=?, updated_time=? WHERE id=?",
                (StepStatus.FAILED, now, file_id),
            )
            replace_steps(conn, file_id, steps, now)
