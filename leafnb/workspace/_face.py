"""What every face of the Workspace shares: the attributes :class:`~leafnb.Workspace` sets."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leafnb.context import Context
from leafnb.events import EventBus
from leafnb.store.catalog import Catalog

if TYPE_CHECKING:
    from leafnb.resources import File, Resource, ResourceList

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

    if TYPE_CHECKING:
        # What one face calls on a sibling face (the Workspace inherits them all),
        # declared for the type checker so each face states what it needs.

        def get_config(self, leaf_user_id: str | None = None) -> Resource:
            """Effective configuration (:meth:`.settings.Settings.get_config`)."""
            ...

        def get_file(self, file_id: str) -> File:
            """One file resource (:meth:`.files.Files.get_file`)."""
            ...

        def _file_row(self, file_id: str) -> Any: ...

        def get_operations(
            self,
            *,
            page: int = 0,
            size: int = 20,
            sort: str | list[str] | None = None,
            **filters: Any,
        ) -> ResourceList:
            """Field operations (:meth:`.operations.Operations.get_operations`)."""
            ...

        def run_automerge(self, leaf_user_id: str) -> Resource:
            """Automerge now (:meth:`.operations.Operations.run_automerge`)."""
            ...

        def reprocess_operation(self, op_id: str) -> Resource:
            """Rebuild an operation (:meth:`.operations.Operations.reprocess_operation`)."""
            ...

        def _field_from_partfield(
            self, leaf_user_id: str, feature: dict[str, Any], file_id: str
        ) -> str | None: ...

        def _background(
            self, fn: Callable[..., Any], *args: Any, **kwargs: Any
        ) -> None: ...
