"""Configuration (``/configs``, spec §12) and events (alerts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leafnb.config import defaults, validate
from leafnb.errors import InvalidRequest
from leafnb.resources import Resource
from leafnb.store.records import (
    API_OWNER,
    config_doc,
    delete_config_doc,
    event_payloads,
    update_config_doc,
)
from leafnb.workspace._face import Face


class Settings(Face):
    """Configuration (``/configs``, spec §12) and events (alerts)."""

    def get_config(self, leaf_user_id: str | None = None) -> Resource:
        """Effective configuration (spec §12): defaults < workspace (owner) < leafUserId."""
        cfg = {**defaults(), **config_doc(self.catalog, "")}
        cfg.update(config_doc(self.catalog, leaf_user_id) if leaf_user_id else {})
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
        update_config_doc(self.catalog, leaf_user_id or "", clean)
        return self.get_config(leaf_user_id)

    def delete_config(self, leaf_user_id: str) -> None:
        """Remove a leafUserId's own settings (it inherits the owner's again)."""
        if not leaf_user_id:
            raise InvalidRequest(
                "the owner configuration cannot be deleted, only changed"
            )
        delete_config_doc(self.catalog, leaf_user_id)

    def on(
        self, event: str, callback: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        """Call *callback(payload)* on each *event* (Leaf alert names); returns an unsubscribe function."""
        return self.events.on(event, callback)

    def get_events(
        self, type: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The stored event log, oldest first."""
        return event_payloads(self.catalog, type, limit)
