"""Device trees and time logs for the ISOXML rule tests (built with leafnb's writer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.taskdata import clear_cache
from leafnb.formats.isoxml.writer import (
    DeviceSpec,
    DlvSpec,
    ElementSpec,
    TimeLogSpec,
    write_taskdata,
)

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
M_PER_DEG = 111_195.0


def track(n: int, *, speed: float = 2.0, dt_ms: int = 1000, lat0: float = 52.0):
    """Times (ms), lat, lon of a machine driving north at *speed* m/s."""
    t = T0 + np.arange(n, dtype=np.int64) * dt_ms
    lat = lat0 + np.arange(n) * speed * dt_ms / 1000 / M_PER_DEG
    lon = np.full(n, 10.0)
    return t, lat, lon


def condensed(on: np.ndarray) -> np.ndarray:
    """Condensed work state values (k sections x n records of 0/1) -> raw uint32 as int."""
    k = on.shape[0]
    raw = np.zeros(on.shape[1], dtype=np.int64)
    for j in range(k):
        raw |= on[j].astype(np.int64) << (2 * j)
    return raw.astype(np.uint32).view(np.int32).astype(np.int64)


def topcon_planter(rows: int = 32, row_mm: int = 381) -> list[DeviceSpec]:
    """A console, and a 32-row planter whose device tree carries widths at every level.

    Console 4 m; seed boom 12.192 m and liquid boom 12.192 m; four 3.048 m sub-booms;
    32 seed sections (one row each) under the sub-booms and 32 seed units of 0.381 m
    (with lateral offsets) under them; element numbers of rows 19-32 below rows 1-18,
    as the Topcon controller numbers them.
    """
    console = DeviceSpec(
        "DVC-2",
        "Console",
        0,
        [ElementSpec("DET-C", 1, designator="Console", properties={67: 4000})],
    )
    boom = rows * row_mm
    elements = [
        ElementSpec("DET-P", 1, designator="Planter", process_data=(141,)),
        ElementSpec(
            "DET-SB", 2, "DET-P", "Seed Boom", process_data=(67, 141, 161, 162, 12)
        ),
        ElementSpec("DET-LB", 2, "DET-P", "Liquid Boom", process_data=(67, 141, 2)),
    ]
    per_sub = rows // 4
    for s in range(4):
        elements.append(
            ElementSpec(f"DET-SUB{s + 1}", 2, "DET-SB", f"Seed Sub Boom {s + 1}",
                        properties={67: per_sub * row_mm})
        )  # fmt: skip
    for r in range(rows):
        number = 321 + r if r < 18 else 65 + r - 18
        y = int(np.floor((r - (rows - 1) / 2) * row_mm))  # 381 mm apart
        elements.append(
            ElementSpec(f"DET-S{r + 1}", 4, f"DET-SUB{r // per_sub + 1}",
                        f"Seed Section/Row {r + 1}", number=number)
        )  # fmt: skip
        elements.append(
            ElementSpec(f"DET-U{r + 1}", 5, f"DET-S{r + 1}", f"Seed Unit/Row {r + 1}",
                        number=1000 + r, properties={67: row_mm, 135: y})
        )  # fmt: skip
    assert boom == 12_192 or rows != 32
    return [console, DeviceSpec("DVC-3", "32 Row Planter", 4, elements)]


def read_task(folder: Path, logs, **kw):
    """Write a TASKDATA with *logs* (+ writer keywords) and read its task."""
    clear_cache()
    path = write_taskdata(folder, logs, **kw)
    return IsoxmlReader().read(path, part="TSK1")


def working_width(raw) -> np.ndarray:
    """The width of the working elements per record (mm)."""
    return raw.table["agg_workingWidth"].to_numpy(zero_copy_only=False)


def column(raw, prop: str) -> np.ndarray:
    """The values of the column mapped to standard property *prop*."""
    src = next(k for k, c in raw.meta["columns"].items() if c.property == prop)
    col = raw.table[src]
    if prop == "recordingStatus":
        return np.array(col.to_pylist(), dtype=object)
    return col.to_numpy(zero_copy_only=False)


__all__ = [
    "T0",
    "DeviceSpec",
    "DlvSpec",
    "ElementSpec",
    "TimeLogSpec",
    "column",
    "condensed",
    "read_task",
    "topcon_planter",
    "track",
    "working_width",
]
