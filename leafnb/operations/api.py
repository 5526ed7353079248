"""Workspace methods for fields and field operations (spec §5, §8, §10)."""

from __future__ import annotations


class OperationsAPI:
    """Mixin of :class:`leafnb.Workspace`: fields, merge, automerge, operations and their resources."""

    def _after_batch(self, batch_id: str) -> None:
        """Hook run after a batch settles (automerge into field operations)."""
