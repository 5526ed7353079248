"""Generated multi-file seasons for the field-operation tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import shapely

from leafnb.testing import make_points, write_as
from tests.conftest import zip_files

R = 6_371_008.8
LAT0 = 42.0120


def shifted(
    op: str,
    n: int = 600,
    seed: int = 0,
    *,
    days: float = 0.0,
    east_m: float = 0.0,
    north_m: float = 0.0,
    crop: str | None = None,
) -> pa.Table:
    """make_points moved by *east_m*/*north_m* metres and *days* days (crop replaced when given)."""
    t = make_points(op, n, seed)
    lon = t["lon"].to_numpy() + math.degrees(
        east_m / (R * math.cos(math.radians(LAT0)))
    )
    lat = t["lat"].to_numpy() + math.degrees(north_m / R)
    ts = t["timestamp"].cast(pa.int64()).to_numpy() + int(days * 86_400_000)
    t = t.set_column(t.column_names.index("lon"), "lon", pa.array(lon))
    t = t.set_column(t.column_names.index("lat"), "lat", pa.array(lat))
    t = t.set_column(
        t.column_names.index("timestamp"),
        "timestamp",
        pa.array(ts).cast(pa.timestamp("ms", tz="UTC")),
    )
    if crop is not None and "crop" in t.column_names:
        t = t.set_column(
            t.column_names.index("crop"),
            "crop",
            pa.array([crop] * t.num_rows, pa.string()),
        )
    return t


def field_around(table: pa.Table, margin_m: float = 20.0, drop_outliers: bool = True):
    """A WGS84 rectangle around the points (the GPS-jump point excluded)."""
    lon, lat = table["lon"].to_numpy(), table["lat"].to_numpy()
    if drop_outliers:
        keep = np.abs(lon - np.median(lon)) < np.percentile(
            np.abs(lon - np.median(lon)), 99
        )
        lon, lat = lon[keep], lat[keep]
    dlon = math.degrees(margin_m / (R * math.cos(math.radians(LAT0))))
    dlat = math.degrees(margin_m / R)
    return shapely.box(
        lon.min() - dlon, lat.min() - dlat, lon.max() + dlon, lat.max() + dlat
    )


def upload(
    ws,
    tables: dict[str, tuple[pa.Table, str]],
    tmp: Path,
    uid: str = "grower-1",
    name: str = "card",
):
    """Write {stem: (table, format)} as machine files, zip and upload them; return {stem: file id}."""
    folder = tmp / name
    paths = []
    for stem, (table, fmt) in tables.items():
        main = write_as(table, fmt, folder, name=stem)
        paths += [p for p in folder.iterdir() if p.stem == stem]
        assert main.exists()
    z = zip_files(tmp / f"{name}.zip", paths)
    batch = ws.upload_batch(z, uid, progress=False)
    out = {}
    for fid in batch["leafFiles"]:
        f = ws.get_file(fid)
        assert f["status"] == "processed", ws.get_file_status(fid)
        out[Path(f["fileName"]).stem] = fid
    return out


@pytest.fixture
def ws(tmp_path):
    """A workspace converting in-process (small batches; independent of worker pools)."""
    from leafnb import Workspace

    try:
        return Workspace(tmp_path / "ws", executor="inline")
    except TypeError:  # a Workspace without executors
        return Workspace(tmp_path / "ws")
