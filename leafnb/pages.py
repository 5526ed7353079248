"""How numpy's arrays are backed by the kernel's pages while leafnb works on big ones.

:func:`no_hugepage_advice` is used around a file's conversion
(:func:`leafnb.pipeline.steps.convert_file`) and around rasterising points
(:func:`leafnb.render.raster.rasterize`, which every image, GeoTIFF and grid goes through).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import cast

__all__ = ["no_hugepage_advice"]


@functools.cache  # (looked up once a process, not at every block)
def _hugepage_setter() -> Callable[[bool], bool] | None:
    """The switch of numpy's huge-page advice (returns the previous setting), if any."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(name, fromlist=["_set_madvise_hugepage"])
        except ImportError:
            continue
        setter = getattr(module, "_set_madvise_hugepage", None)
        if setter is not None:
            return cast(Callable[[bool], bool], setter)
    return None


_ADVICE_LOCK = threading.Lock()
#: blocks running in this process, and numpy's setting before the first began
_ADVICE_USERS = 0
_ADVICE_BEFORE = True


@contextlib.contextmanager
def no_hugepage_advice() -> Iterator[None]:
    """Arrays made while the block runs get no huge-page advice from numpy.

    On Linux numpy marks every array of 4 MiB or more ``MADV_HUGEPAGE``
    (``NUMPY_MADVISE_HUGEPAGE``), so that its pages are 2 MiB instead of 4 KiB. A
    conversion makes hundreds of such arrays, each new; a rasterised image dozens of
    grids. On this project's machines
    (Firecracker virtual machines that report free 8 MiB blocks back to their host,
    virtio-balloon page reporting) a huge page is mostly memory the host must fault in
    again: each cost about 6 ms of system CPU, 167 of them 1 s of the 1M-record TLG's
    conversion, where 145k small pages, reused from the guest's own free lists, took
    0.3 s; the swath-filled image of 1M points took 6.9–7.3 s instead of 3.5–3.7 s
    (docs/performance.md). Where the kernel must first compact memory for a huge
    page, numpy's own issues report stalls too (numpy#15545, numpy#31590). A file's
    steps stream through their arrays once, so the fewer TLB misses of huge pages gain
    them little.

    The setting is the process's: it is switched off when the first block of the
    process begins and back to what it was when the last one ends (conversions and
    images may run in several threads). Without numpy's switch, nothing happens.

    >>> import numpy as np
    >>> with no_hugepage_advice():
    ...     a = np.ones(1 << 20)  # 8 MiB, in small pages
    """
    global _ADVICE_USERS, _ADVICE_BEFORE
    setter = _hugepage_setter()
    if setter is None:
        yield
        return
    with _ADVICE_LOCK:
        if _ADVICE_USERS == 0:
            _ADVICE_BEFORE = bool(setter(False))
        _ADVICE_USERS += 1
    try:
        yield
    finally:
        with _ADVICE_LOCK:
            _ADVICE_USERS -= 1
            if _ADVICE_USERS == 0:
                setter(_ADVICE_BEFORE)
