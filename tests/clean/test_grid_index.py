"""GridIndex: the dense cell table and the binary search find the same neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.clean.passes import GridIndex


class _SearchOnly(GridIndex):
    DENSE_CELLS = 0  # never the dense table: the binary search over occupied cells


def _points(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 400, n)
    y = rng.uniform(0, 300, n)
    groups = (y // 9).astype(np.int64)  # passes a swath apart
    return x, y, groups, rng.normal(10, 2, n)


def test_dense_and_search_give_identical_block_stats():
    x, y, groups, v = _points()
    valid = np.isfinite(v) & (v > 8)
    dense, search = GridIndex(x, y, 9.0, groups), _SearchOnly(x, y, 9.0, groups)
    np.testing.assert_array_equal(dense.nbr, search.nbr)
    probes = np.arange(0, len(x), 7)
    for at in (None, probes, probes):  # the second probes call uses the cached rows
        for kw in ({"other_groups": True}, {"exclude_self": True}):
            a = dense.block_stats(v, valid, at=at, **kw)
            b = search.block_stats(v, valid, at=at, **kw)
            for p, q in zip(a, b, strict=True):
                np.testing.assert_array_equal(p, q)
    # a different row set is looked up afresh, not taken from the cache
    few = np.array([0, 5, 9])
    np.testing.assert_array_equal(
        dense.block_sum_group(v, few), search.block_sum_group(v, few)
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # NaN cell
def test_non_finite_coordinates_fall_back_to_the_search():
    x, y, groups, _ = _points(200)
    x[3] = np.nan
    grid = GridIndex(x, y, 9.0, groups)
    assert grid.block_sum(np.ones(len(x))).shape == (200,)
