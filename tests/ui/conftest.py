"""Headless Chromium (Debian's /usr/bin/chromium); UI tests are skipped without it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = (
    os.environ.get("LEAFNB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)


@pytest.fixture
def screenshot(tmp_path):
    """screenshot(html_path, width, height) -> PNG path, taken by headless Chromium."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")

    def take(page: Path, width: int = 1200, height: int = 3000) -> Path:
        out = tmp_path / "shot.png"
        cmd = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={out}",
            f"--window-size={width},{height}",
            page.resolve().as_uri(),
        ]
        subprocess.run(
            cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=120, check=False
        )
        assert out.is_file(), "chromium wrote no screenshot"
        return out

    return take
