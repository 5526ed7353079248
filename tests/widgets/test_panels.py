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
def test_map_has_no_tiles_by_default(converted):
    ws, _, fid = converted
    import ipyleaflet

    panel = MapPanel.from_file(ws, fid)
    assert not [
        layer for layer in panel.map.layers if isinstance(layer, ipyleaflet.TileLayer)
    ]
    assert panel.mode == "geojson" and panel.data_layer in panel.map.layers
    assert panel.map.zoom >= 12 and abs(panel.map.center[0] - 42) < 1
    panel.basemap = True
    assert [
        layer for layer in panel.map.layers if isinstance(layer, ipyleaflet.TileLayer)
    ]


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
    for row in expected.ranges:
        assert row["colorCode"] in panel.legend.value
    feats = panel.data_layer.data["features"]
    vals = np.array([f["properties"]["dryVolumePerArea"] for f in feats])
    rgba = expected.rgba(vals)
    want = [f"#{r:02X}{g:02X}{b:02X}" for r, g, b, _ in rgba]
    assert [f["properties"]["style"]["fillColor"] for f in feats] == want
    assert {f["properties"]["style"]["fillColor"] for f in feats} == {
        r["colorCode"] for r in expected.ranges
    }


def test_map_property_selector(converted):
    _legend_module()
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid)
    assert "harvestMoisture" in panel.property_select.options
    panel.property_select.value = "harvestMoisture"
    assert panel.property == "harvestMoisture"
    assert panel.data_layer.name == "harvestMoisture"
    assert "harvestMoisture" in panel.data_layer.data["features"][0]["properties"]
    assert panel.unit == "percentage"


def test_map_overlay_above_threshold(converted):
    ws, _, fid = converted
    import ipyleaflet

    panel = MapPanel.from_file(ws, fid, max_points=100)
    assert panel.mode == "overlay"
    assert isinstance(panel.data_layer, ipyleaflet.ImageOverlay)
    assert panel.data_layer.url.startswith("data:image/png;base64,")
    out = ws.render_overlay(fid, panel.property, filtered=False, max_size=1024)
    assert [list(b) for b in panel.data_layer.bounds] == [
        list(b) for b in out["bounds"]
    ]
    assert len(panel.legend_rows) == 7
    panel.max_points = 100_000
    assert panel.mode == "geojson"


def test_map_filtered_toggle_and_removed_layer(converted):
    ws, _, fid = converted
    panel = MapPanel.from_file(ws, fid)
    standard = len(panel.data_layer.data["features"])
    panel.filtered_toggle.value = True
    assert panel.filtered
    assert panel.errors.messages == []
    assert len(panel.data_layer.data["features"]) == len(
        ws.load_points(fid, filtered=True)
    )
    assert len(panel.data_layer.data["features"]) <= standard
    panel.removed_box.value = True
    removed = ws.removed_points(fid)
    reasons = set(removed.table.column("filterReason").to_pylist())
    assert panel.removed_layer in panel.map.layers
    assert {
        layer.name.split(": ")[1].rsplit(" (", 1)[0]
        for layer in panel.removed_layer.layers
    } == reasons
    panel.removed_box.value = False
    assert panel.removed_layer not in panel.map.layers


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
    assert len(panel.data_layer.data["features"]) == report["kept"]


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
    assert mp.errors.messages == [] and mp.mode == "geojson"
    assert mp.fields_layer is not None and mp.fields_layer.data["features"]
    assert len(mp.data_layer.data["features"]) == len(ws.load_points(op_id))
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
    assert dash.map.mode == "geojson"
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
