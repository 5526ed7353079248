"""Workspace methods for fields and field operations (spec §5, §8, §10)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from leafnb.errors import InvalidRequest, NotFound
from leafnb.events import utc_now
from leafnb.keys import Event, Origin, StepStatus
from leafnb.operations import automerge as am
from leafnb.operations import merge as merge_mod
from leafnb.operations import sessions as sess
from leafnb.operations.fields import (
    area_m2,
    geojson,
    geometry_hash,
    load_boundary,
    to_multipolygon,
)
from leafnb.operations.merged_reader import clip_mask
from leafnb.resources import Resource, ResourceList
from leafnb.standard.leaf_units import summary_wire, units_map_wire
from leafnb.store.artifacts import read_json, read_points_table, write_geojson
from leafnb.store.query import FIELD_QUERY, OPERATION_QUERY

__all__ = ["Field", "Operation", "OperationsAPI"]

log = logging.getLogger(__name__)


class Field(Resource):
    """A field boundary (``GET /users/{leafUserId}/fields/{id}``)."""

    kind = "field"


class Operation(Resource):
    """A field operation (``GET /operations/{id}``, spec §5.3)."""

    kind = "operation"


class OperationsAPI:
    """Mixin of :class:`leafnb.Workspace`: fields, merge, automerge, operations and their resources."""

    # ------------------------------------------------------------------ hooks
    def _after_batch(self, batch_id: str) -> None:
        """Hook run after a batch settles: ISOXML partfields → fields, then automerge."""
        rows = self.catalog.query(
            "SELECT leaf_user_id FROM batches WHERE id=?", (batch_id,)
        )
        if not rows:
            return
        uid = rows[0]["leaf_user_id"]
        for f in self.catalog.query(
            "SELECT id, doc FROM files WHERE batch_id=?", (batch_id,)
        ):
            for feature in self.catalog.loads(f["doc"]).get("partfields") or []:
                try:
                    self._field_from_partfield(uid, feature, f["id"])
                except Exception as exc:  # a bad partfield must not break the batch
                    log.warning(
                        "partfield of file %s not turned into a field: %s", f["id"], exc
                    )
        if self.get_config(uid).get("fieldOperationCreation", True):
            am.run_automerge(self, uid)

    # ------------------------------------------------------------------ fields
    def _field_resource(self, row) -> Field:
        doc = self.catalog.loads(row["doc"])
        out = Field(
            id=row["id"],
            leafUserId=row["leaf_user_id"],
            name=row["name"],
            geometry=doc["geometry"],
            area={"value": row["area_ha"], "unit": "ha"},
            createdTime=row["created_time"],
            updatedTime=row["updated_time"],
            source=row["source"],
        )
        if doc.get("sourceFileId"):
            out["sourceFileId"] = doc["sourceFileId"]
        return out

    def _insert_field(
        self,
        leaf_user_id: str,
        geom,
        name: str | None,
        source: str,
        extra: dict[str, Any] | None = None,
    ) -> str:
        ghash = geometry_hash(geom)
        field_id = str(uuid.uuid4())
        now = utc_now()
        doc = {"geometry": geojson(geom), **(extra or {})}
        with self.catalog.transaction() as conn:
            conn.execute(
                "INSERT INTO fields (id, leaf_user_id, name, source, area_ha, geom_hash, created_time, updated_time, doc)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    field_id,
                    leaf_user_id,
                    name,
                    source,
                    area_m2(geom) / 10_000.0,
                    ghash,
                    now,
                    now,
                    self.catalog.dumps(doc),
                ),
            )
        if hasattr(Event, "FIELD_CREATED"):
            self.events.emit(
                Event.FIELD_CREATED,
                fieldId=field_id,
                leafUserId=leaf_user_id,
                source="REST",
            )
        return field_id

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
        if not leaf_user_id or not isinstance(leaf_user_id, str):
            raise InvalidRequest("leafUserId is required")
        config = self.get_config(leaf_user_id)
        fix = bool(config.get("automaticFixBoundary", True))
        if geometry is None and path is None:
            raise InvalidRequest("give a boundary geometry or a path")
        geom, found = load_boundary(geometry, path, crs, fix=fix)
        name = name or found or (Path(path).stem if path else None) or "field"
        fid = self._insert_field(leaf_user_id, geom, name, "REST")
        if automerge and config.get("fieldOperationCreation", True):
            am.run_automerge(self, leaf_user_id)
        return self.get_field(fid)

    def _field_from_partfield(
        self, leaf_user_id: str, feature: dict[str, Any], file_id: str
    ) -> str | None:
        geom = to_multipolygon(shape(feature["geometry"]), fix=True)
        ghash = geometry_hash(geom)
        if self.catalog.query(
            "SELECT 1 FROM fields WHERE leaf_user_id=? AND geom_hash=?",
            (leaf_user_id, ghash),
        ):
            return None
        props = feature.get("properties") or {}
        return self._insert_field(
            leaf_user_id,
            geom,
            props.get("name") or props.get("id"),
            "ISOXML",
            {"sourceFileId": file_id, "partfieldId": props.get("id")},
        )

    def get_field(self, field_id: str) -> Field:
        """One field (``GET /users/{leafUserId}/fields/{id}``)."""
        rows = self.catalog.query("SELECT * FROM fields WHERE id=?", (field_id,))
        if not rows:
            raise NotFound(f"field {field_id!r} not found")
        return self._field_resource(rows[0])

    def get_fields(
        self,
        *,
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
        **filters: Any,
    ) -> ResourceList:
        """List fields; filters ``leafUserId``, ``name``, ``source``; sort ``id``, ``name``, ``createdTime``, ``area``."""
        sql, params, count_sql, count_params = FIELD_QUERY.compile(
            filters, page, size, sort
        )
        rows = self.catalog.query(sql, params)
        total = self.catalog.query(count_sql, count_params)[0][0]
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
        field = self.get_field(field_id)
        uid = field["leafUserId"]
        row = self.catalog.query("SELECT doc FROM fields WHERE id=?", (field_id,))[0]
        doc = self.catalog.loads(row["doc"])
        sets, params = ["updated_time=?"], [utc_now()]
        if name is not None:
            sets.append("name=?")
            params.append(name)
        moved = geometry is not None or path is not None
        if moved:
            fix = bool(self.get_config(uid).get("automaticFixBoundary", True))
            geom, _found = load_boundary(geometry, path, crs, fix=fix)
            doc["geometry"] = geojson(geom)
            sets += ["area_ha=?", "geom_hash=?", "doc=?"]
            params += [
                area_m2(geom) / 10_000.0,
                geometry_hash(geom),
                self.catalog.dumps(doc),
            ]
        with self.catalog.transaction() as conn:
            conn.execute(
                f"UPDATE fields SET {', '.join(sets)} WHERE id=?", (*params, field_id)
            )
        if hasattr(Event, "FIELD_UPDATED"):
            self.events.emit(
                Event.FIELD_UPDATED, fieldId=field_id, leafUserId=uid, source="REST"
            )
        if moved and self.get_config(uid).get("fieldOperationCreation", True):
            self.run_automerge(uid)
        return self.get_field(field_id)

    def reprocess_field_operations(self, field_id: str) -> list[Resource]:
        """Reprocess every operation of a field with the current config (``POST /operations/reprocess``, by field)."""
        field = self.get_field(field_id)
        ops = []
        page = 0
        while True:
            batch = self.get_operations(
                leafUserId=field["leafUserId"], fieldId=field_id, page=page, size=100
            )
            ops += [op["id"] for op in batch]
            if (page + 1) * 100 >= batch.total:
                break
            page += 1
        return [self.reprocess_operation(op_id) for op_id in ops]

    def delete_field(self, field_id: str) -> None:
        """Delete a field and re-run automerge (its operations are removed or regrouped)."""
        field = self.get_field(field_id)
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM fields WHERE id=?", (field_id,))
        self.run_automerge(field["leafUserId"])

    # ------------------------------------------------------------------ merge & automerge
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
        rows = merge_mod.validate_merge(self, ids)
        file_id = merge_mod.create_merged_file(self, rows)
        config = dict(self.get_config(rows[0]["leaf_user_id"]))
        if wait:
            merge_mod.process_merged_file(self, file_id, rows, config)
        else:
            self._background(merge_mod.process_merged_file, self, file_id, rows, config)
        return Resource(id=file_id, status="SENT_TO_MERGE")

    def run_automerge(self, leaf_user_id: str) -> Resource:
        """Run automerge now for a leafUserId; returns operation ids by action (created/updated/deleted/unchanged)."""
        return Resource(am.run_automerge(self, leaf_user_id))

    def get_uncovered_files(self, leafUserId: str) -> Resource:
        """``GET /files/uncoveredFiles``: processed files that intersect no field (so no operation)."""
        if not leafUserId:
            raise InvalidRequest("leafUserId is required")
        rows = self.catalog.query(
            "SELECT id, doc FROM files WHERE leaf_user_id=? AND status=? AND origin IN (?, ?) ORDER BY created_time, id",
            (leafUserId, StepStatus.PROCESSED, Origin.UPLOADED, Origin.PROVIDER),
        )
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
        row = self._file_row(file_id)
        config = self.get_config(row["leaf_user_id"])
        if not (
            config.get("splitOperationsByField")
            and config.get("enableOutsideFieldGeojson")
        ):
            raise InvalidRequest(
                "outsideFieldGeojson needs splitOperationsByField and enableOutsideFieldGeojson set to true"
            )
        table, _ = read_points_table(self._artifact(file_id, "standard.parquet"))
        lon = table.column("lon").to_numpy(zero_copy_only=False)
        lat = table.column("lat").to_numpy(zero_copy_only=False)
        import numpy as np
        import pyarrow as pa

        inside = np.zeros(len(lon), dtype=bool)
        for r in self.catalog.query(
            "SELECT doc FROM fields WHERE leaf_user_id=?", (row["leaf_user_id"],)
        ):
            inside |= clip_mask(
                lon, lat, shape(self.catalog.loads(r["doc"])["geometry"])
            )
        outside = table.filter(pa.array(~inside))
        target = self._file_dir(file_id) / "outsideField.geojson"
        write_geojson(target, outside)
        return Resource(
            fields=self.catalog.loads(row["doc"]).get("fields", []),
            featureCount=outside.num_rows,
            outsideFieldGeojson=str(target),
            downloadOutsideFieldGeojson=target.as_uri(),
        )

    def get_files_outside_field_geojson(self, leafUserId: str) -> list[Resource]:
        """``GET /files/outsideFieldGeojson``: the outside-field points of every processed
        uploaded/provider file of a leafUserId that has any, each with its file ``id``."""
        rows = self.catalog.query(
            "SELECT id FROM files WHERE leaf_user_id=? AND status='processed' AND origin IN ('uploaded', 'provider')"
            " ORDER BY created_time, id",
            (leafUserId,),
        )
        out = []
        for r in rows:
            item = self.get_file_outside_field_geojson(r["id"])
            if item["featureCount"]:
                out.append(Resource(id=r["id"], **item))
        return out

    # ------------------------------------------------------------------ operations
    def _operation_row(self, op_id: str):
        rows = self.catalog.query("SELECT * FROM operations WHERE id=?", (op_id,))
        if not rows:
            raise NotFound(f"operation {op_id!r} not found")
        return rows[0]

    def _operation_resource(self, row) -> Operation:
        doc = self.catalog.loads(row["doc"])
        out = Operation(
            id=row["id"],
            apiOwnerUsername="local",
            leafUserId=row["leaf_user_id"],
            startTime=row["start_time"],
            endTime=row["end_time"],
            updatedTime=row["updated_time"],
            createdTime=row["created_time"],
            type=row["type"],
            files=doc.get("files", []),
            fields=doc.get("fields", []),
            providers=doc.get("providers", []),
            status=row["status"],
            leafFileId=row["leaf_file_id"],
        )
        if doc.get("cropped"):
            out["croppedByField"] = True
        if doc.get("message"):
            out["message"] = doc["message"]
        return out

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
        filters = dict(filters)
        for key in ("fieldId", "provider"):
            if filters.get(key) is not None:
                value = str(filters[key])
                if any(c in value for c in ",%_"):
                    raise InvalidRequest(
                        f"{key} must not contain ',', '%' or '_', got {value!r}"
                    )
                filters[key] = f"%,{value},%"
        sql, params, count_sql, count_params = OPERATION_QUERY.compile(
            filters, page, size, sort
        )
        rows = self.catalog.query(sql, params)
        total = self.catalog.query(count_sql, count_params)[0][0]
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
        units = read_json(self._operation_artifact(op_id, "units.json"))
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
        path = self._operation_artifact(op_id, "standard.parquet")
        return Resource(
            standardGeoparquet=str(path), downloadStandardGeoparquet=path.as_uri()
        )

    def get_operation_files(self, op_id: str) -> ResourceList:
        """Full file resources aggregated in an operation (``GET /operations/{id}/files``)."""
        ids = self.get_operation(op_id)["files"]
        files = [
            self.get_file(i)
            for i in ids
            if self.catalog.query("SELECT 1 FROM files WHERE id=?", (i,))
        ]
        return ResourceList(files, len(files), 0, max(len(files), 1))

    def _operation_assets(self, op_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            "machines": [],
            "implements": [],
            "operators": [],
        }
        for fid in self.get_operation(op_id)["files"]:
            for kind, items in sess.file_assets(self, fid).items():
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
        row = self._operation_row(op_id)
        if not self.get_config(row["leaf_user_id"]).get("enableOperationsSession"):
            raise InvalidRequest(
                "sessions are disabled: set enableOperationsSession to true"
            )
        doc = self.catalog.loads(row["doc"])
        clip_ids = list(doc.get("clipFieldIds") or [])
        if doc.get("cropped"):
            clip_ids += [f["id"] for f in doc.get("fields", [])]
        clip = None
        if clip_ids:
            geoms = [
                shape(self.catalog.loads(r["doc"])["geometry"])
                for r in self.catalog.query(
                    f"SELECT doc FROM fields WHERE id IN ({','.join('?' * len(clip_ids))})",
                    clip_ids,
                )
            ]
            clip = shapely.geometry.mapping(shapely.union_all(geoms)) if geoms else None
        return [
            Resource(s)
            for s in sess.operation_sessions(
                self, doc.get("files", []), clip, row["leaf_user_id"]
            )
        ]

    def crop_operation_by_field(self, op_id: str) -> Resource:
        """Remove the operation's points outside its field(s) (``POST /operations/cropOperationByField``).

        Processed before returning; returns ``{"id", "message": "Sent operation to be processed.", "leafFileId"}``.
        """
        row = self._operation_row(op_id)
        doc = self.catalog.loads(row["doc"])
        if not doc.get("fields"):
            raise InvalidRequest(f"operation {op_id} has no field to crop by")
        doc["cropped"] = True
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE operations SET doc=?, status=?, updated_time=? WHERE id=?",
                (self.catalog.dumps(doc), StepStatus.PROCESSING, utc_now(), op_id),
            )
        self.events.emit(
            Event.OPERATION_UPDATED, operationId=op_id, leafUserId=row["leaf_user_id"]
        )
        with am._LOCK:
            am.build_operation(self, op_id)
        return Resource(
            id=op_id,
            message="Sent operation to be processed.",
            leafFileId=self._operation_row(op_id)["leaf_file_id"],
        )

    def reprocess_operation(self, op_id: str) -> Resource:
        """Re-run an operation from the merge step with the current config (``POST /operations/{id}/reprocess``)."""
        row = self._operation_row(op_id)
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE operations SET status=?, updated_time=? WHERE id=?",
                (StepStatus.PROCESSING, utc_now(), op_id),
            )
        self.events.emit(
            Event.OPERATION_UPDATED, operationId=op_id, leafUserId=row["leaf_user_id"]
        )
        with am._LOCK:
            am.build_operation(self, op_id)
        return Resource(
            id=op_id,
            message="Sent operation to be processed.",
            leafFileId=self._operation_row(op_id)["leaf_file_id"],
        )
