"""A mean-value grid of one property from GeoParquet partitions (``numpy.bincount`` per batch).

The grid is north-up in WGS84 degrees with cells of about ``cell_size`` metres: the start of
a map image, a GeoTIFF or a quantile-class preparation, built without loading the points.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from leafnb.pipeline.executors import map_tasks
from leafnb.scale.partitions import (
    BATCH_ROWS,
    expand_paths,
    first_units,
    iter_point_batches,
    partition_meta,
)

__all__ = ["grid_partitions"]


def _bbox(files: list[Path]) -> tuple[float, float, float, float]:
    boxes = []
    for p in files:
        md = pq.read_schema(p).metadata or {}
        geo = json.loads(md.get(b"geo", b"{}"))
        bbox = geo.get("columns", {}).get("geometry", {}).get("bbox")
        if not bbox:
            lo: Any = None
            hi: Any = None
            for pts in iter_point_batches(p, columns=["lon", "lat"]):
                lon, lat = pts.array("lon"), pts.array("lat")
                box = (np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat))
                lo = box[:2] if lo is None else np.minimum(lo, box[:2])
                hi = box[2:] if hi is None else np.maximum(hi, box[2:])
            bbox = [*lo, *hi]
        boxes.append(bbox)
    b = np.array(boxes, dtype=float)
    return (
        float(b[:, 0].min()),
        float(b[:, 1].min()),
        float(b[:, 2].max()),
        float(b[:, 3].max()),
    )


def _grid_one(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    path, prop, bounds, shape, units, batch_size = args
    w, s, e, n = bounds
    rows, cols = shape
    total = np.zeros(rows * cols)
    count = np.zeros(rows * cols)
    for pts in iter_point_batches(
        path, columns=["lon", "lat", prop], units=units, batch_size=batch_size
    ):
        if prop not in pts.table.column_names:
            continue
        lon, lat, v = pts.array("lon"), pts.array("lat"), pts.array(prop)
        ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(v)
        c = np.clip(((lon[ok] - w) / (e - w) * cols).astype(np.int64), 0, cols - 1)
        r = np.clip(((n - lat[ok]) / (n - s) * rows).astype(np.int64), 0, rows - 1)
        idx = r * cols + c
        total += np.bincount(idx, weights=v[ok], minlength=rows * cols)
        count += np.bincount(idx, minlength=rows * cols)
    return total, count


def grid_partitions(
    paths: str | Path | Iterable[str | Path],
    prop: str,
    *,
    cell_size: float = 10.0,
    bounds: tuple[float, float, float, float] | None = None,
    executor: Any = None,
    batch_size: int = BATCH_ROWS,
    max_cells: int = 50_000_000,
) -> dict[str, Any]:
    """Mean of *prop* per grid cell (about *cell_size* metres, north-up, WGS84 degrees).

    Returns ``{"values": 2-D float array (NaN = no points), "count": 2-D int array,
    "bounds": (west, south, east, north), "unit": ...}`` — the input of a map image,
    a GeoTIFF or quantile-class preparation, built without loading the points.
    """
    files = expand_paths(paths)
    bounds = bounds or _bbox(files)
    w, s, e, n = bounds
    lat0 = np.radians((s + n) / 2)
    m_per_deg = 111_320.0
    cols = max(1, int(np.ceil((e - w) * m_per_deg * np.cos(lat0) / cell_size)))
    rows = max(1, int(np.ceil((n - s) * m_per_deg / cell_size)))
    if rows * cols > max_cells:
        raise ValueError(
            f"grid of {rows}x{cols} cells exceeds max_cells={max_cells}; use a larger cell_size"
        )
    units = first_units(partition_meta(p) for p in files)
    eps = 1e-12
    b = (w - eps, s - eps, e + eps, n + eps)
    total = np.zeros(rows * cols)
    count = np.zeros(rows * cols)
    for t, c in map_tasks(
        _grid_one,
        [
            (
                str(p),
                prop,
                b,
                (rows, cols),
                {prop: units[prop]} if prop in units else None,
                batch_size,
            )
            for p in files
        ],
        executor,
    ):
        total += t
        count += c
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(count > 0, total / count, np.nan)
    return {
        "values": values.reshape(rows, cols),
        "count": count.reshape(rows, cols).astype(np.int64),
        "bounds": bounds,
        "unit": units.get(prop),
    }
