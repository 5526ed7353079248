"""Webhook delivery (spec §9): Workspace events -> signed POSTs to the owner's webhooks.

``WebhookDispatcher.attach(ws)`` subscribes to every leafnb event with ``Workspace.on``.
The callback only looks up the owner of the event's ``leafUserId`` and enqueues one delivery
per matching webhook, so processing threads never wait on the network. One daemon worker
thread sends deliveries in due-time order; a failed delivery (connection error, timeout or
a non-2xx answer) is rescheduled with exponential backoff (``base_delay * 2**n``) until
``max_tries`` attempts or ``max_total`` seconds since the first attempt, then dropped (and
logged). Bodies are Leaf's compact JSON (``", "`` / ``": "`` separators, no newlines),
signed with HMAC-SHA256 of the exact bytes, base64 digest in ``X-Leaf-Signature``.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leafnb.keys import Event
from leafnb.server.auth import ServerStore

__all__ = ["ALERT_EVENTS", "WebhookDispatcher", "encode_body", "sign"]

log = logging.getLogger(__name__)

#: events a webhook may subscribe to: spec §9 (leafnb fires the :class:`leafnb.keys.Event` ones)
ALERT_EVENTS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *(e.value for e in Event),
            "providerFileProcessingFinished",
            "providerFileProcessingFailed",
            "machineCreated",
            "machineUpdated",
            "machineDeleted",
            "implementCreated",
            "implementUpdated",
            "fieldCreated",
            "fieldUpdated",
            "mergedFieldCreated",
            "mergedFieldUpdated",
            "fieldBoundaryCreated",
            "fieldBoundaryUpdated",
            "credentialsLimitedPermission",
            "credentialsUnauthenticated",
        ]
    )
)


def encode_body(payload: dict[str, Any]) -> bytes:
    """Leaf's compact JSON: only a space after ``:`` and ``,``."""
    return json.dumps(payload, separators=(", ", ": "), ensure_ascii=False).encode()


def sign(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of *body* with *secret* (the ``X-Leaf-Signature`` header)."""
    return base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()
    ).decode()


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    secret: str = field(compare=False)
    body: bytes = field(compare=False)
    webhook_id: str = field(compare=False)
    attempt: int = field(default=0, compare=False)
    first: float = field(default=0.0, compare=False)


class WebhookDispatcher:
    """Queue + worker thread delivering events to registered webhooks."""

    def __init__(
        self,
        store: ServerStore,
        *,
        max_tries: int = 5,
        base_delay: float = 1.0,
        max_total: float = 30.0,
        timeout: float = 5.0,
        sender: Callable[[str, bytes, dict[str, str], float], int] | None = None,
    ):
        self.store = store
        self.max_tries, self.base_delay, self.max_total, self.timeout = (
            max_tries,
            base_delay,
            max_total,
            timeout,
        )
        self._send = sender or _http_post
        self._heap: list[_Delivery] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self.delivered: list[
            tuple[str, int]
        ] = []  # (webhook id, HTTP status) of successful deliveries
        self.dropped: list[tuple[str, str]] = []  # (webhook id, last error)

    # -------------------------------------------------------------- lifecycle
    def attach(self, ws) -> None:
        """Subscribe to every Workspace event and start the worker thread."""
        for event in Event:
            self._unsubscribe.append(ws.on(event.value, self.handle))
        self.start()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(
                target=self._run, name="leafnb-webhooks", daemon=True
            )
            self._thread.start()

    def close(self, drain: float = 0.0) -> None:
        """Unsubscribe and stop the worker (after up to *drain* seconds for pending deliveries)."""
        for off in self._unsubscribe:
            off()
        self._unsubscribe.clear()
        deadline = time.monotonic() + drain
        while drain and self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    # -------------------------------------------------------------- events
    def handle(self, payload: dict[str, Any]) -> None:
        """Event callback: enqueue one delivery per webhook of the event's owner (never blocks on I/O)."""
        uid = payload.get("leafUserId")
        owner = self.store.owner_of(uid) if isinstance(uid, str) else None
        if owner is None:
            return  # an event of a leafUserId no API owner has claimed: nobody to tell
        event = payload.get("type")
        body = encode_body(payload)
        now = time.monotonic()
        with self._cv:
            for hook in self.store.webhooks(owner, with_secret=True):
                if event in hook["events"]:
                    heapq.heappush(
                        self._heap,
                        _Delivery(
                            now,
                            next(self._seq),
                            hook["url"],
                            hook["secret"],
                            body,
                            hook["id"],
                            0,
                            now,
                        ),
                    )
            self._cv.notify_all()

    # -------------------------------------------------------------- worker
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (
                    not self._heap or self._heap[0].due > time.monotonic()
                ):
                    self._cv.wait(
                        None
                        if not self._heap
                        else max(0.0, self._heap[0].due - time.monotonic())
                    )
                if self._stop:
                    return
                item = heapq.heappop(self._heap)
            self._attempt(item)

    def _attempt(self, item: _Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Leaf-Signature": sign(item.secret, item.body),
            "User-Agent": "leafnb-webhooks",
        }
        error = ""
        try:
            status = self._send(item.url, item.body, headers, self.timeout)
            if 200 <= status < 300:
                self.delivered.append((item.webhook_id, status))
                return
            error = f"HTTP {status}"
        except Exception as exc:  # network errors are retried, never raised
            error = f"{type(exc).__name__}: {exc}"
        item.attempt += 1
        delay = self.base_delay * 2 ** (item.attempt - 1)
        if (
            item.attempt >= self.max_tries
            or (time.monotonic() + delay - item.first) > self.max_total
        ):
            log.warning(
                "webhook %s: giving up after %d attempts (%s)",
                item.webhook_id,
                item.attempt,
                error,
            )
            self.dropped.append((item.webhook_id, error))
            return
        item.due, item.seq = time.monotonic() + delay, next(self._seq)
        with self._cv:
            heapq.heappush(self._heap, item)
            self._cv.notify_all()


def _http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
