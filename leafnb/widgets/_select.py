"""A selection widget bound to a panel trait, whose options can be replaced without side effects.

ipywidgets selects the first option whenever a selection widget's ``options`` change, so a
plain ``traitlets.link`` makes the linked trait pass through that first value and back on
every refresh — a linked MapPanel re-renders twice, and a panel refreshed from an event
can end up showing another file than the one chosen. :class:`SelectLink` pauses the link
while the options are replaced and then sets the trait once, only if the selection really
changed (the chosen value is no longer offered).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets as t

__all__ = ["SelectLink"]


class SelectLink:
    """Two-way link between ``select.value`` and ``owner.<name>`` (``""`` for no selection)."""

    def __init__(self, select: w.Dropdown | w.Select, owner: t.HasTraits, name: str):
        self.select, self.owner, self.name = select, owner, name
        self._replacing = False
        select.observe(self._to_owner, "value")
        owner.observe(self._to_select, name)

    def set_options(self, options: list[tuple[str, str]]) -> None:
        """Offer *options* (``(label, value)`` pairs), keeping the owner's value selected when offered."""
        keep = getattr(self.owner, self.name)
        values = [v for _, v in options]
        self._replacing = True
        try:
            self.select.options = options
            if keep in values:
                self.select.value = keep
            elif isinstance(self.select, w.Select):
                self.select.value = None
        finally:
            self._replacing = False
        chosen = self.select.value if self.select.value is not None else ""
        if keep not in values and chosen != keep:
            setattr(self.owner, self.name, chosen)

    def _to_owner(self, change: dict[str, Any]) -> None:
        if not self._replacing:
            setattr(
                self.owner,
                self.name,
                change["new"] if change["new"] is not None else "",
            )

    def _to_select(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if value != self.select.value and value in [v for _, v in self.select.options]:
            self.select.value = value
