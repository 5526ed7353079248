"""Dashboard and StatusPanel follow one selection and the Workspace's events (no drifting copies)."""

from __future__ import annotations

import pytest

from leafnb import Workspace
from leafnb.widgets import Dashboard, StatusPanel
from tests.conftest import SMS_CSV, make_zip

BAD_CSV = SMS_CSV.replace(b",18.5,", b",0,")


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws", executor="inline")


@pytest.fixture
def two_file_zip(tmp_path):
    return make_zip(tmp_path / "two.zip", {"a_good.csv": SMS_CSV, "b_bad.csv": BAD_CSV})


def labels(select):
    return {value: label for label, value in select.options}


def test_lists_and_status_agree_after_a_background_upload(ws, two_file_zip):
    dash = Dashboard(ws, leaf_user_id="grower-1")
    dash.upload.poll_seconds = 0
    dash.upload.upload(two_file_zip)  # wait=False: returns at RECEIVED
    ws.wait()
    bid = dash.batch_id
    assert bid == dash.upload.batch_id
    batch = ws.get_batch(bid)
    assert batch["status"] == "PROCESSED"
    # the batch list was re-read when the batch finished: it says what the status tab says
    assert f"· {batch['status']} ·" in labels(dash.batch_select)[bid]
    assert batch["status"] in dash.status.header.value
    files = {f["fileName"]: f for f in ws.get_files(batchId=bid)}
    for f in files.values():
        assert labels(dash.file_select)[f["id"]] == f"{f['fileName']} ({f['status']})"
    assert dash.errors.messages == dash.status.errors.messages == []


def test_choosing_a_file_shows_that_file_everywhere(ws, two_file_zip):
    batch = ws.upload_batch(two_file_zip, "grower-1")
    ids = {ws.get_file(i)["fileName"]: i for i in batch["leafFiles"]}
    dash = Dashboard(ws)
    dash.batch_select.value = batch["id"]
    # the status panel shows the batch's failed file first, and so does every panel
    assert dash.file_id == dash.status.file_id == ids["b_bad.csv"]
    assert dash.file_select.value == ids["b_bad.csv"]
    dash.file_select.value = ids["a_good.csv"]
    assert (
        dash.status.file_id
        == dash.map.file_id
        == dash.summary.file_id
        == ids["a_good.csv"]
    )
    assert "a_good.csv" in dash.status.steps_html.value
    assert dash.status.file_select.value == ids["a_good.csv"]
    # and choosing in the status tab's own chooser moves the others
    dash.status.file_select.value = ids["b_bad.csv"]
    assert dash.file_id == dash.map.file_id == ids["b_bad.csv"]
    assert "b_bad.csv" in dash.status.steps_html.value


def test_refreshing_lists_does_not_reselect(ws, two_file_zip):
    batch = ws.upload_batch(two_file_zip, "grower-1")
    dash = Dashboard(ws)
    dash.batch_select.value = batch["id"]
    good = next(
        i for i in batch["leafFiles"] if ws.get_file(i)["fileName"] == "a_good.csv"
    )
    dash.file_select.value = good
    changes = []
    dash.map.observe(lambda c: changes.append(c["new"]), "file_id")
    # the other file converts on retry: list labels change, events re-read the lists
    ws.set_config({"cleanupStandardGeojson": False})
    ws.retry_batch(batch["id"])
    dash.reload()
    dash.status.refresh()
    bad = next(i for i in batch["leafFiles"] if i != good)
    assert labels(dash.file_select)[bad] == "b_bad.csv (processed)"
    assert changes == [] and dash.file_id == good and dash.map.file_id == good


def test_status_panel_follows_file_events(ws, two_file_zip):
    batch = ws.upload_batch(two_file_zip, "grower-1", wait=False)
    panel = StatusPanel.from_batch(ws, batch["id"])
    ws.wait()
    # every file settled after the panel was built: the file events re-read the catalog
    assert "(processing)" not in str(panel.file_select.options)
    assert "PROCESSED" in panel.header.value
    assert not panel.retry_button.disabled  # one file failed
