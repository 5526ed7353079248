"""A self-contained HTML report of converted files: summaries, steps, and point maps as PNG."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leafnb.render.ramps import LEAF_RAMP, colorize

if TYPE_CHECKING:
    from leafnb.workspace import Workspace

__all__ = ["points_png", "write_report"]

# The property a map shows first, per operation type.
MAP_PROPERTY = {"harvested": "dryVolumePerArea", "planted": "seedRate", "applied": "appliedRate", "tillage": "tillageDepthActual"}


def points_png(lon: np.ndarray, lat: np.ndarray, values: np.ndarray, size: int = 640, radius: int = 2) -> bytes:
    """Render points coloured by *values* (Leaf ramp, 2nd–98th percentile) as PNG bytes.

    Pixels hold the mean of the points that fall in them (vectorised ``bincount``); each
    point is drawn as a (2·radius+1)² square so sparse tracks stay visible. The frame is
    the 0.5–99.5th percentile box of the positions plus 10 %, so isolated GPS jumps are
    left out of the picture (they stay in the data).
    """
    from PIL import Image

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
        grid = (sums / counts).reshape(h, w)
    lo, hi = np.nanpercentile(values, [2, 98])
    img = Image.fromarray(colorize(grid, lo, hi), "RGBA")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _legend(lo: float, hi: float, unit: str) -> str:
    stops = [(k, v) for k, v in LEAF_RAMP.items() if k != "nv"]
    cells = "".join(
        f"<span style='display:inline-block;width:56px;background:rgb({v[0]},{v[1]},{v[2]});color:#000;font-size:11px;text-align:center'>"
        f"{lo + (hi - lo) * float(k.rstrip('%')) / 100:.4g}</span>"
        for k, v in stops
    )
    return f"<div>{cells} <small>{html.escape(unit or '')}</small></div>"


def write_report(ws: Workspace, batch_id: str, out_dir: str | Path) -> Path:
    """Write ``report.html`` (and one PNG per map) for a batch into *out_dir*; return the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    batch = ws.get_batch(batch_id)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>leafnb report</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}th{background:#f3f3f3}"
        ".failed{color:#c62828}.processed{color:#2e7d32}</style></head><body>",
        f"<h1>leafnb batch report</h1><p>Batch <code>{batch['id']}</code> · {html.escape(str(batch.get('fileName')))} · "
        f"status <b>{batch['status']}</b> {html.escape(batch.get('statusDetails', ''))} · {len(batch['leafFiles'])} files</p>",
    ]
    for fid in batch["leafFiles"]:
        f = ws.get_file(fid)
        parts.append(f"<h2>{html.escape(f['fileName'])}</h2>")
        parts.append(
            f"<p>{html.escape(str(f['provider']))} · {html.escape(str(f['fileFormat']))} · {f['operationType'] or '?'} · "
            f"<span class='{f['status']}'>{f['status']}</span> · {f['recordCount']} records, {f['skippedRecords']} skipped</p>"
        )
        steps = ws.get_file_status(fid)
        parts.append("<table><tr><th>step</th><th>status</th><th style='text-align:left'>message</th></tr>" + "".join(
            f"<tr><td>{s}</td><td class='{v['status']}'>{v['status']}</td><td style='text-align:left'>{html.escape(v['message'])}</td></tr>"
            for s, v in steps.items()) + "</table>")
        if f["status"] != "processed":
            continue
        summary = f["summary"]["properties"]
        rows = []
        for key, value in summary.items():
            if isinstance(value, dict) and "avg" in value:
                rows.append(f"<tr><td style='text-align:left'>{key}</td><td>{value['avg']:.4g}</td><td>{value['min']:.4g}</td><td>{value['max']:.4g}</td><td>{html.escape(value.get('unit', ''))}</td></tr>")
        totals = "".join(
            f"<tr><td style='text-align:left'>{k}</td><td>{v['value']:.6g}</td><td>{html.escape(str(v.get('unit')))}</td></tr>"
            for k, v in summary.items() if k.startswith("total") and isinstance(v, dict))
        parts.append(f"<table><tr><th>total</th><th>value</th><th>unit</th></tr>{totals}</table>")
        parts.append(f"<table><tr><th>property</th><th>avg</th><th>min</th><th>max</th><th>unit</th></tr>{''.join(rows)}</table>")
        prop = MAP_PROPERTY.get(f["operationType"])
        gdf = ws.points(fid)
        if prop not in gdf.columns:
            numeric = [c for c in gdf.columns if c != "geometry" and np.issubdtype(gdf[c].dtype, np.number)]
            prop = numeric[0] if numeric else None
        if prop:
            values = gdf[prop].to_numpy(dtype=float)
            png = points_png(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), values)
            if png:
                name = f"{fid}_{prop}.png"
                (out_dir / name).write_bytes(png)
                lo, hi = np.nanpercentile(values, [2, 98])
                b64 = base64.b64encode(png).decode()
                parts.append(f"<h3>{prop}</h3><img alt='{prop} map' src='data:image/png;base64,{b64}' style='max-width:100%;border:1px solid #ddd'>")
                parts.append(_legend(lo, hi, gdf.attrs.get("units", {}).get(prop, "")))
        parts.append(f"<details><summary>summary JSON</summary><pre>{html.escape(json.dumps(summary, indent=1)[:20000])}</pre></details>")
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("".join(parts), "utf-8")
    return path
