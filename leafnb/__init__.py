"""leafnb: farm machine files converted, cleaned and summarised on your own machine, in Jupyter."""

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
