"""UploadPanel: send a zip (browser or server path/folder) to ``Workspace.upload_batch`` and follow it."""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets as t

from leafnb.cli import zip_folder
from leafnb.errors import InvalidRequest
from leafnb.keys import PROVIDERS, Event
from leafnb.report import files_table_html
from leafnb.widgets._base import Panel
from leafnb.workspace import Workspace

__all__ = ["BROWSER_UPLOAD_LIMIT", "UploadPanel"]

#: ipywidgets' FileUpload silently drops larger files (jupyter-widgets/ipywidgets#2522)
BROWSER_UPLOAD_LIMIT = 10 * 1024 * 1024

_PROGRESS_STYLE = {"processed": "success", "failed": "danger", "processing": "info"}


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n:,} bytes"


class UploadPanel(w.VBox, Panel):
    """Upload a zip of machine files and watch its batch convert.

    A zip comes from the browser (small files only: at most 10 MB, see ipywidgets#2522)
    or from a path on the machine running the kernel: a ``.zip`` or a folder (a monitor
    card), which is zipped first. The batch runs in the background (``wait=False``); the
    panel follows it through the Workspace's events and shows one progress bar for the
    batch and one per file, then the file table.

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
    """Folder on this machine listed in the file chooser (zips and sub-folders).

    - Type: str
    - Default: the current directory
    """
    batch_id = t.Unicode("")
    """Id of the last batch uploaded from this panel.

    - Type: str
    - Default: ``""``
    """
    max_browser_bytes = t.Int(BROWSER_UPLOAD_LIMIT)
    """Largest browser upload accepted (bytes).

    - Type: int
    - Default: 10 MB
    """

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        self.note = w.HTML(
            "<b>Upload machine files</b> (.zip of monitor exports, nested zips and folders welcome).<br>"
            f"<small>Browser upload: small zips only (≤ {BROWSER_UPLOAD_LIMIT // 2**20} MB, a limit of "
            "ipywidgets, #2522). Larger files: copy them to this machine and give the path or pick the folder below.</small>"
        )
        self.file_upload = w.FileUpload(
            accept=".zip", multiple=False, description="Browser zip"
        )
        self.path_box = w.Text(
            placeholder="/path/to/card.zip or a folder", description="Path"
        )
        self.chooser = w.Dropdown(description="Folder", options=[])
        self.user_box = w.Text(
            description="leafUserId", value=opts.get("leaf_user_id", self.leaf_user_id)
        )
        self.provider_box = w.Dropdown(
            options=list(PROVIDERS),
            description="Provider",
            value=opts.get("provider", self.provider),
        )
        self.upload_button = w.Button(
            description="Upload", button_style="primary", icon="upload"
        )
        self.message = w.HTML()
        self.batch_progress = w.IntProgress(
            value=0, min=0, max=1, description="Batch", bar_style="info"
        )
        self.file_progress = w.VBox()
        self.table = w.HTML()
        self._bars: dict[str, w.IntProgress] = {}
        self._offs = [
            workspace.on(e, self._on_event)
            for e in (
                Event.UPLOADED_FILE_FINISHED,
                Event.UPLOADED_FILE_FAILED,
                Event.BATCH_FINISHED,
            )
        ]
        t.link((self.user_box, "value"), (self, "leaf_user_id"))
        t.link((self.provider_box, "value"), (self, "provider"))
        self.chooser.observe(self._guarded(self._on_choose), "value")
        self.file_upload.observe(self._on_browser_upload, "value")
        self.upload_button.on_click(
            lambda _: self._call(self.upload, self.path_box.value)
        )
        super().__init__(
            children=[
                self.note,
                self.file_upload,
                w.HBox([self.path_box, self.chooser]),
                w.HBox([self.user_box, self.provider_box, self.upload_button]),
                self.message,
                self.batch_progress,
                self.file_progress,
                self.table,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        for name, value in opts.items():
            setattr(self, name, value)
        if not self.folder:
            self.folder = str(Path.cwd())

    # ------------------------------------------------------------------ actions
    def upload(self, source: str | Path) -> dict[str, Any]:
        """Upload a ``.zip`` or a folder (zipped first) from this machine; conversion runs in the background."""
        path = Path(str(source)).expanduser()
        if not str(source).strip():
            raise InvalidRequest("give the path of a .zip or a folder on this machine")
        if path.is_dir():
            path = zip_folder(
                path,
                Path(tempfile.mkdtemp(prefix="leafnb-upload-"))
                / f"{path.name or 'folder'}.zip",
            )
        self.errors.clear()
        batch = self.workspace.upload_batch(
            path, self.leaf_user_id, self.provider, wait=False
        )
        self.message.value = (
            f"batch <code>{batch['id']}</code> received: {html.escape(path.name)}"
        )
        self.batch_id = batch["id"]
        return batch

    def upload_bytes(self, name: str, content: bytes) -> dict[str, Any]:
        """Upload a zip received from the browser (refused above :attr:`max_browser_bytes`)."""
        if len(content) > self.max_browser_bytes:
            raise InvalidRequest(
                f"{name} is {_size(len(content))}; browser uploads are limited to {_size(self.max_browser_bytes)} "
                "(ipywidgets#2522). Copy it to this machine and enter its path."
            )
        target = Path(tempfile.mkdtemp(prefix="leafnb-upload-")) / Path(name).name
        target.write_bytes(bytes(content))
        return self.upload(target)

    def refresh(self) -> None:
        """Re-read the batch and its files; update the progress bars and the table."""
        if not self.batch_id:
            return
        batch = self.workspace.get_batch(self.batch_id)
        files = self.workspace.get_files(batchId=self.batch_id, size=100)
        for f in files:
            bar = self._bars.get(f["id"])
            if bar is None:
                bar = self._bars[f["id"]] = w.IntProgress(
                    min=0,
                    max=1,
                    description=f["fileName"][:20],
                    style={"description_width": "initial"},
                )
                bar.tooltip = f["fileName"]
            bar.value = int(f["status"] != "processing")
            bar.bar_style = _PROGRESS_STYLE.get(f["status"], "")
        self.file_progress.children = [
            self._bars[f["id"]] for f in files if f["id"] in self._bars
        ]
        done = sum(f["status"] != "processing" for f in files)
        self.batch_progress.max = max(len(files), 1)
        self.batch_progress.value = (
            done if files else int(batch["status"] in ("PROCESSED", "FAILED"))
        )
        settled = batch["status"] in ("PROCESSED", "FAILED")
        self.batch_progress.bar_style = {
            "PROCESSED": "success",
            "FAILED": "danger",
        }.get(batch["status"], "info")
        self.batch_progress.description = (
            batch["status"].lower() if settled else f"{done}/{len(files)}"
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

    def close(self) -> None:
        """Stop following events and close the widgets."""
        for off in getattr(self, "_offs", []):
            off()
        self._offs = []
        super().close()

    # ------------------------------------------------------------------ callbacks
    @t.observe("batch_id")
    def _on_batch(self, change: dict[str, Any]) -> None:
        self._bars = {}
        self.file_progress.children = []
        self._call(self.refresh)

    @t.observe("folder")
    def _on_folder(self, change: dict[str, Any]) -> None:
        folder = Path(change["new"] or ".")
        entries = (
            sorted(
                p for p in folder.iterdir() if p.is_dir() or p.suffix.lower() == ".zip"
            )
            if folder.is_dir()
            else []
        )
        self.chooser.options = [("—", "")] + [
            (p.name + ("/" if p.is_dir() else ""), str(p)) for p in entries
        ]

    def _on_choose(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.path_box.value = change["new"]

    def _on_browser_upload(self, change: dict[str, Any]) -> None:
        for item in change["new"] or ():
            content = item["content"]
            self._call(
                self.upload_bytes,
                item["name"],
                content.tobytes() if hasattr(content, "tobytes") else bytes(content),
            )

    def _on_event(self, payload: dict[str, Any]) -> None:
        # called from the conversion thread: only re-read the catalog
        if payload.get("batchId", self.batch_id) == self.batch_id:
            self._call(self.refresh)
