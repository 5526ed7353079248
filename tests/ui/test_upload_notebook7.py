"""The UploadPanel in Notebook 7 (the same widget front end as in JupyterLab): a browser upload converts."""

from __future__ import annotations

import zipfile

import pytest

from leafnb.testing import make_points, write_as
from tests.ui.cdp import Chromium
from tests.ui.lab import LabPage, jupyter_lab, missing_requirements, write_notebook

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("notebook7")]

NOTEBOOK = [
    "from leafnb import Workspace\n"
    "from leafnb.widgets import UploadPanel\n"
    'panel = UploadPanel(Workspace("ws", executor="inline"))\n'
    "panel"
]


def test_browser_upload_in_notebook7(tmp_path):
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "upload.ipynb", NOTEBOOK)
    card = tmp_path / "card"
    card.mkdir()
    write_as(make_points("harvested", 400, seed=1), "sms_csv", card, name="harvest")
    zip_path = tmp_path / "card.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.write(card / "harvest.csv", "harvest.csv")
    with (
        jupyter_lab(root, tmp_path / "home", app="notebook") as nb7,
        Chromium(tmp_path / "chromium") as browser,
    ):
        page = LabPage.open(browser, nb7, "upload.ipynb")
        page.run_all()
        browser.wait_for(
            "document.querySelectorAll('.leafnb-upload .leafnb-transfer-input').length === 1",
            timeout=180,
        )
        browser.set_files(".leafnb-upload .leafnb-transfer-input", [zip_path])
        message = browser.wait_for(
            "(t => /PROCESSED|FAILED/.test(t) && t)"
            "(document.querySelector('.leafnb-upload-message').innerText)",
            timeout=300,
        )
        transfer = browser.evaluate(
            "document.querySelector('.leafnb-transfer-status').innerText"
        )
        page.screenshot("notebook7_upload", ".leafnb-upload")
        assert "PROCESSED: 1 of 1 files converted" in message
        assert transfer.startswith("Received card.zip: ")
        assert "harvest.csv" in browser.evaluate(
            "document.querySelector('.leafnb-file-progress').innerText"
        )
        assert page.outside_requests() == []
