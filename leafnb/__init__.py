"""leafnb: farm machine files converted, cleaned and summarised on your own machine, in Jupyter."""

import os
from typing import TYPE_CHECKING, Any

# Arrow's C++ default memory pool (Parquet reads and writes, datasets) is chosen when
# pyarrow is imported, from this variable; mimalloc (the default) kept 0.22 GB of a
# 10M-record log's freed buffers through every later step (1,066 against 846 MB peak,
# docs/streaming.md). Set before pyarrow is imported here, and for every process
# started after (leafnb's workers); a value the user set is kept.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

from leafnb._version import __version__
from leafnb.errors import (
    CorruptFile,
    InvalidRequest,
    LeafnbError,
    NotFound,
    UnsafeArchive,
    UnsupportedFormat,
)
from leafnb.formats.registry import get_reader, list_readers, refresh_readers

if TYPE_CHECKING:
    from leafnb.workspace import Workspace

__all__ = [
    "CorruptFile",
    "InvalidRequest",
    "LeafnbError",
    "NotFound",
    "UnsafeArchive",
    "UnsupportedFormat",
    "Workspace",
    "__version__",
    "get_reader",
    "list_readers",
    "refresh_readers",
]


def __getattr__(name: str) -> Any:
    """``leafnb.Workspace``, imported when first asked for.

    A worker process converting files imports :mod:`leafnb` too (its functions are
    leafnb's) but needs none of the workspace (catalog, batches, the API): 30 ms of
    each worker's start.

    >>> from leafnb import Workspace
    >>> Workspace.__module__
    'leafnb.workspace'
    """
    if name == "Workspace":
        from leafnb.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'leafnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
