"""HTML views of batches, files and operations: tables, legends, histograms (no JSON dumps).

Plain library code (numpy, HTML strings): the notebook panels in :mod:`leafnb.widgets`
and the report (:mod:`leafnb.report.report`) call it, so a panel shows exactly what the
report shows. Every number goes through :mod:`leafnb.standard.display` (thousands
separators, sensible digits, no scientific notation) and every summary through
:func:`~leafnb.standard.display.display_summary` for the chosen unit system.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from leafnb.standard.display import (
    DisplaySystem,
    display_summary,
    format_edges,
    format_number,
    unit_label,
)

__all__ = [
    "CSS",
    "MAP_PROPERTY",
    "batch_groups_html",
    "cleaning_html",
    "default_property",
    "files_table_html",
    "histogram_svg",
    "legend_html",
    "legend_ranges",
    "machine_totals_html",
    "numeric_properties",
    "records_table_html",
    "status_html",
    "steps_table_html",
    "summary_html",
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

#: the report's and the panels' table style
CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}"
    "td.num{text-align:right}.legend td{border:none;padding:1px 6px}"
    ".swatch{display:inline-block;width:28px;height:16px;border:1px solid #555;vertical-align:middle}"
)


# ---------------------------------------------------------------------------- helpers
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


def _fmt(value: Any) -> str:
    """One table cell: a formatted number, a joined list, escaped text; ``–`` when empty."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return format_number(value)
    if isinstance(value, Mapping) and "value" in value:
        return _quantity(value)
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{html.escape(str(k))}: {_fmt(v)}" for k, v in value.items())
    return html.escape(str(value))


def _quantity(entry: Mapping[str, Any]) -> str:
    """``{"value", "unit"}`` → ``"12.3 t/ha"``."""
    return f"{format_number(entry.get('value'))} {html.escape(unit_label(entry.get('unit')))}".strip()


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """An HTML table from already escaped/formatted cells (numbers right-aligned)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{c}</td>" if _numeric_text(c) else f"<td>{c}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    attr = f" class='{cls}'" if cls else ""
    return f"<table{attr}><tr>{head}</tr>{body}</table>"


def _numeric_text(text: str) -> bool:
    t = str(text).split(" ", 1)[0].replace(",", "").replace("%", "").lstrip("-+")
    return bool(t) and t.replace(".", "", 1).isdigit()


def status_html(value: str) -> str:
    """A status word with its colour and icon."""
    colour = STATUS_COLOURS.get(value, "#000")
    return f"<b style='color:{colour}'>{STATUS_ICONS.get(value, '')} {html.escape(value)}</b>"


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
    """Legend rows: a colour swatch and the ``min – max unit`` range of each class.

    Edges get the fewest significant digits (≥ 3) that keep them apart, thousands
    separators and no scientific notation: ``29,980 – 31,430 seeds/ac``.
    """
    edges = (
        format_edges([ranges[0].get("min"), *(r.get("max") for r in ranges)])
        if ranges
        else []
    )
    label = html.escape(unit_label(unit))
    rows = "".join(
        f"<tr><td><span class='swatch' style='background:{html.escape(str(r['colorCode']))};display:inline-block;"
        f"width:28px;height:16px;border:1px solid #555'></span></td>"
        f"<td style='text-align:right'>{edges[i]} – {edges[i + 1]}</td><td>{label}</td></tr>"
        for i, r in enumerate(ranges)
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
    factor: float = 1.0,
) -> str:
    """An inline SVG histogram of *values* (numpy); bars take their legend class colour when given.

    *values* and *legend* are in the stored unit; labels show ``value × factor`` in *unit*
    (the display unit, see :func:`leafnb.standard.display.convert_for_display`).
    """
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
        f"height='{c / top * (height - 30):.1f}' fill='{colours[i]}'><title>{format_number(edges[i] * factor)}–{format_number(edges[i + 1] * factor)}: {c:,}</title></rect>"
        for i, c in enumerate(counts)
    )
    axis = (
        f"<text x='{pad}' y='{height - 5}' font-size='10'>{format_number(lo * factor)}</text>"
        f"<text x='{width - 10}' y='{height - 5}' font-size='10' text-anchor='end'>{format_number(hi * factor)} {html.escape(unit_label(unit))}</text>"
        f"<text x='{pad}' y='10' font-size='10'>n = {len(v):,}</text>"
    )
    return f"<svg class='histogram' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>{bars}{axis}</svg>"


def records_table_html(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column ``name | value`` table (values formatted, nested values as text)."""
    return (
        "<table>"
        + "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>"
            for k, v in rows
        )
        + "</table>"
    )


def _stat_cells(entry: Mapping[str, Any]) -> list[str]:
    return [format_number(entry.get(k)) for k in ("avg", "min", "max")] + [
        html.escape(unit_label(entry.get("unit")))
    ]


def _items_table(items: Sequence[Mapping[str, Any]]) -> str:
    """Varieties / products / machinery: one row per item, one column per key.

    ``{"value", "unit"}`` cells read ``12.3 t/ha``; ``{"avg", "min", "max", "unit"}``
    cells read ``avg (min – max) unit`` (targets after a ``target`` label).
    """
    cols = list(dict.fromkeys(c for item in items for c in item))

    def cell(v: Any) -> str:
        if isinstance(v, Mapping) and "avg" in v:
            unit = html.escape(unit_label(v.get("unit")))
            text = f"{format_number(v['avg'])} ({format_number(v.get('min'))} – {format_number(v.get('max'))}) {unit}"
            if "avgTarget" in v:
                text += f"; target {format_number(v['avgTarget'])} {unit}"
            return text
        return _fmt(v)

    return _table(cols, ([cell(item.get(c)) for c in cols] for item in items))


def cleaning_html(cleaning: Mapping[str, Any]) -> str:
    """The cleaning report as tables: totals, one row per filter, filters not applied."""
    head = records_table_html(
        (k, cleaning[k])
        for k in ("profile", "total", "kept", "removed")
        if k in cleaning
    )
    filters = cleaning.get("filters") or []
    rows = [
        [
            html.escape(str(f.get("name", ""))),
            html.escape(
                ", ".join(
                    f"{k} = {format_number(v) if isinstance(v, int | float) and not isinstance(v, bool) else v}"
                    for k, v in (f.get("parameters") or {}).items()
                )
            ),
            format_number(f.get("removed")),
            "–"
            if f.get("percentRemoved") is None
            else f"{format_number(f['percentRemoved'])} %",
            "–"
            if f.get("percentMass") is None
            else f"{format_number(f['percentMass'])} %",
        ]
        for f in filters
    ]
    table = (
        _table(
            ["filter", "parameters", "points removed", "% of points", "% of mass"], rows
        )
        if rows
        else ""
    )
    skipped = cleaning.get("notApplied") or []
    not_applied = (
        _table(
            ["filter not applied", "reason"],
            (
                [html.escape(str(s.get("name"))), html.escape(str(s.get("reason")))]
                for s in skipped
            ),
        )
        if skipped
        else ""
    )
    return head + table + not_applied


def machine_totals_html(totals: Any) -> str:
    """Machine totals (what the task controller recorded) against leafnb's sums."""
    if isinstance(totals, Mapping):
        return records_table_html(totals.items())
    rows = []
    for t in totals or []:
        unit = html.escape(unit_label(t.get("unit")))

        def q(v: Any, unit: str = unit) -> str:
            return "–" if v is None else f"{format_number(v, 4)} {unit}"

        def pct(v: Any) -> str:
            return "–" if v is None else f"{format_number(100 * v)} %"

        rows.append(
            [
                html.escape(str(t.get("key", ""))),
                q(t.get("value")),
                q(t.get("leafnbValue")),
                pct(t.get("relativeDifference")),
                q(t.get("leafnbAllRecordsValue")),
                pct(t.get("allRecordsRelativeDifference")),
            ]
        )
    return _table(
        [
            "total",
            "recorded by the machine",
            "leafnb (kept points)",
            "difference",
            "leafnb (all records)",
            "difference",
        ],
        rows,
    )


_FACTS = (
    "operationType",
    "startTime",
    "endTime",
    "crop",
    "recordCount",
    "tankMix",
    "tillType",
)


def summary_html(
    props: Mapping[str, Any],
    cleaning: Mapping[str, Any] | None = None,
    system: DisplaySystem | str = DisplaySystem.SOURCE,
) -> str:
    """Summary tables in the *system*'s display units.

    Facts, totals, averages, varieties, products, machinery, original operation data,
    cleaning report, machine totals.
    """
    props = display_summary(props, system)
    parts = []
    facts = [(k, props[k]) for k in _FACTS if k in props]
    if facts:
        parts.append(records_table_html(facts))
    totals = [
        (k, v)
        for k, v in props.items()
        if k.startswith("total") and isinstance(v, Mapping) and "value" in v
    ]
    if totals:
        parts.append(
            "<h4>Totals</h4>"
            + _table(
                ["total", "value", "unit"],
                (
                    [
                        html.escape(k),
                        format_number(v["value"], 4),
                        html.escape(unit_label(v.get("unit"))),
                    ]
                    for k, v in totals
                ),
            )
        )
    stats = [(k, v) for k, v in props.items() if isinstance(v, Mapping) and "avg" in v]
    if stats:
        parts.append(
            "<h4>Averages</h4>"
            + _table(
                ["property", "avg", "min", "max", "unit"],
                ([html.escape(k), *_stat_cells(v)] for k, v in stats),
            )
        )
    for key, title in (
        ("varieties", "Varieties"),
        ("products", "Products"),
        ("machinery", "Machinery"),
    ):
        if props.get(key):
            parts.append(f"<h4>{title}</h4>" + _items_table(props[key]))
    if props.get("originalOperationData"):
        parts.append(
            "<h4>Original operation data</h4>"
            + records_table_html(props["originalOperationData"].items())
        )
    if cleaning:
        parts.append("<h4>Cleaning report</h4>" + cleaning_html(cleaning))
    if props.get("machineTotals"):
        parts.append(
            "<h4>Machine totals (reconciliation)</h4>"
            + machine_totals_html(props["machineTotals"])
        )
    return "".join(parts) or "<i>no summary</i>"
