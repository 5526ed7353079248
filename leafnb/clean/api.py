"""Workspace methods for filtered points and cleaning reports (spec §6.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leafnb.clean.output import (
    FILTERED,
    has_filtered,
    make_filtered,
    materialize,
    read_filtered,
    read_report,
    write_filtered,
)
from leafnb.clean.profiles import FilterPipeline, FilterResult, resolve_pipeline
from leafnb.clean.report import CleaningReport
from leafnb.errors import NotFound
from leafnb.resources import Resource
from leafnb.standard.points import PointSet
from leafnb.store.records import file_owner, operation_owner


class FilteringAPI:
    """Mixin of :class:`leafnb.Workspace`: filteredGeojson/filteredGeoparquet and filter pipelines.

    The filtered points of a file or operation are its standard points after the filter
    pipeline of the config's ``filterProfile`` (``leaf`` by default: Leaf's two rules,
    spec §6.2). They are stored as the name of the filter that removed each point
    (``filter.parquet``, the report in its metadata) beside the standard points;
    ``filtered.parquet``/``.geojson`` are written when asked for
    (:mod:`leafnb.clean.output`).
    """

    # ------------------------------------------------------------------ internals
    def _resource_config(self, resource_id: str) -> dict[str, Any]:
        """Effective config of the owner of a file or operation (workspace config when unknown)."""
        uid = file_owner(self.catalog, resource_id)
        if uid is None:
            try:
                uid = operation_owner(self.catalog, resource_id)
            except Exception:  # no operations table (yet)
                uid = None
        return dict(self.get_config(uid))

    def _make_filtered(self, resource_id: str, boundary: Any = None) -> dict | None:
        """Filter a file's or operation's standard points with the owner's ``filterProfile``.

        Writes ``filter.parquet`` (the reason per point, the report) beside them.

        Called by the operations pipeline after an operation's standard points are written.
        Returns the cleaning report, or None when ``operationsFilteredGeojson`` is false.
        *boundary* (shapely geometry in lon/lat) adds the boundary filter when given.
        """
        config = self._resource_config(resource_id)
        if not config.get("operationsFilteredGeojson", True):
            return None
        points = self.load_points(resource_id)
        return make_filtered(
            points, config, self._points_path(resource_id).parent, boundary=boundary
        )

    def _filter_folder(self, resource_id: str) -> Path:
        """Folder of a resource's filter result.

        Its standard points are filtered first when there is none yet.
        """
        folder = self._points_path(
            resource_id
        ).parent  # NotFound when there are no standard points
        if not has_filtered(folder) and self._make_filtered(resource_id) is None:
            raise NotFound(
                f"{resource_id} has no filtered points: operationsFilteredGeojson is false"
            )
        return folder

    def _filtered_result(self, resource_id: str) -> FilterResult:
        return read_filtered(self._filter_folder(resource_id))

    def _filtered_export(self, resource_id: str, name: str) -> Path:
        """The export *name* of a resource's filter result, written on first request."""
        path = self._filter_folder(resource_id) / name
        if not path.exists():
            materialize(path)
        return path

    def _check_kind(self, resource_id: str, folder: str) -> None:
        path = self._points_path(resource_id)
        if path.parent.parent.name != folder:
            raise NotFound(
                f"{resource_id!r} is not {'a file' if folder == 'files' else 'an operation'}"
            )

    def _filtered_geojson(self, resource_id: str, folder: str) -> Resource:
        self._check_kind(resource_id, folder)
        target = self._filtered_export(resource_id, "filtered.geojson")
        return Resource(
            filteredGeojson=str(target), downloadFilteredGeojson=target.as_uri()
        )

    def _filtered_geoparquet(self, resource_id: str, folder: str) -> Resource:
        self._check_kind(resource_id, folder)
        path = self._filtered_export(resource_id, FILTERED)
        return Resource(
            downloadFilteredGeoparquet=path.as_uri(), filteredGeoparquet=str(path)
        )

    # ------------------------------------------------------------------ Leaf-style endpoints
    def get_file_filtered_geojson(self, file_id: str) -> Resource:
        """Write (once) and return the filteredGeojson export of a file (built on demand when missing)."""
        return self._filtered_geojson(file_id, "files")

    def get_operation_filtered_geojson(self, operation_id: str) -> Resource:
        """``GET /operations/{id}/filteredGeojson``: the filtered points as a GeoJSON export."""
        return self._filtered_geojson(operation_id, "operations")

    def get_file_filtered_geoparquet(self, file_id: str) -> Resource:
        """The filtered GeoParquet of a file."""
        return self._filtered_geoparquet(file_id, "files")

    def get_operation_filtered_geoparquet(self, operation_id: str) -> Resource:
        """``GET /operations/{id}/filteredGeoparquet``."""
        return self._filtered_geoparquet(operation_id, "operations")

    # ------------------------------------------------------------------ leafnb extensions
    def get_cleaning_report(self, resource_id: str) -> CleaningReport:
        """The cleaning report of a file or operation: per filter, points removed, % of points, % of mass."""
        return read_report(self._filter_folder(resource_id))

    def removed_points(self, resource_id: str) -> PointSet:
        """The points the filters removed, with ``filterReason`` (first filter that removed each point)."""
        return self._filtered_result(resource_id).removed

    def filter_points(
        self,
        resource_id: str,
        profile: str | FilterPipeline | list | None = None,
        save: bool = False,
        boundary: Any = None,
    ) -> tuple[PointSet, PointSet, CleaningReport]:
        """Try a filter pipeline on a file's or operation's standard points.

        Parameters
        ----------
        resource_id : str
            File or operation id.
        profile : str, FilterPipeline or list, optional
            ``"leaf"``, ``"standard"``, ``"aggressive"``, ``"custom"`` (the config's
            ``filterPipeline``), a :class:`~leafnb.clean.profiles.FilterPipeline` built in
            code, or its JSON form. Default: the config's ``filterProfile``.
        save : bool
            Also replace the stored filtered points, removed points and report.
        boundary : shapely geometry, optional
            Field boundary (lon/lat) for the ``boundary`` filter.

        Returns
        -------
        (kept, removed, report)
            PointSets (``removed`` has ``filterReason``) and the :class:`CleaningReport`.
        """
        config = self._resource_config(resource_id)
        result = resolve_pipeline(profile, config).run(
            self.load_points(resource_id), boundary=boundary
        )
        if save:
            write_filtered(self._points_path(resource_id).parent, result)
        return result.kept, result.removed, result.report
