"""MapPanel and SummaryPanel features driven through their Python state (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.widgets import MapPanel, SummaryPanel


def test_units_switch_changes_labels_not_points(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid, units="metric")
    layers = panel.map.layers
    metric = list(panel.legend_labels)
    panel.units_select.value = "imperial"
    assert panel.map.layers is layers  # no point data resent
    assert panel.legend_labels != metric and panel.legend_labels[0].endswith("bu/ac")
    assert metric[0].endswith("m³/ha") and panel.map.scale_imperial


def test_inspect_and_nearest_point(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid, units="metric", max_points=100)
    assert panel.mode == "raster"
    points = ws.load_points(fid)
    rows = dict(panel.inspect_at(points.array("lon")[7], points.array("lat")[7]))
    assert rows["speed"].endswith("km/h") and "timestamp" in rows
    assert dict(panel.inspect("points", 7)) == rows
    assert panel.inspect("nope", 0) == [] and panel.inspect("points", 10**9) == []


def test_split_view_and_removed_layers(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid, split=True, show_removed=True)
    ids = [layer["id"] for layer in panel.map.layers]
    assert ids[:2] == ["before", "after"] and panel.map.split
    assert {layer["side"] for layer in panel.map.layers[:2]} == {"before", "after"}
    assert panel.map.layers[0]["count"] == len(ws.load_points(fid))
    assert panel.map.layers[1]["count"] == len(ws.load_points(fid, filtered=True))


def test_scheme_and_ramp(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid)
    quantiles = [r["max"] for r in panel.legend_rows]
    x0, y0, x1, y1 = panel.map.view
    zoomed = [x0, y0, (x0 + x1) / 2, (y0 + y1) / 2]
    panel.map.view = zoomed  # the browser writes back the view after a zoom
    panel.scheme = "equal_interval"
    panel.ramp = "viridis"
    edges = [r["max"] for r in panel.legend_rows]
    assert edges != quantiles and panel.map.legend["colors"][0] == "#440154"
    assert panel.map.view == zoomed  # reclassifying keeps the user's view
    assert np.allclose(
        np.diff([panel.legend_rows[0]["min"], *edges]),
        (edges[-1] - panel.legend_rows[0]["min"]) / 7,
    )


def test_draw_a_field_and_export_the_map(workspace, tmp_path):
    import shapely

    from tests.widgets.conftest import upload_generated

    batch = upload_generated(workspace, tmp_path)
    fid = batch["leafFiles"][0]
    panel = MapPanel.from_file(workspace, fid, output_dir=str(tmp_path / "out"))
    with pytest.raises(Exception, match="draw a boundary"):
        panel.create_field()
    box = shapely.box(*workspace.points(fid).total_bounds).buffer(0.0005)
    panel.map.drawn = [list(xy) for xy in box.exterior.coords]  # what ✎ on the map sets
    field = panel.create_field("drawn")
    assert field["name"] == "drawn" and panel.map.fields and panel.map.drawn == []
    assert workspace.get_operations(leafUserId="grower-1", size=10)  # automerge ran
    png = panel.export_png()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = panel.export_html().read_text()
    assert '<script type="module">' in page
    # offline: no external script or stylesheet, and no tile layer (basemap is off)
    assert 'src="http' not in page and "<link" not in page
    assert '"basemap": ""' in page
    assert "__b64__" in page and "export default { render }" in page


def test_summary_exports_follow_property_and_filtered(converted, tmp_path):
    ws, _, fid = converted
    panel = SummaryPanel.from_file(ws, fid, output_dir=str(tmp_path / "out"))
    panel.property_select.value = "harvestMoisture"
    panel.filtered_toggle.value = True
    tif = panel.export("geotiff")
    assert tif.name == "harvestMoisture.tif" and "_filtered" in str(tif)
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(tif) as src:
        assert src.tags(1)["property"] == "harvestMoisture"
    assert panel.export("geojson").name == "filtered.geojson"
    assert panel.export("geoparquet").name == "filtered.parquet"
    png = panel.export("png")
    assert png.name.endswith("harvestMoisture_filtered.png")
    panel.filtered_toggle.value = False
    assert panel.export("geojson").name == "standard.geojson"
    assert panel.errors.messages == []
    panel.units_select.value = "metric"
    assert "t/ha" in panel.tables.value and "{" not in panel.tables.value
