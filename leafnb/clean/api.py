"""Workspace methods for filtered points and cleaning reports (spec §6.2)."""

from __future__ import annotations


class FilteringAPI:
    """Mixin of :class:`leafnb.Workspace`: filteredGeojson/filteredGeoparquet and filter pipelines."""
