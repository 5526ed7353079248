"""Dashboard: upload, status, map and summary panels linked (batch → file → operation).

One source of truth: the Dashboard's ``batch_id`` / ``file_id`` / ``operation_id`` are the
selection, every panel follows them (the Status panel's own file chooser is linked both
ways, so choosing a file anywhere shows that file everywhere), and every list is re-read
from the Workspace's catalog when the Workspace announces a change (a file settled, a batch
finished, an operation created or updated) — nothing shown is a copy kept from earlier.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w
import traitlets as t

from leafnb.keys import Event
from leafnb.widgets._base import Panel, batch_files
from leafnb.widgets._select import SelectLink
from leafnb.widgets.map import MapPanel
from leafnb.widgets.status import StatusPanel
from leafnb.widgets.summary import SummaryPanel
from leafnb.widgets.upload import UploadPanel
from leafnb.workspace import Workspace

__all__ = ["Dashboard"]

#: the Workspace events after which the lists are re-read
_CHANGES = (
    Event.BATCH_FINISHED,
    Event.UPLOADED_FILE_FINISHED,
    Event.UPLOADED_FILE_FAILED,
    Event.AUTOMERGED_FILE_FINISHED,
    Event.AUTOMERGED_FILE_FAILED,
    Event.MERGED_FILE_FINISHED,
    Event.MERGED_FILE_FAILED,
    Event.OPERATION_CREATED,
    Event.OPERATION_UPDATED,
    Event.OPERATION_FINISHED,
)


class Dashboard(w.VBox, Panel):
    """The four panels linked: choose a batch → its files → an operation → map and summary.

    Examples
    --------
    >>> from leafnb.widgets import Dashboard
    >>> Dashboard(ws)  # doctest: +SKIP
    """

    batch_id = t.Unicode("")
    """Selected batch.

    - Type: str
    """
    file_id = t.Unicode("")
    """Selected file (shown in status, map and summary).

    - Type: str
    """
    operation_id = t.Unicode("")
    """Selected field operation (map and summary show it instead of the file).

    - Type: str
    """
    leaf_user_id = t.Unicode("local-user")
    """leafUserId of uploads.

    - Type: str
    """

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        self._lock = threading.RLock()
        self.upload = UploadPanel(
            workspace, leaf_user_id=opts.get("leaf_user_id", "local-user")
        )
        self.status = StatusPanel(workspace)
        self.map = MapPanel(workspace)
        self.summary = SummaryPanel(workspace)
        self.batch_select = w.Dropdown(description="Batch", options=[("—", "")])
        self.file_select = w.Dropdown(description="File", options=[("—", "")])
        self.operation_select = w.Dropdown(description="Operation", options=[("—", "")])
        self.reload_button = w.Button(description="Reload lists", icon="refresh")
        self.reload_button.on_click(lambda _: self._call(self.reload))
        self.note = w.HTML()
        self._links = {
            "batch": SelectLink(self.batch_select, self, "batch_id"),
            "file": SelectLink(self.file_select, self, "file_id"),
            "operation": SelectLink(self.operation_select, self, "operation_id"),
        }
        t.link((self, "leaf_user_id"), (self.upload, "leaf_user_id"))
        t.dlink((self, "batch_id"), (self.status, "batch_id"))
        t.link((self, "file_id"), (self.status, "file_id"))
        for panel in (self.map, self.summary):
            t.dlink((self, "file_id"), (panel, "file_id"))
            t.dlink((self, "operation_id"), (panel, "operation_id"))
        t.link((self.map, "property"), (self.summary, "property"))
        t.link((self.map, "filtered"), (self.summary, "filtered"))
        self.upload.observe(self._guarded(self._on_upload), "batch_id")
        self._follow(_CHANGES, lambda _payload: self.reload())
        self.tabs = w.Tab(children=[self.upload, self.status, self.map, self.summary])
        for i, title in enumerate(("Upload", "Status", "Map", "Summary")):
            self.tabs.set_title(i, title)
        super().__init__(
            children=[
                w.HBox(
                    [
                        self.batch_select,
                        self.file_select,
                        self.operation_select,
                        self.reload_button,
                    ]
                ),
                self.note,
                self.tabs,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        self.add_class("leafnb-dashboard")
        for select, name in (
            (self.batch_select, "batch"),
            (self.file_select, "file"),
            (self.operation_select, "operation"),
        ):
            select.add_class(f"leafnb-{name}-select")
        self._call(self.reload)
        for name, value in opts.items():
            setattr(self, name, value)

    def reload(self) -> None:
        """Re-list batches, the selected batch's files and its operations from the catalog."""
        with self._lock:
            batches = self.workspace.get_batches(size=100, sort="uploadTimestamp,desc")
            self._links["batch"].set_options(
                [("—", "")]
                + [
                    (f"{b['fileName']} · {b['status']} · {b['id'][:8]}", b["id"])
                    for b in batches
                ]
            )
            self._list_files()

    def close(self) -> None:
        """Stop following events and close the panels."""
        self._unfollow()
        for name in ("upload", "status", "map", "summary"):
            panel = getattr(
                self, name, None
            )  # close() also runs from __del__ of a half-built one
            if panel is not None:
                panel.close()
        super().close()

    def _list_files(self) -> None:
        files = batch_files(self.workspace, self.batch_id) if self.batch_id else []
        self._links["file"].set_options(
            [("—", "")] + [(f"{f['fileName']} ({f['status']})", f["id"]) for f in files]
        )
        ops = self._operations(files)
        self._links["operation"].set_options(
            [("—", "")]
            + [
                (f"{o.get('operationType') or '?'} · {o['id'][:8]}", o["id"])
                for o in ops
            ]
        )

    def _operations(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The operations built from the listed files (every operation of their owner if none is)."""
        if not files:
            return []
        uid = files[0]["leafUserId"]
        ops = self.workspace.get_operations(leafUserId=uid, size=100)
        ids = {f["id"] for f in files}
        return [
            o
            for o in ops
            if ids & {f["id"] for f in self.workspace.get_operation_files(o["id"])}
        ] or list(ops)

    @t.observe("batch_id")
    def _on_batch(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._call(self._list_files)

    def _on_upload(self, change: dict[str, Any]) -> None:
        with self._lock:
            self.reload()
            self.batch_id = change["new"]
