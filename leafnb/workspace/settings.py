"""Configuration (``/configs``, spec §12) and events (alerts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leafnb.config import defaults, validate
from leafnb.errors import InvalidRequest
from leafnb.resources import Resource
from leafnb.store.records import API_OWNER
from leafnb.workspace._face import Face


class Settings(Face):
    """Configuration (``/configs``, spec §12) and events (alerts)."""

    def get_config(self, leaf_user_id: str | None = None) -> Resource:
        """Effective configuration (spec §12): defaults < workspace (owner) < leafUserId."""
        cfg = defaults()
        for uid in ("", leaf_user_id) if leaf_user_id else ("",):
            rows = self.catalog.query(
                "SELECT doc FROM configs WHERE leaf_user_id=?", (uid,)
            )
            if rows:
                cfg.update(self.catalog.loads(rows[0]["doc"]))
        return Resource(
            apiOwnerUsername=API_OWNER, leafUserId=leaf_user_id or "", **cfg
        )

    def set_config(
        self,
        values: dict[str, Any] | None = None,
        leaf_user_id: str | None = None,
        **kw: Any,
    ) -> Resource:
        """Set config keys for the workspace owner or one leafUserId (partial update, validated)."""
        clean = validate({**(values or {}), **kw})
        uid = leaf_user_id or ""
        with self.catalog.transaction() as conn:
            row = conn.execute(
                "SELECT doc FROM configs WHERE leaf_user_id=?", (uid,)
            ).fetchone()
            doc = {**(self.catalog.loads(row["doc"]) if row else {}), **clean}
            conn.execute(
                "INSERT OR REPLACE INTO configs VALUES (?, ?)",
                (uid, self.catalog.dumps(doc)),
            )
        return self.get_config(leaf_user_id)

    def delete_config(self, leaf_user_id: str) -> None:
        """Remove a leafUserId's own settings (it inherits the owner's again)."""
        if not leaf_user_id:
            raise InvalidRequest(
                "the owner configuration cannot be deleted, only changed"
            )
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM configs WHERE leaf_user_id=?", (leaf_user_id,))

    def on(
        self, event: str, callback: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        """Call *callback(payload)* on each *event* (Leaf alert names); returns an unsubscribe function."""
        return self.events.on(event, callback)

    def get_events(
        self, type: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The stored event log, oldest first."""
        if type:
            rows = self.catalog.query(
                "SELECT payload FROM events WHERE type=? ORDER BY seq LIMIT ?",
                (type, limit),
            )
        else:
            rows = self.catalog.query(
                "SELECT payload FROM events ORDER BY seq LIMIT ?", (limit,)
            )
        return [self.catalog.loads(r["payload"]) for r in rows]
