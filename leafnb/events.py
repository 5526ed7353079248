"""Event dispatch (``on(event, callback)``) and the stored event log."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from leafnb.errors import InvalidRequest
from leafnb.keys import Event

__all__ = ["EventBus", "utc_now"]

log = logging.getLogger(__name__)


def utc_now(precision: int = 3) -> str:
    """Return the current UTC time as ISO 8601 with ``Z`` (3 or 6 fractional digits)."""
    now = datetime.now(UTC)
    text = now.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: len(text) - (6 - precision)] + "Z"


class EventBus:
    """In-process callbacks per event name; every event is also written to the catalog log."""

    def __init__(self, record: Callable[[str, dict[str, Any]], None]):
        self._record = record
        self._callbacks: dict[str, list[Callable[[dict[str, Any]], None]]] = (
            defaultdict(list)
        )
        self._lock = threading.Lock()

    def on(
        self, event: str, callback: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        """Call *callback(payload)* whenever *event* fires; returns a function that unsubscribes."""
        try:
            name = Event(event).value
        except ValueError:
            raise InvalidRequest(
                f"{event!r} is not a valid event, must be one of {', '.join(e.value for e in Event)}"
            ) from None
        with self._lock:
            self._callbacks[name].append(callback)

        def off() -> None:
            with self._lock:
                if callback in self._callbacks[name]:
                    self._callbacks[name].remove(callback)

        return off

    def emit(self, event: Event | str, **payload: Any) -> dict[str, Any]:
        """Record and dispatch one event; callback errors are logged, never raised."""
        body = self.body(event, **payload)
        self._record(str(event), body)
        self.dispatch(body)
        return body

    @staticmethod
    def body(event: Event | str, **payload: Any) -> dict[str, Any]:
        """The event as it is recorded and dispatched: ``type``, ``timestamp``, payload.

        With :meth:`dispatch`, for a caller that records events itself (several in
        one catalog transaction, :meth:`leafnb.store.catalog.Catalog.insert_events`).
        """
        return {"type": str(event), "timestamp": utc_now(6), **payload}

    def dispatch(self, body: dict[str, Any]) -> None:
        """Call the callbacks of a recorded event *body*; their errors are logged."""
        event = body["type"]
        with self._lock:
            callbacks = list(self._callbacks.get(event, ()))
        for cb in callbacks:
            try:
                cb(body)
            except Exception:  # a user's callback must not break processing
                log.exception("event callback for %s failed", event)
