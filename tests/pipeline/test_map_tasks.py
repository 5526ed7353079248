"""``executors.map_tasks``: the out-of-core helpers' map on the one executor of pipeline/executors.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from multiprocessing.dummy import Pool

import pytest

from leafnb.pipeline.executors import ExecutorRunner, InlineRunner, map_tasks


def _square(x: int) -> int:
    return x * x


def _fail(x: int) -> int:
    raise ValueError(f"bad item {x}")


@pytest.mark.parametrize("executor", [None, "inline", 1])
def test_in_process(executor):
    assert map_tasks(_square, [3, 1, 2], executor) == [9, 1, 4]


def test_executor_keeps_item_order_and_stays_open():
    with ThreadPoolExecutor(2) as pool:
        assert map_tasks(_square, range(20), pool) == [x * x for x in range(20)]
        assert pool.submit(_square, 5).result() == 25  # not shut down by map_tasks


def test_map_only_pool_is_used_as_is():
    with Pool(2) as pool:
        assert map_tasks(_square, [4, 5], pool) == [16, 25]


def test_runner_map_methods():
    assert InlineRunner().map(_square, [2]) == [4]
    with ThreadPoolExecutor(1) as pool:
        assert ExecutorRunner(pool).map(_square, [2, 3]) == [4, 9]


def test_errors_propagate_and_unmappable_is_refused():
    with pytest.raises(ValueError, match="bad item 1"):
        map_tasks(_fail, [1], "inline")
    with pytest.raises(TypeError, match="cannot"):
        map_tasks(_square, [1], object())
