"""Webhook delivery (spec §9): Workspace events -> signed POSTs to the owner's webhooks.

``WebhookDispatcher.attach(ws)`` subscribes to every leafnb event with ``Workspace.on``.
The callback only looks up the owner of the event's ``leafUserId`` and enqueues one delivery
per matching webhook, so processing threads never wait on the network. One daemon worker
thread sends deliveries in due-time order; a failed delivery (connection error, timeout or
a non-2xx answer) is rescheduled with exponential backoff (``base_delay * 2**n``) until
``max_tries`` attempts or ``max_total`` seconds since the first attempt, then dropped (and
logged). Bodies are Leaf's compact JSON (``", "`` / ``": "`` separators, no newlines),
signed with HMAC-SHA256 of the exact bytes, base64 digest in ``X-Leaf-Signature``.

Webhook URLs are given by API owners, so they must not turn the server into a proxy
into its own network (SSRF). :func:`check_target` refuses a URL whose host is, or
resolves to, a loopback, private, link-local (cloud metadata), shared, multicast,
reserved or unspecified address; the app calls it when a webhook is registered (a name
that does not resolve yet is accepted then) and :func:`post_webhook` calls it again at
every delivery, *after* resolving the name, and connects to the very address it checked
(a DNS answer that changes in between cannot redirect the request). Redirects are not
followed (a 3xx is a failed delivery). ``allow_private=True`` (``leafnb serve
--allow-private-webhooks``; off by default) lifts the address check, for receivers on
the same machine or network.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import http.client
import ipaddress
import itertools
import json
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leafnb.errors import InvalidRequest
from leafnb.keys import Event
from leafnb.store.server_state import ServerStore

__all__ = [
    "ALERT_EVENTS",
    "RefusedTarget",
    "WebhookDispatcher",
    "check_target",
    "encode_body",
    "post_webhook",
    "sign",
]

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


class RefusedTarget(InvalidRequest):
    """A webhook URL that is not http(s) or whose host is not a public address."""


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why *ip* is not a public address (None when it is)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attr, what in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attr):
            return what
    return None if ip.is_global else "non-public"


def check_target(
    url: str, *, allow_private: bool = False, resolve: bool = True
) -> tuple[urllib.parse.SplitResult, int, list[str]]:
    """Parse *url* and check the addresses of its host: ``(parts, port, addresses)``.

    *resolve* False (registration) checks only an IP-literal host and accepts a name
    that does not resolve; deliveries resolve and check every address.

    Raises
    ------
    RefusedTarget
        Not an http(s) URL, or the host is/resolves to a non-public address.
    OSError
        The host name does not resolve (deliveries only; retried later).

    Examples
    --------
    >>> check_target("http://127.0.0.1:8080/hook")
    Traceback (most recent call last):
    ...
    leafnb.server.webhooks.RefusedTarget: webhook URL host is a loopback address; ...
    >>> check_target("http://127.0.0.1:8080/hook", allow_private=True)[2]
    ['127.0.0.1']
    """
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedTarget("url has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("url must be an http(s) URL")
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            if not resolve:
                return parts, port, []
            raise
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            why = _not_public(ipaddress.ip_address(address.split("%")[0]))
            if why:
                raise RefusedTarget(
                    f"webhook URL host {'is' if address == host else 'resolves to'} a "
                    f"{why} address; webhooks may only target public addresses "
                    "(the server's --allow-private-webhooks setting allows others)"
                )
    return parts, port, addresses


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a checked address, with the URL's host name in ``Host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is verified for the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post_webhook(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    allow_private: bool = False,
) -> int:
    """POST *body* to *url* (checked with :func:`check_target`); return the HTTP status.

    Redirects are returned, never followed.
    """
    parts, port, addresses = check_target(url, allow_private=allow_private)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    error: OSError | None = None
    for address in addresses:
        conn = kind(parts.hostname, port, address, timeout)
        try:
            conn.request("POST", target, body=body, headers=headers)
            return conn.getresponse().status
        except OSError as exc:  # try the host's next address
            error = exc
        finally:
            conn.close()
    raise error or OSError(f"no address for {parts.hostname}")


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
        allow_private: bool = False,
        sender: Callable[[str, bytes, dict[str, str], float], int] | None = None,
    ):
        self.store = store
        self.max_tries, self.base_delay, self.max_total, self.timeout = (
            max_tries,
            base_delay,
            max_total,
            timeout,
        )
        #: deliver to loopback/private/link-local addresses too (off by default)
        self.allow_private = allow_private
        self._send = sender or self._post
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

    def _post(self, url: str, body: bytes, headers: dict[str, str], timeout: float):
        return post_webhook(
            url, body, headers, timeout, allow_private=self.allow_private
        )

    # -------------------------------------------------------------- lifecycle
    def attach(self, ws) -> None:
        """Subscribe to every Workspace event and start the worker thread."""
        for event in Event:
            self._unsubscribe.append(ws.on(event.value, self.handle))
        self.start()

    def start(self) -> None:
        """Start the delivery thread (again, after :meth:`close`)."""
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
        """Number of deliveries waiting to be sent or retried."""
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
            error = f"HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
        except RefusedTarget as exc:  # the host now resolves to a refused address
            log.warning("webhook %s: not delivered: %s", item.webhook_id, exc)
            self.dropped.append((item.webhook_id, str(exc)))
            return
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
