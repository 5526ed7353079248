"""What every face of the Workspace shares: the attributes :class:`~leafnb.Workspace` sets."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from leafnb.context import Context
from leafnb.events import EventBus
from leafnb.store.catalog import Catalog

__all__ = ["Face"]


class Face:
    """Base of the Workspace's faces (one per resource); attributes set by ``Workspace.__init__``."""

    #: workspace folder
    path: Path
    #: the SQLite records
    catalog: Catalog
    #: alerts
    events: EventBus
    #: where per-file conversions run
    executor: Any
    #: what the layers below are given (they never see the Workspace)
    ctx: Context
    #: background runs (``wait=False``)
    _threads: list[threading.Thread]
