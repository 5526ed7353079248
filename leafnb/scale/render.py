"""The imagesV2 map of one property from GeoParquet partitions, without loading the points.

:func:`render_partitions` makes four passes over the partitions, each reading one record
batch at a time: a scan (counts, ranges, widest swath), two passes of exact order
statistics (:mod:`leafnb.scale.quantiles`: the median latitude that sets the grid, and the
quantile edges of the 7-class legend), then per-cell point sums and counts per footprint
size, spread and averaged as :func:`leafnb.render.raster.rasterize` does. The PNG, legend
and extent equal the in-memory imagesV2 (:func:`leafnb.render.images.build_v2`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from leafnb.pipeline.executors import map_tasks
from leafnb.render.images import MAX_SIZE, V2_RESOLUTION_DEG, extent_4326
from leafnb.render.legend import legend_from_edges
from leafnb.render.png import write_png
from leafnb.render.raster import (
    MAX_RADIUS,
    degrees_to_crs_resolution,
    footprint_radii,
    grid_spec,
    project,
    spread,
)
from leafnb.scale.partitions import (
    BATCH_ROWS,
    expand_paths,
    first_units,
    partition_meta,
    positioned_batches,
)
from leafnb.scale.quantiles import lerp, order_statistics, quantile_plan

__all__ = ["render_partitions"]


def _rp_scan(args: tuple) -> dict[str, Any]:
    """Pass 1 of one partition: counts, projected bounds, lat/value ranges, widest swath."""
    path, prop, units, batch_size, crs = args
    out: dict[str, Any] = {
        "n": 0,
        "vn": 0,
        "wnonnull": 0,
        "wmax": 0.0,
        "x": [np.inf, -np.inf],
        "y": [np.inf, -np.inf],
        "lat": [np.inf, -np.inf],
        "v": [np.inf, -np.inf],
    }

    def widen(key: str, a: np.ndarray) -> None:
        if len(a):
            out[key] = [
                min(out[key][0], float(a.min())),
                max(out[key][1], float(a.max())),
            ]

    for nonnull, lon, lat, v, w in positioned_batches(
        path, prop, units, batch_size, True
    ):
        out["n"] += len(lon)
        out["wnonnull"] += nonnull
        x, y = project(lon, lat, crs)
        ok = np.isfinite(x) & np.isfinite(y)
        widen("x", x[ok])
        widen("y", y[ok])
        widen("lat", lat)
        fv = v[np.isfinite(v)]
        out["vn"] += len(fv)
        widen("v", fv)
        if w is not None and len(w):
            out["wmax"] = max(
                out["wmax"],
                float(
                    np.clip(
                        np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0), 0, None
                    ).max()
                ),
            )
    return out


def render_partitions(
    paths: str | Path | Iterable[str | Path],
    property: str,
    out_dir: str | Path,
    *,
    resolution: float | None = None,
    crs: str = "EPSG:3857",
    batch_rows: int = BATCH_ROWS,
    executor: Any = None,
    max_size: int | None = None,
    select_limit: int = 1 << 20,
) -> dict[str, Any]:
    """The imagesV2 PNG (+ ``.aux.xml``) and legend of *property*, built from GeoParquet partitions.

    The same product as :meth:`leafnb.Workspace.get_operation_images_v2` (and
    :func:`leafnb.render.images.build_v2`) of the concatenated points, without loading
    them: every pass reads one record batch (*batch_rows* rows) at a time.

    1. **scan**: positioned-point count, projected bounds, latitude/value ranges, widest swath;
    2. **exact order statistics** (:func:`order_statistics`): the median latitude
       (it sets the cell size and the grid) and the ranks ``numpy.quantile`` interpolates
       between for the 7 classes, via 2^16-bin histograms then an exact selection inside
       the bins holding them (repeated on a narrower window while a bin holds more than
       *select_limit* values); the edges are interpolated with numpy's own arithmetic
       and turned into a :class:`~leafnb.render.legend.Legend` by
       :func:`~leafnb.render.legend.legend_from_edges` (the same tie rule);
    3. **raster**: per footprint size, point sums and counts per cell accumulated in point
       order (``numpy.add.at``), then the spread / mean of :mod:`leafnb.render.raster`.

    So the legend, extent and PNG equal the in-memory imagesV2 of the partitions
    concatenated in the given order (tested pixel for pixel). With an *executor* the
    partitions are mapped in parallel (only histograms, bin contents and per-partition
    sparse cell sums travel back); per-cell sums of different partitions are then added
    in partition order, which is bitwise the in-memory result when no cell holds points
    of two partitions, and otherwise differs by float rounding of the sum only.

    Parameters
    ----------
    paths : path or paths
        ``standard.parquet``/``filtered.parquet`` files, or folders searched for ``*.parquet``;
        values are converted to the first partition's units.
    property : str
        The numeric property to render.
    out_dir : path
        Where ``<property>.png`` and ``<property>.png.aux.xml`` are written.
    resolution : float, optional
        Cell size in degrees (Leaf's convention; default imagesV2's 0.00001°), converted
        to *crs* units at the median latitude as imagesV2 does.
    crs : str
        Grid CRS (imagesV2: EPSG:3857).
    batch_rows : int
        Rows per record batch.
    executor : optional
        A ``concurrent.futures.Executor`` or ``distributed.Client`` mapping partitions.
    max_size : int, optional
        Cells per side before the resolution is raised (default imagesV2's 8192).
    select_limit : int
        Most values collected per quantile rank in the exact-selection pass.

    Returns
    -------
    dict
        ``{"property", "legend": {"ranges": [...] (, "tiedClasses")}, "extent": {xmin,
        xmax, ymin, ymax} (EPSG:4326), "url", "downloadUrl"}``.
    """
    files = expand_paths(paths)
    crs = crs.upper()
    units = first_units(partition_meta(p) for p in files)
    units = {k: u for k, u in units.items() if k in (property, "equipmentWidth")}
    jobs = [(str(p), property, units, batch_rows) for p in files]

    # pass 1: ranges
    scans = map_tasks(_rp_scan, [(*job, crs) for job in jobs], executor)
    n = sum(s["n"] for s in scans)
    if not n:
        raise ValueError("no points with a position to render")
    rng = {
        key: (min(s[key][0] for s in scans), max(s[key][1] for s in scans))
        for key in ("x", "y", "lat", "v")
    }
    vn = sum(s["vn"] for s in scans)
    has_width = any(s["wnonnull"] for s in scans)

    # passes 2-3: median latitude and quantile ranks, exactly
    q = np.linspace(0.0, 1.0, 8)
    specs: dict[str, tuple[float, float, list[int]]] = {
        "lat": (*rng["lat"], [(n - 1) // 2, n // 2])
    }
    if vn:
        prev, nxt, gamma = quantile_plan(vn, q)
        specs["v"] = (*rng["v"], [int(i) for i in (*prev, *nxt)])
    stats = order_statistics(jobs, specs, executor, select_limit)
    mid = [stats["lat", r] for r in sorted({(n - 1) // 2, n // 2})]
    lat0 = float(np.median(np.array(mid)))  # numpy's mean of the middle value(s)
    if vn:
        edges = lerp(
            np.array([stats["v", int(i)] for i in prev]),
            np.array([stats["v", int(i)] for i in nxt]),
            gamma,
        )
        edges[0], edges[-1] = rng["v"]
    else:
        edges = np.full(8, np.nan)
    legend = legend_from_edges(
        edges, count=vn, unit=units.get(property), property=property, warn=False
    )

    # the grid, as images._raster
    res = degrees_to_crs_resolution(
        V2_RESOLUTION_DEG if resolution is None else resolution, crs, lat0
    )
    max_size = MAX_SIZE if max_size is None else max_size
    bx, by = np.array(rng["x"]), np.array(rng["y"])
    spec = grid_spec(bx, by, crs, res, max_size=max_size, lat=lat0)
    if has_width:
        wmax = np.array([max(s["wmax"] for s in scans)])
        rx, ry = footprint_radii(wmax, spec, 1)
        pad = int(max(rx.max(initial=0), ry.max(initial=0)))
        if pad:
            spec = grid_spec(bx, by, crs, res, max_size=max_size, pad=pad, lat=lat0)

    # pass 4: cell sums and counts per footprint group
    size = spec.width * spec.height
    keys: set[int] = set()
    sums: dict[int, np.ndarray] = {}
    cnts: dict[int, np.ndarray] = {}
    rjobs = [(*job, spec, has_width) for job in jobs]
    if executor is None:
        for rjob in rjobs:
            for k, idx, v in _rp_cells(rjob):
                keys.add(k)
                if v is None:
                    continue
                if k not in sums:
                    sums[k], cnts[k] = np.zeros(size), np.zeros(size, dtype=np.uint32)
                np.add.at(sums[k], idx, v)
                np.add.at(cnts[k], idx, 1)
    else:
        for part_keys, part in map_tasks(_rp_raster_partial, rjobs, executor):
            keys |= part_keys
            for k, (cells, s, c) in part.items():
                if k not in sums:
                    sums[k], cnts[k] = np.zeros(size), np.zeros(size, dtype=np.uint32)
                sums[k][cells] += s
                cnts[k][cells] += c
    mean = _cell_means(spec, sorted(keys), sums, cnts)

    out_dir = Path(out_dir)
    path = write_png(
        out_dir / f"{property}.png", legend.rgba(mean), spec, {"property": property}
    )
    return {
        "property": property,
        "legend": legend.to_dict(),
        "extent": extent_4326(spec),
        "url": str(path),
        "downloadUrl": path.resolve().as_uri(),
    }


def _rp_cells(args: tuple) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """``(footprint group, cell indices, values)`` of one partition's points with a finite value, per batch and group.

    Groups with no finite value in a batch yield ``values=None`` (the group still exists,
    as in :func:`leafnb.render.raster.rasterize`).
    """
    path, prop, units, batch_size, spec, has_width = args
    for _, lon, lat, v, w in positioned_batches(
        path, prop, units, batch_size, has_width
    ):
        if not len(lon):
            continue
        x, y = project(lon, lat, spec.crs)
        row, col = spec.cell_of(x, y)
        idx = row * spec.width + col
        rx, ry = footprint_radii(w if has_width else None, spec, len(x))
        key = rx * (MAX_RADIUS + 1) + ry
        finite = np.isfinite(v)
        for k in np.unique(key):
            sel = key == int(k)
            m = sel & finite
            yield int(k), idx[m], (v[m] if m.any() else None)


def _rp_raster_partial(
    args: tuple,
) -> tuple[set[int], dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Sparse per-group cell sums/counts of one partition (point order within the partition)."""
    keys: set[int] = set()
    acc: dict[int, list] = {}
    for k, idx, v in _rp_cells(args):
        keys.add(k)
        if v is not None:
            acc.setdefault(k, []).append((idx, v))
    out = {}
    for k, parts in acc.items():
        idx = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        cells, inv = np.unique(idx, return_inverse=True)
        out[k] = (
            cells,
            np.bincount(inv, weights=v, minlength=len(cells)),
            np.bincount(inv, minlength=len(cells)).astype(np.uint32),
        )
    return keys, out


def _cell_means(
    spec: Any,
    groups: list[int],
    sums: dict[int, np.ndarray],
    cnts: dict[int, np.ndarray],
) -> np.ndarray:
    """The per-cell mean of :func:`leafnb.render.raster.rasterize` from per-group point sums/counts."""
    size = spec.width * spec.height
    shape2 = (spec.height, spec.width)
    mean = np.full(shape2, np.nan)
    if groups in ([], [0]):  # no footprints: mean of each occupied cell
        if 0 in sums:
            flat = mean.reshape(-1)
            has = cnts[0] > 0
            flat[has] = sums[0][has] / cnts[0][has]
        return mean
    total_s = total_c = None
    for k in groups:
        gx, gy = divmod(k, MAX_RADIUS + 1)
        s = sums.pop(k, None)
        c = cnts.pop(k, None)
        s = spread((np.zeros(size) if s is None else s).reshape(shape2), gx, gy, False)
        c = spread(
            (np.zeros(size) if c is None else c.astype(float)).reshape(shape2),
            gx,
            gy,
            False,
        )
        if total_s is None:
            total_s, total_c = s, c
        else:
            total_s += s
            total_c += c
    assert total_s is not None and total_c is not None  # groups is not empty here
    np.divide(total_s, total_c, out=mean, where=total_c >= 0.5)
    return mean
