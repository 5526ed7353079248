"""The UploadPanel in real JupyterLab, driven by headless Chromium: a 1 GiB zip from the browser.

One JupyterLab server and one Chromium page serve the module (``xdist_group``: one worker
runs them all, in order): refusals first, then the large upload.

The large zip is what a farm export often is: a handful of machine files (six formats, long
names) next to a large file no reader claims (here a 1 GiB drone video of incompressible
bytes, stored). The browser reads it through a real ``<input type=file>``
(``set_input_files``), the chunked transfer moves every byte to the kernel, and the batch
converts the machine files and lists the video as an ignored entry. What is checked:

- every acknowledged byte count, in order, as the page's byte bar showed it;
- the zip the workspace stored is byte-identical to the one the browser read (SHA-256);
- one step bar per machine file, full, green, its whole name shown;
- the page's own requests never left 127.0.0.1.

The throughput the browser measured is printed and written to
``test-artifacts/upload_lab.json``; screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from pathlib import Path

import pytest

from leafnb.testing import make_points, write_as
from tests.ui.cdp import Chromium
from tests.ui.lab import (
    ROOT,
    LabPage,
    jupyter_lab,
    missing_requirements,
    remove,
    write_notebook,
)

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("jupyterlab")]

GIB = 1024**3
CHUNK = 4 * 1024**2
#: the machine files of the large zip: (operation, format, name)
MACHINE_FILES = (
    ("harvested", "sms_csv", "2024_north-forty_combine-S780_harvest_export"),
    ("planted", "sms_shapefile", "2024_north-forty_planter-1775NT_seeding_export"),
    ("applied", "geopackage", "2024_north-forty_sprayer-R4045_nitrogen_export"),
    ("harvested", "agleader_text", "2024_south-field_combine-S780_harvest_export"),
    ("harvested", "farmobile_geojson", "2024_east-field_combine-8250_harvest_export"),
    ("planted", "csv_wkt", "2024_east-field_planter-1775NT_seeding_export"),
)
PANEL = ".leafnb-upload"

NOTEBOOK = [
    "from leafnb import Workspace\n"
    "from leafnb.widgets import UploadPanel\n"
    'ws = Workspace("ws", executor=2)\n'
    'panel = UploadPanel(ws, leaf_user_id="grower-1")\n'
    "panel",
    # a second panel with a 1 MB limit, to see the size refusal without a 3 GB file
    "small = UploadPanel(ws, max_bytes=1_000_000)\nsmall",
    "from leafnb.widgets import Dashboard\ndash = Dashboard(ws)\ndash",
]

# every byte count the first panel's byte bar showed, in order
RECORD_BAR = """(() => {
  const bar = document.querySelectorAll("PANEL .leafnb-transfer-bar")[0];
  window.leafnbReceived = [];
  new MutationObserver(() => {
    const n = Number(bar.dataset.received), seen = window.leafnbReceived;
    if (n && n !== seen[seen.length - 1]) seen.push(n);
  }).observe(bar, {attributes: true, attributeFilter: ["data-received"]});
  return true;
})()""".replace("PANEL", PANEL)

# the first panel's file rows: label, bar width and style
ROWS = """[...document.querySelectorAll("PANEL")[0].querySelectorAll(".leafnb-file-progress")].map((r) => {
  const bar = r.querySelector(".progress-bar");
  return {label: r.innerText, width: bar.style.width, classes: bar.className};
})""".replace("PANEL", PANEL)


def _text(selector: str, index: int = 0) -> str:
    return f"document.querySelectorAll({json.dumps(selector)})[{index}].innerText"


def _state(index: int) -> str:
    return f"document.querySelectorAll('{PANEL} .leafnb-transfer-status')[{index}].dataset.state"


def _big_zip(folder: Path) -> tuple[Path, list[str]]:
    """A zip of at least 1 GiB: the machine files and one large file no reader claims."""
    files = folder / "export"
    files.mkdir()
    for i, (optype, fmt, name) in enumerate(MACHINE_FILES):
        write_as(make_points(optype, 3000, seed=10 + i), fmt, files, name=name)
    target = folder / "season_2024_full_export.zip"
    block = os.urandom(16 * 1024**2)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(files.iterdir()):
            zf.write(path, f"Export/{path.name}")
        with zf.open(
            zipfile.ZipInfo("Export/media/drone_flight_2024-07-15.mp4"),
            "w",
            force_zip64=True,
        ) as video:
            for _ in range(GIB // len(block)):
                video.write(block)  # ZipInfo defaults to ZIP_STORED
    remove(files)
    return target, [name for _, _, name in MACHINE_FILES]


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory):
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    write_notebook(root / "upload.ipynb", NOTEBOOK)
    try:
        with (
            jupyter_lab(root, tmp / "home") as lab,
            Chromium(tmp / "chromium") as browser,
        ):
            page = LabPage.open(browser, lab, "upload.ipynb")
            page.run_all()
            browser.wait_for(
                f"document.querySelectorAll('{PANEL} .leafnb-transfer-input').length === 3",
                timeout=180,
            )
            yield page, tmp
    finally:
        remove(root / "ws")  # the workspace holds a 1 GiB copy


def test_a_file_that_is_not_a_zip_is_refused_on_sight(lab_page):
    page, tmp = lab_page
    fake = tmp / "yield_map.zip"
    fake.write_bytes(b"Rar!\x1a\x07\x00" + os.urandom(2_000_000))
    page.browser.set_files(f"{PANEL} .leafnb-transfer-input", [fake], index=0)
    page.browser.wait_for(f"{_state(0)} === 'failed'")
    text = page.browser.evaluate(_text(f"{PANEL} .leafnb-transfer-status", 0))
    assert "yield_map.zip is not a zip archive" in text
    page.screenshot("upload_refused_not_a_zip", PANEL, 0)


def test_a_file_over_the_limit_is_refused_before_sending(lab_page):
    page, tmp = lab_page
    big = tmp / "too_big.zip"
    with zipfile.ZipFile(big, "w") as zf:
        zf.writestr("noise.bin", os.urandom(1_500_000))
    page.browser.set_files(f"{PANEL} .leafnb-transfer-input", [big], index=1)
    page.browser.wait_for(f"{_state(1)} === 'failed'")
    text = page.browser.evaluate(_text(f"{PANEL} .leafnb-transfer-status", 1))
    assert "too_big.zip is 1.5 MB; uploads are limited to 1.0 MB" in text
    sent = page.browser.evaluate(
        f"document.querySelectorAll('{PANEL} .leafnb-transfer-bar')[1].dataset.received"
    )
    assert sent in (None, "0")


def test_one_gib_zip_from_the_browser_converts(lab_page):
    page, tmp = lab_page
    browser = page.browser
    zip_path, names = _big_zip(tmp)
    size = zip_path.stat().st_size
    assert size >= GIB
    browser.evaluate(RECORD_BAR)
    # the transfer runs as in a user's browser: no DevTools copy of every frame meanwhile
    browser.record(False)
    try:
        browser.set_files(f"{PANEL} .leafnb-transfer-input", [zip_path], index=0)
        # the byte bar moves from the first acknowledged slice on
        browser.wait_for("window.leafnbReceived.length > 2", timeout=120)
        page.screenshot("upload_1gib_transfer", PANEL, 0)
        browser.wait_for(
            f"{_state(0)} !== 'sending' && {_state(0)} !== 'receiving'", timeout=900
        )
        browser.record(True)
        browser.wait_for(
            f"/PROCESSED|FAILED/.test({_text(PANEL + ' .leafnb-upload-message', 0)})",
            timeout=900,
        )
        page.screenshot("upload_1gib_done", PANEL, 0)
        received = browser.evaluate("window.leafnbReceived")
        transfer_text = browser.evaluate(_text(f"{PANEL} .leafnb-transfer-status", 0))
        message = browser.evaluate(_text(f"{PANEL} .leafnb-upload-message", 0))
        shown = browser.evaluate(ROWS)
        digest = _sha256(zip_path)
    finally:
        browser.record(True)
        remove(zip_path)

    # every slice acknowledged, in order, up to the last byte
    assert received == [
        min((i + 1) * CHUNK, size) for i in range(math.ceil(size / CHUNK))
    ]
    assert transfer_text.startswith(f"Received {zip_path.name}: 1.07 GB in "), (
        transfer_text
    )
    seconds = float(transfer_text.split(" in ")[1].split(" s")[0])
    result = {
        "bytes": size,
        "seconds": seconds,
        "MB_per_s": round(size / 1e6 / seconds, 1),
        "message": transfer_text,
    }
    print(json.dumps(result))
    out = ROOT / "test-artifacts" / "upload_lab.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))

    # the batch: every machine file converted, the video listed as ignored
    from leafnb import Workspace

    ws = Workspace(page.lab.root / "ws", executor="inline")
    (batch,) = ws.get_batches()
    assert batch["status"] == "PROCESSED", batch
    assert batch["size"] == size and batch["fileName"] == zip_path.name
    assert f"{len(names)} of {len(names)} files converted" in message
    assert any("drone_flight" in e for e in batch["ignoredEntries"])
    files = ws.get_files(batchId=batch["id"], size=100)
    assert sorted(f["status"] for f in files) == ["processed"] * len(names)
    assert _sha256(ws.path / "batches" / batch["id"] / "upload.zip") == digest
    # one full green step bar per file, with the file's whole name
    assert len(shown) == len(names)
    for name in names:
        (row,) = [r for r in shown if name in r["label"]]
        assert "9/9 · processed" in row["label"]
        assert row["width"] == "100%" and "success" in row["classes"], row


SELECTED = """(() => {
  const sel = document.querySelector(".leafnb-dashboard .leafnb-NAME-select select");
  // ipywidgets writes option labels with no-break spaces
  return sel.selectedIndex >= 0 ? sel.options[sel.selectedIndex].textContent.replace(/\u00a0/g, " ") : null;
})()"""


def _choose(browser, name: str, starts: str) -> None:
    """Choose the dashboard's *name* option whose label starts with *starts* (as a user would)."""
    browser.evaluate(
        """(() => {
      const sel = document.querySelector(".leafnb-dashboard .leafnb-NAME-select select");
      sel.selectedIndex = [...sel.options].findIndex((o) => o.textContent.startsWith(STARTS));
      sel.dispatchEvent(new Event("change", {bubbles: true}));
      return true;
    })()""".replace("NAME", name).replace("STARTS", json.dumps(starts))
    )


def test_dashboard_lists_and_status_agree(lab_page):
    """After an upload the batch list and the status tab say the same; a chosen file is the one shown."""
    page, tmp = lab_page
    browser = page.browser
    card = tmp / "card"
    card.mkdir()
    for i, name in enumerate(("a_field_harvest", "b_field_harvest")):
        write_as(make_points("harvested", 400, seed=i), "sms_csv", card, name=name)
    zip_path = card.with_suffix(".zip")
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(card.iterdir()):
            zf.write(path, path.name)
    browser.set_files(f"{PANEL} .leafnb-transfer-input", [zip_path], index=2)
    label = browser.wait_for(
        f"(l => l && l.includes('card.zip · PROCESSED') && l)({SELECTED.replace('NAME', 'batch')})",
        timeout=300,
    )
    status = ".leafnb-dashboard .leafnb-status"
    header = browser.evaluate(f"document.querySelector('{status}').textContent")
    assert "card.zip" in header and "PROCESSED" in header and "2 files" in header, (
        label,
        header,
    )
    _choose(browser, "file", "b_field_harvest")
    browser.wait_for(
        f"document.querySelector('{status}').textContent.includes('b_field_harvest.csv · ')"
    )
    _choose(browser, "file", "a_field_harvest")
    shown = browser.wait_for(
        f"(t => t.includes('a_field_harvest.csv · ') && t)"
        f"(document.querySelector('{status}').textContent)"
    )
    assert "b_field_harvest.csv · " not in shown
    page.screenshot("dashboard_after_upload", ".leafnb-dashboard")


def test_the_page_stayed_on_this_machine(lab_page):
    page, _ = lab_page
    assert page.browser.requests, "no request recorded"
    assert page.outside_requests() == []


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
