"""The HTTP server's own state in ``<workspace>/server.sqlite`` (a store of its own).

API-owner tokens, which owner a leafUserId belongs to, opaque download tokens, owner-level configs and webhooks.

No FastAPI here: ``leafnb token create`` works without the ``server`` extra. Its errors,
:class:`~leafnb.errors.TokenError` (401) and :class:`~leafnb.errors.OwnerConflict` (403),
are leafnb errors like any other (importable from here and from :mod:`leafnb.server.auth`).

Tokens are ``lnb_<id>_<secret>``: ``id`` (public, 12 hex chars) finds the row, ``secret``
(32 random bytes, url-safe base64) is checked against ``sha256(salt || secret)`` with a
per-token 16-byte salt and a constant-time comparison. The secret has 256 bits of entropy,
so a slow KDF would add nothing but latency on every request; only the hash is stored and
the token is printed once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leafnb.errors import OwnerConflict, TokenError

__all__ = ["OwnerConflict", "ServerStore", "TokenError"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
    created TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS users (
    leaf_user_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_owner ON users (owner);
CREATE TABLE IF NOT EXISTS downloads (
    token TEXT PRIMARY KEY, owner TEXT NOT NULL, path TEXT NOT NULL, created TEXT NOT NULL,
    UNIQUE (owner, path)
);
CREATE TABLE IF NOT EXISTS owner_configs (owner TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_configs (leaf_user_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, url TEXT NOT NULL,
    secret TEXT NOT NULL, events TEXT NOT NULL, created TEXT NOT NULL
);
"""

_TOKEN = re.compile(r"^lnb_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


class ServerStore:
    """Thread-safe access to ``server.sqlite`` (one connection, serialised by a lock)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)

    @classmethod
    def for_workspace(cls, workspace_path: str | Path) -> ServerStore:
        """The store of the workspace at *workspace_path* (``server.sqlite`` inside it)."""
        return cls(Path(workspace_path) / "server.sqlite")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def _q(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _x(self, sql: str, params: tuple | list = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    # ------------------------------------------------------------------ tokens
    def create_token(self, owner: str) -> str:
        """Issue a token for *owner*; returns it (shown once, only its hash is stored)."""
        if not isinstance(owner, str) or not _OWNER.match(owner):
            raise ValueError(f"owner must match {_OWNER.pattern}, got {owner!r}")
        tid = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        self._x(
            "INSERT INTO tokens (id, owner, salt, hash, created) VALUES (?,?,?,?,?)",
            (tid, owner, salt, _digest(salt, secret), _now()),
        )
        return f"lnb_{tid}_{secret}"

    def verify_token(self, token: str | None) -> str:
        """The owner of *token*; raises :class:`TokenError`."""
        m = _TOKEN.match(token or "")
        if not m:
            raise TokenError("missing or malformed bearer token")
        rows = self._q(
            "SELECT owner, salt, hash, revoked FROM tokens WHERE id=?", (m.group(1),)
        )
        # compare even when the id is unknown, so timing does not reveal which ids exist
        salt, stored = (
            (rows[0]["salt"], rows[0]["hash"]) if rows else (b"\0" * 16, b"\0" * 32)
        )
        ok = hmac.compare_digest(_digest(salt, m.group(2)), stored)
        if not rows or not ok or rows[0]["revoked"]:
            raise TokenError("invalid or revoked token")
        return rows[0]["owner"]

    def list_tokens(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Tokens (id, owner, created, revoked; never the secret), of *owner* or of everyone."""
        sql = (
            "SELECT id, owner, created, revoked FROM tokens"
            + (" WHERE owner=?" if owner else "")
            + " ORDER BY created"
        )
        return [dict(r) for r in self._q(sql, (owner,) if owner else ())]

    def revoke_token(self, token_id: str) -> bool:
        """Revoke token *token_id* (the ``lnb_`` prefix and secret may be included); True when one was found."""
        return (
            self._x(
                "UPDATE tokens SET revoked=1 WHERE id=?",
                (token_id.removeprefix("lnb_")[:12],),
            )
            > 0
        )

    # ------------------------------------------------------------------ leafUserIds
    def owner_of(self, leaf_user_id: str) -> str | None:
        """The owner *leaf_user_id* belongs to, or None when nobody has claimed it."""
        rows = self._q("SELECT owner FROM users WHERE leaf_user_id=?", (leaf_user_id,))
        return rows[0]["owner"] if rows else None

    def user_ids(self, owner: str) -> list[str]:
        """The leafUserIds *owner* has claimed, sorted."""
        return [
            r["leaf_user_id"]
            for r in self._q(
                "SELECT leaf_user_id FROM users WHERE owner=? ORDER BY leaf_user_id",
                (owner,),
            )
        ]

    def claim(self, owner: str, leaf_user_id: str) -> bool:
        """Give *leaf_user_id* to *owner* if nobody has it.

        True when newly claimed; raises :class:`OwnerConflict` when another owner has it.
        """
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO users VALUES (?,?,?)",
                (leaf_user_id, owner, _now()),
            )
            if cur.rowcount:
                return True
        if self.owner_of(leaf_user_id) != owner:
            raise OwnerConflict(
                f"leafUserId {leaf_user_id!r} belongs to another API owner"
            )
        return False

    # ------------------------------------------------------------------ downloads
    def download_token(self, owner: str, path: str) -> str:
        """The opaque token that lets *owner* download *path* (stable per owner and path)."""
        rows = self._q(
            "SELECT token FROM downloads WHERE owner=? AND path=?", (owner, path)
        )
        if rows:
            return rows[0]["token"]
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO downloads VALUES (?,?,?,?)",
                (token, owner, path, _now()),
            )
            return self._conn.execute(
                "SELECT token FROM downloads WHERE owner=? AND path=?", (owner, path)
            ).fetchone()["token"]

    def download_path(self, owner: str, token: str) -> str | None:
        """The path behind download *token* of *owner*, or None (unknown token or other owner)."""
        rows = self._q("SELECT owner, path FROM downloads WHERE token=?", (token,))
        if not rows or not hmac.compare_digest(rows[0]["owner"], owner):
            return None
        return rows[0]["path"]

    # ------------------------------------------------------------------ configs
    def owner_config(self, owner: str) -> dict[str, Any]:
        """*owner*'s configuration document (``{}`` when none is stored)."""
        rows = self._q("SELECT doc FROM owner_configs WHERE owner=?", (owner,))
        return json.loads(rows[0]["doc"]) if rows else {}

    def set_owner_config(self, owner: str, doc: dict[str, Any]) -> None:
        """Store *doc* as *owner*'s configuration document."""
        self._x(
            "INSERT OR REPLACE INTO owner_configs VALUES (?,?)",
            (owner, json.dumps(doc)),
        )

    def user_config(self, leaf_user_id: str) -> dict[str, Any]:
        """*leaf_user_id*'s own configuration document (``{}`` when none is stored)."""
        rows = self._q(
            "SELECT doc FROM user_configs WHERE leaf_user_id=?", (leaf_user_id,)
        )
        return json.loads(rows[0]["doc"]) if rows else {}

    def set_user_config(self, leaf_user_id: str, doc: dict[str, Any] | None) -> None:
        """Store *doc* as *leaf_user_id*'s configuration document; an empty *doc* deletes it."""
        if doc:
            self._x(
                "INSERT OR REPLACE INTO user_configs VALUES (?,?)",
                (leaf_user_id, json.dumps(doc)),
            )
        else:
            self._x("DELETE FROM user_configs WHERE leaf_user_id=?", (leaf_user_id,))

    # ------------------------------------------------------------------ webhooks
    @staticmethod
    def _webhook(row: sqlite3.Row, with_secret: bool = False) -> dict[str, Any]:
        out = {
            "id": row["id"],
            "name": row["name"],
            "url": row["url"],
            "events": json.loads(row["events"]),
            "apiOwnerUsername": row["owner"],
            "createdTime": row["created"],
        }
        if with_secret:
            out["secret"] = row["secret"]
        return out

    def add_webhook(
        self, owner: str, name: str, url: str, secret: str, events: list[str]
    ) -> str:
        """Register a webhook of *owner*; returns its id."""
        wid = str(uuid.uuid4())
        self._x(
            "INSERT INTO webhooks VALUES (?,?,?,?,?,?,?)",
            (wid, owner, name, url, secret, json.dumps(events), _now()),
        )
        return wid

    def webhooks(self, owner: str, with_secret: bool = False) -> list[dict[str, Any]]:
        """*owner*'s webhooks in creation order (``secret`` only with *with_secret*)."""
        return [
            self._webhook(r, with_secret)
            for r in self._q(
                "SELECT * FROM webhooks WHERE owner=? ORDER BY created, id", (owner,)
            )
        ]

    def webhook(self, owner: str, webhook_id: str) -> dict[str, Any] | None:
        """Webhook *webhook_id* of *owner*, or None."""
        rows = self._q(
            "SELECT * FROM webhooks WHERE owner=? AND id=?", (owner, webhook_id)
        )
        return self._webhook(rows[0]) if rows else None

    def delete_webhook(self, owner: str, webhook_id: str) -> bool:
        """Delete webhook *webhook_id* of *owner*; True when it existed."""
        return (
            self._x("DELETE FROM webhooks WHERE owner=? AND id=?", (owner, webhook_id))
            > 0
        )
