"""The self-contained HTML report of a batch, file or operation (``leafnb report``).

Maps are inline PNGs (:func:`leafnb.report.exports.map_png`: robust extent, 7-class
quantile legend, scale bar) beside their legends, summary tables, processing steps and
value histograms (inline SVG), all in one display unit system; the file needs nothing
else (no script, no network).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leafnb.errors import InvalidRequest, NotFound
from leafnb.report.exports import map_png, resolve
from leafnb.report.views import (
    CSS,
    batch_groups_html,
    default_property,
    files_table_html,
    histogram_svg,
    legend_html,
    numeric_properties,
    records_table_html,
    status_html,
    steps_table_html,
    summary_html,
)
from leafnb.standard.display import DisplaySystem, convert_for_display, display_legend

if TYPE_CHECKING:
    from leafnb.workspace import Workspace

__all__ = ["write_report"]


def _map_section(
    ws: Workspace,
    resource_id: str,
    operation_type: str | None,
    parts: list[str],
    system: DisplaySystem,
) -> None:
    from leafnb.render.legend import quantile_legend

    points = ws.load_points(resource_id)
    prop = default_property(numeric_properties(points), operation_type)
    if not prop:
        return
    lon, lat = points.array("lon"), points.array("lat")
    values = points.array(prop)
    unit = points.units.get(prop, "")
    legend = quantile_legend(
        values[np.isfinite(lon) & np.isfinite(lat)],
        unit=unit,
        property=prop,
        warn=False,
    )
    png = map_png(points, prop, legend=legend, system=system, with_legend=False)
    ranges, shown = display_legend(legend.ranges, prop, unit, system)
    factor = float(convert_for_display([1.0], prop, unit, system)[0][0])
    b64 = base64.b64encode(png).decode()
    parts.append(
        f"<h3>{html.escape(prop)}</h3><div style='display:flex;gap:1em;align-items:flex-start'>"
        f"<img alt='{html.escape(prop)} map' src='data:image/png;base64,{b64}' style='max-width:75%;border:1px solid #ddd'>"
        f"{legend_html(ranges, shown or '', prop)}</div>"
    )
    parts.append(histogram_svg(values, legend, shown or "", factor=factor))


def _maybe(ws: Workspace, method: str, *args: Any) -> Any:
    """A Workspace answer, or None when the resource has nothing (e.g. no cleaning report)."""
    try:
        return getattr(ws, method)(*args)
    except (NotFound, InvalidRequest):
        return None


def _file_section(
    ws: Workspace, f: Mapping[str, Any], parts: list[str], system: DisplaySystem
) -> None:
    parts.append(f"<h2>{html.escape(str(f['fileName']))}</h2>")
    parts.append(
        f"<p>{html.escape(str(f['provider']))} · {html.escape(str(f['fileFormat']))} · {f['operationType'] or '?'} · "
        f"{status_html(str(f['status']))} · {f['recordCount']:,} records, {f['skippedRecords']:,} skipped</p>"
    )
    parts.append(steps_table_html(ws.get_file_status(f["id"])))
    if f["status"] != "processed":
        return
    cleaning = _maybe(ws, "get_cleaning_report", f["id"])
    props = (f.get("summary") or ws.get_file_summary(f["id"]))["properties"]
    parts.append(summary_html(props, cleaning, system))
    _map_section(ws, f["id"], f["operationType"], parts, system)
    parts.append(
        "<details><summary>summary as stored (JSON, stored units)</summary><pre>"
        f"{html.escape(json.dumps(props, indent=1, default=str)[:20000])}</pre></details>"
    )


def _operation_section(
    ws: Workspace, op: Mapping[str, Any], parts: list[str], system: DisplaySystem
) -> None:
    op_id = op["id"]
    parts.append(
        f"<h2>Operation {html.escape(str(op.get('operationType') or ''))} <code>{op_id}</code></h2>"
    )
    facts = [
        (k, v)
        for k, v in op.items()
        if k not in ("summary", "id", "fields") and not isinstance(v, dict)
    ]
    parts.append(records_table_html(facts))
    if op.get("fields"):
        parts.append(
            "<h4>Fields (coverage)</h4>"
            + records_table_html(
                (f.get("id", ""), f.get("coverage") or "–") for f in op["fields"]
            )
        )
    summary = _maybe(ws, "get_operation_summary", op_id)
    if summary:
        parts.append(
            summary_html(
                summary.get("properties", summary),
                _maybe(ws, "get_cleaning_report", op_id),
                system,
            )
        )
    try:
        _map_section(ws, op_id, op.get("operationType"), parts, system)
    except NotFound as exc:
        parts.append(f"<p><i>no map: {html.escape(str(exc))}</i></p>")


def write_report(
    ws: Workspace,
    resource_id: str,
    out_dir: str | Path,
    *,
    system: DisplaySystem | str = DisplaySystem.SOURCE,
) -> Path:
    """Write a self-contained ``report.html`` for a batch, file or operation into *out_dir*.

    *system* (``source``, ``metric`` or ``imperial``) is the display unit system of
    tables, legends and histograms; the stored data are not changed.

    Returns
    -------
    Path
        The written ``report.html``.

    Raises
    ------
    NotFound
        *resource_id* is not a batch, file or operation of the workspace.
    """
    system = DisplaySystem(system)
    out_dir = Path(out_dir)
    kind, resource = resolve(ws, resource_id)  # (an unknown id makes no folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>leafnb {kind} report</title>"
        f"<style>{CSS}</style></head><body>"
    ]
    note = (
        f"<p style='color:#555'>Units shown: <b>{system.value}</b> (converted for display; "
        "stored data keep the units chosen by <code>unitMeasurement</code> at upload).</p>"
    )
    if kind == "batch":
        parts.append(
            f"<h1>leafnb batch report</h1><p>Batch <code>{resource['id']}</code> · {html.escape(str(resource.get('fileName')))} · "
            f"{status_html(resource['status'])} {html.escape(resource.get('statusDetails', ''))} · {len(resource['leafFiles'])} files</p>"
            + note
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
            _file_section(ws, f, parts, system)
    elif kind == "file":
        parts.append("<h1>leafnb file report</h1>" + note)
        _file_section(ws, resource, parts, system)
    else:
        parts.append("<h1>leafnb operation report</h1>" + note)
        _operation_section(ws, resource, parts, system)
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("".join(parts), "utf-8")
    return path
