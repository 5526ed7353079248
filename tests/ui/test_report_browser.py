"""The demo-style HTML report rendered by a real headless Chromium shows the Leaf legend colours."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.report import write_report
from leafnb.testing import make_points, write_as
from tests.conftest import make_zip

pytestmark = pytest.mark.ui

LEAF_COLOURS = (
    "#C80000",
    "#FF2800",
    "#FF9600",
    "#FFF000",
    "#00E600",
    "#00BE00",
    "#008200",
)


def test_report_screenshot_has_legend_colours(tmp_path, screenshot):
    from PIL import Image

    from leafnb import Workspace

    ws = Workspace(tmp_path / "ws", executor="inline")
    src = write_as(make_points("harvested", 800, seed=5), "sms_csv", tmp_path / "gen")
    batch = ws.upload_batch(make_zip(tmp_path / "u.zip", {src.name: src}), "grower-1")
    assert batch["status"] == "PROCESSED"
    page = write_report(ws, batch["id"], tmp_path / "report")
    rgb = np.asarray(Image.open(screenshot(page, 1200, 2600)).convert("RGB")).astype(
        np.uint32
    )
    codes = (rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]).ravel()
    counts = {c: int(np.count_nonzero(codes == int(c[1:], 16))) for c in LEAF_COLOURS}
    # each colour covers at least a legend swatch (28 × 16 px), not a stray pixel
    missing = [c for c, n in counts.items() if n < 200]
    assert not missing, (
        f"legend colours missing from the rendered report: {missing} ({counts})"
    )
