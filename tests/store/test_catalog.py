"""The workspace catalog (leafnb.store.catalog): migrations, transactions, errors."""

from __future__ import annotations

import sqlite3

import pytest

from leafnb.errors import StoreError, WorkspaceBusy
from leafnb.store.catalog import SCHEMA_VERSION, Catalog


def test_a_new_catalog_is_at_the_current_schema_and_reopens(tmp_path):
    path = tmp_path / "ws" / "catalog.sqlite"
    Catalog(path)
    again = Catalog(path)  # migrations are idempotent
    (row,) = again.query("SELECT value FROM meta WHERE key='schema_version'")
    assert int(row["value"]) == SCHEMA_VERSION


def test_a_catalog_from_a_newer_leafnb_is_refused(tmp_path):
    path = tmp_path / "catalog.sqlite"
    Catalog(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value=? WHERE key='schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )
    with pytest.raises(StoreError, match="written by a newer leafnb"):
        Catalog(path)


def test_a_failed_transaction_writes_nothing(tmp_path):
    cat = Catalog(tmp_path / "catalog.sqlite")

    def crash():
        with cat.transaction() as conn:
            conn.execute(
                "INSERT INTO events (type, timestamp, payload) VALUES ('x', '', '{}')"
            )
            raise RuntimeError("crash mid-transaction")

    with pytest.raises(RuntimeError, match="crash mid-transaction"):
        crash()
    assert cat.query("SELECT COUNT(*) FROM events")[0][0] == 0
    cat.record_event("batchCreated", {"timestamp": "t", "id": "b1"})
    (row,) = cat.query("SELECT type, payload FROM events")
    assert row["type"] == "batchCreated" and cat.loads(row["payload"])["id"] == "b1"


def test_a_catalog_locked_by_another_writer_says_so(tmp_path):
    path = tmp_path / "catalog.sqlite"
    cat = Catalog(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with (
            pytest.raises(WorkspaceBusy, match="locked by another process"),
            cat.transaction(),
        ):
            pass
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_bad_sql_is_a_store_error(tmp_path):
    cat = Catalog(tmp_path / "catalog.sqlite")
    with pytest.raises(StoreError, match="catalog query failed"):
        cat.query("SELECT * FROM no_such_table")
