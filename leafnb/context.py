"""What the pipeline and the operations work with: a small :class:`Context`, not the Workspace.

The :class:`~leafnb.Workspace` (the face) builds one Context and hands it down; modules of
:mod:`leafnb.pipeline` and :mod:`leafnb.operations` take it as their first argument and never
import the face. Chaining (after a batch, automerge; after an operation, render) is written
in the face: the only call back up is :attr:`Context.render`, which the face sets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leafnb.events import EventBus
from leafnb.store.catalog import Catalog
from leafnb.store.layout import Layout

__all__ = ["Context"]

#: one lock for operation building in this process (every Context shares it: two
#: Workspace objects on one folder must not rebuild the same operation at once)
OPERATIONS_LOCK = threading.RLock()


def _no_render(_op_id: str) -> None:
    return None


@dataclass
class Context:
    """Records (the catalog), artifact layout, events, config look-up, executor and lock.

    Attributes
    ----------
    catalog : Catalog
        The SQLite records.
    layout : Layout
        Every folder and artifact path.
    events : EventBus
        Where alerts are emitted.
    config : callable
        ``config(leaf_user_id)`` → the effective configuration (spec §12).
    executor : object
        Where per-file conversions run (:func:`leafnb.pipeline.executors.resolve_executor`).
    lock : RLock
        Held while operations are (re)built.
    render : callable
        ``render(operation_id)``: build the images of an operation once its points are
        written (set by the face; a no-op by default).
    links : dict
        Each file's links to fields as automerge last found them, with what they were
        found from (:func:`leafnb.operations.automerge.file_links`): kept between runs,
        so an upload does not read every earlier file's points again.
    """

    catalog: Catalog
    layout: Layout
    events: EventBus
    config: Callable[[str | None], Mapping[str, Any]]
    executor: Any = None
    lock: Any = field(default=OPERATIONS_LOCK)
    render: Callable[[str], None] = _no_render
    links: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The workspace root."""
        return self.layout.root
