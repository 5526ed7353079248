"""Panel base: keyword validation, the workspace trait, the error output."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import ipywidgets as w
import traitlets as t

from leafnb.workspace import Workspace

__all__ = ["ErrorOutput", "Panel", "ResourcePanel", "batch_files"]


def batch_files(workspace: Workspace, batch_id: str) -> list[dict[str, Any]]:
    """Every file of a batch (all pages of ``get_files``), in the catalog's order."""
    files: list[dict[str, Any]] = []
    page = 0
    while True:
        rows = workspace.get_files(batchId=batch_id, size=100, page=page)
        files.extend(rows)
        if len(rows) < 100 or len(files) >= rows.total:
            return files
        page += 1


class ErrorOutput(w.Output):
    """Where a panel writes the exceptions raised in its callbacks (``[Panel] Type: message``)."""

    messages = t.List(t.Unicode())
    """Every error line written so far.

    - Type: list of str
    - Default: ``[]``
    """

    def report(self, panel: str, exc: BaseException) -> str:
        """Write one ``[panel] Type: message`` line and return it."""
        line = f"[{panel}] {type(exc).__name__}: {exc}"
        self.messages = [*self.messages, line]
        self.append_stderr(line + "\n")
        return line

    def clear(self) -> None:
        """Forget the errors shown so far."""
        self.messages = []
        self.outputs = ()


class Panel(t.HasTraits):
    """Mixin of every leafnb panel (an ``ipywidgets.VBox`` subclass).

    - rejects unknown keyword arguments with a ``TypeError`` naming the valid ones;
    - holds the :class:`~leafnb.Workspace` in ``workspace`` (not synced to the browser);
    - owns ``errors`` (an :class:`ErrorOutput`) where callback exceptions are written.
    """

    #: keyword arguments a panel accepts besides its own traits
    _extra_kwargs: ClassVar[tuple[str, ...]] = ("layout",)

    workspace = t.Instance(Workspace, allow_none=False)
    """The Workspace the panel calls.

    - Type: :class:`leafnb.Workspace`
    """

    def _check_kwargs(self, kwargs: dict[str, Any]) -> None:
        valid = set(self._panel_traits()) | set(self._extra_kwargs)
        unknown = sorted(set(kwargs) - valid)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid))}"
            )

    @classmethod
    def _panel_traits(cls) -> list[str]:
        """Input traits declared by the panel (not Box's, not derived view state)."""
        base = set(w.VBox.class_trait_names())
        names = cls.class_trait_names(derived=lambda v: not v)
        return [name for name in names if name not in base and name != "workspace"]

    def _init_panel(
        self, workspace: Workspace, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        self._check_kwargs(kwargs)
        self.errors = ErrorOutput()
        traits = {k: v for k, v in kwargs.items() if k not in self._extra_kwargs}
        box = {k: v for k, v in kwargs.items() if k in self._extra_kwargs}
        self.workspace = workspace
        return traits | {"_box": box}

    def _call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run *fn*; an exception goes to the error output (and None is returned)."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.errors.report(type(self).__name__, exc)
            return None

    def _guarded(self, fn: Callable) -> Callable:
        """*fn* wrapped by :meth:`_call` (for ``on_click`` and ``observe`` callbacks)."""

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            return self._call(fn, *args, **kwargs)

        return run

    def _follow(self, events: tuple[str, ...], callback: Callable) -> None:
        """Call *callback(payload)* (guarded) on each of the Workspace's *events* until :meth:`close`."""
        guarded = self._guarded(callback)
        offs = self.__dict__.setdefault("_event_offs", [])
        offs.extend(self.workspace.on(event, guarded) for event in events)

    def _unfollow(self) -> None:
        """Stop following the Workspace's events."""
        for off in self.__dict__.pop("_event_offs", []):
            off()


class ResourcePanel(Panel):
    """A panel showing one file or one field operation (``file_id`` / ``operation_id`` traits)."""

    @classmethod
    def from_file(cls, workspace: Workspace, file_id: str, **kwargs: Any):
        """The panel for one file."""
        return cls(workspace, file_id=file_id, **kwargs)

    @classmethod
    def from_operation(cls, workspace: Workspace, operation_id: str, **kwargs: Any):
        """The panel for one field operation."""
        return cls(workspace, operation_id=operation_id, **kwargs)

    @property
    def resource_id(self) -> str:
        """The operation id when set, else the file id."""
        return self.operation_id or self.file_id
