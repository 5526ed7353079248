"""Converted files and their artifacts (``/files``), manual merge, outside-field points."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from leafnb.clean.output import FILTERED, MASK, has_filtered, read_filtered
from leafnb.errors import InvalidRequest, NotFound
from leafnb.keys import FILE_STEPS, StepStatus
from leafnb.leafwire import ensure_artifact, file_resource_wire, steps_wire
from leafnb.operations import merge as merge_mod
from leafnb.operations import outside
from leafnb.resources import (
    File,
    Resource,
    ResourceList,
    StatusMap,
)
from leafnb.standard.leaf_units import summary_wire, units_map_wire
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import (
    read_json,
    read_points_table,
    stored_units,
    write_geojson,
)
from leafnb.store.layout import STANDARD, STANDARD_EXPORT
from leafnb.store.query import FILE_QUERY
from leafnb.store.records import (
    file_artifact,
    file_exists,
    file_resource,
    file_row,
    file_steps,
    list_page,
    processed_upload_rows,
)
from leafnb.workspace._face import Face


class Files(Face):
    """Converted files and their artifacts (``/files``), manual merge, outside-field points."""

    def _file_row(self, file_id: str):
        return file_row(self.catalog, file_id)

    def _file_dir(self, file_id: str) -> Path:
        return self.path / "files" / file_id

    def _file_resource(self, row) -> File:
        out = file_resource(self.catalog, self.ctx.layout, row)
        # file_resource_wire returns the File it was given, in Leaf's shape
        return cast(File, file_resource_wire(out, self._file_dir(row["id"])))

    def get_file(self, file_id: str) -> File:
        """Return one file resource (``GET /files/{id}``)."""
        return self._file_resource(self._file_row(file_id))

    def get_files(
        self,
        *,
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
        **filters: Any,
    ) -> ResourceList:
        """List files with Leaf's filters, 0-based ``page``, ``size`` ≤ 100 and multi-key ``sort`` (spec §10).

        Filters: ``leafUserId``, ``provider``, ``status``, ``origin``, ``organizationId``,
        ``batchId``, ``createdTime`` (≥), ``startTime`` (≥), ``updatedTime`` (≥),
        ``endTime`` (≤), ``operationType``, ``minArea`` (m²), ``fileId``, ``fileFormat``.
        Sort: ``"createdTime,desc"`` or a list of such strings (earlier keys win).
        """
        rows, total = list_page(self.catalog, FILE_QUERY, filters, page, size, sort)
        return ResourceList([self._file_resource(r) for r in rows], total, page, size)

    def get_file_status(self, file_id: str) -> StatusMap:
        """Every processing step of a file with its status and message (``GET /files/{id}/status``)."""
        self._file_row(file_id)
        rows = file_steps(self.catalog, file_id)
        if not rows:
            return StatusMap(
                {
                    s.value: {"status": StepStatus.PROCESSING.value, "message": ""}
                    for s in FILE_STEPS[:1]
                }
            )
        return StatusMap(
            steps_wire(
                {
                    r["step"]: {"status": r["status"], "message": r["message"]}
                    for r in rows
                }
            )
        )

    def _artifact(self, file_id: str, name: str) -> Path:
        return file_artifact(self.catalog, self.ctx.layout, file_id, name)

    def get_file_summary(self, file_id: str) -> Resource:
        """The summary Feature of a file (``GET /files/{id}/summary``, spec §2.2)."""
        return Resource(
            summary_wire(read_json(self._artifact(file_id, "summary.json")))
        )

    def get_file_units(self, file_id: str) -> Resource:
        """``{property: unit}`` of a file's standard points (``GET /files/{id}/units``)."""
        try:  # (in the standard points' footer; units.json in an older folder)
            units = stored_units(self._artifact(file_id, STANDARD).parent)
        except FileNotFoundError as exc:
            raise NotFound(f"file {file_id} has no units") from exc
        return Resource(
            units_map_wire(units, self._file_row(file_id)["operation_type"])
        )

    def get_file_standard_geojson(self, file_id: str) -> Resource:
        """Write (once) and return the standard GeoJSON export of a file."""
        target = self._file_dir(file_id) / "standard.geojson"
        if not target.exists():
            table, _ = read_points_table(self._artifact(file_id, "standard.parquet"))
            write_geojson(target, table)
        return Resource(
            standardGeojson=str(target), downloadStandardGeojson=target.as_uri()
        )

    def get_file_standard_geoparquet(self, file_id: str) -> Resource:
        """The standard GeoParquet of a file (``GET /files/{id}/standardGeoparquet``).

        The complete export (every property a column), written on first request.
        """
        self._artifact(file_id, "standard.parquet")  # NotFound before conversion
        path = ensure_artifact(self._file_dir(file_id) / STANDARD_EXPORT)
        return Resource(
            standardGeoparquet=str(path), downloadStandardGeoparquet=path.as_uri()
        )

    def _points_path(self, resource_id: str, kind: str = "standard") -> Path:
        """The points artifact of a file or an operation.

        ``standard.parquet``, or for *kind* ``filtered`` the filter result
        (``filter.parquet``, see :mod:`leafnb.clean.output`).
        """
        names = (MASK, FILTERED) if kind == "filtered" else (f"{kind}.parquet",)
        for folder in ("files", "operations"):
            for name in names:
                path = self.path / folder / resource_id / name
                if path.exists():
                    return path
        if (self.path / "files" / resource_id).is_dir() or file_exists(
            self.catalog, resource_id
        ):
            return self._artifact(resource_id, names[0])
        raise NotFound(
            f"no {kind} points for {resource_id!r} (unknown id, or not processed)"
        )

    def load_points(self, resource_id: str, filtered: bool = False) -> PointSet:
        """Standard (or filtered) points of a file or operation as a :class:`PointSet` (Arrow + units)."""
        return self._points_at(
            self._points_path(resource_id, "filtered" if filtered else "standard")
        )

    @staticmethod
    def _has_filter_result(folder: Path) -> bool:
        return has_filtered(folder)

    @staticmethod
    def _points_at(path: Path) -> PointSet:
        """The points of a :meth:`_points_path` (a filter result gives its kept points)."""
        if path.name in (MASK, FILTERED):
            return read_filtered(path.parent).kept
        table, meta = read_points_table(path)
        return PointSet(
            table,
            meta.get("operation_type", ""),
            units=meta.get("units", {}),
            meta=meta,
        )

    def points(self, resource_id: str, filtered: bool = False):
        """Points of a file or operation as a GeoDataFrame (EPSG:4326), units in ``.attrs["units"]``."""
        return self.load_points(resource_id, filtered).to_geodataframe()

    def merge_files(self, ids: list[str], *, wait: bool = True) -> Resource:
        """Merge processed files of one leafUserId and operation type (``POST /files/merge``).

        Returns ``{"id", "status": "SENT_TO_MERGE"}``. With ``wait=True`` (default) the merged
        file is processed before returning; with ``wait=False`` it is processed in a
        background thread (poll ``get_file(id)["status"]`` or use ``wait()``). The merged file
        has origin ``merged`` and ``sources``; alerts ``mergedFileProcessingFinished/Failed``.

        Raises
        ------
        InvalidRequest
            Fewer than two ids, unknown or repeated ids, several leafUserIds, files not
            processed, or several operation types (the message names the files).
        """
        file_id, rows, config = merge_mod.start_merge(self.ctx, ids)
        if wait:
            merge_mod.process_merged_file(self.ctx, file_id, rows, config)
        else:
            self._background(
                merge_mod.process_merged_file, self.ctx, file_id, rows, config
            )
        return Resource(id=file_id, status="SENT_TO_MERGE")

    def get_uncovered_files(self, leafUserId: str) -> Resource:
        """``GET /files/uncoveredFiles``: processed files that intersect no field (so no operation)."""
        if not leafUserId:
            raise InvalidRequest("leafUserId is required")
        rows = processed_upload_rows(self.catalog, leafUserId)
        return Resource(
            files=[
                r["id"] for r in rows if not self.catalog.loads(r["doc"]).get("fields")
            ]
        )

    def get_file_outside_field_geojson(self, file_id: str) -> Resource:
        """Points of a file inside no field of its leafUserId (``GET /files/{id}/outsideFieldGeojson``).

        Needs ``splitOperationsByField`` and ``enableOutsideFieldGeojson``. Returns
        ``{fields, featureCount, outsideFieldGeojson, downloadOutsideFieldGeojson}``.
        """
        return outside.file_outside_field_geojson(self.ctx, file_id)

    def get_files_outside_field_geojson(self, leafUserId: str) -> list[Resource]:
        """``GET /files/outsideFieldGeojson``: the outside-field points of a leafUserId's files.

        Every processed uploaded/provider file that has any, each with its file ``id``.
        """
        return outside.files_outside_field_geojson(self.ctx, leafUserId)
