"""ChunkedUpload: a file from the browser to the kernel in slices, of any size up to Leaf's 3 GB.

ipywidgets' ``FileUpload`` sends a file in one websocket message, and Jupyter's server
drops messages over 10 MiB: larger files never arrived and nothing said so
(jupyter-widgets/ipywidgets#2522). This widget's front end (``transfer.js``, a plain ES
module served by anywidget — no build step, no CDN) reads the file in slices and sends each
as the binary buffer of a custom message; this side appends them to a temporary file,
acknowledges each one, and the front end keeps at most ``window`` slices unacknowledged
(backpressure). It works wherever anywidget does: JupyterLab, Notebook 7, VS Code.

This side validates everything and writes every message the user sees: a name that is not
``.zip``, a size over :attr:`ChunkedUpload.max_bytes`, bytes that do not start like a zip,
an out-of-order slice, a write error, or a transfer that stops (no slice for
:attr:`ChunkedUpload.stale_after` seconds: tab closed, connection lost) — each ends the
transfer with ``state = "failed"`` and a message saying what happened and what to do; the
partial file is deleted.

Examples
--------
>>> from leafnb.widgets.transfer import ChunkedUpload
>>> sender = ChunkedUpload()
>>> sender.on_received(lambda path, name: print(name, path.stat().st_size))  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anywidget
import traitlets as t

__all__ = ["LEAF_UPLOAD_LIMIT", "ChunkedUpload", "size_text"]

#: Leaf accepts uploads up to 3 GB (spec §4.3); leafnb's extraction has the same limit
LEAF_UPLOAD_LIMIT = 3 * 1024**3

#: what a zip starts with: a local file header, or the end record of an empty zip
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")


def size_text(n: float) -> str:
    """Bytes as a person reads them (decimal units, as browsers and file managers show them).

    >>> size_text(1_234_567_890), size_text(2_500_000), size_text(999)
    ('1.23 GB', '2.5 MB', '999 bytes')
    """
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.0f} kB"
    return f"{int(n)} bytes"


@dataclass
class _Transfer:
    id: str
    name: str
    size: int
    folder: Path
    out: BinaryIO
    received: int = 0
    last_heard: float = 0.0

    @property
    def path(self) -> Path:
        return self.folder / self.name


class ChunkedUpload(anywidget.AnyWidget):
    """Choose (or drop) a file in the browser; it arrives in the kernel in slices, with a byte progress bar.

    Call :meth:`on_received` to be handed each complete file (a path in a new temporary
    folder, which the callback owns). The front end shows the bytes acknowledged by the
    kernel, the rate and the time left; :attr:`state` and :attr:`message` say how it ended.
    """

    _esm = Path(__file__).with_name("transfer.js")

    accept = t.Unicode(".zip").tag(sync=True)
    """File types offered by the browser's chooser (the ``accept`` attribute).

    - Type: str
    - Default: ``".zip"``
    """
    max_bytes = t.Int(LEAF_UPLOAD_LIMIT).tag(sync=True)
    """Largest file accepted (bytes).

    - Type: int
    - Default: 3 GiB (Leaf's limit)
    """
    chunk_bytes = t.Int(4 * 1024**2).tag(sync=True)
    """Bytes per slice (well below the server's 10 MiB websocket message limit).

    - Type: int
    - Default: 4 MiB
    """
    window = t.Int(4).tag(sync=True)
    """Slices the front end may send before their acknowledgement.

    - Type: int
    - Default: 4
    """
    ack_timeout = t.Float(120.0).tag(sync=True)
    """Seconds the front end waits for an acknowledgement before giving up.

    - Type: float
    - Default: 120
    """
    stale_after = t.Float(120.0)
    """Seconds without a slice after which this side gives the transfer up as interrupted.

    - Type: float
    - Default: 120
    """
    disabled = t.Bool(False).tag(sync=True)
    """No new transfer can start (e.g. while the previous upload is being unpacked).

    - Type: bool
    - Default: False
    """
    state = t.Enum(
        ("idle", "receiving", "received", "failed"), default_value="idle"
    ).tag(sync=True)
    """``idle``, ``receiving``, ``received`` (the last file arrived whole) or ``failed``.

    - Type: str
    """
    message = t.Unicode("").tag(sync=True)
    """What happened last, in words (shown under the bar).

    - Type: str
    """
    file_name = t.Unicode("").tag(sync=True)
    """Name of the file being (or last) transferred.

    - Type: str
    """
    total_bytes = t.Int(0).tag(sync=True)
    """Size of that file.

    - Type: int
    """
    received_bytes = t.Int(0).tag(sync=True)
    """Bytes of it written on this side so far.

    - Type: int
    """
    seconds = t.Float(0.0).tag(sync=True)
    """Duration of the last complete transfer, as the browser measured it (first slice sent → last acknowledged).

    - Type: float
    """

    def __init__(self, directory: str | Path | None = None, **kwargs: Any):
        """*directory*: where received files are written (default: the system's temporary folder)."""
        super().__init__(**kwargs)
        self.directory = Path(directory) if directory else None
        self._transfer: _Transfer | None = None
        self._callbacks: list[Callable[[Path, str], None]] = []
        self._lock = threading.RLock()
        self._clock = time.monotonic
        self.on_msg(self._on_msg)

    # ------------------------------------------------------------------ API
    def on_received(self, callback: Callable[[Path, str], None]) -> None:
        """Call ``callback(path, name)`` with each file received whole (the callback owns *path*)."""
        self._callbacks.append(callback)

    @property
    def mb_per_second(self) -> float:
        """Throughput of the last complete transfer (MB/s, 10⁶ bytes), 0 before one."""
        return self.total_bytes / 1e6 / self.seconds if self.seconds else 0.0

    def check_stalled(self, now: float | None = None) -> bool:
        """Give up the transfer in progress if no slice came for :attr:`stale_after` s; True if it did."""
        with self._lock:
            tr = self._transfer
            now = self._clock() if now is None else now
            if tr is None or now - tr.last_heard <= self.stale_after:
                return False
            self._fail(
                tr,
                f"Transfer of {tr.name} interrupted after {size_text(tr.received)} of "
                f"{size_text(tr.size)}: nothing arrived for {self.stale_after:.0f} s (browser tab "
                "closed or connection lost). Choose the file again.",
            )
            return True

    def close(self) -> None:
        """Drop any partial transfer and close the widget."""
        with self._lock:
            if self._transfer is not None:
                self._discard(self._transfer)
        super().close()

    # ------------------------------------------------------------------ protocol
    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list) -> None:
        kind = content.get("kind")
        with self._lock:
            if kind == "start":
                self._start(content)
                return
            tr = self._transfer
            if tr is None or content.get("id") != tr.id:
                if kind == "chunk":  # a slice of a transfer given up: stop its sender
                    self.send(
                        {
                            "kind": "failed",
                            "id": content.get("id"),
                            "message": self.message or "This transfer was given up.",
                        }
                    )
                return
            tr.last_heard = self._clock()
            if kind == "chunk":
                self._chunk(tr, int(content.get("offset", -1)), buffers)
            elif kind == "end":
                self._end(tr, float(content.get("seconds") or 0.0))
            elif kind == "abort":
                reason = str(
                    content.get("reason") or "the browser stopped the transfer"
                )
                self._fail(tr, reason, notify=False)

    def _start(self, content: dict[str, Any]) -> None:
        token = content.get("token")
        name = Path(str(content.get("name") or "upload.zip")).name
        size = int(content.get("size") or 0)

        def refuse(message: str) -> None:
            self._set(state="failed", message=message, file_name=name, total_bytes=size)
            self.send({"kind": "failed", "token": token, "message": message})

        if self._transfer is not None:
            refuse(
                f"{self._transfer.name} is still being received; wait for it or cancel it first."
            )
            return
        if self.disabled:
            refuse(
                "The previous upload is still being unpacked; try again in a moment."
            )
            return
        suffixes = [s.strip().lower() for s in self.accept.split(",") if s.strip()]
        if suffixes and not name.lower().endswith(tuple(suffixes)):
            refuse(
                f"{name} is not a {' or '.join(suffixes)} file: zip the monitor folder "
                "(or the files) and upload the zip."
            )
            return
        if size <= 0:
            refuse(f"{name} is empty.")
            return
        if size > self.max_bytes:
            have, limit = size_text(size), size_text(self.max_bytes)
            if have == limit:  # rounded alike: say it in bytes
                have, limit = f"{size:,} bytes", f"{self.max_bytes:,} bytes"
            if self.max_bytes == LEAF_UPLOAD_LIMIT:
                limit += " (3 GiB, Leaf's limit)"
            refuse(
                f"{name} is {have}; uploads are limited to {limit}. "
                "Split it into several zips (e.g. one per season or machine)."
            )
            return
        folder = Path(tempfile.mkdtemp(prefix=".leafnb-upload-", dir=self.directory))
        try:
            out = open(folder / name, "wb")  # noqa: SIM115 (closed by _end/_discard)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            refuse(f"Cannot store {name} on the kernel's machine: {exc}")
            return
        tr = _Transfer(uuid.uuid4().hex, name, size, folder, out)
        tr.last_heard = self._clock()
        self._transfer = tr
        self._set(
            state="receiving",
            message=f"Receiving {name} ({size_text(size)})…",
            file_name=name,
            total_bytes=size,
            received_bytes=0,
            seconds=0.0,
        )
        self.send({"kind": "ready", "token": token, "id": tr.id})
        threading.Thread(
            target=self._watch, args=(tr,), daemon=True, name="leafnb-transfer-watch"
        ).start()

    def _chunk(self, tr: _Transfer, offset: int, buffers: list) -> None:
        data = memoryview(buffers[0]).cast("B") if buffers else memoryview(b"")
        if offset != tr.received or not len(data):
            self._fail(
                tr,
                f"Transfer of {tr.name} broke: expected bytes from {tr.received}, got "
                f"{len(data)} bytes at {offset}. Choose the file again.",
            )
            return
        if tr.received + len(data) > tr.size:
            self._fail(
                tr,
                f"{tr.name} sent more than its announced {size_text(tr.size)} (did it change "
                "while uploading?). Choose the file again.",
            )
            return
        if offset == 0 and bytes(data[:4]) not in _ZIP_SIGNATURES:
            self._fail(
                tr,
                f"{tr.name} is not a zip archive (its content does not start like one); "
                "zip the monitor folder and upload the zip.",
            )
            return
        try:
            tr.out.write(data)
        except OSError as exc:
            self._fail(tr, f"Cannot store {tr.name} on the kernel's machine: {exc}")
            return
        tr.received += len(data)
        self.received_bytes = tr.received
        self.send({"kind": "ack", "id": tr.id, "received": tr.received})

    def _end(self, tr: _Transfer, seconds: float) -> None:
        if tr.received != tr.size:
            self._fail(
                tr,
                f"Transfer of {tr.name} ended after {size_text(tr.received)} of "
                f"{size_text(tr.size)}. Choose the file again.",
            )
            return
        tr.out.close()
        self._transfer = None
        self._set(
            state="received",
            seconds=seconds,
            message=f"Received {tr.name}: {size_text(tr.size)}"
            + (
                f" in {seconds:.1f} s ({tr.size / 1e6 / seconds:.0f} MB/s)"
                if seconds
                else ""
            ),
        )
        for callback in list(self._callbacks):
            callback(tr.path, tr.name)

    def _fail(self, tr: _Transfer, message: str, notify: bool = True) -> None:
        self._discard(tr)
        self._set(state="failed", message=message)
        if notify:
            self.send({"kind": "failed", "id": tr.id, "message": message})

    def _set(self, **values: Any) -> None:
        """Change several synced traits in one message to the front end."""
        with self.hold_sync():
            for name, value in values.items():
                setattr(self, name, value)

    def _discard(self, tr: _Transfer) -> None:
        tr.out.close()
        shutil.rmtree(tr.folder, ignore_errors=True)
        if self._transfer is tr:
            self._transfer = None

    def _watch(self, tr: _Transfer) -> None:
        """Background check for a stalled transfer (the browser cannot always say it left)."""
        while self._transfer is tr:
            time.sleep(min(5.0, max(self.stale_after / 4, 0.05)))
            self.check_stalled()
