"""Yield-map filters: small vectorised functions over track columns, with Yield Editor's vocabulary.

Every filter has the signature ``fn(track, alive, **params)`` where *track* is a
:class:`~leafnb.clean.passes.Track` (arrays in time order) and *alive* the points no
earlier filter removed. It returns ``(remove, resolved)`` — a boolean mask of points to
remove (only alive ones count) and the parameters actually used (automatic thresholds
resolved to numbers) — or a string saying why it does not apply (missing column,
wrong operation type). Delay filters (``flowDelay``, ``moistureDelay``) shift values in
``track.values`` and remove the points left without a value.

Automatic thresholds ("auto") are AYCE-style percentile bands: ``factor × P(percentile)``
of the alive points' values, so they adapt to each field and stay reproducible.

The registry :data:`FILTERS` maps each filter name to its function, default
parameters, applicable operation types and a one-line description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leafnb.clean.passes import Track, angle_diff

__all__ = ["FILTERS", "FilterSpec", "mass_weights", "shift_along_track", "value_column"]

HARVEST = ("harvested",)
ALL = ("harvested", "planted", "applied", "tillage")

#: the per-operation-type column that minYield/maxYield/globalSD/localSD look at by default
_VALUE_COLUMNS = {
    "harvested": (
        "wetVolumePerArea",
        "wetMassPerArea",
        "dryVolumePerArea",
        "dryMassPerArea",
    ),
    "planted": ("seedRate",),
    "applied": ("appliedRate",),
    "tillage": ("tillageDepthActual",),
}
#: harvest columns a flow delay shifts (the grain-flow family; moisture has its own delay)
FLOW_COLUMNS = (
    "wetMass",
    "wetMassPerArea",
    "wetVolume",
    "wetVolumePerArea",
    "dryMass",
    "dryMassPerArea",
    "dryVolume",
    "dryVolumePerArea",
    "cropFlow",
)
DRY_COLUMNS = ("dryMass", "dryMassPerArea", "dryVolume", "dryVolumePerArea")


def value_column(track: Track, column: str | None = None) -> str | None:
    """The column a value filter uses: *column*, else the operation type's yield/rate column present."""
    if column:
        return column if track.has(column) else None
    return next(
        (
            c
            for c in _VALUE_COLUMNS.get(track.points.operation_type, ())
            if track.has(c)
        ),
        None,
    )


def mass_weights(track: Track) -> np.ndarray | None:
    """Per-point harvested quantity for ``percentMass``: wetMass, else wetVolume, else per-area × area; None off harvest."""
    if track.points.operation_type != "harvested":
        return None
    for col in ("wetMass", "wetVolume"):
        if track.points.has(col):
            return np.nan_to_num(track.take(track.points.array(col)))
    if track.points.has("area"):
        for col in ("wetMassPerArea", "wetVolumePerArea"):
            if track.points.has(col):
                return np.nan_to_num(
                    track.take(track.points.array(col))
                    * track.take(track.points.array("area"))
                )
    return None


def _pct(values: np.ndarray, alive: np.ndarray, q: float) -> float:
    v = values[alive & np.isfinite(values)]
    return float(np.percentile(v, q)) if len(v) else float("nan")


def _prev_alive(alive: np.ndarray) -> np.ndarray:
    """Index of the previous alive point for each point (-1 when none)."""
    idx = np.where(alive, np.arange(len(alive)), -1)
    prev = np.empty_like(idx)
    if len(idx):
        prev[0] = -1
        prev[1:] = np.maximum.accumulate(idx)[:-1]
    return prev


def _next_alive(alive: np.ndarray) -> np.ndarray:
    """Index of the next alive point for each point (-1 when none)."""
    n = len(alive)
    rev = _prev_alive(alive[::-1])[::-1]
    return np.where(rev >= 0, n - 1 - rev, -1)


# ----------------------------------------------------------------------------- status / position


def recording_status(track: Track, alive: np.ndarray, value: str = "On"):
    """Header/recording status: remove points whose ``recordingStatus`` is not *value*."""
    if not track.points.has("recordingStatus"):
        return "no recordingStatus column"
    return track.strings("recordingStatus") != value, {"value": value}


def gps_quality(
    track: Track,
    alive: np.ndarray,
    min_quality: float = 1,
    max_pdop: float | None = None,
    max_hdop: float | None = None,
):
    """GPS quality: remove fix quality below *min_quality* (NMEA GGA: 0 none, 1 GPS, 2 DGPS, 4 RTK fixed, 5 float) and PDOP/HDOP above limits."""
    remove = np.zeros(len(track), dtype=bool)
    used = {}
    if track.has("gpsQuality") and min_quality is not None:
        q = track.col("gpsQuality")
        remove |= np.isfinite(q) & (q < min_quality)
        used["min_quality"] = min_quality
    for col, limit, key in (
        ("pdop", max_pdop, "max_pdop"),
        ("hdop", max_hdop, "max_hdop"),
    ):
        if limit is not None and track.has(col):
            v = track.col(col)
            remove |= np.isfinite(v) & (v > limit)
            used[key] = limit
    if not used:
        return "no GPS quality column (gpsQuality, pdop, hdop)"
    return remove, used


def duplicate_position(track: Track, alive: np.ndarray, tolerance_m: float = 0.01):
    """Duplicate positions: among alive points, remove every point at the position (within *tolerance_m*) of an earlier one."""
    idx = np.flatnonzero(alive)
    remove = np.zeros(len(track), dtype=bool)
    if len(idx):
        gx = np.round(track.x[idx] / tolerance_m).astype(np.int64)
        gy = np.round(track.y[idx] / tolerance_m).astype(np.int64)
        keys = np.stack([gx, gy], axis=1)
        _, first = np.unique(keys, axis=0, return_index=True)
        dup = np.ones(len(idx), dtype=bool)
        dup[first] = False
        remove[idx[dup]] = True
    return remove, {"tolerance_m": tolerance_m}


def position(
    track: Track,
    alive: np.ndarray,
    jump_factor: float = 5.0,
    min_jump_m: float = 10.0,
    radius_factor: float | None = 4.0,
):
    """GPS jumps: remove spikes and strays.

    Spikes are alive points farther than ``max(min_jump_m, jump_factor × median step)``
    from both their previous and next alive point; strays are points farther from the
    median position than ``radius_factor × P95`` of that distance.
    """
    n = len(track)
    remove = np.zeros(n, dtype=bool)
    if n < 3:
        return remove, {"jump_factor": jump_factor, "min_jump_m": min_jump_m}
    prev, nxt = _prev_alive(alive), _next_alive(alive)
    i = np.arange(n)
    d_prev = np.where(
        prev >= 0, np.hypot(track.x - track.x[prev], track.y - track.y[prev]), np.inf
    )
    d_next = np.where(
        nxt >= 0, np.hypot(track.x - track.x[nxt], track.y - track.y[nxt]), np.inf
    )
    steps = d_prev[alive & (prev >= 0) & (d_prev > 0)]
    med = float(np.median(steps)) if len(steps) else 1.0
    limit = max(min_jump_m, jump_factor * med)
    remove |= (d_prev > limit) & (d_next > limit) & ((prev >= 0) | (nxt >= 0))
    resolved: dict[str, Any] = {
        "jump_factor": jump_factor,
        "min_jump_m": min_jump_m,
        "jump_limit_m": round(limit, 3),
    }
    if radius_factor:
        ok = alive & ~remove
        cx, cy = np.median(track.x[ok]), np.median(track.y[ok])
        r = np.hypot(track.x - cx, track.y - cy)
        r95 = _pct(r, ok, 95)
        remove |= r > radius_factor * r95
        resolved |= {
            "radius_factor": radius_factor,
            "radius_limit_m": round(radius_factor * r95, 3),
        }
    del i
    return remove, resolved


def boundary(track: Track, alive: np.ndarray, geometry=None, buffer_m: float = 0.0):
    """Position / boundary edge buffer: remove points outside *geometry* or near its edge.

    *geometry* is a shapely (Multi)Polygon in lon/lat (WGS84); points within *buffer_m*
    metres of its edge are removed too.
    """
    if geometry is None:
        return "no boundary geometry given"
    import shapely

    if isinstance(geometry, str):
        geometry = shapely.from_wkt(geometry)
    elif isinstance(geometry, dict):
        from shapely.geometry import shape

        geometry = shape(geometry.get("geometry", geometry))

    from leafnb.clean.passes import local_xy

    lon = track.take(track.points.array("lon"))
    lat = track.take(track.points.array("lat"))
    _, _, origin = local_xy(lon, lat)

    def to_xy(coords):
        x, y, _ = local_xy(coords[:, 0], coords[:, 1], origin)
        return np.stack([x, y], axis=1)

    poly = shapely.transform(geometry, to_xy)
    if buffer_m:
        poly = shapely.buffer(poly, -float(buffer_m))
    inside = (
        shapely.contains_xy(poly, track.x, track.y)
        if not poly.is_empty
        else np.zeros(len(track), bool)
    )
    return ~inside, {"buffer_m": buffer_m}


# ----------------------------------------------------------------------------- velocity / swath / passes


def _limit(
    values: np.ndarray,
    alive: np.ndarray,
    threshold: float | str,
    unit: str,
    base_unit: str,
    percentile: float,
    factor: float,
) -> tuple[float, dict[str, Any]]:
    """A filter threshold in *base_unit*: fixed (given in *unit*) or ``auto`` = factor × P(percentile)."""
    from leafnb.standard.units import convert

    if threshold == "auto":
        limit = factor * _pct(values, alive, percentile)
        return limit, {
            "threshold": "auto",
            "percentile": percentile,
            "factor": factor,
            "resolved": round(limit, 4),
            "unit": base_unit,
        }
    limit = (
        float(convert(np.array([float(threshold)]), unit, base_unit)[0])
        if unit != base_unit
        else float(threshold)
    )
    return limit, {"threshold": threshold, "unit": unit}


def min_velocity(
    track: Track,
    alive: np.ndarray,
    threshold: float | str = "auto",
    unit: str = "m/s",
    percentile: float = 10,
    factor: float = 0.5,
):
    """Minimum velocity: remove points slower than *threshold* (in *unit*; ``auto`` = factor × P(percentile)).

    Speed is the ``speed`` column converted from the file's unit to m/s (derived from
    positions and time when the column is missing); points with unknown speed are kept.
    """
    v = track.speed_ms()
    limit, resolved = _limit(v, alive, threshold, unit, "m/s", percentile, factor)
    with np.errstate(invalid="ignore"):
        return v < limit, resolved


def max_velocity(
    track: Track,
    alive: np.ndarray,
    threshold: float | str = "auto",
    unit: str = "m/s",
    percentile: float = 90,
    factor: float = 1.5,
):
    """Maximum velocity: remove points faster than *threshold* (in *unit*; ``auto`` = factor × P(percentile))."""
    v = track.speed_ms()
    limit, resolved = _limit(v, alive, threshold, unit, "m/s", percentile, factor)
    with np.errstate(invalid="ignore"):
        return v > limit, resolved


def smooth_velocity(
    track: Track,
    alive: np.ndarray,
    max_change: float | None = 0.2,
    max_accel: float | None = None,
    max_heading_change: float | None = None,
):
    """Smooth velocity: within a pass, remove points with abrupt speed or heading changes.

    A point is removed when its speed changed by more than *max_change* (fraction of the
    previous alive point's speed) or *max_accel* (m/s²), or its heading turned more than
    *max_heading_change* degrees since the previous alive point.
    """
    v, t = track.speed_ms(), track.t
    prev = _prev_alive(alive)
    has = prev >= 0
    p = np.where(has, prev, 0)
    same = has & (track.passes[p] == track.passes)
    remove = np.zeros(len(track), dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        if max_change is not None:
            rel = np.abs(v - v[p]) / np.maximum(v[p], 0.1)
            remove |= same & (rel > max_change)
        if max_accel is not None:
            acc = np.abs(v - v[p]) / np.maximum(t - t[p], 1e-3)
            remove |= same & (acc > max_accel)
        if max_heading_change is not None:
            remove |= same & (
                angle_diff(track.heading, track.heading[p]) > max_heading_change
            )
    return remove, {
        "max_change": max_change,
        "max_accel": max_accel,
        "max_heading_change": max_heading_change,
    }


def _pass_times(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """(seconds since the pass started, seconds until it ends) per point; passes are contiguous runs."""
    n = len(track)
    if not n:
        return np.zeros(0), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, track.passes[1:] != track.passes[:-1]])
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    ends = np.r_[starts[1:], n] - 1
    return track.t - track.t[starts][run], track.t[ends][run] - track.t


def start_pass_delay(
    track: Track,
    alive: np.ndarray,
    seconds: float | str = 4.0,
    max_seconds: float = 15.0,
    fill_fraction: float = 0.75,
    column: str | None = None,
):
    """Start pass delay: remove the first *seconds* of every pass (the header filling up).

    ``auto`` (harvest): the median over passes of the time until the yield first reaches
    *fill_fraction* of the pass's median yield, capped at *max_seconds*.
    """
    since, _ = _pass_times(track)
    resolved: dict[str, Any] = {"seconds": seconds}
    if seconds == "auto":
        col = value_column(track, column)
        if col is None:
            return "automatic start delay needs a yield column"
        y = track.col(col)
        est = _estimate_fill_time(track, alive, y, since, fill_fraction)
        limit = float(min(max_seconds, est))
        resolved |= {"resolved": limit, "fill_fraction": fill_fraction, "column": col}
    else:
        limit = float(seconds)
    return since < limit, resolved


def _estimate_fill_time(
    track: Track, alive: np.ndarray, y: np.ndarray, since: np.ndarray, fraction: float
) -> float:
    ok = alive & np.isfinite(y)
    if not ok.any():
        return 0.0
    passes = track.passes
    npass = int(passes.max()) + 1
    cnt = np.bincount(passes[ok], minlength=npass)
    # per-pass median approximated by the per-pass mean of the upper half is overkill; use the mean
    mean = np.bincount(passes[ok], weights=y[ok], minlength=npass) / np.maximum(cnt, 1)
    reached = ok & (y >= fraction * mean[passes])
    first = np.full(npass, np.inf)
    np.minimum.at(first, passes[reached], since[reached])
    good = (cnt >= 10) & np.isfinite(first)
    return float(np.median(first[good])) if good.any() else 0.0


def end_pass_delay(track: Track, alive: np.ndarray, seconds: float = 2.0):
    """End pass delay: remove the last *seconds* of every pass (the header emptying)."""
    _, until = _pass_times(track)
    return until < float(seconds), {"seconds": seconds}


def min_swath(
    track: Track,
    alive: np.ndarray,
    threshold: float | str = "auto",
    unit: str = "m",
    percentile: float = 95,
    factor: float = 0.5,
):
    """Minimum swath: remove points whose ``equipmentWidth`` is below *threshold* (``auto`` = factor × P(percentile))."""
    if not track.points.has("equipmentWidth"):
        return "no equipmentWidth column"
    w = track.width_m()
    limit, resolved = _limit(w, alive, threshold, unit, "m", percentile, factor)
    with np.errstate(invalid="ignore"):
        return w < limit, resolved


def overlap(
    track: Track,
    alive: np.ndarray,
    max_overlap: float = 0.5,
    cell: float | None = None,
    samples: int = 5,
):
    """Overlap (bitmap by swath width): remove points whose swath an earlier pass covered.

    Each alive point's swath is sampled at *samples* places across its width; a sample is
    covered when an earlier pass already touched its grid cell (*cell* metres, default a
    quarter of the typical swath). Points with more than *max_overlap* of their swath
    covered are removed.
    """
    idx = np.flatnonzero(alive)
    remove = np.zeros(len(track), dtype=bool)
    width = track.typical_width()
    c = float(cell) if cell else width / 4.0
    resolved = {"max_overlap": max_overlap, "cell_m": round(c, 4), "samples": samples}
    if not len(idx):
        return remove, resolved
    w = np.nan_to_num(track.width_m()[idx], nan=width)
    h = np.radians(np.nan_to_num(track.heading[idx]))
    offs = np.linspace(-0.5, 0.5, samples + 2)[
        1:-1
    ]  # inside the swath, not on its edges
    # perpendicular to heading (heading clockwise from north: direction (sin h, cos h))
    px = (np.cos(h)[None, :] * (offs[:, None] * w[None, :])) + track.x[idx][None, :]
    py = (-np.sin(h)[None, :] * (offs[:, None] * w[None, :])) + track.y[idx][None, :]
    gx = np.floor(px / c).astype(np.int64).ravel()
    gy = np.floor(py / c).astype(np.int64).ravel()
    pas = np.tile(track.passes[idx], samples)
    keys = (gx - gx.min()) * (int(gy.max() - gy.min()) + 1) + (gy - gy.min())
    uk, inv = np.unique(keys, return_inverse=True)
    first_pass = np.full(len(uk), np.iinfo(np.int64).max)
    np.minimum.at(first_pass, inv, pas)
    covered = (first_pass[inv] < pas).reshape(samples, len(idx))
    frac = covered.mean(axis=0)
    remove[idx[frac > max_overlap]] = True
    return remove, resolved


# ----------------------------------------------------------------------------- delays


def shift_along_track(
    track: Track, values: np.ndarray, seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """Values re-assigned along the track: point *i* gets the value recorded *seconds* later.

    The grain reached the sensor then. The value is linearly interpolated in time between
    the two records around ``t + seconds`` of the same continuous segment; returns
    (shifted values, has-a-value mask). Points whose ``t + seconds`` falls outside their
    segment get NaN.
    """
    n = len(track)
    if seconds == 0 or not n:
        return values.copy(), np.ones(n, dtype=bool)
    t, seg = track.t, track.segments
    target = t + seconds
    hi = np.clip(
        np.searchsorted(t, target, side="left"), 0, n - 1
    )  # first record at or after target
    lo = np.clip(hi - 1, 0, n - 1)
    exact = t[hi] == target
    lo = np.where(exact, hi, lo)
    ok = (seg[lo] == seg) & (seg[hi] == seg) & (t[lo] <= target) & (t[hi] >= target)
    span = t[hi] - t[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(span > 0, (target - t[lo]) / span, 0.0)
    out = np.where(ok, values[lo] * (1 - w) + values[hi] * w, np.nan)
    out = np.where(ok & (w == 0), values[lo], out)  # exact hits keep the recorded value
    return out, ok


def estimate_delay(
    track: Track,
    alive: np.ndarray,
    column: str,
    max_seconds: float = 20.0,
    min_seconds: float = 0.0,
    cell: float | None = None,
    max_probes: int = 100_000,
) -> tuple[float, dict[str, float]]:
    """Delay (s) that maximises spatial coherence of *column*.

    For each candidate shift, the mean absolute difference between each point's value and
    the mean of its neighbours from other passes (grid hash, cell = typical swath width);
    the smallest wins. Candidates are 1 s apart (or the median logging interval when
    shorter).
    """
    t = track.t
    dts = np.diff(t)
    step = (
        min(1.0, float(np.median(dts[dts > 0]))) if (dts > 0).any() else 1.0
    )  # 1 s steps (finer for fast logs)
    cands = (
        np.arange(np.ceil(min_seconds / step), np.floor(max_seconds / step) + 1) * step
    )
    grid = track.grid(cell or track.typical_width())
    base = track.col(column)
    # score on at most max_probes evenly spaced alive points (all points still feed the neighbour sums)
    probes = np.flatnonzero(alive)
    if len(probes) > max_probes:
        probes = probes[:: int(np.ceil(len(probes) / max_probes))]
    scores: dict[str, float] = {}
    for d in cands:
        v, ok = shift_along_track(track, base, float(d))
        valid = alive & ok & np.isfinite(v)
        cnt, mean, _ = grid.block_stats(
            v, valid, other_groups=True, at=probes, need_sd=False
        )
        use = valid[probes] & (cnt >= 3)
        vp = v[probes]
        scores[f"{d:g}"] = (
            float(np.mean(np.abs(vp[use] - mean[use])))
            if use.sum() >= 10
            else float("inf")
        )
    if not scores or not np.isfinite(min(scores.values())):
        return 0.0, scores
    best = min(scores, key=scores.get)
    return float(best), scores


def flow_delay(
    track: Track,
    alive: np.ndarray,
    seconds: float | str = "auto",
    max_seconds: float = 20.0,
    column: str | None = None,
):
    """Flow delay: shift the grain-flow columns along the track by *seconds*.

    The columns are mass, volume, per-area, dry and cropFlow; ``auto`` takes the shift with
    the best spatial coherence between passes, 0 to *max_seconds*. Points left without a
    value are removed.
    """
    if track.points.operation_type != "harvested":
        return "not a harvest"
    col = value_column(track, column)
    if col is None:
        return "no yield column"
    auto = seconds == "auto"
    scores = None
    if auto:
        delay, scores = estimate_delay(track, alive, col, max_seconds)
    else:
        delay = float(seconds)
    ok = np.ones(len(track), dtype=bool)
    for c in FLOW_COLUMNS:
        if track.has(c):
            track.values[c], ok = shift_along_track(track, track.col(c), delay)
            track.modified.add(c)
    track.info["flowDelay"] = {"seconds": delay, "automatic": auto}
    resolved = {"seconds": seconds, "resolved": delay, "column": col}
    if scores is not None:
        resolved["max_seconds"] = max_seconds
        resolved["coherence"] = {k: round(v, 4) for k, v in scores.items()}
    return ~ok, resolved


def moisture_delay(
    track: Track,
    alive: np.ndarray,
    seconds: float | str = "auto",
    max_seconds: float = 30.0,
):
    """Moisture delay: shift ``harvestMoisture`` along the track by *seconds*.

    *seconds* may be ``auto``, as in flowDelay. The dry columns are rescaled by
    (100 − new moisture) / (100 − old moisture); points left without a value are removed.
    """
    if track.points.operation_type != "harvested":
        return "not a harvest"
    if not track.has("harvestMoisture"):
        return "no harvestMoisture column"
    auto = seconds == "auto"
    delay = (
        estimate_delay(track, alive, "harvestMoisture", max_seconds)[0]
        if auto
        else float(seconds)
    )
    old = track.col("harvestMoisture")
    new, ok = shift_along_track(track, old, delay)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (100.0 - new) / (100.0 - old)
    for c in DRY_COLUMNS:
        if track.has(c):
            track.values[c] = track.col(c) * ratio
            track.modified.add(c)
    track.values["harvestMoisture"] = new
    track.modified.add("harvestMoisture")
    track.info["moistureDelay"] = {"seconds": delay, "automatic": auto}
    return ~ok, {"seconds": seconds, "resolved": delay}


# ----------------------------------------------------------------------------- yield values


def min_yield(
    track: Track,
    alive: np.ndarray,
    threshold: float | str = "auto",
    unit: str | None = None,
    percentile: float = 2,
    factor: float = 0.5,
    column: str | None = None,
):
    """Minimum yield: remove values below *threshold*.

    *threshold* is in *unit* (default the column's unit); ``auto`` = factor ×
    P(percentile). Works on the rate column off harvest.
    """
    return _value_limit(
        track, alive, threshold, unit, percentile, factor, column, below=True
    )


def max_yield(
    track: Track,
    alive: np.ndarray,
    threshold: float | str = "auto",
    unit: str | None = None,
    percentile: float = 98,
    factor: float = 1.5,
    column: str | None = None,
):
    """Maximum yield: remove values above *threshold* (``auto`` = factor × P(percentile))."""
    return _value_limit(
        track, alive, threshold, unit, percentile, factor, column, below=False
    )


def _value_limit(track, alive, threshold, unit, percentile, factor, column, below):
    from leafnb.standard.units import convert

    col = value_column(track, column)
    if col is None:
        return "no yield/rate column"
    y = track.col(col)
    col_unit = track.points.units.get(col)
    if threshold == "auto":
        limit = factor * _pct(y, alive, percentile)
        resolved = {
            "threshold": "auto",
            "percentile": percentile,
            "factor": factor,
            "resolved": round(limit, 4),
        }
    else:
        limit = float(threshold)
        if unit and col_unit and unit != col_unit:
            limit = float(convert(np.array([limit]), unit, col_unit)[0])
        resolved = {"threshold": threshold, "resolved": round(limit, 4)}
    resolved |= {"column": col, "unit": col_unit}
    with np.errstate(invalid="ignore"):
        return (y < limit) if below else (y > limit), resolved


def global_sd(
    track: Track,
    alive: np.ndarray,
    k: float = 3.0,
    iterative: bool = False,
    max_iter: int = 10,
    column: str | None = None,
    harvest_only: bool = False,
):
    """Global SD: remove values with |x − mean| > k·SD (population SD over the alive points).

    ``iterative`` recomputes mean and SD on the survivors until nothing more is removed
    (at most *max_iter* rounds). ``harvest_only`` is Leaf's rule (outliers on harvest only).
    """
    if harvest_only and track.points.operation_type != "harvested":
        return "not a harvest"
    col = value_column(track, column)
    if col is None:
        return "no yield/rate column"
    y = track.col(col)
    ok = alive & np.isfinite(y)
    remove = np.zeros(len(track), dtype=bool)
    rounds = 0
    mean = sd = float("nan")
    for _ in range(max_iter if iterative else 1):
        cur = ok & ~remove
        if not cur.any():
            break
        mean, sd = float(y[cur].mean()), float(y[cur].std())
        new = cur & (np.abs(y - mean) > k * sd)
        rounds += 1
        if not new.any():
            break
        remove |= new
    return remove, {
        "k": k,
        "iterative": iterative,
        "column": col,
        "mean": round(mean, 6),
        "sd": round(sd, 6),
        "rounds": rounds,
    }


def local_sd(
    track: Track,
    alive: np.ndarray,
    k: float = 3.0,
    radius: float | None = None,
    min_neighbours: int = 5,
    column: str | None = None,
):
    """Local (neighbourhood) SD: remove values with |x − local mean| > k·local SD.

    The local statistics are over the alive neighbours (the point itself excluded) in a
    grid-hash neighbourhood of cell *radius* metres (default 2 × the typical swath width);
    points with fewer than *min_neighbours* neighbours are kept.
    """
    col = value_column(track, column)
    if col is None:
        return "no yield/rate column"
    r = float(radius) if radius else 2.0 * track.typical_width()
    y = track.col(col)
    valid = alive & np.isfinite(y)
    cnt, mean, sd = track.grid(r, with_passes=False).block_stats(
        y, valid, exclude_self=True
    )
    with np.errstate(invalid="ignore"):
        remove = valid & (cnt >= min_neighbours) & (np.abs(y - mean) > k * sd)
    return remove, {
        "k": k,
        "radius_m": round(r, 4),
        "min_neighbours": min_neighbours,
        "column": col,
    }


@dataclass(frozen=True)
class FilterSpec:
    """A registered filter: its function, default parameters and where it applies."""

    name: str
    func: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    operation_types: tuple[str, ...] = ALL
    description: str = ""


def _spec(name, func, types=ALL, **defaults):
    doc = (func.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return FilterSpec(name, func, defaults, types, " ".join(doc.split()))


#: name -> FilterSpec, in the canonical order of the standard profile
FILTERS: dict[str, FilterSpec] = {
    s.name: s
    for s in [
        _spec("recordingStatus", recording_status),
        _spec("gpsQuality", gps_quality),
        _spec("duplicatePosition", duplicate_position),
        _spec("position", position),
        _spec("boundary", boundary),
        _spec("flowDelay", flow_delay, HARVEST),
        _spec("moistureDelay", moisture_delay, HARVEST),
        _spec("minVelocity", min_velocity),
        _spec("maxVelocity", max_velocity),
        _spec("smoothVelocity", smooth_velocity),
        _spec("startPassDelay", start_pass_delay),
        _spec("endPassDelay", end_pass_delay),
        _spec("minSwath", min_swath),
        _spec("overlap", overlap),
        _spec("minYield", min_yield),
        _spec("maxYield", max_yield),
        _spec("globalSD", global_sd),
        _spec("localSD", local_sd),
    ]
}
