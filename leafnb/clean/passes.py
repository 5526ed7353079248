"""Track geometry for filters: local metres, time order, pass detection and grid-hash neighbourhoods.

Everything here is vectorised numpy (no per-point Python loops, no scipy): neighbourhoods
use a grid hash — points are binned into square cells and a point's neighbourhood is the
3 × 3 block of cells around its own, so a cell of size *r* gives every neighbour within
*r* (and some up to 2·√2·r).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.standard.points import PointSet
from leafnb.standard.units import convert

__all__ = ["GridIndex", "Track", "angle_diff", "detect_passes", "local_xy"]

_R = 6_371_008.8


def local_xy(
    lon: np.ndarray, lat: np.ndarray, origin: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Equirectangular metres around *origin* (default: the median position); exact enough for a field."""
    if origin is None:
        origin = (
            (float(np.nanmedian(lon)), float(np.nanmedian(lat)))
            if len(lon)
            else (0.0, 0.0)
        )
    lon0, lat0 = origin
    x = np.radians(lon - lon0) * _R * np.cos(np.radians(lat0))
    y = np.radians(lat - lat0) * _R
    return x, y, origin


def angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest absolute difference between headings in degrees (0–180)."""
    d = np.abs((np.asarray(a) - np.asarray(b)) % 360.0)
    return np.minimum(d, 360.0 - d)


def detect_passes(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    heading: np.ndarray,
    *,
    max_gap_s: float | None = None,
    max_turn_deg: float = 30.0,
    max_turn4_deg: float = 45.0,
    max_step_m: float | None = None,
    breaks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split a time-ordered track into passes; return (pass id per point, segment id per point).

    A new pass starts where the time gap exceeds *max_gap_s* (default 3 × the median
    interval, at least 2 s), the heading changes by more than *max_turn_deg* from the
    previous point, or a gradual turn starts or ends (more than *max_turn4_deg* over four
    points, a headland turn — its points form their own short pass), the step is
    longer than *max_step_m* (default 10 × the median step, at least 10 m), or *breaks*
    is True (e.g. the header/recording status changed). Segments split only on time
    gaps: they are the stretches of continuous logging that delays may shift along.
    """
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    dt = np.diff(t, prepend=t[0])
    pos_dt = dt[dt > 0]
    med_dt = float(np.median(pos_dt)) if len(pos_dt) else 1.0
    gap = max(2.0, 3.0 * med_dt) if max_gap_s is None else max_gap_s
    step = np.hypot(np.diff(x, prepend=x[0]), np.diff(y, prepend=y[0]))
    moving = step[step > 0]
    med_step = float(np.median(moving)) if len(moving) else 1.0
    jump = max(10.0, 10.0 * med_step) if max_step_m is None else max_step_m
    seg_break = dt > gap
    seg_break[0] = True
    h = np.nan_to_num(heading, nan=0.0)
    turn1 = np.zeros(n, dtype=bool)
    turn1[1:] = angle_diff(h[1:], h[:-1]) > max_turn_deg
    # gradual turns: heading 4 points back differs by more than max_turn4_deg, unless a sharp
    # change (turn1) in the last 4 points explains it; a run of such points is one "turn" pass
    turning = np.zeros(n, dtype=bool)
    if n > 4:
        turning[4:] = angle_diff(h[4:], h[:-4]) > max_turn4_deg
    recent = turn1.copy()
    recent[1:] |= turn1[:-1]
    recent[2:] |= turn1[:-2]
    recent[3:] |= turn1[:-3]
    turning &= ~recent
    edge = np.zeros(n, dtype=bool)
    edge[1:] = turning[1:] != turning[:-1]
    new_pass = seg_break | turn1 | edge | (step > jump)
    if breaks is not None:
        new_pass |= breaks
    return np.cumsum(new_pass) - 1, np.cumsum(seg_break) - 1


class GridIndex:
    """Grid hash of points for 3 × 3-cell neighbourhood sums, precomputed once per (x, y, cell size).

    ``block_sum(values)`` returns, for every point, the sum of *values* over all points in
    its 3 × 3 cell block; with ``groups`` (e.g. pass ids) ``block_sum_group`` returns the
    sum over points of the same group only, so "other passes" = block − same group.

    Neighbour cells are found in a dense 2-D table of cell numbers when the grid's
    bounding box has at most :attr:`DENSE_CELLS` cells per point (a field: always), else
    by binary search in the sorted occupied cells; the (cell, group) neighbours are
    looked up only for the rows a caller asks for (``at``), once per row set.
    """

    #: most grid cells per point for the dense lookup table (else binary search); at
    #: 4 B a cell the table stays under 16 B a point
    DENSE_CELLS = 4

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        cell: float,
        groups: np.ndarray | None = None,
    ):
        self.n = len(x)
        self.cell = float(cell)
        cx = (
            np.floor((x - np.nanmin(x)) / cell).astype(np.int64) + 1
            if self.n
            else np.zeros(0, np.int64)
        )
        cy = (
            np.floor((y - np.nanmin(y)) / cell).astype(np.int64) + 1
            if self.n
            else np.zeros(0, np.int64)
        )
        width = int(cy.max()) + 3 if self.n else 3
        keys = cx * width + cy
        self.ukeys, self.cell_of = np.unique(keys, return_inverse=True)
        offsets = [dx * width + dy for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        size = (int(cx.max()) + 3) * width if self.n else 0
        finite = bool(np.isfinite(x).all() and np.isfinite(y).all())
        if finite and 0 < size <= self.DENSE_CELLS * max(self.n, 1 << 16):
            table = np.full(size, -1, dtype=np.int32)  # cell number -> occupied index
            table[self.ukeys] = np.arange(len(self.ukeys))
            lookup = table.__getitem__
        else:
            lookup = functools.partial(self._lookup, self.ukeys)
        nbr = np.empty((9, self.n), dtype=np.int64)
        for k, off in enumerate(offsets):  # 9 vectorised lookups
            nbr[k] = lookup(keys + off)
        self.nbr = nbr
        self.groups = groups
        if groups is not None:
            self.gmul = int(groups.max()) + 1 if self.n else 1
            gkeys = self.cell_of.astype(np.int64) * self.gmul + groups
            self.gukeys, self.gcell_of = np.unique(gkeys, return_inverse=True)
        self._gnbr: tuple[np.ndarray | None, np.ndarray] | None = None

    def _group_neighbours(self, at: np.ndarray | None) -> np.ndarray:
        """(9, rows) index of each neighbour cell's own-group bin, for rows *at* (all: None)."""
        cached = self._gnbr
        if cached is not None and (
            cached[0] is at
            or (
                at is not None
                and cached[0] is not None
                and np.array_equal(cached[0], at)
            )
        ):
            return cached[1]
        nbr = self.nbr if at is None else self.nbr[:, at]
        groups = self.groups if at is None else self.groups[at]
        q = np.where(nbr >= 0, nbr * self.gmul + groups, -1)
        gn = np.where(
            nbr >= 0, self._lookup(self.gukeys, q.ravel()).reshape(q.shape), -1
        )
        self._gnbr = (at, gn)
        return gn

    @staticmethod
    def _lookup(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(sorted_keys, query)
        idx_c = np.minimum(idx, len(sorted_keys) - 1)
        found = (
            (len(sorted_keys) > 0) & (sorted_keys[idx_c] == query)
            if len(sorted_keys)
            else np.zeros(len(query), bool)
        )
        return np.where(found, idx_c, -1)

    @staticmethod
    def _gather(per_cell: np.ndarray, nbr: np.ndarray) -> np.ndarray:
        padded = np.append(per_cell, 0.0)  # index -1 -> the appended 0
        out = padded[nbr[0]]
        for k in range(1, 9):
            out += padded[nbr[k]]
        return out

    def block_sum(self, values: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
        """Sum of *values* over each point's 3 × 3 cell block (NaN values count as 0); only rows *at* when given."""
        v = np.nan_to_num(values, nan=0.0)
        per_cell = np.bincount(self.cell_of, weights=v, minlength=len(self.ukeys))
        return self._gather(per_cell, self.nbr if at is None else self.nbr[:, at])

    def block_sum_group(
        self, values: np.ndarray, at: np.ndarray | None = None
    ) -> np.ndarray:
        """Sum of *values* over each point's 3 × 3 block, own group only; only rows *at* when given."""
        v = np.nan_to_num(values, nan=0.0)
        per = np.bincount(self.gcell_of, weights=v, minlength=len(self.gukeys))
        return self._gather(per, self._group_neighbours(at))

    def block_stats(
        self,
        values: np.ndarray,
        valid: np.ndarray,
        exclude_self: bool = True,
        other_groups: bool = False,
        at: np.ndarray | None = None,
        need_sd: bool = True,
    ):
        """(count, mean, population SD) of valid *values* in each point's block (rows *at* only when given).

        ``exclude_self`` leaves the point itself out; ``other_groups`` leaves out every
        point of the same group (pass) too. ``need_sd=False`` skips the SD (returns None).
        """
        w = valid.astype(float)
        v = np.where(valid, values, 0.0)
        sel = slice(None) if at is None else at
        cnt, s = self.block_sum(w, at), self.block_sum(v, at)
        s2 = self.block_sum(v * v, at) if need_sd else None
        if other_groups:
            cnt = cnt - self.block_sum_group(w, at)
            s = s - self.block_sum_group(v, at)
            if need_sd:
                s2 = s2 - self.block_sum_group(v * v, at)
        elif exclude_self:
            cnt, s = cnt - w[sel], s - v[sel]
            if need_sd:
                s2 = s2 - (v * v)[sel]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / cnt
            sd = np.sqrt(np.maximum(s2 / cnt - mean * mean, 0.0)) if need_sd else None
        return cnt, mean, sd


@dataclass
class Track:
    """Working arrays of a point set, in time order, for filters.

    ``order`` maps track positions to table rows (``table_row = order[i]``), or is
    ``None`` when the table is in time order already (a machine log: always), so no
    column is copied to be put in order; :meth:`take` puts a column in track order,
    :meth:`put` puts track-order values back in table order. Filters see arrays in
    track order. ``values`` holds mutable numeric columns (delays shift them: new
    arrays, never written in place); ``info`` collects what filters estimated (e.g.
    the flow delay).
    """

    points: PointSet
    order: np.ndarray | None
    t: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    modified: set[str] = field(default_factory=set)
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_points(cls, points: PointSet) -> Track:
        """Build the track: time order (stable); positions, heading and passes when first asked for.

        Seconds are float64 (ms / 1000, as before: the values filters compare); the
        order, when the table is not in time order, is int32 below 2**31 points (a
        narrower copy of the stable argsort: the same indices).
        """
        n = len(points)
        if points.has("timestamp"):
            ts = pc.cast(
                pc.cast(points.table.column("timestamp"), pa.timestamp("ms", tz="UTC")),
                pa.int64(),
            )
            t = ts.to_numpy(zero_copy_only=False).astype(float)
            del ts
            t /= 1000.0  # in place: the same quotients as t / 1000.0
            missing = np.isnan(t)
            if missing.any():
                t[missing] = np.nanmax(t) if not missing.all() else 0.0
            del missing
        else:
            t = np.arange(n, dtype=float)
        if n < 2 or bool((t[1:] >= t[:-1]).all()):
            return cls(points, None, t)  # a stable sort would leave every row in place
        order = np.argsort(t, kind="stable")
        if n < 2**31:
            order = order.astype(np.int32)
        return cls(points, order, t[order])

    def take(self, values: np.ndarray) -> np.ndarray:
        """*values* (one per table row) in track order: *values* itself when the table is in time order."""
        return values if self.order is None else values[self.order]

    def put(self, values: np.ndarray) -> np.ndarray:
        """*values* in track order, back in table order (the inverse of :meth:`take`)."""
        if self.order is None:
            return values
        out = np.empty_like(values)
        out[self.order] = values
        return out

    # Positions, heading and passes cost more than simple rules need (the ``leaf``
    # profile uses none of them: 64 MB and 0.2 s at 4M points), so they are built on
    # first use.
    @property
    def x(self) -> np.ndarray:
        """Local metres east of the median position, per point (:func:`local_xy`)."""
        return self._positions()[0]

    @property
    def y(self) -> np.ndarray:
        """Local metres north of the median position, per point."""
        return self._positions()[1]

    def _positions(self) -> tuple[np.ndarray, np.ndarray]:
        if "xy" not in self._cache:
            n = len(self)
            lon = self.points.array("lon") if n else np.zeros(0)
            lat = self.points.array("lat") if n else np.zeros(0)
            x, y, _ = local_xy(self.take(lon), self.take(lat))
            self._cache["xy"] = (x, y)
        return self._cache["xy"]

    @property
    def heading(self) -> np.ndarray:
        """Heading in degrees per point (the column where present, else from positions)."""
        if "heading" not in self._cache:
            self._build_heading_and_passes()
        return self._cache["heading"]

    @property
    def passes(self) -> np.ndarray:
        """Pass id per point (see :func:`detect_passes`)."""
        if "passes" not in self._cache:
            self._build_heading_and_passes()
        return self._cache["passes"]

    @property
    def segments(self) -> np.ndarray:
        """Continuous-logging segment id per point."""
        if "segments" not in self._cache:
            self._build_heading_and_passes()
        return self._cache["segments"]

    def _build_heading_and_passes(self) -> None:
        points, x, y, t = self.points, self.x, self.y, self.t
        n = len(self)
        dx, dy = np.diff(x, prepend=np.nan), np.diff(y, prepend=np.nan)
        derived = (np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0
        derived = np.where(np.hypot(dx, dy) > 0, derived, np.nan)
        # after a time gap (or at the start) the step from the previous point is no heading:
        # take the direction to the next point instead
        dt = np.diff(t, prepend=-np.inf)
        pos = dt[np.isfinite(dt) & (dt > 0)]
        gap = max(2.0, 3.0 * float(np.median(pos))) if len(pos) else 2.0
        fwd = np.r_[derived[1:], np.nan]
        derived = np.where(dt > gap, fwd, derived)
        derived = _ffill(derived)
        heading = derived
        if points.has("heading"):
            h = self.take(points.array("heading"))
            heading = np.where(np.isnan(h), derived, h)
        breaks = None
        if points.has("recordingStatus"):
            rec = self.take(
                pc.fill_null(points.table.column("recordingStatus"), "").to_numpy(
                    zero_copy_only=False
                )
            )
            breaks = np.zeros(n, dtype=bool)
            breaks[1:] = rec[1:] != rec[:-1]
        passes, segments = detect_passes(x, y, t, np.nan_to_num(heading), breaks=breaks)
        self._cache.update(heading=heading, passes=passes, segments=segments)

    def __len__(self) -> int:
        return len(self.t)

    def has(self, prop: str) -> bool:
        """True when the point set has *prop* with values."""
        return prop in self.values or self.points.has(prop)

    def col(self, prop: str, unit: str | None = None) -> np.ndarray:
        """Numeric column in track order (NaN where null), converted to *unit* when given."""
        if prop not in self.values:
            self.values[prop] = (
                self.take(self.points.array(prop))
                if self.points.has(prop)
                else np.full(len(self), np.nan)
            )
        arr = self.values[prop]
        src = self.points.units.get(prop)
        if unit is not None and src and src != unit:
            return convert(arr, src, unit)
        return arr

    def strings(self, prop: str) -> np.ndarray:
        """String column in track order ('' for nulls)."""
        col = pc.fill_null(pc.cast(self.points.table.column(prop), pa.string()), "")
        return self.take(col.to_numpy(zero_copy_only=False))

    def speed_ms(self) -> np.ndarray:
        """Speed in m/s: the ``speed`` column converted from its unit, else derived from positions and time."""
        if "speed_ms" not in self._cache:
            if self.points.has("speed"):
                unit = self.points.units.get("speed") or "m/s"
                v = convert(self.take(self.points.array("speed")), unit, "m/s")
            else:
                d = np.hypot(
                    np.diff(self.x, prepend=self.x[:1]),
                    np.diff(self.y, prepend=self.y[:1]),
                )
                dt = np.diff(self.t, prepend=self.t[:1])
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(dt > 0, d / dt, np.nan)
            self._cache["speed_ms"] = v
        return self._cache["speed_ms"]

    def width_m(self) -> np.ndarray:
        """Swath width in metres (NaN when unknown)."""
        if "width_m" not in self._cache:
            self._cache["width_m"] = (
                self.col("equipmentWidth", "m")
                if self.points.has("equipmentWidth")
                else np.full(len(self), np.nan)
            )
        return self._cache["width_m"]

    def typical_width(self) -> float:
        """Median swath width in m (9.144 m = 30 ft when unknown)."""
        w = self.width_m()
        w = w[np.isfinite(w) & (w > 0)]
        return float(np.median(w)) if len(w) else 9.144

    def grid(self, cell: float, with_passes: bool = True) -> GridIndex:
        """A cached :class:`GridIndex` of the track with cell size *cell* metres."""
        key = f"grid:{cell:.6g}:{with_passes}"
        if key not in self._cache:
            self._cache[key] = GridIndex(
                self.x, self.y, cell, self.passes if with_passes else None
            )
        return self._cache[key]


def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (then back-fill the leading ones)."""
    if not len(a):
        return a
    idx = np.where(np.isnan(a), 0, np.arange(len(a)))
    np.maximum.accumulate(idx, out=idx)
    out = a[idx]
    first = np.flatnonzero(~np.isnan(out))
    if len(first):
        out[: first[0]] = out[first[0]]
    return out
