"""Catalog rows by id: the look-ups every layer shares (a missing id is :class:`NotFound`).

>>> import tempfile, pathlib
>>> from leafnb.store.catalog import Catalog
>>> catalog = Catalog(pathlib.Path(tempfile.mkdtemp()) / "catalog.sqlite")
>>> file_row(catalog, "nope")
Traceback (most recent call last):
...
leafnb.errors.NotFound: file 'nope' not found
"""

from __future__ import annotations

from typing import Any

from leafnb.errors import NotFound
from leafnb.store.catalog import Catalog

__all__ = ["batch_row", "file_row", "operation_row", "update_doc"]


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
