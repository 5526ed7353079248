"""HTML views and exports of batches, files and operations: tables, legends, histograms, the report.

Everything here is plain library code (numpy, Pillow, HTML strings): the notebook panels in
:mod:`leafnb.widgets` and the ``leafnb report``/``leafnb demo`` commands call it, so a panel
shows exactly what the shared report shows.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leafnb.errors import InvalidRequest, LeafnbError, NotFound
from leafnb.render.ramps import LEAF_RAMP, colorize

if TYPE_CHECKING:
    from leafnb.workspace import Workspace

__all__ = [
    "EXPORT_KINDS",
    "MAP_PROPERTY",
    "batch_groups_html",
    "default_property",
    "export",
    "files_table_html",
    "histogram_svg",
    "legend_html",
    "legend_module",
    "legend_ranges",
    "map_png",
    "numeric_properties",
    "points_png",
    "resolve",
    "status_html",
    "steps_table_html",
    "summary_html",
    "write_report",
]

# The property a map shows first, per operation type.
MAP_PROPERTY = {
    "harvested": "dryVolumePerArea",
    "planted": "seedRate",
    "applied": "appliedRate",
    "tillage": "tillageDepthActual",
}

STATUS_COLOURS = {
    "processed": "#2e7d32",
    "failed": "#c62828",
    "skipped": "#757575",
    "processing": "#1565c0",
    "PROCESSED": "#2e7d32",
    "FAILED": "#c62828",
    "PROCESSING": "#1565c0",
    "RECEIVED": "#6a1b9a",
}
STATUS_ICONS = {
    "processed": "✔",
    "failed": "✖",
    "skipped": "⏭",
    "processing": "⏳",
    "PROCESSED": "✔",
    "FAILED": "✖",
    "PROCESSING": "⏳",
    "RECEIVED": "⏳",
}

#: export kinds understood by :func:`export`
EXPORT_KINDS = ("csv", "geojson", "geoparquet", "geotiff", "html")

_CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}"
    "td.num{text-align:right}.legend td{border:none;padding:1px 6px}"
    ".swatch{display:inline-block;width:28px;height:16px;border:1px solid #555;vertical-align:middle}"
)


# ---------------------------------------------------------------------------- helpers
def legend_module():
    """Return :mod:`leafnb.render.legend` when it exists, else None (7-class quantile legend)."""
    try:
        return importlib.import_module("leafnb.render.legend")
    except ImportError:
        return None


def legend_ranges(legend: Any) -> list[dict[str, Any]]:
    """The ``[{"colorCode", "min", "max"}, ...]`` rows of a Legend object or its dict form."""
    if legend is None:
        return []
    if hasattr(legend, "ranges"):
        return [dict(r) for r in legend.ranges]
    if isinstance(legend, Mapping):
        for key in ("ranges", "legend"):
            if key in legend:
                return legend_ranges(legend[key])
        return []
    return [dict(r) for r in legend]


def _hex(rgb: Iterable[int]) -> str:
    r, g, b = list(rgb)[:3]
    return f"#{int(r):02X}{int(g):02X}{int(b):02X}"


def _ramp_ranges(lo: float, hi: float) -> list[dict[str, Any]]:
    """Legend rows for the continuous ramp (used only when :mod:`leafnb.render.legend` is absent)."""
    stops = sorted(
        (float(k.rstrip("%")) / 100, v) for k, v in LEAF_RAMP.items() if k != "nv"
    )
    edges = [lo + (hi - lo) * p for p, _ in stops] + [hi]
    return [
        {"colorCode": _hex(v), "min": edges[i], "max": edges[i + 1]}
        for i, (_, v) in enumerate(stops)
    ]


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return html.escape(str(value))
    if isinstance(value, float | np.floating):
        return f"{value:.4g}" if np.isfinite(value) else "–"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return (
            f"<code>{html.escape(text[:300] + ('…' if len(text) > 300 else ''))}</code>"
        )
    return html.escape(str(value))


def status_html(value: str) -> str:
    """A status word with its colour and icon."""
    colour = STATUS_COLOURS.get(value, "#000")
    return f"<b style='color:{colour}'>{STATUS_ICONS.get(value, '')} {html.escape(value)}</b>"


def resolve(ws: Workspace, resource_id: str) -> tuple[str, dict[str, Any]]:
    """Return ``(kind, resource)`` for a batch, file or operation id.

    Raises
    ------
    NotFound
        No batch, file or operation has this id.
    """
    getters = [("batch", ws.get_batch), ("file", ws.get_file)]
    if hasattr(ws, "get_operation"):
        getters.append(("operation", ws.get_operation))
    for kind, get in getters:
        try:
            return kind, get(resource_id)
        except NotFound:
            continue
    raise NotFound(f"{resource_id!r} is not a batch, file or operation of {ws.path}")


def numeric_properties(points: Any) -> list[str]:
    """Numeric standard properties of a :class:`~leafnb.standard.points.PointSet` with data."""
    import pyarrow as pa

    out = []
    for name in points.columns:
        typ = points.table.schema.field(name).type
        if (pa.types.is_floating(typ) or pa.types.is_integer(typ)) and points.has(name):
            out.append(name)
    return out


def default_property(properties: list[str], operation_type: str | None) -> str | None:
    """The property a map shows first: Leaf's main one for the operation type, else the first numeric."""
    preferred = MAP_PROPERTY.get(operation_type or "")
    if preferred in properties:
        return preferred
    skip = {
        "area",
        "distance",
        "heading",
        "elevation",
        "samplingInterval",
        "equipmentWidth",
    }
    rest = [p for p in properties if p not in skip]
    return (rest or properties or [None])[0]


# ---------------------------------------------------------------------------- HTML pieces
def steps_table_html(steps: Mapping[str, Mapping[str, str]]) -> str:
    """Every processing step with a coloured status, an icon and its message."""
    rows = "".join(
        f"<tr><td>{html.escape(step)}</td><td>{status_html(str(v.get('status', '')))}</td>"
        f"<td>{html.escape(str(v.get('message', '') or ''))}</td></tr>"
        for step, v in steps.items()
    )
    return f"<table class='steps'><tr><th>step</th><th>status</th><th>message</th></tr>{rows}</table>"


def batch_groups_html(
    groups: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> str:
    """``get_batch_status`` as converted / processing / failed-by-step lists of file names."""
    names = names or {}

    def files(ids: list[str]) -> str:
        return ", ".join(html.escape(names.get(i, i)) for i in ids) or "–"

    rows = [
        f"<tr><td>{status_html('processed')} converted</td><td class='num'>{len(groups['converted']['leafFiles'])}</td>"
        f"<td>{files(groups['converted']['leafFiles'])}</td></tr>",
        f"<tr><td>{status_html('processing')}</td><td class='num'>{len(groups['processing']['leafFiles'])}</td>"
        f"<td>{files(groups['processing']['leafFiles'])}</td></tr>",
    ]
    for step, group in groups.get("failed", {}).items():
        messages = group.get("messages") or {}
        detail = "<br>".join(
            f"{html.escape(names.get(fid, fid))}: {html.escape(messages.get(fid, group.get('message', '')))}"
            for fid in group["leafFiles"]
        )
        rows.append(
            f"<tr><td>{status_html('failed')} at <code>{html.escape(step)}</code></td>"
            f"<td class='num'>{len(group['leafFiles'])}</td><td>{detail}</td></tr>"
        )
    return f"<table class='groups'><tr><th>group</th><th>files</th><th>detail</th></tr>{''.join(rows)}</table>"


def files_table_html(files: Iterable[Mapping[str, Any]]) -> str:
    """A compact table of file resources (name, provider, format, type, status, records)."""
    keys = (
        "fileName",
        "provider",
        "fileFormat",
        "operationType",
        "status",
        "recordCount",
        "skippedRecords",
    )
    head = "".join(f"<th>{k}</th>" for k in keys)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{status_html(str(f.get(k)))}</td>"
            if k == "status"
            else f"<td class='num'>{_fmt(f.get(k))}</td>"
            if k in ("recordCount", "skippedRecords")
            else f"<td>{_fmt(f.get(k) or '–')}</td>"
            for k in keys
        )
        + "</tr>"
        for f in files
    )
    return f"<table class='files'><tr>{head}</tr>{body}</table>"


def legend_html(
    ranges: list[Mapping[str, Any]], unit: str = "", title: str = ""
) -> str:
    """Legend rows: a colour swatch and the ``min – max unit`` value range of each class."""
    rows = "".join(
        f"<tr><td><span class='swatch' style='background:{html.escape(str(r['colorCode']))};display:inline-block;"
        f"width:28px;height:16px;border:1px solid #555'></span></td>"
        f"<td style='text-align:right'>{_fmt(r.get('min'))} – {_fmt(r.get('max'))}</td><td>{html.escape(unit or '')}</td></tr>"
        for r in ranges
    )
    head = f"<tr><th colspan='3'>{html.escape(title)}</th></tr>" if title else ""
    return f"<table class='legend' style='background:#fff;font-size:12px'>{head}{rows}</table>"


def histogram_svg(
    values: np.ndarray,
    legend: Any = None,
    unit: str = "",
    bins: int = 30,
    width: int = 480,
    height: int = 160,
) -> str:
    """An inline SVG histogram of *values* (numpy); bars take their legend class colour when given."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "<i>no values</i>"
    lo, hi = np.percentile(v, [0.5, 99.5])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    colours = ["#607d8b"] * bins
    if legend is not None and hasattr(legend, "rgba"):
        rgba = np.asarray(legend.rgba(centres))
        colours = [_hex(c) for c in rgba]
    pad, bw = 30, (width - 40) / bins
    top = counts.max() or 1
    bars = "".join(
        f"<rect x='{pad + i * bw:.1f}' y='{height - 20 - c / top * (height - 30):.1f}' width='{bw - 1:.1f}' "
        f"height='{c / top * (height - 30):.1f}' fill='{colours[i]}'><title>{edges[i]:.4g}–{edges[i + 1]:.4g}: {c}</title></rect>"
        for i, c in enumerate(counts)
    )
    axis = (
        f"<text x='{pad}' y='{height - 5}' font-size='10'>{lo:.4g}</text>"
        f"<text x='{width - 10}' y='{height - 5}' font-size='10' text-anchor='end'>{hi:.4g} {html.escape(unit)}</text>"
        f"<text x='{pad}' y='10' font-size='10'>n = {len(v):,}</text>"
    )
    return f"<svg class='histogram' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>{bars}{axis}</svg>"


def _kv_table(rows: Iterable[tuple[str, Any]]) -> str:
    return (
        "<table>"
        + "".join(
            f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows
        )
        + "</table>"
    )


def summary_html(
    props: Mapping[str, Any], cleaning: Mapping[str, Any] | None = None
) -> str:
    """Summary tables: totals, averages with units, varieties, products, machinery, cleaning, machine totals."""
    parts = []
    facts = [
        (k, props[k])
        for k in (
            "operationType",
            "startTime",
            "endTime",
            "crop",
            "recordCount",
            "tankMix",
            "tillType",
        )
        if k in props
    ]
    if facts:
        parts.append(_kv_table(facts))
    totals = [
        (k, v)
        for k, v in props.items()
        if k.startswith("total") and isinstance(v, dict) and "value" in v
    ]
    if totals:
        parts.append(
            "<h4>Totals</h4><table><tr><th>total</th><th>value</th><th>unit</th></tr>"
            + "".join(
                f"<tr><td>{html.escape(k)}</td><td class='num'>{_fmt(v['value'])}</td><td>{html.escape(str(v.get('unit', '')))}</td></tr>"
                for k, v in totals
            )
            + "</table>"
        )
    stats = [(k, v) for k, v in props.items() if isinstance(v, dict) and "avg" in v]
    if stats:
        parts.append(
            "<h4>Averages</h4><table><tr><th>property</th><th>avg</th><th>min</th><th>max</th><th>unit</th></tr>"
            + "".join(
                f"<tr><td>{html.escape(k)}</td><td class='num'>{_fmt(v.get('avg'))}</td><td class='num'>{_fmt(v.get('min'))}</td>"
                f"<td class='num'>{_fmt(v.get('max'))}</td><td>{html.escape(str(v.get('unit', '')))}</td></tr>"
                for k, v in stats
            )
            + "</table>"
        )
    for key, title in (
        ("varieties", "Varieties"),
        ("products", "Products"),
        ("machinery", "Machinery"),
    ):
        items = props.get(key)
        if items:
            cols = list(dict.fromkeys(c for item in items for c in item))
            parts.append(
                f"<h4>{title}</h4><table><tr>{''.join(f'<th>{html.escape(c)}</th>' for c in cols)}</tr>"
                + "".join(
                    "<tr>"
                    + "".join(f"<td>{_fmt(_unwrap(item.get(c)))}</td>" for c in cols)
                    + "</tr>"
                    for item in items
                )
                + "</table>"
            )
    if cleaning:
        parts.append("<h4>Cleaning report</h4>" + _kv_table(cleaning.items()))
    if props.get("machineTotals"):
        mt = props["machineTotals"]
        rows = mt.items() if isinstance(mt, dict) else enumerate(mt)
        parts.append(
            "<h4>Machine totals (reconciliation)</h4>"
            + _kv_table((str(k), v) for k, v in rows)
        )
    return "".join(parts) or "<i>no summary</i>"


def _unwrap(value: Any) -> Any:
    """``{"value", "unit"}`` → ``"12.3 unit"`` for table cells."""
    if isinstance(value, dict) and "value" in value and len(value) <= 2:
        return f"{_fmt(value['value'])} {value.get('unit', '')}".strip()
    return value


# ---------------------------------------------------------------------------- images
def _rgba_for(values: np.ndarray, legend: Any) -> np.ndarray:
    """RGBA (n, 4) uint8 of finite *values* by the legend (its own ``rgba``)."""
    rgba = np.asarray(legend.rgba(values))
    if rgba.dtype != np.uint8:
        rgba = np.clip(
            np.round(rgba * (255 if rgba.max(initial=0) <= 1 else 1)), 0, 255
        ).astype(np.uint8)
    return rgba.reshape(len(values), -1)[:, :4]


def points_png(
    lon: np.ndarray,
    lat: np.ndarray,
    values: np.ndarray,
    size: int = 640,
    radius: int = 2,
    legend: Any = None,
) -> bytes:
    """Render points coloured by *values* as PNG bytes.

    With a *legend* (:func:`leafnb.render.legend.quantile_legend`) each pixel takes the
    colour of its class; without one, the Leaf ramp from the 2nd to the 98th percentile.
    Pixels hold the mean of the points that fall in them (vectorised ``bincount``); each
    point is drawn as a (2·radius+1)² square so sparse tracks stay visible. The frame is
    the 0.5–99.5th percentile box of the positions plus 10 %, so isolated GPS jumps are
    left out of the picture (they stay in the data).
    """
    from PIL import Image

    lon, lat, values = (np.asarray(a, dtype=float) for a in (lon, lat, values))
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(values)
    if ok.any():
        # frame the bulk of the data: a lone GPS jump must not shrink the field to a corner
        for c in (lon, lat):
            lo, hi = np.percentile(c[ok], [0.5, 99.5])
            pad = (hi - lo) * 0.1 + 1e-9
            ok &= (c >= lo - pad) & (c <= hi + pad)
    lon, lat, values = lon[ok], lat[ok], values[ok]
    if not len(lon):
        return b""
    # local equirectangular scaling keeps the map's aspect right at any latitude
    kx = np.cos(np.radians(np.mean(lat)))
    x, y = (lon - lon.min()) * kx, lat.max() - lat
    extent = max(x.max(), y.max()) or 1.0
    w = max(int(size * x.max() / extent), 1) + 2 * radius + 1
    h = max(int(size * y.max() / extent), 1) + 2 * radius + 1
    px = (x / extent * (size - 1)).astype(int) + radius
    py = (y / extent * (size - 1)).astype(int) + radius
    sums = np.zeros(h * w)
    counts = np.zeros(h * w)
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            idx = np.clip(py + dy, 0, h - 1) * w + np.clip(px + dx, 0, w - 1)
            sums += np.bincount(idx, weights=values, minlength=h * w)
            counts += np.bincount(idx, minlength=h * w)
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = sums / counts
    if legend is not None:
        rgba = np.zeros((h * w, 4), dtype=np.uint8)
        filled = np.isfinite(grid)
        rgba[filled] = _rgba_for(grid[filled], legend)
        rgba = rgba.reshape(h, w, 4)
    else:
        lo, hi = np.nanpercentile(values, [2, 98])
        rgba = colorize(grid.reshape(h, w), lo, hi)
    img = Image.fromarray(rgba, "RGBA")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def map_png(
    ws: Workspace, resource_id: str, prop: str, filtered: bool = False
) -> tuple[bytes, list[dict[str, Any]], str]:
    """PNG bytes, legend rows and unit of one property map of a file or operation.

    Uses the shared renderer (``ws.render_overlay``) when it exists, else the 7-class
    quantile legend of :mod:`leafnb.render.legend` with :func:`points_png`, else the
    continuous Leaf ramp.
    """
    if hasattr(ws, "render_overlay"):
        out = ws.render_overlay(resource_id, prop, filtered=filtered)
        unit = ws.load_points(resource_id, filtered).units.get(prop, "")
        return Path(out["path"]).read_bytes(), legend_ranges(out["legend"]), unit
    points = ws.load_points(resource_id, filtered)
    values = points.array(prop)
    lon, lat = points.array("lon"), points.array("lat")
    unit = points.units.get(prop, "")
    module = legend_module()
    if module is not None:
        legend = module.quantile_legend(values[np.isfinite(values)], k=7)
        return points_png(lon, lat, values, legend=legend), legend_ranges(legend), unit
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, [2, 98]) if len(finite) else (0.0, 0.0)
    return points_png(lon, lat, values), _ramp_ranges(float(lo), float(hi)), unit


# ---------------------------------------------------------------------------- exports
def _is_operation(ws: Workspace, resource_id: str) -> bool:
    return resolve(ws, resource_id)[0] == "operation"


def export(
    ws: Workspace,
    resource_id: str,
    kind: str,
    out_dir: str | Path,
    *,
    filtered: bool = False,
) -> Path:
    """Export a file or operation as ``csv``, ``geojson``, ``geoparquet``, ``geotiff`` or ``html``; return the path.

    GeoJSON/GeoParquet/GeoTIFF come from the Workspace endpoints (paths inside the
    workspace); CSV (one row per point, ``lon``/``lat`` columns) and the HTML report are
    written into *out_dir*.

    Raises
    ------
    InvalidRequest
        Unknown *kind*, or a kind the resource or this installation does not offer.
    NotFound
        Unknown id, or a resource without points.
    """
    out_dir = Path(out_dir)
    if kind not in EXPORT_KINDS:
        raise InvalidRequest(
            f"{kind!r} is not a valid export, must be one of {', '.join(EXPORT_KINDS)}"
        )
    rtype, _ = resolve(ws, resource_id)
    if kind == "html":
        return write_report(ws, resource_id, out_dir / f"report_{resource_id[:8]}")
    if rtype == "batch":
        raise InvalidRequest(f"a batch exports only as html; export its files ({kind})")
    prefix = "get_operation" if rtype == "operation" else "get_file"
    if kind == "csv":
        points = ws.load_points(resource_id, filtered)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{resource_id}{'_filtered' if filtered else ''}.csv"
        df = points.table.to_pandas()
        df.to_csv(target, index=False)
        return target
    if kind == "geotiff":
        method = getattr(ws, f"{prefix}_geotiff_images", None)
        if method is None:
            raise InvalidRequest(
                f"GeoTIFF export is not available yet for a {rtype} ({prefix}_geotiff_images)"
            )
        result = method(resource_id)
        return Path(_first_path(result))
    key = "standardGeojson" if kind == "geojson" else "standardGeoparquet"
    method = getattr(ws, f"{prefix}_standard_{kind}", None)
    if method is None:
        raise InvalidRequest(
            f"{kind} export is not available yet for a {rtype} ({prefix}_standard_{kind})"
        )
    result = method(resource_id)
    return Path(result.get(key) or _first_path(result))


def _first_path(result: Any) -> str:
    """The first local path or file:// URL in an endpoint's answer (dict, list or string)."""
    if isinstance(result, str | Path):
        return str(result).removeprefix("file://")
    if isinstance(result, Mapping):
        for v in result.values():
            if isinstance(v, str) and (v.startswith("file://") or Path(v).exists()):
                return v.removeprefix("file://")
        for v in result.values():
            if isinstance(v, Mapping | list):
                return _first_path(v)
    if isinstance(result, list) and result:
        return _first_path(result[0])
    raise LeafnbError(f"no path in {result!r}")


# ---------------------------------------------------------------------------- the report
def _map_section(
    ws: Workspace, resource_id: str, operation_type: str | None, parts: list[str]
) -> None:
    points = ws.load_points(resource_id)
    prop = default_property(numeric_properties(points), operation_type)
    if not prop:
        return
    png, ranges, unit = map_png(ws, resource_id, prop)
    if not png:
        return
    b64 = base64.b64encode(png).decode()
    parts.append(
        f"<h3>{html.escape(prop)}</h3><div style='display:flex;gap:1em;align-items:flex-start'>"
        f"<img alt='{html.escape(prop)} map' src='data:image/png;base64,{b64}' style='max-width:75%;border:1px solid #ddd'>"
        f"{legend_html(ranges, unit, prop)}</div>"
    )
    module = legend_module()
    legend = (
        module.quantile_legend(points.array(prop)[np.isfinite(points.array(prop))], k=7)
        if module
        else None
    )
    parts.append(histogram_svg(points.array(prop), legend, unit))


def _file_section(ws: Workspace, f: Mapping[str, Any], parts: list[str]) -> None:
    parts.append(f"<h2>{html.escape(str(f['fileName']))}</h2>")
    parts.append(
        f"<p>{html.escape(str(f['provider']))} · {html.escape(str(f['fileFormat']))} · {f['operationType'] or '?'} · "
        f"{status_html(str(f['status']))} · {f['recordCount']} records, {f['skippedRecords']} skipped</p>"
    )
    parts.append(steps_table_html(ws.get_file_status(f["id"])))
    if f["status"] != "processed":
        return
    cleaning = _maybe(ws, "get_cleaning_report", f["id"])
    props = (f.get("summary") or ws.get_file_summary(f["id"]))["properties"]
    parts.append(summary_html(props, cleaning))
    _map_section(ws, f["id"], f["operationType"], parts)
    parts.append(
        f"<details><summary>summary JSON</summary><pre>{html.escape(json.dumps(props, indent=1, default=str)[:20000])}</pre></details>"
    )


def _maybe(ws: Workspace, method: str, *args: Any) -> Any:
    """Call an optional Workspace method; None when it does not exist (yet) or has nothing."""
    fn = getattr(ws, method, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except (NotFound, InvalidRequest):
        return None


def _operation_section(ws: Workspace, op: Mapping[str, Any], parts: list[str]) -> None:
    op_id = op["id"]
    parts.append(
        f"<h2>Operation {html.escape(str(op.get('operationType') or ''))} <code>{op_id}</code></h2>"
    )
    facts = [
        (k, v)
        for k, v in op.items()
        if k not in ("summary", "id") and not isinstance(v, dict)
    ]
    parts.append(_kv_table(facts))
    summary = _maybe(ws, "get_operation_summary", op_id)
    if summary:
        parts.append(
            summary_html(
                summary.get("properties", summary),
                _maybe(ws, "get_cleaning_report", op_id),
            )
        )
    try:
        _map_section(ws, op_id, op.get("operationType"), parts)
    except NotFound as exc:
        parts.append(f"<p><i>no map: {html.escape(str(exc))}</i></p>")


def write_report(ws: Workspace, resource_id: str, out_dir: str | Path) -> Path:
    """Write a self-contained ``report.html`` for a batch, file or operation into *out_dir*.

    Maps are inline base64 PNGs with their 7-class legends, beside summary tables,
    processing steps and value histograms (inline SVG); the file needs nothing else.

    Returns
    -------
    Path
        The written ``report.html``.

    Raises
    ------
    NotFound
        *resource_id* is not a batch, file or operation of the workspace.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kind, resource = resolve(ws, resource_id)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>leafnb {kind} report</title>"
        f"<style>{_CSS}</style></head><body>"
    ]
    if kind == "batch":
        parts.append(
            f"<h1>leafnb batch report</h1><p>Batch <code>{resource['id']}</code> · {html.escape(str(resource.get('fileName')))} · "
            f"{status_html(resource['status'])} {html.escape(resource.get('statusDetails', ''))} · {len(resource['leafFiles'])} files</p>"
        )
        files = [ws.get_file(fid) for fid in resource["leafFiles"]]
        parts.append(files_table_html(files))
        parts.append(
            batch_groups_html(
                ws.get_batch_status(resource_id),
                {f["id"]: f["fileName"] for f in files},
            )
        )
        for f in files:
            _file_section(ws, f, parts)
    elif kind == "file":
        parts.append("<h1>leafnb file report</h1>")
        _file_section(ws, resource, parts)
    else:
        parts.append("<h1>leafnb operation report</h1>")
        _operation_section(ws, resource, parts)
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("".join(parts), "utf-8")
    return path
