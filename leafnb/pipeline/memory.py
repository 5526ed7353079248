"""Giving freed memory back to the system between steps (issue 16: peak memory of big files).

Two allocators keep what a step frees: glibc's heap (numpy's arrays, GDAL's record
batches) and mimalloc, Arrow's default pool (its segments). Measured on the 4M-point
GeoPackage converted in ranges, the memory they kept, not the memory in use, made the
peaks: the process held 0.23 GB more after the ranges than before them, and each later
step grew by 0.3–0.45 GB for about 0.2–0.3 GB in use. So:

- :func:`release_memory` (after each record range and each step of a file converted
  in ranges, after the last step of any file) returns what both hold free:
  ``malloc_trim`` and Arrow's ``release_unused``, in a process of more than
  :data:`RELEASE_ABOVE` resident bytes (a small file's freed memory is better reused
  than given back and faulted in again; so is a file's between its steps when it is
  read whole);
- :func:`big_buffers_unpooled` (once a file is converted in record ranges) has every buffer of 1 MiB or more mapped on its own and unmapped when
  freed, for the rest of the process: glibc's ``M_MMAP_THRESHOLD`` fixed at 1 MiB
  (otherwise it rises to 32 MiB after the first big free, and a 4M-point column of
  32 MB stays in the heap), and Arrow's default pool the system allocator (glibc's
  malloc, so the same rule). Within a step, memory freed is then given back at once.
  The cost is a page fault per page of every new big buffer (no reuse of heap pages):
  +3–4 s of system CPU on the 4M-point file, less user CPU (docs/streaming.md); a file
  read whole before does not pay it;
- :func:`leafnb.pages.no_hugepage_advice` (while a file converts) keeps numpy from asking
  the kernel for transparent huge pages: on this project's virtual machines each fresh
  2 MiB page cost about 6 ms of system CPU (the 1M-record TLG: 0.7–1.4 s of its 2.3–3.2
  CPU s, against 0.3 s in small pages).
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

__all__ = [
    "MMAP_THRESHOLD",
    "RELEASE_ABOVE",
    "big_buffers_unpooled",
    "release_memory",
]

_LIBC: Any = None
#: glibc's mallopt parameter number of the mmap threshold (malloc.h)
_M_MMAP_THRESHOLD = -3
#: buffers of at least this many bytes are mapped on their own
MMAP_THRESHOLD = 1 << 20
_UNPOOLED = False


def _libc() -> Any:
    """glibc, or False elsewhere."""
    global _LIBC
    if _LIBC is None:
        try:
            libc = ctypes.CDLL("libc.so.6")
            _LIBC = (
                libc
                if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")
                else False
            )
        except OSError:  # not glibc
            _LIBC = False
    return _LIBC


#: :func:`release_memory` gives memory back only from a process this big (resident
#: bytes): below it, what a step frees is reused by the next one, and giving it back
#: cost a page fault per page when it was used again (11 files of 20–100k points: 185k
#: instead of 40k faults, +0.6 s of system CPU)
RELEASE_ABOVE = 384 << 20


def _resident() -> int | None:
    """Resident bytes of this process (``/proc/self/statm``), None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _peak_resident() -> int:
    """The most resident bytes this process has had (``getrusage``: no file to open).

    A small file's nine steps asked ``/proc`` nine times; a process that never held
    :data:`RELEASE_ABOVE` bytes does not hold them now. Linux reports kilobytes;
    elsewhere the answer is "unknown" (more than any threshold).
    """
    if not sys.platform.startswith("linux"):
        return sys.maxsize
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def release_memory(force: bool = False, *, between_steps: bool = False) -> None:
    """Return the C heap's and Arrow's pool's free memory to the system.

    Readers (GDAL's record batches) and numpy allocate from ``malloc``. After the
    first big free, glibc raises its mmap threshold (up to 32 MB), so later
    arrays of a range or a step come from its heap, and freed heap memory stays
    resident: a process grew by 20–30 MB a record range, and held 300 MB more after
    the filter step than in use. ``malloc_trim`` hands it back (microseconds when
    there is nothing to give); Arrow's pool gives back its unused segments. Called
    after each record range and each file step.

    Only in a process that holds more than :data:`RELEASE_ABOVE` bytes, or has
    converted a file in record ranges (:func:`big_buffers_unpooled`), or when *force*.
    *between_steps* (the steps of a file read whole): only in the latter two cases —
    the next step reuses what the last one freed, where memory given back cost a page
    fault per page allocated again (the 1M-point GeoPackage: 170k instead of 145k
    faults, a tenth of its CPU, for a 6 % lower peak); it goes back after the file.

    >>> release_memory(force=True)
    """
    if between_steps and not (force or _UNPOOLED):
        return
    if not (force or _UNPOOLED) and (
        _peak_resident() <= RELEASE_ABOVE  # never this big: no need to look now
        or (_resident() or RELEASE_ABOVE + 1) <= RELEASE_ABOVE
    ):
        return
    libc = _libc()
    if libc:
        libc.malloc_trim(0)
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def big_buffers_unpooled() -> None:
    """From now on, buffers of :data:`MMAP_THRESHOLD` bytes or more are mapped alone (module docstring).

    For the rest of the process (glibc's threshold, once fixed, does not move again):
    called when a big file is converted. Arrow's default pool becomes the system
    allocator; buffers made before keep the pool they came from.

    (No example runs it here: it would change the process running the examples.)
    """
    global _UNPOOLED
    if _UNPOOLED:
        return
    import pyarrow as pa

    libc = _libc()
    if libc:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    pa.set_memory_pool(pa.system_memory_pool())
    _UNPOOLED = True
