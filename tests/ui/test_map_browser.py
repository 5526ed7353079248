"""The MapPanel and SummaryPanel driven in headless Chromium from local widget JavaScript.

The panels' state is embedded in a page (:mod:`tests.ui.widget_page`; anywidget's front end
comes from the installed ``anywidget`` package, the map's ES module travels in the widget
state). The probe interacts with the real map (mouse events, zoom buttons) and reads the DOM
and the canvas; nothing leaves 127.0.0.1. Screenshots are written to
``test-artifacts/screenshots/`` (kept by CI as artifacts, ignored by git).
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.ui.widget_page import missing_requirements, render, widget_page

pytestmark = pytest.mark.ui

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _save(name: str, png: bytes | Path) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / name
    target.write_bytes(png.read_bytes() if isinstance(png, Path) else png)
    return target


def _skip_without_browser() -> None:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)


def _probe(shot):
    assert shot.probe is not None, (
        f"the page posted no probe result; console errors: {shot.console_errors}"
    )
    assert shot.probe["errors"] == [], shot.probe["errors"]
    assert shot.probe["data"] is not None
    return shot.probe["data"]


MAP_READY = """
  const wrap = document.querySelector("#view-map .lnm-wrap");
  return wrap && +(wrap.dataset.frames || 0) >= 1 && wrap.clientWidth > 0;
"""

# hover over a point given by lon/lat (substituted): screen position from the drawn view
HOVER = """
  const wrap = document.querySelector("#view-map .lnm-wrap");
  const canvas = wrap.querySelector("canvas.lnm-canvas");
  const [x0, y0, x1, y1] = wrap.dataset.view.split(",").map(Number);
  const R = 6378137.0, lon = %(lon)r, lat = %(lat)r;
  const x = R * lon * Math.PI / 180, y = R * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
  const r = canvas.getBoundingClientRect();
  const sx = (x - x0) / (x1 - x0) * r.width, sy = (y1 - y) / (y1 - y0) * r.height;
  window.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + sx, clientY: r.top + sy, bubbles: true}));
  await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
  const tip = wrap.querySelector(".lnm-tip");
  const legend = wrap.querySelector(".lnm-legend");
  return {
    tipShown: tip.style.display !== "none",
    tipTitle: (tip.querySelector(".lnm-tip-title") || {}).innerText,
    tipRows: [...tip.querySelectorAll("tr")].map((tr) => [tr.cells[0].innerText, tr.cells[1].innerText]),
    legendRows: [...legend.querySelectorAll("table.legend tr")].map((tr) => tr.innerText.trim()),
    layerRows: [...legend.querySelectorAll("table.legend-layers tr")].map((tr) => tr.innerText.trim()),
    scale: wrap.querySelector(".lnm-scale").innerText.trim(),
    scaleWidth: wrap.querySelector(".lnm-scale-bar").getBoundingClientRect().width,
    title: legend.querySelector(".lnm-title").innerText,
    at: [sx, sy],
  };
"""


@pytest.fixture(scope="module")
def harvest(tmp_path_factory):
    """(workspace, file id) of a generated harvest file (600 points, some removed by the filters)."""
    _skip_without_browser()
    from leafnb import Workspace
    from tests.widgets.conftest import upload_generated

    tmp = tmp_path_factory.mktemp("map_browser")
    ws = Workspace(tmp / "ws", executor="inline")
    batch = upload_generated(ws, tmp, n=600)
    assert batch["status"] == "PROCESSED", batch
    return ws, batch["leafFiles"][0], tmp


def _number(text: str) -> float:
    return float(re.match(r"-?[\d,]*\.?\d+", text.strip()).group(0).replace(",", ""))


def test_hover_shows_the_point_values_with_units(harvest):
    from leafnb.widgets import MapPanel

    ws, fid, tmp = harvest
    panel = MapPanel.from_file(ws, fid, show_removed=True, units="metric")
    assert panel.mode == "points" and panel.errors.messages == []
    points = ws.load_points(fid)
    lon, lat = points.array("lon"), points.array("lat")
    # a point near the middle of the field (away from the legend and the tools)
    i = int(np.argmin((lon - np.median(lon)) ** 2 + (lat - np.median(lat)) ** 2))
    page = widget_page(
        {"map": panel},
        ready=MAP_READY,
        collect=HOVER % {"lon": float(lon[i]), "lat": float(lat[i])},
    )
    shot = render(page, tmp / "hover", width=1000, height=900)
    data = _probe(shot)
    _save("map_hover.png", shot.png)
    assert data["tipShown"], data
    rows = dict(data["tipRows"])
    # the value of the shown property, in the chosen display units, and the other properties
    factors = panel.map.units
    shown = points.array(panel.property)[i] * factors[panel.property]["factor"]
    assert rows[panel.property].endswith(factors[panel.property]["label"])
    assert _number(rows[panel.property]) == pytest.approx(shown, rel=5e-3)
    assert rows["speed"].endswith("km/h") and rows["harvestMoisture"].endswith("%")
    assert _number(rows["harvestMoisture"]) == pytest.approx(
        points.array("harvestMoisture")[i], rel=5e-3
    )
    got_lon, got_lat = (float(v) for v in rows["lon, lat"].split(","))
    assert (got_lon, got_lat) == pytest.approx((lon[i], lat[i]), abs=2e-6)
    # the same point through the kernel's path: every standard property, display units
    full = dict(panel.inspect_at(float(lon[i]), float(lat[i])))
    assert _number(full[panel.property]) == pytest.approx(shown, rel=5e-3)
    assert "timestamp" in full and full["speed"].endswith("km/h")
    # legend: title with unit, 7 human-formatted classes, removed points by reason, scale bar
    assert data["title"] == panel.map.legend["title"]
    assert data["legendRows"] == panel.legend_labels
    assert all("e+" not in r and "e-" not in r for r in data["legendRows"])
    removed = set(ws.removed_points(fid).table.column("filterReason").to_pylist())
    assert {
        r.split(": ")[1].rsplit(" (", 1)[0]
        for r in data["layerRows"]
        if r.startswith("removed")
    } == removed
    assert re.fullmatch(r"[\d,.]+ (m|km)", data["scale"]), data["scale"]
    assert 20 < data["scaleWidth"] <= 121


UNITS_COLLECT = """
  const wrap = document.querySelector("#view-map .lnm-wrap");
  return {
    legend: [...wrap.querySelectorAll("table.legend tr")].map((tr) => tr.innerText.trim()),
    title: wrap.querySelector(".lnm-title").innerText,
    scale: wrap.querySelector(".lnm-scale").innerText.trim(),
    summary: [...document.querySelectorAll("#view-summary table tr")].map((tr) => tr.innerText.trim()),
    units: [...document.querySelectorAll("#view-map select, #view-summary select")].map((s) => s.selectedOptions[0].text),
  };
"""


def test_display_unit_switch_changes_legend_and_tables(harvest):
    from leafnb.widgets import MapPanel, SummaryPanel

    ws, fid, tmp = harvest
    panel = MapPanel.from_file(ws, fid, units="metric")
    summary = SummaryPanel.from_file(ws, fid, units="metric")
    seen = {}
    for system in ("metric", "imperial"):
        panel.units_select.value = system  # what choosing in the dropdown does
        summary.units_select.value = system
        page = widget_page(
            {"map": panel, "summary": summary}, ready=MAP_READY, collect=UNITS_COLLECT
        )
        shot = render(page, tmp / f"units_{system}", width=1100, height=1600)
        seen[system] = _probe(shot)
        _save(f"map_units_{system}.png", shot.png)
        assert seen[system]["legend"] == panel.legend_labels
    metric, imperial = seen["metric"], seen["imperial"]
    assert metric["legend"] != imperial["legend"]
    assert "m³/ha" in metric["title"] and "bu/ac" in imperial["title"]
    text_m, text_i = "\n".join(metric["summary"]), "\n".join(imperial["summary"])
    assert "t/ha" in text_m and "lb/ac" not in text_m
    assert "lb/ac" in text_i and "t/ha" not in text_i
    assert re.search(r"totalArea\s+[\d.,]+\s+ha\b", text_m), text_m
    assert re.search(r"totalArea\s+[\d.,]+\s+ac\b", text_i), text_i
    assert metric["scale"].endswith(("m", "km")) and imperial["scale"].endswith(
        ("ft", "mi")
    )
    # tables are tables: no JSON braces anywhere in the summary
    assert "{" not in text_m and "{" not in text_i


# the canvas as drawn for the view the widget state holds (set from Python, as a zoom sets it)
CANVAS = """
  const wrap = document.querySelector("#view-map .lnm-wrap");
  const canvas = wrap.querySelector("canvas.lnm-canvas");
  return {png: canvas.toDataURL("image/png"), view: wrap.dataset.view, width: canvas.width,
          height: canvas.height, cssWidth: canvas.clientWidth, cssHeight: canvas.clientHeight,
          drawMs: +wrap.dataset.drawMs};
"""


def _decode(data_url: str) -> np.ndarray:
    from PIL import Image

    raw = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def _transitions(rgb: np.ndarray, data: np.ndarray) -> int:
    """Horizontal neighbours of different colour, both on data pixels."""
    codes = (
        rgb[..., 0].astype(np.int32) << 16
        | rgb[..., 1].astype(np.int32) << 8
        | rgb[..., 2]
    )
    both = data[:, 1:] & data[:, :-1]
    return int(np.count_nonzero((codes[:, 1:] != codes[:, :-1]) & both))


def test_million_points_stay_sharp_at_three_zooms(tmp_path, monkeypatch):
    """1M points in a 45 km × 400 m strip (the case that became a 1022 × 13 px image)."""
    _skip_without_browser()
    import time

    from leafnb import Workspace
    from leafnb.render.legend import quantile_legend
    from leafnb.render.mapdata import swath_width_m
    from leafnb.render.view import render_view
    from leafnb.standard.points import PointSet
    from leafnb.testing import make_points, point_units
    from leafnb.widgets import MapPanel

    table = make_points("harvested", 1_000_000, seed=7)
    points = PointSet(table, "harvested", units=point_units(table))
    ws = Workspace(tmp_path / "ws", executor="inline")
    # the panel reads its points through the Workspace; here they are generated in memory
    monkeypatch.setattr(ws, "load_points", lambda rid, filtered=False: points)
    start = time.perf_counter()
    panel = MapPanel.from_file(ws, "generated-1M", property="dryVolumePerArea")
    build_s = time.perf_counter() - start
    assert panel.errors.messages == [] and panel.mode == "raster", panel.errors.messages
    xmin, ymin, xmax, ymax = panel.map.home
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    shots = []
    for zoom in (1, 4, 16):
        half_w, half_h = (xmax - xmin) / 2 / zoom, (ymax - ymin) / 2 / zoom
        panel.map.view = [cx - half_w, cy - half_h, cx + half_w, cy + half_h]
        page = widget_page(
            {"map": panel}, ready=MAP_READY, collect=CANVAS, timeout_ms=60000
        )
        shot = render(page, tmp_path / f"zoom{zoom}", width=1200, height=700)
        shots.append({**_probe(shot), "chromiumSeconds": round(shot.seconds, 1)})
        _save(f"map_1M_page_zoom{zoom}.png", shot.png)
    lon, lat = points.array("lon"), points.array("lat")
    ok = np.isfinite(lon) & np.isfinite(lat)
    values = points.array("dryVolumePerArea")
    legend = quantile_legend(values[ok], warn=False)
    width_m = swath_width_m(points)
    colours = {
        tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))
        for c in (r["colorCode"] for r in legend.ranges)
    }
    report = []
    for zoom, s in zip((1, 4, 16), shots, strict=True):
        rgb = _decode(s["png"])
        _save(f"map_1M_zoom{zoom}.png", base64.b64decode(s["png"].split(",", 1)[1]))
        # drawn at the device resolution of the view, not an image scaled up
        assert (
            (s["width"], s["height"])
            == (s["cssWidth"], s["cssHeight"])
            == rgb.shape[1::-1]
        )
        codes = {tuple(p) for p in rgb.reshape(-1, 3)[::7]}
        data = np.zeros(rgb.shape[:2], bool)
        for c in colours:
            data |= np.all(rgb == c, axis=-1)
        background = np.all(rgb == (245, 245, 245), axis=-1)
        # every pixel is a legend colour or the background: no blur, no blended colours
        assert np.count_nonzero(data | background) == rgb.shape[0] * rgb.shape[1], (
            codes - colours
        )
        # the browser drew what a full-resolution render of that view is (the same rule)
        window = [float(v) for v in s["view"].split(",")]
        want = render_view(
            lon[ok],
            lat[ok],
            values[ok],
            legend,
            window,
            s["width"],
            s["height"],
            width_m=width_m[ok],
        )
        want_data = want[..., 3] > 0
        agree = np.count_nonzero(np.all(rgb == want[..., :3], axis=-1) & want_data)
        union = np.count_nonzero(want_data | data)
        report.append(
            {
                "zoom": zoom,
                "data_px": int(data.sum()),
                "transitions": _transitions(rgb, data),
                "agreement": round(agree / max(union, 1), 4),
                "chromium_s": s["chromiumSeconds"],
            }
        )
    print(
        json.dumps(
            {
                "python_build_s": round(build_s, 2),
                "zooms": report,
            }
        )
    )
    for r in report:
        assert r["data_px"] > 10_000 and r["agreement"] >= 0.9, report
    # detail: an image scaled up k× has k× fewer colour changes in view; re-rendered views
    # keep (or gain) detail as the strip fills more of the map
    t1 = report[0]["transitions"]
    assert report[1]["transitions"] > t1 / 2 and report[2]["transitions"] > t1 / 4, (
        report
    )
