"""Resources returned by the Workspace: plain JSON-compatible dicts that also display richly."""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["Batch", "File", "Resource", "ResourceList", "StatusMap"]

_STATUS_COLOURS = {
    "processed": "#2e7d32",
    "PROCESSED": "#2e7d32",
    "failed": "#c62828",
    "FAILED": "#c62828",
    "skipped": "#9e9e9e",
    "processing": "#1565c0",
    "PROCESSING": "#1565c0",
    "RECEIVED": "#6a1b9a",
}


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        if len(text) > 160:
            text = text[:157] + "…"
        return f"<code>{html.escape(text)}</code>"
    text = html.escape(str(value))
    colour = _STATUS_COLOURS.get(str(value))
    return f'<b style="color:{colour}">{text}</b>' if colour else text


class Resource(dict):
    """A Leaf resource: a ``dict`` with Leaf's camelCase keys and an HTML view for notebooks."""

    kind = "resource"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>{_cell(v)}</td></tr>"
            for k, v in self.items()
            if k != "summary"
        )
        return f"<div><b>leafnb {self.kind}</b><table>{rows}</table></div>"


class Batch(Resource):
    """A batch upload (spec §4)."""

    kind = "batch"


class File(Resource):
    """A converted (or failed) leaf file (spec §2.1)."""

    kind = "file"


class Field(Resource):
    """A field boundary (``GET /users/{leafUserId}/fields/{id}``)."""

    kind = "field"


class Operation(Resource):
    """A field operation (``GET /operations/{id}``, spec §5.3)."""

    kind = "operation"


class StatusMap(Resource):
    """``GET /files/{id}/status``: step -> {status, message}."""

    kind = "file status"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(step)}</td><td>{_cell(v.get('status'))}</td><td style='text-align:left'>{html.escape(v.get('message', ''))}</td></tr>"
            for step, v in self.items()
        )
        return f"<div><b>leafnb steps</b><table><tr><th>step</th><th>status</th><th>message</th></tr>{rows}</table></div>"


class ResourceList(list):
    """A page of resources with ``total`` (Leaf's ``X-Total-Count``), ``page`` and ``size``."""

    def __init__(self, items, total: int, page: int, size: int):
        super().__init__(items)
        self.total, self.page, self.size = total, page, size

    def _repr_html_(self) -> str:
        if not self:
            return f"<i>no items (total {self.total})</i>"
        keys = [k for k in self[0] if k not in ("summary", "leafFiles")][:9]
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{_cell(item.get(k, ''))}</td>" for k in keys)
            + "</tr>"
            for item in self
        )
        return f"<div><b>{len(self)} of {self.total}</b> (page {self.page}, size {self.size})<table><tr>{head}</tr>{body}</table></div>"
