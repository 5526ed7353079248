"""The warnings a file's read raises, and only those (its step notes).

A read's warnings become the file's notes (``pipeline.steps``), and a file converted in
record ranges must warn alike in every range (``pipeline.stream``). Python's
``warnings.catch_warnings(record=True)`` records every warning of the process while it
is active, from any thread, and saves and restores the module's state per use — not
safe when two threads use it at once (a notebook's other threads, a server converting
in threads). A ``ResourceWarning`` from another thread made a 10M-record log's ranges
"warn differently", and the log was converted whole (3.6 instead of 1.1 GB).

:func:`warnings_of_this_thread` records the warnings of the calling thread alone;
another thread's are shown as they would have been. While any thread records, the
warning filters are ``"always"`` (a warning seen before at the same place is recorded
again for the next file) and ``warnings.showwarning`` is this module's dispatcher; the
first thread in saves the module's state, the last one out restores it.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["warnings_of_this_thread"]

_lock = threading.Lock()
_local = threading.local()
_users = 0
#: (``warnings.filters``, ``warnings.showwarning``) before the first thread recorded
_saved: tuple[Any, Any] | None = None


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    sink = getattr(_local, "sink", None)
    if sink is not None:
        sink.append(str(message))
        return
    saved = _saved  # (the last recording thread may restore it meanwhile)
    show = saved[1] if saved is not None else warnings.showwarning
    if show is not _show:
        show(message, category, filename, lineno, file, line)


@contextlib.contextmanager
def warnings_of_this_thread() -> Iterator[list[str]]:
    """Record the messages of the warnings this thread raises inside the block.

    >>> import threading, warnings
    >>> shown = []  # (where the warnings of the process are shown)
    >>> show, warnings.showwarning = warnings.showwarning, lambda m, *_: shown.append(str(m))
    >>> with warnings_of_this_thread() as mine:
    ...     warnings.warn("mine")
    ...     t = threading.Thread(target=warnings.warn, args=("another thread's",))
    ...     t.start(); t.join()
    >>> warnings.showwarning = show
    >>> mine, shown
    (['mine'], ["another thread's"])
    """
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = (warnings.filters, warnings.showwarning)
            warnings.filters = list(warnings.filters)
            warnings.simplefilter("always")  # (updates the C module's copy too)
            warnings.showwarning = _show
        _users += 1
    outer = getattr(_local, "sink", None)
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = outer  # (a block inside another: its warnings are its own)
        with _lock:
            _users -= 1
            if _users == 0 and _saved is not None:
                warnings.filters, warnings.showwarning = _saved
                warnings._filters_mutated()  # type: ignore[attr-defined]
                _saved = None
