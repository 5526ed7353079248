"""Run leases: which process is working on a batch, and whether it is still alive.

A batch is worked on (extracted, detected, converted) by one *run* at a time. A run
holds a row of the catalog's ``runs`` table, written in the same transaction that
creates the batch or starts its retry:

``token``
    random id of the run (only its holder renews or releases it);
``host``
    this machine: host name + kernel boot id (``/proc/sys/kernel/random/boot_id``);
``pid``, ``pid_start``
    the holder process and its start time (``/proc/<pid>/stat`` field 22), which
    tells a live holder from a new process that got the same pid;
``heartbeat``
    Unix time of the last renewal; a thread of the holder renews it every
    :data:`HEARTBEAT_SECONDS`.

A holder is **dead** when it ran on this host and its process is gone (or a zombie, or
another process with a different start time has its pid): that is known at once. A
holder on another host (a workspace on a shared file system) is dead when its heartbeat
is older than :data:`LEASE_SECONDS`. A run whose holder is dead is *interrupted*: the
next run of the batch (a retry, or the recovery done when a Workspace is opened) takes
the lease over and is told so (see :func:`acquire`).

Examples
--------
>>> import tempfile, pathlib
>>> from leafnb.store.catalog import Catalog
>>> cat = Catalog(pathlib.Path(tempfile.mkdtemp()) / "catalog.sqlite")
>>> with cat.transaction() as conn:
...     _ = conn.execute(
...         "INSERT INTO batches (id, leaf_user_id, provider, status, upload_timestamp,"
...         " updated_time) VALUES ('b', 'u', 'Other', 'RECEIVED', '', '')"
...     )
>>> lease, interrupted = acquire(cat, "b")
>>> interrupted
False
>>> acquire(cat, "b")
Traceback (most recent call last):
...
leafnb.errors.BatchBusy: batch 'b' is being processed ...
>>> lease.release()
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cache

from leafnb.errors import BatchBusy
from leafnb.events import utc_now
from leafnb.store.catalog import Catalog

__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_SECONDS",
    "RunLease",
    "acquire",
    "holder_alive",
    "host_id",
    "insert_run",
    "stale_runs",
]

log = logging.getLogger(__name__)

#: a holder on another host is presumed dead when its heartbeat is older than this
LEASE_SECONDS = 60.0
#: how often a holder renews its heartbeat
HEARTBEAT_SECONDS = 15.0


@cache
def host_id() -> str:
    """Identify this machine: host name plus the kernel's boot id (new after a reboot)."""
    boot = ""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()
    except OSError:
        pass
    return f"{socket.gethostname()}/{boot}"


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (None: no such file)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def process_start(pid: int) -> str:
    """Start time of *pid* in clock ticks since boot ('' where /proc is missing)."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else ""


def _process_alive(pid: int, start: str) -> bool:
    """True when *pid* runs and is the process that started at *start*."""
    fields = _proc_stat(pid)
    if fields is not None:  # Linux: state Z/X is a dead process not reaped yet
        if fields[0] in ("Z", "X"):
            return False
        return not start or (len(fields) > 19 and fields[19] == start)
    try:  # no /proc, or it hides other users' processes (hidepid)
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_alive(row: sqlite3.Row | dict, now: float | None = None) -> bool:
    """Whether the run recorded in *row* (a ``runs`` row) may still be working."""
    if row["host"] == host_id():
        return _process_alive(int(row["pid"]), row["pid_start"] or "")
    now = time.time() if now is None else now
    return now - float(row["heartbeat"]) < LEASE_SECONDS


@dataclass
class RunLease:
    """The right to work on one batch; :meth:`start` renews it in a daemon thread."""

    catalog: Catalog
    batch_id: str
    token: str
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> RunLease:
        """Start renewing the heartbeat (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._beat, name=f"leafnb-lease-{self.batch_id[:8]}", daemon=True
            )
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self.catalog.transaction() as conn:
                    kept = conn.execute(
                        "UPDATE runs SET heartbeat=? WHERE batch_id=? AND token=?",
                        (time.time(), self.batch_id, self.token),
                    ).rowcount
            except Exception:  # a busy catalog: try again next beat
                log.warning(
                    "lease of batch %s not renewed", self.batch_id, exc_info=True
                )
                continue
            if not kept:
                log.warning("lease of batch %s was taken over", self.batch_id)
                return

    def release(self) -> None:
        """Stop renewing and delete the lease (only if this run still holds it)."""
        self._stop.set()
        with self.catalog.transaction() as conn:
            conn.execute(
                "DELETE FROM runs WHERE batch_id=? AND token=?",
                (self.batch_id, self.token),
            )


def insert_run(conn: sqlite3.Connection, batch_id: str) -> str:
    """Record a run of *batch_id* held by this process (inside the caller's transaction)."""
    token = uuid.uuid4().hex
    pid = os.getpid()
    conn.execute(
        "INSERT INTO runs (batch_id, token, host, pid, pid_start, started, heartbeat)"
        " VALUES (?,?,?,?,?,?,?)",
        (batch_id, token, host_id(), pid, process_start(pid), utc_now(), time.time()),
    )
    return token


def acquire(catalog: Catalog, batch_id: str) -> tuple[RunLease, bool]:
    """Take the lease of *batch_id*: ``(lease, interrupted)``.

    ``interrupted`` is True when a dead holder's run was taken over: the caller must
    treat the batch's unfinished work as interrupted before going on.

    Raises
    ------
    BatchBusy
        A live run holds the batch.
    """
    with catalog.transaction() as conn:
        row = conn.execute(
            "SELECT * FROM runs WHERE batch_id=?", (batch_id,)
        ).fetchone()
        if row is not None and holder_alive(row):
            raise BatchBusy(
                f"batch {batch_id!r} is being processed (run started {row['started']}); "
                "retry it after it has finished"
            )
        if row is not None:
            conn.execute("DELETE FROM runs WHERE batch_id=?", (batch_id,))
        token = insert_run(conn, batch_id)
    return RunLease(catalog, batch_id, token), row is not None


def stale_runs(catalog: Catalog) -> list[str]:
    """Batch ids whose run holder is dead."""
    now = time.time()
    return [
        r["batch_id"]
        for r in catalog.query("SELECT * FROM runs")
        if not holder_alive(r, now)
    ]
