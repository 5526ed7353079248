"""StatusPanel: every processing step of a file, and a batch grouped by outcome, with retry."""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as w
import traitlets as t

from leafnb.keys import Event
from leafnb.report import batch_groups_html, status_html, steps_table_html
from leafnb.widgets._base import Panel, batch_files
from leafnb.widgets._select import SelectLink
from leafnb.workspace import Workspace

__all__ = ["StatusPanel"]


class StatusPanel(w.VBox, Panel):
    """Processing status of a batch (converted / processing / failed by step) and of one file (every step).

    The panel re-reads the catalog whenever one of its batch's files settles and when the
    batch finishes (the Workspace's events), so what it shows follows the conversion.

    Examples
    --------
    >>> from leafnb.widgets import StatusPanel
    >>> StatusPanel.from_batch(ws, batch["id"])   # doctest: +SKIP
    """

    batch_id = t.Unicode("")
    """Batch shown (its files are offered in the file selector).

    - Type: str
    - Default: ``""``
    """
    file_id = t.Unicode("")
    """File whose steps are shown.

    - Type: str
    - Default: ``""``
    """
    steps = t.Dict().tag(derived=True)
    """The shown file's steps, as ``get_file_status`` returns them (derived).

    - Type: dict
    - Default: ``{}``
    """
    groups = t.Dict().tag(derived=True)
    """The shown batch's ``get_batch_status`` (derived).

    - Type: dict
    - Default: ``{}``
    """

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        self.header = w.HTML()
        self.groups_html = w.HTML()
        self.file_select = w.Dropdown(description="File", options=[("—", "")])
        self.steps_html = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.retry_button = w.Button(
            description="Retry failed",
            icon="redo",
            button_style="warning",
            disabled=True,
            tooltip="re-run only the files of this batch that did not convert",
        )
        self.refresh_button.on_click(lambda _: self._call(self.refresh))
        self.retry_button.on_click(
            lambda _: self._call(self.workspace.retry_batch, self.batch_id, wait=False)
        )
        self._file_link = SelectLink(self.file_select, self, "file_id")
        self._file_ids: set[str] = set()
        self._lock = threading.RLock()
        self._follow(
            (
                Event.BATCH_FINISHED,
                Event.UPLOADED_FILE_FINISHED,
                Event.UPLOADED_FILE_FAILED,
            ),
            self._on_event,
        )
        super().__init__(
            children=[
                self.header,
                w.HBox([self.refresh_button, self.retry_button]),
                self.groups_html,
                self.file_select,
                self.steps_html,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        self.add_class("leafnb-status")
        for name, value in opts.items():
            setattr(self, name, value)

    @classmethod
    def from_batch(
        cls, workspace: Workspace, batch_id: str, **kwargs: Any
    ) -> StatusPanel:
        """A panel showing *batch_id* (and its first failed file, else its first file)."""
        return cls(workspace, batch_id=batch_id, **kwargs)

    @classmethod
    def from_file(
        cls, workspace: Workspace, file_id: str, **kwargs: Any
    ) -> StatusPanel:
        """A panel showing *file_id* within its batch."""
        return cls(
            workspace,
            batch_id=workspace.get_file(file_id)["batchId"],
            file_id=file_id,
            **kwargs,
        )

    def refresh(self) -> None:
        """Re-read the batch and file status from the Workspace."""
        with self._lock:
            self._show_batch()
            self._show_file()

    def close(self) -> None:
        """Stop following events and close the widgets."""
        self._unfollow()
        super().close()

    # ------------------------------------------------------------------ derived view state
    def _show_batch(self) -> None:
        if not self.batch_id:
            self.header.value, self.groups_html.value, self.groups = (
                "<i>no batch selected</i>",
                "",
                {},
            )
            self.retry_button.disabled = True
            return
        batch = self.workspace.get_batch(self.batch_id)
        files = batch_files(self.workspace, self.batch_id)
        names = {f["id"]: f["fileName"] for f in files}
        self._file_ids = set(names)
        self.groups = dict(self.workspace.get_batch_status(self.batch_id))
        details = (
            f" — {html.escape(batch['statusDetails'])}"
            if batch.get("statusDetails")
            else ""
        )
        self.header.value = (
            f"<b>Batch</b> <code>{batch['id']}</code> · {html.escape(str(batch['fileName']))} · "
            f"{status_html(batch['status'])}{details} · {len(files)} files"
        )
        self.groups_html.value = batch_groups_html(self.groups, names)
        self.retry_button.disabled = not self.groups.get("failed")
        if self.file_id not in names:
            # another batch's file (or none): show this batch's first failed file, else its first
            failed = [f["id"] for f in files if f["status"] == "failed"]
            self.file_id = (failed or [f["id"] for f in files] or [""])[0]
        self._file_link.set_options(
            [("—", "")] + [(f"{f['fileName']} ({f['status']})", f["id"]) for f in files]
        )

    def _show_file(self) -> None:
        if not self.file_id:
            self.steps, self.steps_html.value = {}, ""
            return
        f = self.workspace.get_file(self.file_id)
        self.steps = dict(self.workspace.get_file_status(self.file_id))
        self.steps_html.value = (
            f"<b>{html.escape(f['fileName'])}</b> · {html.escape(str(f['provider']))} · "
            f"{html.escape(str(f['fileFormat']))} · {f['operationType'] or '?'} · {status_html(f['status'])} · "
            f"{f['recordCount']} records, {f['skippedRecords']} skipped"
            + steps_table_html(self.steps)
        )

    @t.observe("batch_id")
    def _on_batch_id(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._call(self._show_batch)

    @t.observe("file_id")
    def _on_file_id(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._call(self._show_file)

    def _on_event(self, payload: dict[str, Any]) -> None:
        # called from the conversion thread
        if (
            payload.get("batchId") == self.batch_id
            or payload.get("fileId") in self._file_ids
        ):
            self.refresh()
