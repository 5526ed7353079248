"""Panel state tests: construct panels on a tmp Workspace, set traits, call handlers, check children."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.widgets import Dashboard, MapPanel, StatusPanel, SummaryPanel, UploadPanel


def _legend_module():
    return pytest.importorskip(
        "leafnb.render.legend", reason="leafnb.render.legend has not landed"
    )


# ---------------------------------------------------------------------------- base
@pytest.mark.parametrize(
    "cls", [UploadPanel, StatusPanel, MapPanel, SummaryPanel, Dashboard]
)
def test_unknown_kwargs_name_the_valid_ones(workspace, cls):
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument\(s\) 'nope'; valid: .*layout"
    ):
        cls(workspace, nope=1)


def test_derived_state_is_not_a_constructor_argument(workspace):
    with pytest.raises(TypeError, match="'legend_rows'"):
        MapPanel(workspace, legend_rows=[])


# ---------------------------------------------------------------------------- status
def test_status_panel_processed(converted):
    ws, batch, fid = converted
    panel = StatusPanel.from_file(ws, fid)
    assert panel.file_id == fid and panel.batch_id == batch["id"]
    assert list(panel.steps) == list(ws.get_file_status(fid))
    assert all(s["status"] == "processed" for s in panel.steps.values())
    assert "✔" in panel.steps_html.value and "#2e7d32" in panel.steps_html.value
    assert panel.retry_button.disabled
    assert "converted" in panel.groups_html.value


def test_status_panel_failed_batch_and_retry(failed_batch, monkeypatch):
    ws, batch = failed_batch
    panel = StatusPanel.from_batch(ws, batch["id"])
    fid = batch["leafFiles"][0]
    assert panel.file_id == fid  # the first failed file is shown
    assert panel.steps["standardGeojson"] == {
        "status": "failed",
        "message": "no points passed the filter",
    }
    assert (
        "✖" in panel.steps_html.value
        and "no points passed the filter" in panel.steps_html.value
    )
    assert (
        "standardGeojson" in panel.groups_html.value and "FAILED" in panel.header.value
    )
    assert not panel.retry_button.disabled
    calls = []
    monkeypatch.setattr(ws, "retry_batch", lambda bid, **kw: calls.append((bid, kw)))
    panel.retry_button.click()
    assert calls == [(batch["id"], {"wait": False})]


def test_status_panel_retry_converts_after_config_change(failed_batch):
    ws, batch = failed_batch
    panel = StatusPanel.from_batch(ws, batch["id"])
    ws.set_config({"cleanupStandardGeojson": False})
    panel.retry_button.click()
    ws.wait()
    # the batch-finished event refreshed the panel
    assert "PROCESSED" in panel.header.value and panel.retry_button.disabled
    assert panel.steps["cleanupGeojson"]["status"] == "skipped"


def test_status_panel_unknown_id_goes_to_errors(workspace):
    panel = StatusPanel(workspace)
    panel.batch_id = "nope"
    assert panel.errors.messages == ["[StatusPanel] NotFound: batch 'nope' not found"]


# ---------------------------------------------------------------------------- map
def _layer(panel, layer_id="points"):
    return next(layer for layer in panel.map.layers if layer["id"] == layer_id)


def _count(panel, layer_id="points"):
    return _layer(panel, layer_id)["count"]


def test_map_has_no_tiles_by_default(converted):
    ws, _, fid = converted
    from leafnb.render.view import lonlat_of

    panel = MapPanel.from_file(ws, fid)
    assert panel.map.basemap == ""
    assert panel.mode == "points" and _count(panel) == len(ws.load_points(fid))
    xmin, ymin, xmax, ymax = panel.map.view
    _, lat = lonlat_of(np.array([(xmin + xmax) / 2]), np.array([(ymin + ymax) / 2]))
    assert abs(lat[0] - 42) < 1 and (xmax - xmin) < 20_000  # a field, not the world
    panel.basemap = True
    assert panel.map.basemap.startswith("https://tile.openstreetmap.org/")


def test_map_legend_and_colours_match_quantile_legend(converted):
    legend_mod = _legend_module()
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid)
    assert panel.errors.messages == []
    assert (
        panel.property == "dryVolumePerArea"
        and panel.unit == ws.get_file_units(fid)["dryVolumePerArea"]
    )
    values = ws.load_points(fid).array("dryVolumePerArea")
    expected = legend_mod.quantile_legend(values[np.isfinite(values)], k=7)
    assert len(panel.legend_rows) == 7
    for got, want in zip(panel.legend_rows, expected.ranges, strict=True):
        assert got["colorCode"] == want["colorCode"]
        assert got["min"] == pytest.approx(want["min"]) and got["max"] == pytest.approx(
            want["max"]
        )
    assert [r["color"] for r in panel.map.legend["rows"]] == [
        r["colorCode"] for r in expected.ranges
    ]
    layer = _layer(panel)
    vals = np.frombuffer(layer["value"], "<f4")
    classes = np.frombuffer(layer["cls"], np.uint8)
    np.testing.assert_array_equal(classes, expected.classify(values))
    np.testing.assert_allclose(vals, values, rtol=1e-6)
    assert set(classes.tolist()) == set(range(7))


def test_map_property_selector(converted):
    _legend_module()
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid)
    assert "harvestMoisture" in panel.property_select.options
    panel.property_select.value = "harvestMoisture"
    assert panel.property == "harvestMoisture"
    assert panel.map.value_name == "harvestMoisture"
    assert "harvestMoisture" in _layer(panel)["props"]
    assert panel.unit == "percentage"


def test_map_raster_above_threshold(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid, max_points=100)
    assert panel.mode == "raster" and panel.map.mode == "raster"
    layer = _layer(panel)
    # raster mode: positions and the shown values only; the browser classifies pixel means
    assert "cls" not in layer and "props" not in layer
    assert len(panel.map.legend["edges"]) == 8 and len(panel.legend_rows) == 7
    panel.max_points = 100_000
    assert panel.mode == "points"


def test_map_filtered_toggle_and_removed_layer(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid)
    standard = _count(panel)
    panel.filtered_toggle.value = True
    assert panel.filtered
    assert panel.errors.messages == []
    assert _count(panel) == len(ws.load_points(fid, filtered=True))
    assert _count(panel) <= standard
    panel.removed_box.value = True
    removed = ws.removed_points(fid)
    reasons = set(removed.table.column("filterReason").to_pylist())
    names = [layer["name"] for layer in panel.map.layers if layer["kind"] == "removed"]
    assert {n.split(": ")[1].rsplit(" (", 1)[0] for n in names} == reasons
    panel.removed_box.value = False
    assert not [layer for layer in panel.map.layers if layer["kind"] == "removed"]


def test_map_applies_a_filter_profile(workspace, tmp_path):
    from tests.widgets.conftest import upload_generated

    batch = upload_generated(workspace, tmp_path)
    fid = batch["leafFiles"][0]
    panel = MapPanel.from_file(workspace, fid)
    assert workspace.get_cleaning_report(fid)["profile"] == "leaf"
    panel.profile_select.value = "standard"
    panel.apply_button.click()
    assert panel.errors.messages == []
    report = workspace.get_cleaning_report(fid)
    assert report["profile"] == "standard" and panel.filtered
    assert _count(panel) == report["kept"]


def test_map_without_selection_and_bad_id(workspace):
    panel = MapPanel(workspace)
    assert panel.mode == "" and "no file" in panel.note.value
    panel.file_id = "nope"
    assert panel.errors.messages and panel.errors.messages[0].startswith(
        "[MapPanel] NotFound:"
    )


# ---------------------------------------------------------------------------- summary
def test_summary_panel_tables_histogram_exports(converted, tmp_path):
    ws, _, fid = converted
    panel = SummaryPanel.from_file(ws, fid, output_dir=str(tmp_path / "out"))
    props = ws.get_file_summary(fid)["properties"]
    assert (
        "totalArea" in panel.tables.value
        and props["dryVolumePerArea"]["unit"] in panel.tables.value
    )
    assert panel.property == "dryVolumePerArea"
    assert (
        panel.histogram.value.startswith("<svg")
        and panel.histogram.value.count("<rect") == 30
    )
    panel.property_select.value = "harvestMoisture"
    assert panel.property == "harvestMoisture"
    panel.buttons["csv"].click()
    csv = tmp_path / "out" / f"{fid}.csv"
    assert (
        panel.last_export == str(csv) and csv.read_text().startswith("lon,lat") is False
    ) or csv.exists()
    assert str(csv) in panel.export_message.value
    panel.buttons["geojson"].click()
    assert panel.last_export.endswith("standard.geojson")
    panel.buttons["geoparquet"].click()
    assert panel.last_export.endswith("standard.parquet")
    panel.buttons["html"].click()
    html = (tmp_path / "out" / f"report_{fid[:8]}" / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert panel.errors.messages == []


def test_summary_histogram_uses_legend_colours(converted):
    legend_mod = _legend_module()
    ws, _, fid = converted
    panel = SummaryPanel.from_file(ws, fid)
    for colour in legend_mod.LEAF_COLORS:
        assert colour in panel.histogram.value


def test_panels_on_an_operation(with_operation):
    ws, op_id = with_operation
    panel = SummaryPanel.from_operation(ws, op_id)
    assert panel.errors.messages == []
    assert "Totals" in panel.tables.value and panel.histogram.value.startswith("<svg")
    mp = MapPanel.from_operation(ws, op_id)
    assert mp.errors.messages == [] and mp.mode == "points"
    assert mp.map.fields and mp.map.fields[0]["rings"]
    assert _count(mp) == len(ws.load_points(op_id))
    if hasattr(ws, "get_operation_geotiff_images"):
        panel.buttons["geotiff"].click()
        assert panel.errors.messages == [] and panel.last_export


# ---------------------------------------------------------------------------- dashboard
def test_dashboard_links_panels(converted):
    ws, batch, fid = converted
    dash = Dashboard(ws)
    assert batch["id"] in [v for _, v in dash.batch_select.options]
    dash.batch_select.value = batch["id"]
    assert dash.status.batch_id == batch["id"]
    assert fid in [v for _, v in dash.file_select.options]
    dash.file_select.value = fid
    assert dash.map.file_id == dash.summary.file_id == fid
    assert dash.map.mode == "points"
    dash.map.property = "harvestMoisture"
    assert dash.summary.property == "harvestMoisture"
    assert (
        dash.errors.messages == []
        and dash.map.errors.messages == []
        and dash.summary.errors.messages == []
    )
    assert [dash.tabs.get_title(i) for i in range(4)] == [
        "Upload",
        "Status",
        "Map",
        "Summary",
    ]
