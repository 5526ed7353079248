"""Field boundaries (``/users/{leafUserId}/fields``); boundary changes re-run automerge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leafnb.operations import automerge as am
from leafnb.operations import boundaries
from leafnb.resources import Field, Resource, ResourceList
from leafnb.store.query import FIELD_QUERY
from leafnb.store.records import (
    delete_field,
    field_operation_ids,
    field_resource,
    field_row,
    list_page,
)
from leafnb.workspace._face import Face


class Fields(Face):
    """Field boundaries (``/users/{leafUserId}/fields``); boundary changes re-run automerge."""

    def _field_resource(self, row) -> Field:
        return field_resource(self.catalog, row)

    def create_field(
        self,
        leaf_user_id: str,
        geometry: Any = None,
        *,
        path: str | Path | None = None,
        name: str | None = None,
        crs: str | None = None,
        automerge: bool = True,
    ) -> Field:
        """Create a field from a boundary in any CRS (``POST /users/{leafUserId}/fields``).

        Parameters
        ----------
        leaf_user_id : str
            Owner of the field.
        geometry : dict, str or shapely geometry, optional
            GeoJSON (geometry, Feature or FeatureCollection; dict or text), WKT or a shapely geometry.
        path : path, optional
            Instead of *geometry*: a GeoJSON, shapefile, GeoPackage or ``.wkt`` file.
        name : str, optional
            Field name (default: a ``name`` attribute of the source, else the file stem).
        crs : str, optional
            CRS of the coordinates when the source does not say (default WGS84).
        automerge : bool
            Re-run automerge for the leafUserId (when ``fieldOperationCreation``), so files already
            uploaded become operations of the new field.

        Holes and several parts are kept; the boundary is stored in WGS84. Invalid geometry is
        repaired with ``make_valid`` when ``automaticFixBoundary`` (else InvalidRequest).
        """
        fid, follow = boundaries.create_field(
            self.ctx, leaf_user_id, geometry, path, name, crs
        )
        if automerge and follow:
            am.run_automerge(self.ctx, leaf_user_id)
        return self.get_field(fid)

    def _field_from_partfield(
        self, leaf_user_id: str, feature: dict[str, Any], file_id: str
    ) -> str | None:
        return boundaries.field_from_partfield(self.ctx, leaf_user_id, feature, file_id)

    def get_field(self, field_id: str) -> Field:
        """One field (``GET /users/{leafUserId}/fields/{id}``)."""
        return self._field_resource(field_row(self.catalog, field_id))

    def get_fields(
        self,
        *,
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
        **filters: Any,
    ) -> ResourceList:
        """List fields; filters ``leafUserId``, ``name``, ``source``; sort ``id``, ``name``, ``createdTime``, ``area``."""
        rows, total = list_page(self.catalog, FIELD_QUERY, filters, page, size, sort)
        return ResourceList([self._field_resource(r) for r in rows], total, page, size)

    def update_field(
        self,
        field_id: str,
        geometry: Any = None,
        *,
        path: str | Path | None = None,
        name: str | None = None,
        crs: str | None = None,
    ) -> Field:
        """Change a field's boundary and/or name; operations follow (automerge re-runs on a new boundary).

        Leaf updates operations when boundaries change (spec §5.2); the boundary is read like
        :meth:`create_field`'s.
        """
        uid, follow = boundaries.change_field(
            self.ctx, field_id, geometry, path, name, crs
        )
        if follow:
            self.run_automerge(uid)
        return self.get_field(field_id)

    def reprocess_field_operations(self, field_id: str) -> list[Resource]:
        """Reprocess every operation of a field with the current config (``POST /operations/reprocess``, by field)."""
        return [
            self.reprocess_operation(op_id)
            for op_id in field_operation_ids(self.catalog, field_id)
        ]

    def delete_field(self, field_id: str) -> None:
        """Delete a field and re-run automerge (its operations are removed or regrouped)."""
        field = self.get_field(field_id)
        delete_field(self.catalog, field_id)
        self.run_automerge(field["leafUserId"])
