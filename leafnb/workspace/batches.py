"""Batch uploads and their runs (``/batch``); the chain "after a batch, automerge"."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from leafnb.leafwire import batch_wire
from leafnb.operations import automerge as am
from leafnb.pipeline import batch as batch_mod
from leafnb.pipeline.executors import refuse_while_a_worker_starts
from leafnb.resources import Batch, File, Resource, ResourceList
from leafnb.store.query import BATCH_QUERY
from leafnb.store.records import (
    batch_file_ids,
    batch_owner,
    batch_partfields,
    batch_resource,
    batch_row,
    batch_upload_response,
    list_page,
    operations_with_file,
)
from leafnb.workspace._face import Face

log = logging.getLogger(__name__)


class Batches(Face):
    """Batch uploads and their runs (``/batch``); the chain "after a batch, automerge"."""

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
        refuse_while_a_worker_starts()  # nothing written by a script re-run in a worker
        batch_id, lease = batch_mod.open_upload(
            self.ctx, zip_path, leaf_user_id, provider, column_mapping, move=move
        )
        received = self._batch_upload_response(batch_id)
        if wait:
            self._run_batch(batch_id, lease, progress=progress, raise_refused=True)
            return self.get_batch(batch_id)
        self._background(self._run_batch, batch_id, lease, progress=False)
        return received

    def _run_batch(self, batch_id: str, lease, **kwargs: Any) -> None:
        """Convert a batch, then (the chain, written once here) automerge its owner's files."""
        if batch_mod.run_batch(self.ctx, batch_id, lease, **kwargs):
            self._after_batch(batch_id)

    def _after_batch(self, batch_id: str) -> None:
        """Hook run after a batch settles: ISOXML partfields → fields, then automerge."""
        uid = batch_owner(self.catalog, batch_id)
        if uid is None:
            return
        for file_id, feature in batch_partfields(self.catalog, batch_id):
            try:
                self._field_from_partfield(uid, feature, file_id)
            except Exception as exc:  # a bad partfield must not break the batch
                log.warning(
                    "partfield of file %s not turned into a field: %s", file_id, exc
                )
        if self.get_config(uid).get("fieldOperationCreation", True):
            am.run_automerge(self.ctx, uid)

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
        lease = batch_mod.prepare_retry(self.ctx, batch_id, column_mapping)
        response = self._batch_upload_response(batch_id)
        if wait:
            self._run_batch(batch_id, lease, only_failed=True, progress=False)
        else:
            self._background(
                self._run_batch, batch_id, lease, only_failed=True, progress=False
            )
        return response

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
        row = batch_mod.prepare_reprocess(self.ctx, file_id, column_mapping)
        self.retry_batch(row["batch_id"], wait=wait)
        if wait:
            for op_id in operations_with_file(
                self.catalog, row["leaf_user_id"], file_id
            ):
                self.reprocess_operation(op_id)
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

    def _batch_row(self, batch_id: str):
        return batch_row(self.catalog, batch_id)

    def _batch_upload_response(self, batch_id: str) -> Batch:
        # batch_wire returns the Batch it was given, with Leaf's states
        return cast(Batch, batch_wire(batch_upload_response(self._batch_row(batch_id))))

    def get_batch(self, batch_id: str) -> Batch:
        """Return a batch with its ``leafFiles`` (``GET /batch/{id}``)."""
        row = self._batch_row(batch_id)
        files = batch_file_ids(self.catalog, batch_id)
        return cast(Batch, batch_wire(batch_resource(self.catalog, row, files)))

    def get_batches(
        self,
        *,
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
        **filters: Any,
    ) -> ResourceList:
        """List batches (``GET /batch``), filterable by ``leafUserId`` and ``status``."""
        rows, total = list_page(self.catalog, BATCH_QUERY, filters, page, size, sort)
        return ResourceList([self.get_batch(r["id"]) for r in rows], total, page, size)

    def get_batch_status(self, batch_id: str) -> Resource:
        """Files of a batch grouped as converted / processing / failed by step (``GET /batch/{id}/status``)."""
        self._batch_row(batch_id)
        return Resource(batch_mod.status_groups(self.ctx, batch_id))
