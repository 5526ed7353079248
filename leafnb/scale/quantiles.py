"""Exact order statistics and ``numpy.quantile`` of a column stored in partitions, out of core.

:func:`order_statistics` finds exact k-th smallest values with 2^16-bin histograms and
an exact selection inside the bins holding the ranks (memory: the histograms plus at most
``limit`` values per rank); :func:`quantile_plan` and :func:`lerp` reproduce
``numpy.quantile``'s (method ``"linear"``) ranks and interpolation bit for bit. The
columns are ``"lat"`` (latitude of positioned points) and ``"v"`` (the finite values of
one property), read by :func:`leafnb.scale.partitions.positioned_batches`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leafnb.pipeline.executors import map_tasks
from leafnb.scale.partitions import positioned_batches

__all__ = ["lerp", "order_statistics", "quantile_plan"]

_HIST_BINS = 1 << 16


def _bin_of(v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Histogram bin (0 .. _HIST_BINS-1) of values in [a, b]; monotone non-decreasing in v."""
    return np.clip(np.floor((v - a) / (b - a) * _HIST_BINS), 0, _HIST_BINS - 1).astype(
        np.int64
    )


def _select_values(lat: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    return {"lat": lat, "v": v[np.isfinite(v)]}


def _rp_hist(args: tuple) -> list[np.ndarray]:
    """Histograms (``_HIST_BINS`` bins over ``[a, b]``) of one partition's values inside each window."""
    path, prop, units, batch_size, windows = args
    hists = [np.zeros(_HIST_BINS, dtype=np.int64) for _ in windows]
    for _, _, lat, v, _ in positioned_batches(path, prop, units, batch_size, False):
        cols = _select_values(lat, v)
        for h, (col, a, b) in zip(hists, windows, strict=True):
            x = cols[col]
            x = x[(x >= a) & (x <= b)]
            h += np.bincount(_bin_of(x, a, b), minlength=_HIST_BINS)
    return hists


def _rp_collect(args: tuple) -> list[Any]:
    """One partition's values in each target bin (``collect``) or just their (min, max)."""
    path, prop, units, batch_size, targets = args
    got: list[Any] = [[] if collect else [np.inf, -np.inf] for *_, collect in targets]
    for _, _, lat, v, _ in positioned_batches(path, prop, units, batch_size, False):
        cols = _select_values(lat, v)
        for i, (col, a, b, j, collect) in enumerate(targets):
            x = cols[col]
            x = x[(x >= a) & (x <= b)]
            x = x[_bin_of(x, a, b) == j]
            if collect:
                got[i].append(x)
            elif len(x):
                got[i] = [
                    min(got[i][0], float(x.min())),
                    max(got[i][1], float(x.max())),
                ]
    return [
        np.concatenate(g) if collect else g
        for g, (*_, collect) in zip(got, targets, strict=True)
    ]


def order_statistics(
    jobs: list[tuple],
    specs: dict[str, tuple[float, float, list[int]]],
    executor: Any,
    limit: int,
) -> dict[tuple[str, int], float]:
    """Exact k-th smallest values (0-based ranks) of the columns in *specs*, out of core.

    *jobs* are ``(path, property, units, batch_rows)`` per partition (as
    :func:`~leafnb.scale.partitions.positioned_batches` takes them), mapped on *executor*
    (:func:`~leafnb.pipeline.executors.map_tasks`). ``specs[col] = (min, max, ranks)``
    with *col* ``"lat"`` or ``"v"``; the result maps ``(col, rank)`` to the value. Each round histograms the current window of every
    pending rank into 2^16 bins (one pass), finds the bin holding the rank from the
    cumulative counts, then (a second pass) either collects that bin's values when it
    holds at most *limit* of them — and selects exactly — or narrows the window to the
    bin's own [min, max] and repeats. Memory: 2^16 counts per window + at most *limit*
    values per pending rank.
    """
    result: dict[tuple[str, int], float] = {}
    pending: list[list] = []  # [col, rank, a, b, below]
    for col, (lo, hi, ranks) in specs.items():
        for r in sorted(set(ranks)):
            if lo == hi:
                result[col, r] = lo
            else:
                pending.append([col, r, lo, hi, 0])
    while pending:
        windows = sorted({(c, a, b) for c, _, a, b, _ in pending})
        hists = [np.zeros(_HIST_BINS, dtype=np.int64) for _ in windows]
        for part in map_tasks(_rp_hist, [(*job, windows) for job in jobs], executor):
            for h, ph in zip(hists, part, strict=True):
                h += ph
        counts: dict[tuple, int] = {}
        placed = []
        for c, r, a, b, below in pending:
            h = hists[windows.index((c, a, b))]
            cum = np.cumsum(h)
            j = int(
                np.searchsorted(cum, r - below, side="right")
            )  # first bin with cum > local rank
            below2 = below + (int(cum[j - 1]) if j else 0)
            counts[(c, a, b, j)] = int(h[j])
            placed.append((c, r, (c, a, b, j), below2))
        targets = sorted(counts)
        spec = [(*t, counts[t] <= limit) for t in targets]
        merged: list[Any] = [
            [] if collect else [np.inf, -np.inf] for *_, collect in spec
        ]
        for part in map_tasks(_rp_collect, [(*job, spec) for job in jobs], executor):
            for i, (got, (*_, collect)) in enumerate(zip(part, spec, strict=True)):
                if collect:
                    merged[i].append(got)
                else:
                    merged[i] = [min(merged[i][0], got[0]), max(merged[i][1], got[1])]
        merged = [
            np.sort(np.concatenate(m)) if collect else m
            for m, (*_, collect) in zip(merged, spec, strict=True)
        ]
        pending = []
        for c, r, t, below in placed:
            i = targets.index(t)
            if spec[i][-1]:
                result[c, r] = float(merged[i][r - below])
            elif merged[i][0] == merged[i][1]:
                result[c, r] = float(merged[i][0])
            else:
                pending.append([c, r, merged[i][0], merged[i][1], below])
    return result


def quantile_plan(n: int, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks and weights of ``numpy.quantile(v, q)`` (method "linear") for *n* values.

    The same arithmetic as numpy's ``_compute_virtual_index`` / ``_get_indexes`` /
    ``_get_gamma``: virtual index ``(n - 1) * q``, neighbours ``floor`` and ``floor + 1``
    (both the last element at or past the end), gamma ``virtual - previous``.
    Returns ``(previous ranks, next ranks, gamma)``; :func:`lerp` of the sorted values at
    those ranks is ``numpy.quantile``:

    >>> v = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])
    >>> q = np.linspace(0.0, 1.0, 8)
    >>> prev, nxt, gamma = quantile_plan(len(v), q)
    >>> s = np.sort(v)
    >>> bool((lerp(s[prev], s[nxt], gamma) == np.quantile(v, q)).all())
    True
    """
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above] = -1
    nxt[above] = -1
    below = virtual < 0
    prev[below] = 0
    nxt[below] = 0
    gamma = np.asarray(virtual - prev, dtype=virtual.dtype)
    prev_i = prev.astype(np.intp)
    nxt_i = nxt.astype(np.intp)
    return (
        np.where(prev_i < 0, n + prev_i, prev_i),
        np.where(nxt_i < 0, n + nxt_i, nxt_i),
        gamma,
    )


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The quantile interpolation of numpy (``_lerp``), bit for bit: ``a + (b - a) * t``.

    >>> lerp(np.array([1.0]), np.array([3.0]), np.array([0.25]))
    array([1.5])
    """
    diff = b - a
    out = np.add(a, diff * t)
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out
