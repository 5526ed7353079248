"""Python's cyclic garbage collector paused while large trees of lists are built.

A summary's coverage polygon has tens of thousands of positions, each a new Python
list (as GeoJSON, then rounded for writing). Every few hundred new container objects
start a collection, and the full ones walk every object of the process: on a
million-point file that was two thirds of the time of making the coverage's GeoJSON and
of rounding it (≈0.1 s each). Lists of floats hold no reference cycles, so pausing
the collector while they are made frees nothing later than it would have.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off; its state is restored after.

    >>> with collector_paused():
    ...     gc.isenabled()
    False
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
