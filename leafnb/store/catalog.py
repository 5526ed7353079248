"""The SQLite catalog: batches, files, steps, configs and events of one workspace.

WAL mode and a busy timeout let several Workspace objects (two notebooks, a server)
share one folder; every write is one short transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leafnb.errors import StoreError, WorkspaceBusy

__all__ = ["Catalog"]

SCHEMA_VERSION = 3

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        leaf_user_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        file_name TEXT,
        size INTEGER,
        status TEXT NOT NULL,
        status_details TEXT,
        upload_timestamp TEXT NOT NULL,
        updated_time TEXT NOT NULL,
        doc TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE files (
        id TEXT PRIMARY KEY,
        batch_id TEXT REFERENCES batches(id),
        leaf_user_id TEXT NOT NULL,
        provider TEXT,
        file_format TEXT,
        file_name TEXT,
        status TEXT NOT NULL,
        origin TEXT NOT NULL,
        operation_type TEXT,
        created_time TEXT NOT NULL,
        updated_time TEXT NOT NULL,
        start_time TEXT,
        end_time TEXT,
        size_in_bytes INTEGER,
        total_area REAL,
        crop TEXT,
        doc TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX files_user ON files(leaf_user_id);
    CREATE INDEX files_batch ON files(batch_id);
    CREATE TABLE steps (
        file_id TEXT NOT NULL REFERENCES files(id),
        step TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        updated_time TEXT NOT NULL,
        PRIMARY KEY (file_id, step)
    );
    CREATE TABLE configs (
        leaf_user_id TEXT PRIMARY KEY,
        doc TEXT NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    """,
    # 2: fields and field operations (leafnb.operations)
    """
    CREATE TABLE fields (
        id TEXT PRIMARY KEY,
        leaf_user_id TEXT NOT NULL,
        name TEXT,
        source TEXT,
        area_ha REAL,
        geom_hash TEXT,
        created_time TEXT NOT NULL,
        updated_time TEXT NOT NULL,
        doc TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX fields_user ON fields(leaf_user_id);
    CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        leaf_user_id TEXT NOT NULL,
        type TEXT NOT NULL,
        crop TEXT,
        group_key TEXT,
        status TEXT NOT NULL,
        start_time TEXT,
        end_time TEXT,
        created_time TEXT NOT NULL,
        updated_time TEXT NOT NULL,
        leaf_file_id TEXT,
        field_ids TEXT NOT NULL DEFAULT ',',
        providers TEXT NOT NULL DEFAULT ',',
        doc TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX operations_user ON operations(leaf_user_id);
    """,
    # 3: run leases of batches being worked on (leafnb.store.runs)
    """
    CREATE TABLE runs (
        batch_id TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_start TEXT NOT NULL DEFAULT '',
        started TEXT NOT NULL,
        heartbeat REAL NOT NULL
    );
    """,
)


class Catalog:
    """Thread-safe access to ``catalog.sqlite`` (one connection per thread)."""

    def __init__(self, path: str | Path, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` so writers queue instead of deadlocking)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise WorkspaceBusy(
                f"workspace catalog {self.path} is locked by another process: {exc}"
            ) from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        try:
            return self._connect().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"catalog query failed: {exc}") from exc

    def _migrate(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            row = conn.execute(
                "SELECT value FROM meta WHERE key='schema_version'"
            ).fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"workspace {self.path.parent} was written by a newer leafnb (schema {version}); upgrade leafnb"
                )
            for i in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[i].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    # ---- small helpers used by the workspace ----
    @staticmethod
    def dumps(doc: Any) -> str:
        """JSON text for a doc column."""
        return json.dumps(doc, separators=(",", ":"), default=str)

    @staticmethod
    def loads(text: str | None) -> Any:
        """Parse a doc column."""
        return json.loads(text) if text else {}

    def record_event(self, event: str, payload: dict[str, Any]) -> None:
        """Append one event to the log."""
        with self.transaction() as conn:
            self.insert_events(conn, [(event, payload)])

    @classmethod
    def insert_events(
        cls, conn: sqlite3.Connection, events: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Append ``(event, payload)`` pairs to the log in the caller's transaction."""
        conn.executemany(
            "INSERT INTO events (type, timestamp, payload) VALUES (?, ?, ?)",
            [(e, p.get("timestamp", ""), cls.dumps(p)) for e, p in events],
        )
