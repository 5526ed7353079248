"""Dashboard: upload, status, map and summary panels linked (batch → file → operation)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets as t

from leafnb.widgets._base import Panel
from leafnb.widgets.map import MapPanel
from leafnb.widgets.status import StatusPanel
from leafnb.widgets.summary import SummaryPanel
from leafnb.widgets.upload import UploadPanel
from leafnb.workspace import Workspace

__all__ = ["Dashboard"]


class Dashboard(w.VBox, Panel):
    """The four panels linked: choose a batch → its files → an operation → map and summary."""

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
        t.link((self.batch_select, "value"), (self, "batch_id"))
        t.link((self.file_select, "value"), (self, "file_id"))
        t.link((self.operation_select, "value"), (self, "operation_id"))
        t.link((self, "leaf_user_id"), (self.upload, "leaf_user_id"))
        t.dlink((self, "batch_id"), (self.status, "batch_id"))
        for panel in (self.map, self.summary):
            t.dlink((self, "file_id"), (panel, "file_id"))
            t.dlink((self, "operation_id"), (panel, "operation_id"))
        t.link((self.map, "property"), (self.summary, "property"))
        t.link((self.map, "filtered"), (self.summary, "filtered"))
        self.upload.observe(self._on_upload, "batch_id")
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
        self._call(self.reload)
        for name, value in opts.items():
            setattr(self, name, value)

    def reload(self) -> None:
        """Re-list batches, the selected batch's files and its operations."""
        batches = self.workspace.get_batches(size=100, sort="uploadTimestamp,desc")
        self.batch_select.options = [("—", "")] + [
            (f"{b['fileName']} · {b['status']} · {b['id'][:8]}", b["id"])
            for b in batches
        ]
        self._list_files()

    def _list_files(self) -> None:
        files = (
            self.workspace.get_files(batchId=self.batch_id, size=100)
            if self.batch_id
            else []
        )
        self.file_select.options = [("—", "")] + [
            (f"{f['fileName']} ({f['status']})", f["id"]) for f in files
        ]
        if not self.workspace_has("get_operations"):
            self.operation_select.options = [("not available yet", "")]
            self.operation_select.disabled = True
            return
        ops = self._operations(files)
        self.operation_select.options = [("—", "")] + [
            (f"{o.get('operationType') or '?'} · {o['id'][:8]}", o["id"]) for o in ops
        ]

    def workspace_has(self, method: str) -> bool:
        """True when the Workspace offers *method* (others land over time)."""
        return self._has(method)

    def _operations(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not files:
            return []
        uid = files[0]["leafUserId"]
        ops = self.workspace.get_operations(leafUserId=uid, size=100)
        if not self._has("get_operation_files"):
            return list(ops)
        ids = {f["id"] for f in files}
        return [
            o
            for o in ops
            if ids & {f["id"] for f in self.workspace.get_operation_files(o["id"])}
        ] or list(ops)

    @t.observe("batch_id")
    def _on_batch(self, change: dict[str, Any]) -> None:
        self._call(self._list_files)

    def _on_upload(self, change: dict[str, Any]) -> None:
        self._call(self.reload)
        self.batch_id = change["new"]
