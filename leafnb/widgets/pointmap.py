"""PointMap: the browser map of :class:`~leafnb.widgets.MapPanel` (anywidget, canvas, offline).

The front end (``pointmap.js``, a plain ES module shipped in the package) is sent as a
string with the widget: no build step, no CDN, no tiles needed; it works wherever
anywidget does (JupyterLab, Notebook 7, VS Code) and in the standalone HTML export of
:func:`standalone_html`. Layers arrive as binary buffers (:mod:`leafnb.render.mapdata`)
and every frame is drawn for the current view at device resolution, so a million points
stay sharp at every zoom. All decisions (colours, classes, labels, extents) are made in
Python by the library; this class only holds the synced state.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

__all__ = ["PointMap", "standalone_html"]

_HERE = Path(__file__).resolve().parent
#: OpenStreetMap tiles, used only when ``MapPanel(basemap=True)`` (needs internet)
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

_CSS = """
.leafnb-map .lnm-wrap { position: relative; width: 100%; overflow: hidden; background: #f5f5f5;
  border: 1px solid #ccc; font: 12px sans-serif; outline: none; user-select: none; }
.leafnb-map .lnm-canvas { position: absolute; inset: 0; width: 100%; height: 100%; cursor: grab; }
.leafnb-map .lnm-wrap.drawing .lnm-canvas { cursor: crosshair; }
.leafnb-map .lnm-tools { position: absolute; top: 8px; left: 8px; display: flex; flex-direction: column; gap: 2px; }
.leafnb-map .lnm-tools button { width: 28px; height: 28px; border: 1px solid #999; background: #fff;
  border-radius: 3px; cursor: pointer; font-size: 15px; padding: 0; }
.leafnb-map .lnm-tools button.active { background: #d500f9; color: #fff; }
.leafnb-map .lnm-legend { position: absolute; right: 8px; bottom: 8px; background: rgba(255,255,255,.93);
  border: 1px solid #999; border-radius: 3px; padding: 4px 6px; max-height: 80%; overflow: auto; }
.leafnb-map .lnm-legend table { border-collapse: collapse; }
.leafnb-map .lnm-legend td { padding: 1px 4px; border: none; white-space: nowrap; }
.leafnb-map .lnm-title { font-weight: bold; margin-bottom: 2px; }
.leafnb-map .swatch { display: inline-block; width: 28px; height: 16px; border: 1px solid #555;
  vertical-align: middle; box-sizing: border-box; }
.leafnb-map .swatch.dot { width: 12px; height: 12px; }
.leafnb-map .lnm-scale { position: absolute; left: 8px; bottom: 8px; background: rgba(255,255,255,.8);
  padding: 2px 4px; }
.leafnb-map .lnm-scale-bar { height: 5px; border: 2px solid #222; border-top: none; }
.leafnb-map .lnm-tip { position: absolute; z-index: 5; background: #fff; border: 1px solid #666;
  border-radius: 3px; padding: 4px 6px; box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 250px; pointer-events: none; }
.leafnb-map .lnm-tip th { text-align: left; font-weight: normal; color: #555; padding: 0 6px 0 0; }
.leafnb-map .lnm-tip td { text-align: right; padding: 0; white-space: nowrap; }
.leafnb-map .lnm-tip-title { font-weight: bold; }
.leafnb-map .lnm-split { position: absolute; top: 0; bottom: 0; width: 4px; background: #fff;
  box-shadow: 0 0 3px #000; cursor: ew-resize; display: none; }
.leafnb-map .lnm-side { position: absolute; top: 8px; background: rgba(255,255,255,.85); padding: 2px 6px;
  border-radius: 3px; display: none; font-weight: bold; }
.leafnb-map .lnm-left { left: 44px; }
.leafnb-map .lnm-right { right: 8px; }
"""


class PointMap(anywidget.AnyWidget):
    """Synced state of the browser map (see ``pointmap.js``); built by :class:`MapPanel`."""

    _esm = (_HERE / "pointmap.js").read_text("utf-8")
    _css = _CSS

    layers = t.List().tag(sync=True)
    """Point layers (:func:`leafnb.render.mapdata.encode_points`), drawn in order."""
    origin = t.List([0.0, 0.0]).tag(sync=True)
    """EPSG:3857 origin of the layers' float32 offsets."""
    legend = t.Dict().tag(sync=True)
    """:func:`leafnb.render.mapdata.legend_spec` of the shown property."""
    units = t.Dict().tag(sync=True)
    """Display factor and label per property (:func:`leafnb.render.mapdata.unit_factors`)."""
    value_name = t.Unicode("").tag(sync=True)
    mode = t.Unicode("points").tag(sync=True)
    """``points`` (a disc per point) or ``raster`` (pixel means at screen resolution)."""
    view = t.List().tag(sync=True)
    """Shown window ``[xmin, ymin, xmax, ymax]`` (EPSG:3857 m); the browser writes it back."""
    home = t.List().tag(sync=True)
    """Window of the data's robust extent (the ⤢ button)."""
    fields = t.List().tag(sync=True)
    """Field boundaries ``[{"name", "rings": [[[lon, lat], ...], ...]}]``."""
    hidden = t.List().tag(sync=True)
    """Ids of layers switched off in the legend."""
    split = t.Bool(False).tag(sync=True)
    split_labels = t.List(["before cleaning", "after cleaning"]).tag(sync=True)
    scale_imperial = t.Bool(False).tag(sync=True)
    basemap = t.Unicode("").tag(sync=True)
    """Tile URL template (``""``: no tiles, the default; works offline)."""
    drawn = t.List().tag(sync=True)
    """The last boundary drawn with ✎: ``[[lon, lat], ...]`` (closed ring)."""
    height = t.Int(480).tag(sync=True)

    def __init__(
        self, inspector: Callable[[str, int], list] | None = None, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.inspector = inspector
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "inspect":
            return
        if self.inspector is None:
            return
        layer, index = str(content.get("layer")), int(content.get("index", -1))
        rows = self.inspector(layer, index)
        self.send({"type": "inspected", "layer": layer, "index": index, "rows": rows})


def _state_for_html(widget: PointMap) -> dict[str, Any]:
    """The synced state with bytes as ``{"__b64__": ...}`` (decoded by the page)."""

    def enc(value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return {"__b64__": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, dict):
            return {k: enc(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [enc(v) for v in value]
        return value

    names = [n for n in widget.trait_names(sync=True) if not n.startswith("_")]
    skip = {"layout", "tabbable", "tooltip", "comm", "keys", "log"}
    return {n: enc(getattr(widget, n)) for n in names if n not in skip}


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:12px;font-family:sans-serif}}{css}</style></head>
<body><h3>{title}</h3><div id="map"></div>
<script type="module">
const state = {state};
const esm = {esm};
const decode = (v) => {{
  if (v && typeof v === "object" && "__b64__" in v) {{
    const s = atob(v.__b64__); const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b.buffer;
  }}
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  return v;
}};
const data = decode(state);
const listeners = {{}};
const model = {{
  get: (k) => data[k],
  set: (k, v) => {{ data[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); }},
  on: (e, f) => {{ (listeners[e] = listeners[e] || []).push(f); }},
  off: () => {{}},
  save_changes: () => {{}},
  send: () => {{}},
}};
const url = URL.createObjectURL(new Blob([esm], {{type: "text/javascript"}}));
const mod = await import(url);
mod.default.render({{model, el: document.getElementById("map")}});
</script></body></html>
"""


def standalone_html(widget: PointMap, title: str = "leafnb map") -> str:
    """A self-contained HTML page of the map: same drawing code, data inline, no network.

    Pan, zoom, hover (values carried by the page), legend toggles and the split view work;
    the full-property look-up needs the kernel and is left out.
    """
    state = json.dumps(_state_for_html(widget)).replace("</", "<\\/")
    esm = json.dumps(PointMap._esm).replace("</", "<\\/")
    return _PAGE.format(title=html.escape(title), css=_CSS, state=state, esm=esm)
