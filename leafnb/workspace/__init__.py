"""The Workspace: Leaf's machine-file endpoints as methods over one local folder.

A workspace folder holds ``catalog.sqlite`` (batches, files, steps, configs, events),
``batches/<id>/`` (the upload and its extracted files), ``files/<id>/`` and
``operations/<id>/`` (GeoParquet and JSON artifacts; :mod:`leafnb.store.layout`). Methods
return JSON-compatible dicts with Leaf's key names.

The Workspace is the face: its methods, grouped by resource in this package
(:mod:`.batches`, :mod:`.files`, :mod:`.fields`, :mod:`.operations`, :mod:`.settings`; the
filtered points and images of :mod:`leafnb.clean.api` and :mod:`leafnb.render.api`), forward to
the layers, which get a :class:`~leafnb.context.Context` and never import this package. The
chains "after a batch, automerge" (:meth:`Batches._run_batch`) and "after an operation, render"
(``Context.render``) are written here.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from leafnb.clean.api import FilteringAPI
from leafnb.context import Context
from leafnb.events import EventBus
from leafnb.pipeline import batch as batch_mod
from leafnb.pipeline.executors import resolve_executor
from leafnb.render.api import RenderingAPI
from leafnb.store.catalog import Catalog
from leafnb.store.layout import Layout
from leafnb.workspace.batches import Batches
from leafnb.workspace.fields import Fields
from leafnb.workspace.files import Files
from leafnb.workspace.operations import Operations
from leafnb.workspace.settings import Settings

__all__ = ["Workspace"]


class Workspace(
    Batches, Files, Fields, Operations, Settings, FilteringAPI, RenderingAPI
):
    """A local Leaf: upload machine-file zips, convert them, query the results.

    Parameters
    ----------
    path : str or Path
        Folder of the workspace (created if missing). Several Workspace objects, in one
        or several processes, may open the same folder.
    executor : optional
        Where per-file conversions run (see :mod:`leafnb.pipeline.executors`): None
        (default) — local worker processes, ``os.cpu_count()`` of them, 1-file batches
        in-process; an int — that many worker processes; ``"inline"`` — in this
        process; a ``dask.distributed.Client`` or a scheduler address — a Dask cluster;
        or any ``concurrent.futures.Executor``. Results are the same on every executor.

    Examples
    --------
    >>> import tempfile, leafnb
    >>> ws = leafnb.Workspace(tempfile.mkdtemp())
    >>> ws.get_files(leafUserId="nobody")
    []
    """

    def __init__(self, path: str | Path, *, executor: Any = None):
        self.path = Path(path).resolve()
        self.executor = resolve_executor(executor)
        self.path.mkdir(parents=True, exist_ok=True)
        layout = Layout(self.path)
        self.catalog = Catalog(layout.catalog)
        self.events = EventBus(self.catalog.record_event)
        #: what the pipeline and the operations work with (they never see this facade)
        self.ctx = Context(
            self.catalog,
            layout,
            self.events,
            self.get_config,
            self.executor,
            render=self._make_images,  # after an operation: render
        )
        self._threads: list[threading.Thread] = []
        #: batches found interrupted (their process died) when this Workspace opened
        self.recovered: list[str] = batch_mod.recover_interrupted(self.ctx)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"
