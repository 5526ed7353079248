"""Real leafnb panels (StatusPanel, MapPanel) rendered by headless Chromium from local widget JavaScript.

The map is leafnb's anywidget canvas (its ES module travels in the widget state; the anywidget
front end is the AMD bundle installed with the ``anywidget`` package).

The widget manager (``@jupyter-widgets/html-manager``) and require.js come from ``tests/ui/js``
(``npm ci``); ipyleaflet's front end is the ``jupyter-leaflet`` bundle installed with ipyleaflet.
No request leaves 127.0.0.1 (see :mod:`tests.ui.widget_page`). One Chromium run renders both
panels; the tests below check what it drew.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import numpy as np
import pytest

from tests.ui.widget_page import CSP, missing_requirements, render, widget_page

pytestmark = pytest.mark.ui

pytest.importorskip("ipywidgets")
pytest.importorskip("ipyleaflet")

LEAF_COLOURS = (
    "#C80000",
    "#FF2800",
    "#FF9600",
    "#FFF000",
    "#00E600",
    "#00BE00",
    "#008200",
)

# the page waits until the map's canvas has drawn its points and the legend and status are there ...
READY = """
  const wrap = document.querySelector("#view-map .lnm-wrap");
  return wrap !== null && +(wrap.dataset.points || 0) === %d && +(wrap.dataset.frames || 0) >= 1
      && document.querySelector("#view-map .lnm-legend table.legend") !== null
      && document.querySelector("#view-status table") !== null;
"""

# ... then reports what is drawn (CSS pixels = screenshot pixels at device scale 1)
COLLECT = """
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
                        return {x: r.x, y: r.y, w: r.width, h: r.height}; };
  const status = document.querySelector("#view-status");
  const map = document.querySelector("#view-map");
  const container = map.querySelector(".lnm-wrap");
  const legendBox = map.querySelector(".lnm-legend");
  const legendTable = map.querySelector(".lnm-legend table.legend");
  return {
    status: {
      text: status.innerText,
      rows: [...status.querySelectorAll("tr")].map((tr) => [...tr.cells].map((c) => c.innerText.trim())),
      buttons: [...status.querySelectorAll("button")].map((b) => ({text: b.innerText.trim(), disabled: b.disabled})),
      selects: [...status.querySelectorAll("select")].map((s) => s.selectedOptions.length ? s.selectedOptions[0].text : null),
    },
    map: {
      containers: map.querySelectorAll(".lnm-wrap").length,
      container: box(container),
      tiles: map.querySelectorAll("img").length,
      canvases: container.querySelectorAll("canvas").length,
      points: +container.dataset.points,
      legend: box(legendBox),
      title: legendBox.querySelector(".lnm-title").innerText,
      legendRows: legendTable ? [...legendTable.querySelectorAll("tr")].map((tr) => tr.innerText.trim()) : [],
      swatches: legendTable ? [...legendTable.querySelectorAll(".swatch")].map((s) => getComputedStyle(s).backgroundColor) : [],
      selects: [...map.querySelectorAll("select")].map((s) => s.selectedOptions.length ? s.selectedOptions[0].text : null),
    },
  };
"""


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """(status panel, map panel, Render): one Chromium run showing both panels of a generated harvest file."""
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    from leafnb import Workspace
    from leafnb.widgets import MapPanel, StatusPanel
    from tests.widgets.conftest import upload_generated

    tmp = tmp_path_factory.mktemp("panels_browser")
    ws = Workspace(tmp / "ws", executor="inline")
    batch = upload_generated(ws, tmp, n=600)
    assert batch["status"] == "PROCESSED", batch
    (fid,) = batch["leafFiles"]
    status = StatusPanel.from_file(ws, fid)
    panel = MapPanel.from_file(
        ws, fid
    )  # no basemap (the default): no tiles, points only
    assert panel.mode == "points" and len(panel.legend_rows) == 7, (
        panel.mode,
        panel.note.value,
    )
    n_points = panel.map.layers[0]["count"]
    page = widget_page(
        {"status": status, "map": panel}, ready=READY % n_points, collect=COLLECT
    )
    shot = render(page, tmp / "chromium", width=1200, height=1400)
    print(f"chromium: {shot.seconds:.2f} s")
    yield status, panel, shot
    status.close()
    panel.close()


def _data(shot):
    assert shot.probe is not None, (
        f"the page posted no probe result; console errors: {shot.console_errors}"
    )
    assert shot.probe["data"] is not None, shot.probe["errors"]
    return shot.probe["data"]


def _host(request: str) -> str:
    """Host of a refused proxy request: ``GET http://host/path`` or ``CONNECT host:443``."""
    target = request.split(" ", 1)[1]
    return urlsplit(target if "://" in target else f"//{target}").hostname or ""


def test_rendered_offline_from_local_js(drawn):
    _, _, shot = drawn
    assert shot.probe is not None and shot.probe["ready"], shot.probe
    # no JavaScript error and no CSP violation: the page loaded nothing but 127.0.0.1
    assert shot.probe["errors"] == []
    # Requests the proxy refused are Chromium's own housekeeping (update, accounts, time...),
    # whichever hosts a given Chromium build contacts: the page itself cannot leave 127.0.0.1,
    # because its CSP blocks (and the probe reports, above) any other origin. What must never
    # appear is a widget CDN, which is where the page's own fallback would go.
    cdn = ("unpkg.com", "jsdelivr.net", "cdnjs.cloudflare.com", "jspm.io", "esm.sh")
    assert not [r for r in shot.external if _host(r).endswith(cdn)], shot.external
    local = [(p, c) for p, c in shot.requests if p.startswith("/")]
    served = {p for p, c in local if c == 200}
    assert {
        "/requirejs/require.js",
        "/@jupyter-widgets/html-manager/dist/embed-amd.js",
        "/_anywidget/index.js",
    } <= served
    # the manager never fell back to its (here: loopback) CDN; only icon fonts may try several URLs
    failed = [
        (p, c)
        for p, c in local
        if c not in (200, 204)
        and not p.endswith((".woff2", ".woff", ".ttf", ".eot", ".svg"))
    ]
    assert failed == [] and not any(p.startswith("/_cdn/") for p, _ in local), local


def test_status_panel_shows_every_step(drawn):
    status, _, shot = drawn
    data = _data(shot)["status"]
    assert status.steps and all(
        s["status"] == "processed" for s in status.steps.values()
    )
    rows = {r[0]: r[1:] for r in data["rows"] if r}
    for step, info in status.steps.items():
        assert step in rows, f"step {step} not drawn: {data['rows']}"
        shown_status, message = rows[step][0], rows[step][1]
        assert info["status"] in shown_status and message == info["message"], (
            step,
            rows[step],
        )
    # the table lists the steps in the panel's order
    order = [r[0] for r in data["rows"] if r and r[0] in status.steps]
    assert order == list(status.steps)
    batch = status.workspace.get_batch(status.batch_id)
    assert f"Batch {batch['id']}" in data["text"] and "PROCESSED" in data["text"]
    assert "600 records" in data["text"]
    # synced widget state: nothing failed, so "Retry failed" is disabled
    assert data["buttons"] == [
        {"text": "Refresh", "disabled": False},
        {"text": "Retry failed", "disabled": True},
    ]
    file_name = status.workspace.get_file(status.file_id)["fileName"]
    assert any(s and s.startswith(file_name) for s in data["selects"]), data["selects"]


def test_map_panel_draws_every_point_in_its_legend_colour(drawn):
    _, panel, shot = drawn
    data = _data(shot)["map"]
    assert data["containers"] == 1 and data["canvases"] == 1
    assert data["tiles"] == 0, "no basemap: the map must not load tiles"
    assert data["points"] == len(panel.workspace.load_points(panel.file_id))
    # every point carries its legend class (the colour the canvas fills it with)
    values = panel.workspace.load_points(panel.file_id).array(panel.property)
    classes = np.frombuffer(panel.map.layers[0]["cls"], np.uint8)
    legend = panel.map.legend
    np.testing.assert_array_equal(
        classes,
        np.searchsorted(np.asarray(legend["edges"][1:7]), values, side="left"),
    )
    assert set(classes.tolist()) == set(range(7))
    assert panel.property in data["selects"]


def test_map_legend_lists_the_seven_classes(drawn):
    _, panel, shot = drawn
    data = _data(shot)["map"]
    assert data["legend"] is not None and data["title"].startswith(panel.property)
    assert data["legendRows"] == panel.legend_labels and len(data["legendRows"]) == 7
    to_rgb = [
        f"rgb({int(c[1:3], 16)}, {int(c[3:5], 16)}, {int(c[5:7], 16)})"
        for c in LEAF_COLOURS
    ]
    assert data["swatches"] == to_rgb
    assert [r["colorCode"].upper() for r in panel.legend_rows] == list(LEAF_COLOURS)


def _pixels_near(
    rgb: np.ndarray, colours: list[tuple[float, float, float]], tol: int
) -> int:
    """Pixels of *rgb* within *tol* (per channel) of any of *colours*."""
    diff = np.abs(rgb.astype(int)[..., None, :] - np.asarray(colours)[None, None, :, :])
    return int(np.count_nonzero((diff.max(axis=-1) <= tol).any(axis=-1)))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_screenshot_shows_legend_and_points_in_the_seven_colours(drawn):
    from PIL import Image

    _, _, shot = drawn
    data = _data(shot)["map"]
    assert shot.png.is_file(), f"no screenshot; console errors: {shot.console_errors}"
    rgb = np.asarray(Image.open(shot.png).convert("RGB"))
    leg, box = data["legend"], data["container"]

    def crop(r):
        return rgb[
            int(r["y"]) : int(r["y"] + r["h"]), int(r["x"]) : int(r["x"] + r["w"])
        ]

    legend = crop(leg)
    in_legend = {c: _pixels_near(legend, [_rgb(c)], 6) for c in LEAF_COLOURS}
    # each swatch is 28 × 16 px
    assert all(n >= 28 * 16 * 0.8 for n in in_legend.values()), in_legend
    # the points: the map area without the legend; discs are filled with the class colour
    map_rgb = crop(box).copy()
    map_rgb[
        int(leg["y"] - box["y"]) : int(leg["y"] - box["y"] + leg["h"]),
        int(leg["x"] - box["x"]) : int(leg["x"] - box["x"] + leg["w"]),
    ] = 0xF5
    in_points = {c: _pixels_near(map_rgb, [_rgb(c)], 8) for c in LEAF_COLOURS}
    assert all(n >= 100 for n in in_points.values()), in_points
    print(json.dumps({"legend_px": in_legend, "point_px": in_points}))


def test_page_cannot_reach_a_cdn(tmp_path):
    """The guard itself: a page asking a CDN gets a CSP error, and the request never leaves the machine."""
    import ipywidgets as w

    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    page = widget_page(
        {"label": w.HTML("<b>offline</b>")}, collect="return document.body.innerText;"
    )
    page = page.replace(
        "</body>",
        '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"></script></body>',
    )
    shot = render(page, tmp_path, width=400, height=200)
    assert shot.probe is not None and "offline" in shot.probe["data"]
    assert any(
        "blocked by CSP: https://cdn.jsdelivr.net/npm/leaflet" in e
        for e in shot.probe["errors"]
    ), shot.probe["errors"]
    assert not any("jsdelivr" in r for r in shot.external)
    assert "default-src 'self'" in CSP
