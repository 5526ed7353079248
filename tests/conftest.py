"""Shared fixtures: a temporary workspace, the shared real data folder, zip builders, a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_report_header(config):
    import pyarrow
    import pyogrio
    import shapely

    import leafnb

    return [
        f"leafnb {leafnb.__version__}, pyarrow {pyarrow.__version__}, shapely {shapely.__version__}, "
        f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__})",
        f"readers: {', '.join(leafnb.list_readers())}",
        f"shared data: {'present' if SHARED_DATA.is_dir() else 'absent (real-data tests skipped)'}",
    ]


@pytest.fixture
def workspace(tmp_path):
    """A fresh Workspace in a temporary folder."""
    from leafnb import Workspace

    return Workspace(tmp_path / "ws")


@pytest.fixture
def shared_data():
    """Path of ../shared/data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


def make_zip(target: Path, entries: dict[str, bytes | Path]) -> Path:
    """Write a zip whose entries are given as {name: bytes or file path}."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            if isinstance(data, Path):
                zf.write(data, name)
            else:
                zf.writestr(name, data)
    return target


def zip_files(target: Path, files: list[Path], root: Path | None = None) -> Path:
    """Zip real files (relative to *root*, or flat by name)."""
    return make_zip(
        target, {(f.relative_to(root).as_posix() if root else f.name): f for f in files}
    )


SMS_CSV = (
    "Longitude,Latitude,Time,Elevation(ft),Distance(ft),Swth Wdth(ft),Speed(mph),Moisture(%),Yld Vol(Dry)(bu/ac),Product\n"
    + "".join(
        f"{-93.6 + i * 0.00003:.6f},{42.0:.6f},2024-10-01T12:00:{i:02d}Z,{900 + i % 3},4.4,30,3.0,18.5,{150 + i},Corn\n"
        for i in range(40)
    )
).encode()


@pytest.fixture
def harvest_csv_zip(tmp_path):
    """A small SMS-style harvest CSV, zipped."""
    return make_zip(tmp_path / "harvest.zip", {"harvest.csv": SMS_CSV})


def python_output(code: str) -> str:
    """What *code* prints in a fresh interpreter (for what only a new process shows:
    which modules an import pulls in, process-wide settings)."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return out.stdout
