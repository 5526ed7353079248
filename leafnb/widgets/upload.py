"""UploadPanel: send machine files (browser, or a path on the kernel's machine) and follow the batch.

What the user sees, in order:

1. **Bytes.** A zip chosen in the browser travels in slices (:class:`ChunkedUpload`) with
   a byte progress bar, rate and time left, up to Leaf's 3 GB. A path typed or picked in
   the folder browser (a zip, a folder, one machine file) is prepared by
   :func:`leafnb.inputs.prepare_upload` (a folder is zipped with each dataset once).
2. **Unpacking.** The zip is checked and extracted (``Workspace.upload_batch(wait=False)``),
   in a background thread so the panel keeps answering; a message says so at once.
3. **Steps.** One bar per file, moving by processing step, and a batch bar with the files
   settled, the bytes converted and the time left. Step progress is read from the File
   resource: the pipeline records a file's steps only when it settles, so a file still
   processing is placed by the artifacts it has written so far (``rawGeoparquet`` after
   ``rawGeojson``, ``standardGeoparquet`` after ``standardGeojson``, ``filteredGeoparquet``,
   then ``summary``). The panel re-reads on the Workspace's file and batch events and every
   :attr:`UploadPanel.poll_seconds` while the batch runs.
"""

from __future__ import annotations

import html
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets as t

from leafnb.inputs import prepare_upload
from leafnb.keys import FILE_STEPS, PROVIDERS, BatchStatus, Event, StepStatus
from leafnb.report import files_table_html
from leafnb.widgets._base import Panel, batch_files
from leafnb.widgets.transfer import LEAF_UPLOAD_LIMIT, ChunkedUpload, size_text
from leafnb.workspace import Workspace

__all__ = ["UploadPanel", "eta_text", "file_step"]

_BAR_STYLE = {"processed": "success", "failed": "danger", "processing": "info"}
_SETTLED = (BatchStatus.PROCESSED.value, BatchStatus.FAILED.value)
#: the last step whose artifact a File resource shows, for a file still processing
_ARTIFACT_STEPS = (
    ("summary", FILE_STEPS.index("summary") + 1),
    ("filteredGeoparquet", FILE_STEPS.index("filteredGeojson") + 1),
    ("standardGeoparquet", FILE_STEPS.index("standardGeojson") + 1),
    ("rawGeoparquet", FILE_STEPS.index("rawGeojson") + 1),
    # (the original is extracted, or can be from the upload: it is being read)
    ("downloadOriginalFile", FILE_STEPS.index("originalFile") + 1),
)
#: most entries listed by the folder browser
_MAX_ENTRIES = 500


def file_step(
    f: dict[str, Any], steps: dict[str, dict[str, str]] | None = None
) -> tuple[int, str]:
    """``(steps done, label)`` of a File resource (out of ``len(FILE_STEPS)``).

    A settled file counts every step (``processed``) or the steps before the failed one
    (*steps* is its ``get_file_status``); a file still processing counts the steps whose
    artifacts it shows.

    >>> file_step({"status": "processing", "rawGeoparquet": "/w/raw.parquet"})
    (2, 'normalizedGeojson…')
    >>> file_step({"status": "processed"})
    (9, 'processed')
    """
    total = len(FILE_STEPS)
    if f["status"] == StepStatus.PROCESSED:
        return total, "processed"
    if f["status"] == StepStatus.FAILED:
        steps = steps or {}
        failed = next(
            (
                (i, name, s.get("message", ""))
                for i, (name, s) in enumerate(steps.items())
                if s.get("status") == StepStatus.FAILED
            ),
            None,
        )
        if failed is None:
            return 0, "failed"
        i, name, message = failed
        return i, f"failed at {name}: {message}"
    done = next((n for key, n in _ARTIFACT_STEPS if f.get(key)), 0)
    return done, f"{FILE_STEPS[done]}…"


def eta_text(elapsed: float, fraction: float) -> str:
    """Time left for work that is *fraction* done after *elapsed* seconds (linear), in words.

    >>> eta_text(30, 0.25), eta_text(10, 0.0), eta_text(100, 1.0)
    ('about 1 min 30 s left', '', '')
    """
    if fraction <= 0 or fraction >= 1:
        return ""
    left = elapsed * (1 - fraction) / fraction
    if left < 60:
        return f"about {max(1, round(left))} s left"
    return f"about {int(left // 60)} min {round(left % 60):02d} s left"


class _FileRow(w.HBox):
    """One file's bar with its full name and current step (names wrap, never cut)."""

    def __init__(self, name: str):
        self.bar = w.IntProgress(min=0, max=len(FILE_STEPS), value=0)
        self.bar.layout = w.Layout(width="220px", flex="0 0 220px")
        self.label = w.HTML()
        self.label.layout = w.Layout(flex="1 1 auto")
        self.name = name
        super().__init__([self.bar, self.label])
        self.add_class("leafnb-file-progress")

    def show(self, done: int, label: str, status: str) -> None:
        self.bar.value = done
        self.bar.bar_style = _BAR_STYLE.get(status, "")
        self.label.value = (
            f"<span class='leafnb-file-name' style='word-break:break-all'>{html.escape(self.name)}</span>"
            f" <small>· {done}/{len(FILE_STEPS)} · {html.escape(label)}</small>"
        )


class UploadPanel(w.VBox, Panel):
    """Upload a zip of machine files and watch its batch convert.

    A zip comes from the browser (any size up to Leaf's 3 GB, sent in slices with a byte
    progress bar) or from the machine running the kernel: a path typed in or picked in
    the folder browser — a ``.zip``, a folder (a monitor card: zipped with each dataset
    once) or one machine file. Conversion runs in the background; the panel shows a bar
    per file moving by processing step, a batch bar with the time left, then the file
    table, and a message for any failure.

    Examples
    --------
    >>> from leafnb.widgets import UploadPanel
    >>> panel = UploadPanel(ws, leaf_user_id="grower-1")  # doctest: +SKIP
    >>> panel.upload("card.zip")                           # doctest: +SKIP
    """

    leaf_user_id = t.Unicode("local-user")
    """Owner of the uploaded files (``leafUserId``).

    - Type: str
    - Default: ``"local-user"``
    """
    provider = t.Enum(PROVIDERS, default_value="Other")
    """Leaf provider of the upload; ``Other`` auto-detects.

    - Type: one of :data:`leafnb.keys.PROVIDERS`
    - Default: ``"Other"``
    """
    folder = t.Unicode("")
    """Folder on the kernel's machine shown in the folder browser.

    - Type: str
    - Default: the current directory
    """
    batch_id = t.Unicode("")
    """Id of the last batch uploaded from this panel.

    - Type: str
    - Default: ``""``
    """
    max_bytes = t.Int(LEAF_UPLOAD_LIMIT)
    """Largest browser upload accepted (bytes).

    - Type: int
    - Default: 3 GiB (Leaf's limit)
    """
    poll_seconds = t.Float(0.5)
    """How often the bars are re-read while a batch runs (0: only on the Workspace's events).

    - Type: float
    - Default: 0.5
    """

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        self.note = w.HTML(
            "<b>Upload machine files</b>: a .zip of monitor exports (nested zips and folders "
            "welcome), up to 3 GB from this browser, or a zip, folder or file on the machine "
            "running Python."
        )
        # received files go to the workspace's disk (/tmp is often in memory), then into it
        self.sender = ChunkedUpload(directory=workspace.path)
        self.path_box = w.Text(
            placeholder="/path/to/card.zip, a folder or one file",
            description="Path",
            layout=w.Layout(width="60%"),
        )
        self.upload_button = w.Button(
            description="Upload", button_style="primary", icon="upload"
        )
        self.folder_label = w.HTML()
        self.chooser = w.Select(options=[], rows=8, layout=w.Layout(width="60%"))
        self.user_box = w.Text(
            description="leafUserId", value=opts.get("leaf_user_id", self.leaf_user_id)
        )
        self.provider_box = w.Dropdown(
            options=list(PROVIDERS),
            description="Provider",
            value=opts.get("provider", self.provider),
        )
        self.message = w.HTML()
        self.message.add_class("leafnb-upload-message")
        self.batch_progress = w.IntProgress(
            value=0, min=0, max=1, description="Batch", bar_style="info"
        )
        self.batch_text = w.HTML()
        self.batch_row = w.HBox(
            [self.batch_progress, self.batch_text], layout=w.Layout(display="none")
        )
        self.file_progress = w.VBox()
        self.table = w.HTML()
        self._rows: dict[str, _FileRow] = {}
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._closed = False
        self._clock = time.monotonic
        self._started = 0.0
        self._listing = False
        self._left_out: dict[
            str, str
        ] = {}  # batch id → what its upload left out (HTML)
        self._follow(
            (
                Event.UPLOADED_FILE_FINISHED,
                Event.UPLOADED_FILE_FAILED,
                Event.BATCH_FINISHED,
            ),
            self._on_event,
        )
        t.link((self.user_box, "value"), (self, "leaf_user_id"))
        t.link((self.provider_box, "value"), (self, "provider"))
        t.link((self, "max_bytes"), (self.sender, "max_bytes"))
        self.chooser.observe(self._guarded(self._on_choose), "value")
        self.sender.on_received(self._on_received)
        self.upload_button.on_click(lambda _: self.start_upload(self.path_box.value))
        super().__init__(
            children=[
                self.note,
                self.sender,
                w.HBox([self.path_box, self.upload_button]),
                self.folder_label,
                self.chooser,
                w.HBox([self.user_box, self.provider_box]),
                self.message,
                self.batch_row,
                self.file_progress,
                self.table,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        self.add_class("leafnb-upload")
        for name, value in opts.items():
            setattr(self, name, value)
        if not self.folder:
            self.folder = str(Path.cwd())

    # ------------------------------------------------------------------ actions
    def upload(self, source: str | Path) -> dict[str, Any]:
        """Upload a ``.zip``, a folder or one machine file from this machine; returns the batch (RECEIVED).

        Runs in the calling thread until the batch is received (zipping a folder, checking
        and unpacking the zip); conversion goes on in the background. The button does the
        same in a background thread (:meth:`start_upload`).
        """
        self.errors.clear()
        self._say(f"Preparing {html.escape(Path(str(source)).name or str(source))}…")
        prepared = prepare_upload(source, temp_dir=self.workspace.path)
        try:
            size = prepared.path.stat().st_size
            self._say(
                f"Checking and unpacking {html.escape(prepared.path.name)} ({size_text(size)})…"
            )
            batch = self.workspace.upload_batch(
                prepared.path, self.leaf_user_id, self.provider, wait=False
            )
        finally:
            prepared.cleanup()
        left_out = "".join(
            f"<br><small>left out: {html.escape(line)}</small>"
            for line in prepared.skipped
        )
        self._left_out = {batch["id"]: left_out}
        self._say(
            f"Batch <code>{batch['id']}</code> received: {html.escape(batch['fileName'])}"
            f" ({size_text(batch['size'])}); converting…{left_out}"
        )
        self.batch_id = batch["id"]
        return batch

    def start_upload(self, source: str | Path) -> None:
        """:meth:`upload` in a background thread (errors go to the panel's error output)."""
        self._in_background(self.upload, source)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the upload being prepared and for the Workspace's background batches."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        self.workspace.wait(timeout)
        poller = self._poller
        if poller is not None:
            poller.join(timeout)

    def refresh(self) -> None:
        """Re-read the batch and its files; update the bars, the time left and the table."""
        if not self.batch_id:
            return
        with self._lock:
            self._show(self.workspace.get_batch(self.batch_id))

    def close(self) -> None:
        """Stop following events and close the widgets."""
        self._closed = True
        self._unfollow()
        # close() also runs from __del__, of a panel whose __init__ may have failed
        if hasattr(self, "sender"):
            self.sender.close()
        super().close()

    # ------------------------------------------------------------------ view
    def _say(self, text: str) -> None:
        self.message.value = text

    def _show(self, batch: dict[str, Any]) -> None:
        self.batch_row.layout.display = "flex"
        files = batch_files(self.workspace, batch["id"])
        total_steps = len(FILE_STEPS)
        weight = done_weight = 0.0
        settled = 0
        for f in files:
            steps = (
                self.workspace.get_file_status(f["id"])
                if f["status"] == StepStatus.FAILED
                else None
            )
            done, label = file_step(f, steps)
            row = self._rows.get(f["id"])
            if row is None:
                row = self._rows[f["id"]] = _FileRow(f["fileName"])
            row.show(done, label, f["status"])
            size = max(int(f.get("sizeInBytes") or 0), 1)
            weight += size
            finished = f["status"] != StepStatus.PROCESSING
            settled += finished
            done_weight += size * (1.0 if finished else done / total_steps)
        self.file_progress.children = [self._rows[f["id"]] for f in files]
        status = batch["status"]
        self.batch_progress.max = max(len(files), 1)
        self.batch_progress.value = settled if files else int(status in _SETTLED)
        self.batch_progress.bar_style = {
            "PROCESSED": "success",
            "FAILED": "danger",
        }.get(status, "info")
        self.batch_progress.description = status.lower()
        fraction = done_weight / weight if weight else 0.0
        eta = (
            ""
            if status in _SETTLED
            else eta_text(self._clock() - self._started, fraction)
        )
        self.batch_text.value = (
            f"{settled} of {len(files)} files settled · {fraction:.0%} of "
            f"{size_text(sum(int(f.get('sizeInBytes') or 0) for f in files))}"
            + (f" · {eta}" if eta else "")
        )
        details = (
            f" — {html.escape(batch['statusDetails'])}"
            if batch.get("statusDetails")
            else ""
        )
        self.table.value = (
            f"<b>{html.escape(str(batch['fileName']))}</b>: {batch['status']}{details}"
            + files_table_html(files)
        )
        if status in _SETTLED:
            failed = sum(f["status"] == StepStatus.FAILED for f in files)
            self._say(
                f"Batch <code>{batch['id']}</code> {status}: "
                f"{len(files) - failed} of {len(files)} files converted"
                + (f", {failed} failed (see the Status panel)" if failed else "")
                + details
                + self._left_out.get(batch["id"], "")
            )

    # ------------------------------------------------------------------ callbacks
    @t.observe("batch_id")
    def _on_batch(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._rows = {}
            self.file_progress.children = []
            self._started = self._clock()
        self._call(self.refresh)
        self._start_polling()

    @t.observe("folder")
    def _on_folder(self, change: dict[str, Any]) -> None:
        folder = Path(change["new"] or ".").expanduser()
        self.folder_label.value = f"<small>Folder browser: <code>{html.escape(str(folder))}</code> (choose a folder to open it)</small>"
        options: list[tuple[str, str]] = []
        if folder.parent != folder:
            options.append(("⬆ ..", str(folder.parent)))
        try:
            entries = sorted(
                (p for p in folder.iterdir() if not p.name.startswith(".")),
                key=lambda p: (not p.is_dir(), p.name.lower()),
            )
        except OSError as exc:
            entries = []
            self.errors.report(type(self).__name__, exc)
        for p in entries[:_MAX_ENTRIES]:
            if p.is_dir():
                options.append((f"{p.name}/", str(p)))
            elif p.is_file():
                options.append((f"{p.name} ({size_text(p.stat().st_size)})", str(p)))
        if len(entries) > _MAX_ENTRIES:
            options.append((f"… {len(entries) - _MAX_ENTRIES} more: type the path", ""))
        # ipywidgets selects the first option on every options change: that must not navigate
        self._listing = True
        try:
            self.chooser.options = options
            self.chooser.value = None
        finally:
            self._listing = False

    def _on_choose(self, change: dict[str, Any]) -> None:
        chosen = change["new"]
        if not chosen or self._listing:
            return
        self.path_box.value = chosen
        if Path(chosen).is_dir():
            self.folder = chosen  # open it

    def _on_received(self, path: Path, name: str) -> None:
        """A browser upload arrived whole: upload it in the background, then delete the copy."""

        def run() -> None:
            try:
                self.upload(path)
            finally:
                shutil.rmtree(path.parent, ignore_errors=True)

        self._in_background(run)

    def _in_background(self, fn, *args: Any) -> None:
        def run() -> None:
            self.sender.disabled = True
            self.upload_button.disabled = True
            try:
                self._call(fn, *args)
            finally:
                self.sender.disabled = False
                self.upload_button.disabled = False

        thread = threading.Thread(target=run, daemon=True, name="leafnb-upload")
        self._worker = thread
        thread.start()

    def _start_polling(self) -> None:
        if self.poll_seconds <= 0 or not self.batch_id:
            return
        batch_id = self.batch_id

        def poll() -> None:
            while not self._closed and self.batch_id == batch_id:
                time.sleep(self.poll_seconds)
                try:
                    with self._lock:
                        batch = self.workspace.get_batch(batch_id)
                        if self.batch_id != batch_id:
                            return
                        self._show(batch)
                except Exception as exc:
                    self.errors.report(type(self).__name__, exc)
                    return
                if batch["status"] in _SETTLED:
                    return

        self._poller = threading.Thread(target=poll, daemon=True, name="leafnb-poll")
        self._poller.start()

    def _on_event(self, payload: dict[str, Any]) -> None:
        # called from the conversion thread; file events carry no batchId: re-read anyway
        if payload.get("batchId", self.batch_id) == self.batch_id:
            self.refresh()
