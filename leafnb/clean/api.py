"""Workspace methods for filtered points and cleaning reports (spec §6.2)."""

from __future__ import annotations


class FilteringAPI:
    """Mixin of :class:`leafnb.Workspace`: filteredGeojson/filteredGeoparquet and filter pipelines."""

    def _make_filtered(self, resource_id: str) -> dict | None:
        """Build ``filtered.parquet`` (+ cleaning report) beside a file's or operation's standard points.

        Called by the operations pipeline after an operation's standard points are written.
        Returns the cleaning report, or None when filtering is off.
        """
        return None
