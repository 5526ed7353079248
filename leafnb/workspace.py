"""The Workspace: Leaf's machine-file endpoints as methods over one local folder.

A workspace folder holds ``catalog.sqlite`` (batches, files, steps, configs, events),
``batches/<id>/`` (the upload and its extracted files) and ``files/<id>/`` (GeoParquet
and JSON artifacts). Methods return JSON-compatible dicts with Leaf's key names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from leafnb.clean.api import FilteringAPI
from leafnb.config import defaults, validate
from leafnb.errors import InvalidRequest, NotFound
from leafnb.events import EventBus
from leafnb.formats.inference import parse_user_mapping
from leafnb.keys import FILE_STEPS, StepStatus
from leafnb.leafwire import batch_wire, file_resource_wire, steps_wire
from leafnb.operations.api import OperationsAPI
from leafnb.pipeline import batch as batch_mod
from leafnb.pipeline.executors import resolve_executor
from leafnb.pipeline.steps import FileJob, FileOutcome
from leafnb.render.api import RenderingAPI
from leafnb.resources import Batch, File, Resource, ResourceList, StatusMap
from leafnb.standard.leaf_units import summary_wire, units_map_wire
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import read_json, read_points_table, write_geojson
from leafnb.store.catalog import Catalog
from leafnb.store.query import BATCH_QUERY, FILE_QUERY

__all__ = ["Workspace"]

API_OWNER = "local"


class Workspace(OperationsAPI, FilteringAPI, RenderingAPI):
    """A local Leaf: upload machine-file zips, convert them, query the results.

    Parameters
    ----------
    path : str or Path
        Folder of the workspace (created if missing). Several Workspace objects, in one
        or several processes, may open the same folder.
    executor : optional
        Where per-file conversions run (see :mod:`leafnb.pipeline.executors`): None
        (default) — local worker processes, ``os.cpu_count()`` of them, 1-file batches
        in-process; an int — that many worker processes; ``"inline"`` — in this
        process; a ``dask.distributed.Client`` or a scheduler address — a Dask cluster;
        or any ``concurrent.futures.Executor``. Results are the same on every executor.

    Examples
    --------
    >>> import tempfile, leafnb
    >>> ws = leafnb.Workspace(tempfile.mkdtemp())
    >>> ws.get_files(leafUserId="nobody")
    []
    """

    def __init__(self, path: str | Path, *, executor: Any = None):
        self.path = Path(path).resolve()
        self.executor = resolve_executor(executor)
        self.path.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.path / "catalog.sqlite")
        self.events = EventBus(self.catalog.record_event)
        self._threads: list[threading.Thread] = []
        #: batches found interrupted (their process died) when this Workspace opened
        self.recovered: list[str] = batch_mod.recover_interrupted(self)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # ------------------------------------------------------------------ batches
    def upload_batch(
        self,
        zip_path: str | Path,
        leaf_user_id: str,
        provider: str = "Other",
        *,
        wait: bool = True,
        progress: bool | None = None,
        column_mapping: dict[str, Any] | None = None,
        move: bool = False,
    ) -> Batch:
        """Upload a zip of machine files and convert every file in it (``POST /batch``).

        Parameters
        ----------
        zip_path : path
            The ``.zip`` (nested zips, monitor folders and mixed providers are fine).
        leaf_user_id : str
            Owner of the files.
        provider : str
            ``Other`` (auto-detect) or one of Leaf's providers; content that contradicts it
            is recorded on the file (``providerMismatch``), not silently obeyed.
        wait : bool
            True (default): return when the batch is PROCESSED/FAILED. False: return at
            RECEIVED (only the zip's entry list has been checked) while extraction,
            detection and conversion go on in a background thread; an archive refused
            while extracting (e.g. a zip bomb) then fails the batch with the reason in
            ``statusDetails``.
        progress : bool, optional
            Show a progress bar (default: only in notebooks/terminals when waiting).
        column_mapping : dict, optional
            What source columns mean, when inference gets it wrong:
            ``{"Wet_Yield": {"property": "wetMassPerArea", "unit": "lb/ac"},
            "Moisture": None}`` (see :func:`leafnb.formats.inference.parse_user_mapping`).
            Applies to this batch's conversions and retries, over the ``columnMapping``
            config key. Each file records what was understood as ``columnMapping``.
        move : bool
            The zip is a temporary file the workspace may move into its folder instead
            of copying it (the HTTP server's uploads).

        Raises
        ------
        InvalidRequest
            Not a zip, truncated zip, bad provider or missing leafUserId, or a malformed
            column mapping.
        UnsafeArchive
            Path traversal, absolute paths, links and other special entries, duplicate
            or conflicting names, encrypted entries, unknown compression, too many
            entries, zip bombs (see :mod:`leafnb.formats.archive`), more than 3 GB.
            With ``wait=True`` a refused upload leaves no batch behind.
        """
        # a malformed mapping fails before anything is extracted
        parse_user_mapping(column_mapping)
        batch_id, lease = batch_mod.create_batch(
            self, zip_path, leaf_user_id, provider, move=move
        )
        if column_mapping:
            self._update_doc(
                "batches", batch_id, userColumnMapping=dict(column_mapping)
            )
        received = self._batch_upload_response(batch_id)
        if wait:
            batch_mod.run_batch(
                self, batch_id, lease, progress=progress, raise_refused=True
            )
            return self.get_batch(batch_id)
        self._background(batch_mod.run_batch, self, batch_id, lease, progress=False)
        return received

    def _update_doc(self, table: str, row_id: str, **values: Any) -> None:
        """Merge *values* into the JSON ``doc`` of one batches/files row."""
        assert table in ("batches", "files")
        with self.catalog.transaction() as conn:
            row = conn.execute(
                f"SELECT doc FROM {table} WHERE id=?", (row_id,)
            ).fetchone()
            doc = {**self.catalog.loads(row["doc"]), **values}
            conn.execute(
                f"UPDATE {table} SET doc=? WHERE id=?",
                (self.catalog.dumps(doc), row_id),
            )

    def _job_config(
        self, config: dict[str, Any], batch_doc: Any, file_doc: dict[str, Any]
    ) -> dict[str, Any]:
        """A file's conversion config: the column mappings of config < batch < file merged."""
        if not isinstance(batch_doc, dict):
            batch_doc = self.catalog.loads(batch_doc["doc"])
        out = dict(config)
        mapping = dict(out.get("columnMapping") or {})
        mapping.update(batch_doc.get("userColumnMapping") or {})
        mapping.update(file_doc.get("userColumnMapping") or {})
        if mapping:
            out["columnMapping"] = mapping
        return out

    def reprocess_file(
        self,
        file_id: str,
        *,
        column_mapping: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> File:
        """Convert one file again (after a config change or with a column mapping).

        The mapping is kept on the file, so later retries use it too. The file is
        marked failed and the batch retried (other files of the batch that had failed
        are retried with it); with ``wait=True`` the operations built from the file are
        rebuilt.

        Examples
        --------
        >>> ws.reprocess_file(fid, column_mapping={"Mass_Yield": "wetMassPerArea"})  # doctest: +SKIP
        """
        parse_user_mapping(column_mapping)
        row = self._file_row(file_id)
        values: dict[str, Any] = {"message": "queued for reprocessing"}
        if column_mapping is not None:
            values["userColumnMapping"] = dict(column_mapping)
        self._update_doc("files", file_id, **values)
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE files SET status=? WHERE id=?", (StepStatus.FAILED, file_id)
            )
        self.retry_batch(row["batch_id"], wait=wait)
        if wait:
            for op in self.catalog.query(
                "SELECT id, doc FROM operations WHERE leaf_user_id=?",
                (row["leaf_user_id"],),
            ):
                if file_id in (self.catalog.loads(op["doc"]).get("files") or []):
                    self.reprocess_operation(op["id"])
        return self.get_file(file_id)

    def _background(self, fn: Callable, *args, **kwargs) -> None:
        thread = threading.Thread(
            target=fn, args=args, kwargs=kwargs, daemon=True, name="leafnb-batch"
        )
        thread.start()
        self._threads.append(thread)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for background batches started with ``wait=False`` to finish."""
        for thread in list(self._threads):
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]

    def _run_jobs(
        self, jobs: list[FileJob], progress: bool | None = None
    ) -> Iterator[tuple[FileJob, FileOutcome]]:
        """Convert *jobs* on the workspace's executor, yielding ``(job, outcome)`` as each completes.

        Workers only write artifacts into ``files/<id>/``; the caller (this process)
        records outcomes in the catalog, so progress and events stay here.
        """
        bar = None
        if progress or (progress is None and len(jobs) > 1):
            from tqdm.auto import tqdm

            bar = tqdm(
                total=len(jobs),
                desc="converting",
                unit="file",
                leave=False,
                disable=None if progress is None else False,
            )
        try:
            for job, outcome in self.executor.run(jobs):
                if bar is not None:
                    bar.update(1)
                yield job, outcome
        finally:
            if bar is not None:
                bar.close()

    def _batch_row(self, batch_id: str):
        rows = self.catalog.query("SELECT * FROM batches WHERE id=?", (batch_id,))
        if not rows:
            raise NotFound(f"batch {batch_id!r} not found")
        return rows[0]

    def _batch_upload_response(self, batch_id: str) -> Batch:
        row = self._batch_row(batch_id)
        return batch_wire(
            Batch(
                id=row["id"],
                leafUserId=row["leaf_user_id"],
                fileName=row["file_name"],
                size=row["size"],
                provider=row["provider"],
                status=row["status"],
                uploadTimestamp=row["upload_timestamp"],
            )
        )

    def get_batch(self, batch_id: str) -> Batch:
        """Return a batch with its ``leafFiles`` (``GET /batch/{id}``)."""
        row = self._batch_row(batch_id)
        files = self.catalog.query(
            "SELECT id FROM files WHERE batch_id=? ORDER BY file_name", (batch_id,)
        )
        doc = self.catalog.loads(row["doc"])
        out = Batch(
            id=row["id"],
            leafUserId=row["leaf_user_id"],
            provider=row["provider"],
            status=row["status"],
            leafFiles=[r["id"] for r in files],
            fileName=row["file_name"],
            size=row["size"],
            uploadTimestamp=row["upload_timestamp"],
            updatedTime=row["updated_time"],
        )
        if row["status_details"]:
            out["statusDetails"] = row["status_details"]
        if doc.get("ignoredEntries"):
            out["ignoredEntries"] = doc["ignoredEntries"]
        if doc.get("ignoredReasons"):
            out["ignoredReasons"] = doc["ignoredReasons"]
        return batch_wire(out)

    def get_batches(
        self,
        *,
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
        **filters: Any,
    ) -> ResourceList:
        """List batches (``GET /batch``), filterable by ``leafUserId`` and ``status``."""
        sql, params, count_sql, count_params = BATCH_QUERY.compile(
            filters, page, size, sort
        )
        rows = self.catalog.query(sql, params)
        total = self.catalog.query(count_sql, count_params)[0][0]
        return ResourceList([self.get_batch(r["id"]) for r in rows], total, page, size)

    def get_batch_status(self, batch_id: str) -> Resource:
        """Files of a batch grouped as converted / processing / failed by step (``GET /batch/{id}/status``)."""
        self._batch_row(batch_id)
        return Resource(batch_mod.status_groups(self, batch_id))

    def retry_batch(
        self,
        batch_id: str,
        *,
        wait: bool = True,
        column_mapping: dict[str, Any] | None = None,
    ) -> Batch:
        """Re-run the files that failed (``PUT /batch/{id}/retry``).

        Converted files stay untouched; files being converted are not run twice: a batch
        that another run (thread or process) is processing is refused. A batch that was
        interrupted (its process died) is marked so first and its unfinished files are
        retried; one interrupted while extracting is extracted again. A
        *column_mapping* (as for :meth:`upload_batch`) replaces the batch's mapping for
        this and later conversions.

        Raises
        ------
        NotFound
            Unknown batch.
        BatchBusy
            The batch is being processed (HTTP 409): retry after it finished.
        InvalidRequest
            The upload was refused (zip bomb, bad nested zip): upload a corrected zip;
            or a malformed column mapping.
        """
        self._batch_row(batch_id)
        if column_mapping is not None:
            parse_user_mapping(column_mapping)
        lease = batch_mod.start_retry(self, batch_id)
        if column_mapping is not None:
            self._update_doc(
                "batches", batch_id, userColumnMapping=dict(column_mapping)
            )
        response = self._batch_upload_response(batch_id)
        if wait:
            batch_mod.run_batch(self, batch_id, lease, only_failed=True, progress=False)
        else:
            self._background(
                batch_mod.run_batch,
                self,
                batch_id,
                lease,
                only_failed=True,
                progress=False,
            )
        return response

    # ------------------------------------------------------------------ files
    def _file_row(self, file_id: str):
        rows = self.catalog.query("SELECT * FROM files WHERE id=?", (file_id,))
        if not rows:
            raise NotFound(f"file {file_id!r} not found")
        return rows[0]

    def _file_dir(self, file_id: str) -> Path:
        return self.path / "files" / file_id

    def _file_resource(self, row) -> File:
        doc = self.catalog.loads(row["doc"])
        fdir = self._file_dir(row["id"])
        original = self.path / doc["path"]
        std_parquet = fdir / "standard.parquet"
        raw_parquet = fdir / "raw.parquet"
        summary_path = fdir / "summary.json"

        def url(p: Path) -> str | None:
            return p.as_uri() if p.exists() else None

        out = File(
            id=row["id"],
            leafUserId=row["leaf_user_id"],
            apiOwnerUsername=API_OWNER,
            provider=row["provider"],
            fileFormat=row["file_format"],
            fileName=row["file_name"],
            operationType=row["operation_type"],
            status=row["status"],
            origin=row["origin"],
            batchId=row["batch_id"],
            createdTime=row["created_time"],
            updatedTime=row["updated_time"],
            startTime=row["start_time"],
            endTime=row["end_time"],
            sizeInBytes=row["size_in_bytes"],
            fields=doc.get("fields", []),
            recordCount=doc.get("recordCount", 0),
            skippedRecords=doc.get("skippedRecords", 0),
            originalFile=str(original),
            downloadOriginalFile=url(original),
            rawGeoparquet=str(raw_parquet) if raw_parquet.exists() else None,
            downloadRawGeoparquet=url(raw_parquet),
            standardGeoparquet=str(std_parquet) if std_parquet.exists() else None,
            downloadStandardGeoparquet=url(std_parquet),
            filteredGeoparquet=str(fdir / "filtered.parquet")
            if (fdir / "filtered.parquet").exists()
            else None,
            downloadFilteredGeoparquet=url(fdir / "filtered.parquet"),
            summary=read_json(summary_path) if summary_path.exists() else None,
        )
        for key in (
            "providerMismatch",
            "outOfStandard",
            "sources",
            "machineTotals",
            "columnMapping",
            "notes",
        ):
            if doc.get(key):
                out[key] = doc[key]
        return file_resource_wire(out, fdir)

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
        sql, params, count_sql, count_params = FILE_QUERY.compile(
            filters, page, size, sort
        )
        rows = self.catalog.query(sql, params)
        total = self.catalog.query(count_sql, count_params)[0][0]
        return ResourceList([self._file_resource(r) for r in rows], total, page, size)

    def get_file_status(self, file_id: str) -> StatusMap:
        """Every processing step of a file with its status and message (``GET /files/{id}/status``)."""
        self._file_row(file_id)
        rows = self.catalog.query(
            "SELECT step, status, message FROM steps WHERE file_id=? ORDER BY position",
            (file_id,),
        )
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
        row = self._file_row(file_id)
        path = self._file_dir(file_id) / name
        if not path.exists():
            raise NotFound(
                f"file {file_id} has no {name.split('.')[0]} (status {row['status']}: {self.catalog.loads(row['doc']).get('message', '')})"
            )
        return path

    def get_file_summary(self, file_id: str) -> Resource:
        """The summary Feature of a file (``GET /files/{id}/summary``, spec §2.2)."""
        return Resource(
            summary_wire(read_json(self._artifact(file_id, "summary.json")))
        )

    def get_file_units(self, file_id: str) -> Resource:
        """``{property: unit}`` of a file's standard points (``GET /files/{id}/units``)."""
        units = read_json(self._artifact(file_id, "units.json"))
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
        """The standard GeoParquet of a file (``GET /files/{id}/standardGeoparquet``)."""
        path = self._artifact(file_id, "standard.parquet")
        return Resource(
            standardGeoparquet=str(path), downloadStandardGeoparquet=path.as_uri()
        )

    def _points_path(self, resource_id: str, kind: str = "standard") -> Path:
        """The ``<kind>.parquet`` artifact (standard | filtered) of a file or an operation."""
        for folder in ("files", "operations"):
            path = self.path / folder / resource_id / f"{kind}.parquet"
            if path.exists():
                return path
        if (self.path / "files" / resource_id).is_dir() or self.catalog.query(
            "SELECT 1 FROM files WHERE id=?", (resource_id,)
        ):
            return self._artifact(resource_id, f"{kind}.parquet")
        raise NotFound(
            f"no {kind} points for {resource_id!r} (unknown id, or not processed)"
        )

    def load_points(self, resource_id: str, filtered: bool = False) -> PointSet:
        """Standard (or filtered) points of a file or operation as a :class:`PointSet` (Arrow + units)."""
        table, meta = read_points_table(
            self._points_path(resource_id, "filtered" if filtered else "standard")
        )
        return PointSet(
            table,
            meta.get("operation_type", ""),
            units=meta.get("units", {}),
            meta=meta,
        )

    def points(self, resource_id: str, filtered: bool = False):
        """Points of a file or operation as a GeoDataFrame (EPSG:4326), units in ``.attrs["units"]``."""
        import geopandas as gpd
        import shapely

        points = self.load_points(resource_id, filtered)
        df = points.table.to_pandas()
        geom = shapely.points(df["lon"].to_numpy(), df["lat"].to_numpy())
        gdf = gpd.GeoDataFrame(
            df.drop(columns=["lon", "lat"]), geometry=geom, crs="EPSG:4326"
        )
        gdf.attrs["units"] = dict(points.units)
        return gdf

    # ------------------------------------------------------------------ config & events
    def get_config(self, leaf_user_id: str | None = None) -> Resource:
        """Effective configuration (spec §12): defaults < workspace (owner) < leafUserId."""
        cfg = defaults()
        for uid in ("", leaf_user_id) if leaf_user_id else ("",):
            rows = self.catalog.query(
                "SELECT doc FROM configs WHERE leaf_user_id=?", (uid,)
            )
            if rows:
                cfg.update(self.catalog.loads(rows[0]["doc"]))
        return Resource(
            apiOwnerUsername=API_OWNER, leafUserId=leaf_user_id or "", **cfg
        )

    def set_config(
        self,
        values: dict[str, Any] | None = None,
        leaf_user_id: str | None = None,
        **kw: Any,
    ) -> Resource:
        """Set config keys for the workspace owner or one leafUserId (partial update, validated)."""
        clean = validate({**(values or {}), **kw})
        uid = leaf_user_id or ""
        with self.catalog.transaction() as conn:
            row = conn.execute(
                "SELECT doc FROM configs WHERE leaf_user_id=?", (uid,)
            ).fetchone()
            doc = {**(self.catalog.loads(row["doc"]) if row else {}), **clean}
            conn.execute(
                "INSERT OR REPLACE INTO configs VALUES (?, ?)",
                (uid, self.catalog.dumps(doc)),
            )
        return self.get_config(leaf_user_id)

    def delete_config(self, leaf_user_id: str) -> None:
        """Remove a leafUserId's own settings (it inherits the owner's again)."""
        if not leaf_user_id:
            raise InvalidRequest(
                "the owner configuration cannot be deleted, only changed"
            )
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM configs WHERE leaf_user_id=?", (leaf_user_id,))

    def on(
        self, event: str, callback: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        """Call *callback(payload)* on each *event* (Leaf alert names); returns an unsubscribe function."""
        return self.events.on(event, callback)

    def get_events(
        self, type: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The stored event log, oldest first."""
        if type:
            rows = self.catalog.query(
                "SELECT payload FROM events WHERE type=? ORDER BY seq LIMIT ?",
                (type, limit),
            )
        else:
            rows = self.catalog.query(
                "SELECT payload FROM events ORDER BY seq LIMIT ?", (limit,)
            )
        return [self.catalog.loads(r["payload"]) for r in rows]
