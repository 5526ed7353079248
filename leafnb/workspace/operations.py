"""Field operations (``/operations``): automerge, resources, artifacts, assets, sessions, crop, reprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leafnb.errors import NotFound
from leafnb.leafwire import ensure_artifact
from leafnb.operations import automerge as am
from leafnb.operations import rebuild
from leafnb.operations import sessions as sess
from leafnb.resources import Operation, Resource, ResourceList
from leafnb.standard.leaf_units import summary_wire, units_map_wire
from leafnb.store.artifacts import (
    read_json,
    read_points_table,
    stored_units,
    write_geojson,
)
from leafnb.store.layout import STANDARD, STANDARD_EXPORT
from leafnb.store.records import (
    file_exists,
    operation_resource,
    operation_row,
    operations_page,
)
from leafnb.workspace._face import Face


class Operations(Face):
    """Field operations (``/operations``): automerge, resources, artifacts, assets, sessions, crop, reprocess."""

    def run_automerge(self, leaf_user_id: str) -> Resource:
        """Run automerge now for a leafUserId; returns operation ids by action (created/updated/deleted/unchanged)."""
        return Resource(am.run_automerge(self.ctx, leaf_user_id))

    def _operation_row(self, op_id: str):
        return operation_row(self.catalog, op_id)

    def _operation_resource(self, row) -> Operation:
        return operation_resource(self.catalog, row)

    def get_operation(self, op_id: str) -> Operation:
        """One field operation (``GET /operations/{id}``)."""
        return self._operation_resource(self._operation_row(op_id))

    def get_operations(
        self,
        *,
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
        **filters: Any,
    ) -> ResourceList:
        """List field operations (``GET /operations``, spec §10).

        Filters: ``leafUserId``, ``provider``, ``startTime`` (≥), ``updatedTime`` (≥),
        ``endTime`` (≤), ``operationType``, ``fieldId``. Sort: ``id``, ``leafUserId``,
        ``startTime``, ``endTime``, ``type``, ``updatedTime`` (``"startTime,desc"``; lists allowed).
        """
        rows, total = operations_page(self.catalog, filters, page, size, sort)
        return ResourceList(
            [self._operation_resource(r) for r in rows], total, page, size
        )

    def _operation_artifact(self, op_id: str, name: str) -> Path:
        row = self._operation_row(op_id)
        path = self.path / "operations" / op_id / name
        if not path.exists():
            msg = self.catalog.loads(row["doc"]).get("message", "")
            raise NotFound(
                f"operation {op_id} has no {name.split('.')[0]} (status {row['status']}{': ' + msg if msg else ''})"
            )
        return path

    def get_operation_summary(self, op_id: str) -> Resource:
        """Summary Feature of an operation (``GET /operations/{id}/summary``)."""
        return Resource(
            summary_wire(read_json(self._operation_artifact(op_id, "summary.json")))
        )

    def get_operation_units(self, op_id: str) -> Resource:
        """``{property: unit}`` of an operation (``GET /operations/{id}/units``)."""
        try:  # (in the standard points' footer; units.json in an older folder)
            units = stored_units(self._operation_artifact(op_id, STANDARD).parent)
        except FileNotFoundError as exc:
            raise NotFound(f"operation {op_id} has no units") from exc
        return Resource(units_map_wire(units, self._operation_row(op_id)["type"]))

    def get_operation_standard_geojson(self, op_id: str) -> Resource:
        """Write (once per build) and return the standard GeoJSON export of an operation."""
        src = self._operation_artifact(op_id, "standard.parquet")
        target = src.parent / "standard.geojson"
        if not target.exists() or target.stat().st_mtime < src.stat().st_mtime:
            table, _ = read_points_table(src)
            write_geojson(target, table)
        return Resource(
            standardGeojson=str(target), downloadStandardGeojson=target.as_uri()
        )

    def get_operation_standard_geoparquet(self, op_id: str) -> Resource:
        """The standard GeoParquet of an operation (``GET /operations/{id}/standardGeoparquet``)."""
        src = self._operation_artifact(op_id, "standard.parquet")
        # the complete export (every property a column), written on first request and
        # removed whenever the standard points are written again (steps.store_standard)
        path = ensure_artifact(src.parent / STANDARD_EXPORT)
        return Resource(
            standardGeoparquet=str(path), downloadStandardGeoparquet=path.as_uri()
        )

    def get_operation_files(self, op_id: str) -> ResourceList:
        """Full file resources aggregated in an operation (``GET /operations/{id}/files``)."""
        ids = self.get_operation(op_id)["files"]
        files = [self.get_file(i) for i in ids if file_exists(self.catalog, i)]
        return ResourceList(files, len(files), 0, max(len(files), 1))

    def _operation_assets(self, op_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            "machines": [],
            "implements": [],
            "operators": [],
        }
        for fid in self.get_operation(op_id)["files"]:
            for kind, items in sess.file_assets(self.ctx, fid).items():
                for item in items:
                    if item["id"] not in {x["id"] for x in out[kind]}:
                        out[kind].append(item)
        return out

    def get_operation_machines(self, op_id: str) -> Resource:
        """``{"machines": [uuid]}`` (stable uuid5 of leafUserId + serial number or name)."""
        return Resource(
            machines=[m["id"] for m in self._operation_assets(op_id)["machines"]]
        )

    def get_operation_implements(self, op_id: str) -> Resource:
        """``{"implements": [uuid]}``."""
        return Resource(
            implements=[m["id"] for m in self._operation_assets(op_id)["implements"]]
        )

    def get_operation_operators(self, op_id: str) -> Resource:
        """``{"operators": [uuid]}`` (empty when the files carry no operator)."""
        return Resource(
            operators=[m["id"] for m in self._operation_assets(op_id)["operators"]]
        )

    def get_operation_sessions(self, op_id: str) -> list[Resource]:
        """Work sessions per machine (``GET /operations/{id}/sessions``; needs ``enableOperationsSession``).

        A session ends where the machine stops logging for more than 30 minutes or the
        operator changes; ``area`` is the worked area in ha.
        """
        return [Resource(s) for s in sess.sessions_of_operation(self.ctx, op_id)]

    def crop_operation_by_field(self, op_id: str) -> Resource:
        """Remove the operation's points outside its field(s) (``POST /operations/cropOperationByField``).

        Processed before returning; returns ``{"id", "message": "Sent operation to be processed.", "leafFileId"}``.
        """
        return rebuild.crop_operation(self.ctx, op_id)

    def reprocess_operation(self, op_id: str) -> Resource:
        """Re-run an operation from the merge step with the current config (``POST /operations/{id}/reprocess``)."""
        return rebuild.reprocess_operation(self.ctx, op_id)
