# ruff: noqa: B008  (FastAPI declares parameters with Query()/Body()/Security() defaults)
"""Leaf-compatible HTTP API over a :class:`leafnb.Workspace` (``leafnb serve``).

Same paths, methods, query parameters, JSON bodies and paging headers as Leaf's operations,
config and alerts services (spec §0, §2–§5, §9, §10, §12). Every request carries a Bearer
token of an API owner (``leafnb token create``); the owner sees only the leafUserIds it
claimed (first upload / config creation wins, others get 403). Resources from the
Workspace contain local paths and ``file://`` URLs: they are replaced by authenticated
``/services/operations/api/download/<token>`` links (the opaque token maps to owner + path
in ``server.sqlite``), so no filesystem path leaves the server; any other text that
names a path of the workspace (a step message quoting a library error, say) has it
replaced by the path inside the upload or ``<workspace>``.

Hostile clients are expected (docs/security.md): uploads return once the zip is stored
and its entry list checked (extraction and detection run in the background, never in a
request thread); request bodies are strict JSON (``NaN``/``Infinity`` refused, 400); a
leafUserId that is not the caller's answers 404 whether it is unknown or another
owner's (no existence oracle); a batch being processed answers 409 to a retry;
webhooks may only target public addresses (:mod:`leafnb.server.webhooks`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import mimetypes
import os
import re
import shutil
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from leafnb.config import validate as validate_config
from leafnb.errors import (
    BatchBusy,
    InvalidRequest,
    LeafnbError,
    NotFound,
    StoreError,
)
from leafnb.resources import ResourceList
from leafnb.server.auth import OwnerConflict, ServerStore, TokenError
from leafnb.server.webhooks import ALERT_EVENTS, WebhookDispatcher, check_target

__all__ = ["DEFAULT_MAX_UPLOAD", "ApiError", "create_app"]

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD = 3 * 1024**3  # spec §4.3: 3 GB
OPS = "/services/operations/api"
CONFIG = "/services/config/api"
ALERTS = "/services/alerts/api"
FIELDS = "/services/fields/api"
DOWNLOAD = f"{OPS}/download/"
PROBLEM_TYPE = "https://www.jhipster.tech/problem/problem-with-message"
_NO_USER = "\x00no-leaf-user"
#: server/uploads/<tmp> folders untouched this long belong to no live request
STALE_UPLOAD_SECONDS = 3600.0
#: the one answer for a leafUserId that is unknown or another API owner's
NOT_YOUR_USER = (
    "leafUserId not found among this API owner's users (a leafUserId becomes yours "
    "with its first upload or configuration)"
)
#: Leaf config keys (spec §12) about provider sync / field merging that leafnb has no use for: accepted,
#: stored in server.sqlite and echoed back, never passed to the Workspace
PROVIDER_ONLY_CONFIG = {
    "operationsAutoSync": bool,
    "customDataSync": bool,
    "organizationDataSync": str,
    "syncPartnerData": bool,
    "machinesAutoSync": bool,
    "implementsAutoSync": bool,
    "operatorsAutoSync": bool,
    "productsAutoSync": bool,
    "zonesAutoSync": bool,
    "fieldsAutoSync": bool,
    "fieldsAutoMerge": bool,
    "fieldsMergeIntersection": (int, float),
    "automaticFixBoundary": bool,
    "operationsProcessingRange": (int, float),
    "irrigationProcessingRange": (int, float),
    "generateProviderImages": bool,
    "filesImageAttributeCreation": dict,
}  # a leafUserId nobody can have: validates filters, matches nothing


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(
        f"{name} is not a JSON number (use null or a finite number)", name, 0
    )


class StrictJSONRequest(Request):
    """A request whose JSON body may not contain ``NaN``, ``Infinity`` or ``-Infinity``.

    Python's json module accepts them, but they are not JSON: stored, they made every
    later response of the resource fail to serialise.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_constant=_reject_constant)
        return self._json


class StrictJSONRoute(APIRoute):
    """Route class giving handlers a :class:`StrictJSONRequest`."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def strict(request: Request):
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


class ApiError(Exception):
    """An HTTP error answered in Leaf's problem shape."""

    def __init__(self, status: int, detail: str, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


def problem(status: int, detail: str, path: str, **extra: Any) -> dict[str, Any]:
    """Leaf's (JHipster) error body."""
    return {
        "type": PROBLEM_TYPE,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "path": path,
        "message": f"error.http.{status}",
        **extra,
    }


class MergeRequest(BaseModel):
    ids: list[str]


class OperationRef(BaseModel):
    id: str


class FieldRequest(BaseModel):
    geometry: dict[str, Any]
    name: str | None = None


class FieldPatch(BaseModel):
    geometry: dict[str, Any] | None = None
    name: str | None = None


class FieldRef(BaseModel):
    fieldId: str


class WebhookRequest(BaseModel):
    events: list[str]
    name: str
    secret: str
    url: str


def create_app(
    workspace_path: str | Path,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    webhook_options: dict[str, Any] | None = None,
    workspace=None,
) -> FastAPI:
    """Build the FastAPI app serving *workspace_path*.

    Parameters
    ----------
    workspace_path : folder of the Workspace (``server.sqlite`` is created beside its catalog).
    max_upload_bytes : largest accepted upload (413 above it); 3 GB like Leaf.
    webhook_options : keyword arguments of :class:`WebhookDispatcher` (``max_tries``,
        ``base_delay``, ``max_total``, ``timeout``, ``allow_private``: let webhooks
        target loopback/private/link-local addresses, off by default).
    workspace : an already open :class:`leafnb.Workspace` of that folder (optional).
    """
    from leafnb.workspace import Workspace

    ws = workspace if workspace is not None else Workspace(workspace_path)
    store = ServerStore.for_workspace(ws.path)
    dispatcher = WebhookDispatcher(store, **(webhook_options or {}))
    dispatcher.attach(ws)
    upload_root = ws.path / "server" / "uploads"
    _reclaim_uploads(upload_root)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        dispatcher.close(drain=1.0)

    app = FastAPI(
        title="leafnb — Leaf-compatible API",
        version=_version(),
        description="Leaf's operations (files, batch, merge, field operations), config and alerts services "
        "over a local leafnb Workspace. Authenticate with `Authorization: Bearer <token>` "
        "(`leafnb token create --owner NAME`).",
        lifespan=lifespan,
    )
    app.state.workspace, app.state.store, app.state.dispatcher = ws, store, dispatcher
    bearer = HTTPBearer(
        auto_error=False, description="token from `leafnb token create --owner NAME`"
    )

    # ------------------------------------------------------------------ errors
    def _json_error(
        request: Request, status: int, detail: str, **extra
    ) -> JSONResponse:
        return JSONResponse(
            problem(status, scrub(detail), request.url.path, **extra),
            status_code=status,
            headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _json_error(request, exc.status, exc.detail, **exc.extra)

    @app.exception_handler(OwnerConflict)
    async def _owner_conflict(request: Request, exc: OwnerConflict):
        return _json_error(request, 403, str(exc))

    @app.exception_handler(BatchBusy)
    async def _busy(request: Request, exc: BatchBusy):
        return _json_error(request, 409, str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound):
        return _json_error(request, 404, str(exc))

    @app.exception_handler(InvalidRequest)  # includes UnsafeArchive
    async def _invalid(request: Request, exc: InvalidRequest):
        return _json_error(request, 400, str(exc), errorKey=type(exc).__name__)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError):
        return _json_error(request, 503, f"{type(exc).__name__}: {exc}")

    @app.exception_handler(NotImplementedError)
    async def _not_impl(request: Request, exc: NotImplementedError):
        return _json_error(
            request, 501, f"not implemented in this leafnb version: {exc}"
        )

    @app.exception_handler(LeafnbError)
    async def _leafnb(request: Request, exc: LeafnbError):
        log.exception("leafnb error on %s", request.url.path)
        return _json_error(request, 500, f"{type(exc).__name__}: {exc}")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                why = (err.get("ctx") or {}).get("error", "")
                parts.append(f"the body is not valid JSON: {why}")
                continue
            loc = ".".join(
                str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")
            )
            parts.append(f"{loc or 'body'}: {err.get('msg')}")
        return _json_error(request, 400, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return _json_error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _json_error(request, 500, f"internal error: {type(exc).__name__}")

    # ------------------------------------------------------------------ auth & scoping
    def owner_dep(creds: HTTPAuthorizationCredentials | None = Security(bearer)) -> str:
        if creds is None or creds.scheme.lower() != "bearer":
            raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
        try:
            return store.verify_token(creds.credentials.strip())
        except TokenError as exc:
            raise ApiError(401, str(exc)) from None

    Owner = Depends(owner_dep)

    def apply_config(owner: str, uid: str) -> None:
        """Write owner-level + the user's own settings as the Workspace config of *uid*."""
        merged = {
            k: v
            for k, v in {**store.owner_config(owner), **store.user_config(uid)}.items()
            if k not in PROVIDER_ONLY_CONFIG
        }
        ws.delete_config(uid)
        if merged:
            ws.set_config(merged, leaf_user_id=uid)

    def claim(owner: str, uid: str) -> None:
        if not isinstance(uid, str) or not uid.strip():
            raise ApiError(400, "leafUserId is required")
        if store.claim(owner, uid) and store.owner_config(owner):
            apply_config(owner, uid)

    def require_uid(owner: str, uid: str) -> str:
        """*uid* when it is one of *owner*'s leafUserIds; else 404, the same answer
        whether nobody or another owner has it (no existence oracle)."""
        if store.owner_of(uid) != owner:
            raise ApiError(404, NOT_YOUR_USER)
        return uid

    def owns(owner: str, resource: dict, kind: str, rid: str) -> dict:
        uid = resource.get("leafUserId")
        if not isinstance(uid, str) or store.owner_of(uid) != owner:
            raise ApiError(
                404, f"{kind} {rid!r} not found"
            )  # same answer as an unknown id
        return resource

    def need(name: str) -> Callable:
        fn = getattr(ws, name, None)
        if fn is None:
            raise ApiError(
                501,
                f"not implemented yet: this leafnb version has no Workspace.{name}()",
            )
        return fn

    def own_file(owner: str, file_id: str) -> dict:
        return owns(owner, ws.get_file(file_id), "file", file_id)

    def own_batch(owner: str, batch_id: str) -> dict:
        return owns(owner, ws.get_batch(batch_id), "batch", batch_id)

    def own_operation(owner: str, op_id: str) -> dict:
        return owns(owner, need("get_operation")(op_id), "operation", op_id)

    # ------------------------------------------------------------------ links & paging
    ws_root = str(ws.path)
    in_upload = re.compile(re.escape(ws_root) + r"/batches/[^/\s'\"]+/extracted/")

    def scrub(text: str) -> str:
        """*text* with workspace paths made relative to the upload or ``<workspace>``."""
        if ws_root not in text:
            return _scrub_system_paths(text)
        return _scrub_system_paths(
            in_upload.sub("", text).replace(ws_root, "<workspace>")
        )

    def local_path(value: str) -> Path | None:
        if value.startswith("file://"):
            parsed = urllib.parse.urlparse(value)
            return Path(urllib.request.url2pathname(urllib.parse.unquote(parsed.path)))
        if value.startswith(ws_root + os.sep) or value == ws_root:
            return Path(value)
        return None

    def publish(request: Request, owner: str, value: Any) -> Any:
        """Replace every local path / file:// URL with an authenticated download link."""
        base = str(request.base_url).rstrip("/") + DOWNLOAD

        def conv(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [conv(x) for x in v]
            if isinstance(v, str):
                p = local_path(v)
                if p is not None:
                    try:
                        real = p.resolve()
                    except OSError:
                        return None
                    if real.is_relative_to(ws.path) and real.is_file():
                        return base + store.download_token(owner, str(real))
                    return None  # never expose a path, even one we cannot serve
                if ws_root in v:
                    return scrub(v)
            return v

        return conv(value)

    def reply(
        request: Request,
        owner: str,
        value: Any,
        status: int = 200,
        headers: dict | None = None,
    ) -> JSONResponse:
        return JSONResponse(
            publish(request, owner, value), status_code=status, headers=headers
        )

    def paged(request: Request, owner: str, items: ResourceList) -> JSONResponse:
        total, page, size = items.total, items.page, items.size
        last = max(0, math.ceil(total / size) - 1) if size else 0
        params = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("page", "size")
        ]

        def url(p: int) -> str:
            return f"{request.url.path}?{urllib.parse.urlencode([*params, ('page', p), ('size', size)])}"

        rels = [("first", 0)]
        if page > 0:
            rels.append(("prev", min(page - 1, last)))
        if page < last:
            rels.append(("next", page + 1))
        rels.append(("last", last))
        link = ", ".join(f'<{url(p)}>; rel="{rel}"' for rel, p in rels)
        return reply(
            request,
            owner,
            list(items),
            headers={"X-Total-Count": str(total), "Link": link},
        )

    def scoped_list(
        owner: str,
        fetch: Callable[..., ResourceList],
        filters: dict[str, Any],
        page: int,
        size: int,
        sort: list[str] | None,
        default_keys: tuple[str, ...],
    ) -> ResourceList:
        """A page of *fetch* restricted to the owner's leafUserIds (merged when there are several)."""
        filters = {k: v for k, v in filters.items() if v is not None}
        uid = filters.pop("leafUserId", None)
        if uid is not None:
            return fetch(
                page=page,
                size=size,
                sort=sort,
                leafUserId=require_uid(owner, uid),
                **filters,
            )
        uids = store.user_ids(owner)
        if len(uids) <= 1:
            return fetch(
                page=page,
                size=size,
                sort=sort,
                leafUserId=uids[0] if uids else _NO_USER,
                **filters,
            )
        fetch(
            page=page, size=size, sort=sort, leafUserId=_NO_USER, **filters
        )  # validates page/size/sort/filters
        items: list = []
        for u in uids:
            p = 0
            while True:
                chunk = fetch(page=p, size=100, sort=sort, leafUserId=u, **filters)
                items.extend(chunk)
                if (p + 1) * 100 >= chunk.total or not chunk:
                    break
                p += 1
        for key in reversed(default_keys):
            items.sort(key=lambda r, k=key: _sort_key(r.get(k)))
        for spec in reversed(sort or []):
            name, _, direction = str(spec).partition(",")
            items.sort(
                key=lambda r, k=name: _sort_key(r.get(k)),
                reverse=direction.strip().lower() == "desc",
            )
        return ResourceList(
            items[page * size : (page + 1) * size], len(items), page, size
        )

    # ================================================================== operations service
    ops = APIRouter(
        prefix=OPS, tags=["files, batches and operations"], route_class=StrictJSONRoute
    )

    # ---- batches
    @ops.post(
        "/batch",
        summary="Upload a zip of machine files (multipart field `file`)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"}
                            },
                        }
                    }
                },
            }
        },
    )
    async def upload_batch(
        request: Request,
        leafUserId: str = Query(...),
        provider: str = Query("Other"),
        columnMapping: str | None = Query(
            None,
            description='leafnb: JSON {"source column": "property" | {"property", "unit"} | null}',
        ),
        owner: str = Owner,
    ):
        claim(owner, leafUserId)
        mapping = _column_mapping_param(columnMapping)
        tmp = upload_root / uuid.uuid4().hex
        try:
            path = await _receive_upload(request, tmp, max_upload_bytes)
            # checks the zip's entry list and stores it; extraction, detection and
            # conversion run in a background thread (never in this request)
            batch = await run_in_threadpool(
                functools.partial(
                    ws.upload_batch,
                    path,
                    leafUserId,
                    provider,
                    wait=False,
                    progress=False,
                    column_mapping=mapping,
                    move=True,
                )
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return reply(request, owner, batch)

    @ops.get("/batch", summary="List batches")
    def list_batches(
        request: Request,
        leafUserId: str | None = None,
        status: str | None = None,
        page: int = 0,
        size: int = 20,
        sort: list[str] | None = Query(None),
        owner: str = Owner,
    ):
        items = scoped_list(
            owner,
            ws.get_batches,
            {"leafUserId": leafUserId, "status": status},
            page,
            size,
            sort,
            ("uploadTimestamp", "id"),
        )
        return paged(request, owner, items)

    @ops.get("/batch/{batch_id}", summary="A batch with its leafFiles")
    def get_batch(request: Request, batch_id: str, owner: str = Owner):
        return reply(request, owner, own_batch(owner, batch_id))

    @ops.get("/batch/{batch_id}/status", summary="Files of a batch grouped by outcome")
    def get_batch_status(request: Request, batch_id: str, owner: str = Owner):
        own_batch(owner, batch_id)
        return reply(request, owner, ws.get_batch_status(batch_id))

    @ops.put(
        "/batch/{batch_id}/retry",
        summary="Re-run the files that failed (409 while the batch is being processed)",
    )
    def retry_batch(request: Request, batch_id: str, owner: str = Owner):
        own_batch(owner, batch_id)
        return reply(request, owner, ws.retry_batch(batch_id, wait=False))

    # ---- files (fixed paths before /files/{id})
    @ops.get(
        "/files",
        summary="List files (filters, page/size/sort; X-Total-Count and Link headers)",
    )
    def list_files(
        request: Request,
        leafUserId: str | None = None,
        provider: str | None = None,
        status: str | None = None,
        origin: str | None = None,
        organizationId: str | None = None,
        batchId: str | None = None,
        createdTime: str | None = None,
        startTime: str | None = None,
        updatedTime: str | None = None,
        endTime: str | None = None,
        operationType: str | None = None,
        minArea: float | None = None,
        fileId: str | None = None,
        fileFormat: str | None = None,
        operationStartTime: str | None = Query(
            None, description="legacy alias of startTime"
        ),
        operationEndTime: str | None = Query(
            None, description="legacy alias of endTime"
        ),
        page: int = 0,
        size: int = 20,
        sort: list[str] | None = Query(None),
        owner: str = Owner,
    ):
        filters = {
            "leafUserId": leafUserId,
            "provider": provider,
            "status": status,
            "origin": origin,
            "organizationId": organizationId,
            "batchId": batchId,
            "createdTime": createdTime,
            "startTime": startTime or operationStartTime,
            "updatedTime": updatedTime,
            "endTime": endTime or operationEndTime,
            "operationType": operationType,
            "minArea": minArea,
            "fileId": fileId,
            "fileFormat": fileFormat,
        }
        return paged(
            request,
            owner,
            scoped_list(
                owner, ws.get_files, filters, page, size, sort, ("createdTime", "id")
            ),
        )

    @ops.post(
        "/files/merge", summary="Merge files of one leafUserId and operation type"
    )
    def merge_files(request: Request, body: MergeRequest, owner: str = Owner):
        if not body.ids:
            raise ApiError(400, "ids must list the files to merge")
        for fid in body.ids:
            own_file(owner, fid)
        return reply(request, owner, need("merge_files")(list(body.ids), wait=False))

    @ops.get(
        "/files/uncoveredFiles",
        summary="Files that produced no operation (no intersecting field)",
    )
    def uncovered_files(
        request: Request, leafUserId: str = Query(...), owner: str = Owner
    ):
        fn = need("get_uncovered_files")
        return reply(request, owner, fn(require_uid(owner, leafUserId)))

    @ops.get(
        "/files/outsideFieldGeojson",
        summary="outsideFieldGeojson of every file of the owner",
    )
    def outside_field_all(
        request: Request, leafUserId: str | None = None, owner: str = Owner
    ):
        fn = need("get_file_outside_field_geojson")
        uids = [require_uid(owner, leafUserId)] if leafUserId else store.user_ids(owner)
        out = []
        for uid in uids:
            for f in _all(ws.get_files, leafUserId=uid, status="processed"):
                try:
                    out.append({"id": f["id"], **fn(f["id"])})
                except (NotFound, InvalidRequest):
                    continue
        return reply(request, owner, out)

    @ops.get("/files/{file_id}", summary="A file")
    def get_file(request: Request, file_id: str, owner: str = Owner):
        return reply(request, owner, own_file(owner, file_id))

    def file_route(suffix: str, method: str, summary: str) -> None:
        def handler(request: Request, file_id: str, owner: str = Owner):
            own_file(owner, file_id)
            return reply(request, owner, need(method)(file_id))

        handler.__name__ = f"file_{suffix}"
        ops.add_api_route(
            f"/files/{{file_id}}/{suffix}", handler, methods=["GET"], summary=summary
        )

    for suffix, method, summary in [
        ("summary", "get_file_summary", "Summary Feature of a file"),
        ("units", "get_file_units", "Units of a file"),
        ("status", "get_file_status", "Processing steps of a file"),
        ("images", "get_file_images", "PNG images of a file"),
        ("standardGeojson", "get_file_standard_geojson", "standardGeojson download"),
        (
            "standardGeoparquet",
            "get_file_standard_geoparquet",
            "standardGeoparquet download",
        ),
        ("filteredGeojson", "get_file_filtered_geojson", "filteredGeojson download"),
        (
            "filteredGeoparquet",
            "get_file_filtered_geoparquet",
            "filteredGeoparquet download",
        ),
        (
            "outsideFieldGeojson",
            "get_file_outside_field_geojson",
            "points outside every field",
        ),
        (
            "cleaningReport",
            "get_cleaning_report",
            "leafnb extension: cleaning/filtering report",
        ),
    ]:
        file_route(suffix, method, summary)

    # ---- field operations (fixed paths before /operations/{id})
    @ops.get("/operations", summary="List field operations")
    def list_operations(
        request: Request,
        leafUserId: str | None = None,
        provider: str | None = None,
        startTime: str | None = None,
        updatedTime: str | None = None,
        endTime: str | None = None,
        operationType: str | None = None,
        fieldId: str | None = None,
        page: int = 0,
        size: int = 20,
        sort: list[str] | None = Query(None),
        owner: str = Owner,
    ):
        fetch = need("get_operations")
        filters = {
            "leafUserId": leafUserId,
            "provider": provider,
            "startTime": startTime,
            "updatedTime": updatedTime,
            "endTime": endTime,
            "operationType": operationType,
            "fieldId": fieldId,
        }
        return paged(
            request,
            owner,
            scoped_list(owner, fetch, filters, page, size, sort, ("startTime", "id")),
        )

    @ops.post(
        "/operations/cropOperationByField",
        summary="Crop an operation's points to its field",
    )
    def crop_by_field(request: Request, body: OperationRef, owner: str = Owner):
        own_operation(owner, body.id)
        return reply(request, owner, need("crop_operation_by_field")(body.id))

    @ops.get("/operations/{operation_id}", summary="A field operation")
    def get_operation(request: Request, operation_id: str, owner: str = Owner):
        return reply(request, owner, own_operation(owner, operation_id))

    @ops.post(
        "/operations/reprocess",
        summary="Reprocess every operation of a field (body {fieldId})",
    )
    async def reprocess_by_field(request: Request, body: FieldRef, owner: str = Owner):
        owns(owner, need("get_field")(body.fieldId), "field", body.fieldId)
        return reply(
            request,
            owner,
            await run_in_threadpool(need("reprocess_field_operations"), body.fieldId),
        )

    @ops.post(
        "/operations/{operation_id}/reprocess",
        summary="Re-run an operation from the merge step",
    )
    def reprocess(request: Request, operation_id: str, owner: str = Owner):
        own_operation(owner, operation_id)
        return reply(request, owner, need("reprocess_operation")(operation_id))

    def operation_route(suffix: str, method: str, summary: str) -> None:
        def handler(request: Request, operation_id: str, owner: str = Owner):
            own_operation(owner, operation_id)
            return reply(request, owner, need(method)(operation_id))

        handler.__name__ = f"operation_{suffix}"
        ops.add_api_route(
            f"/operations/{{operation_id}}/{suffix}",
            handler,
            methods=["GET"],
            summary=summary,
        )

    for suffix, method, summary in [
        ("summary", "get_operation_summary", "Summary Feature of an operation"),
        ("units", "get_operation_units", "Units of an operation"),
        (
            "standardGeojson",
            "get_operation_standard_geojson",
            "standardGeojson download",
        ),
        (
            "standardGeoparquet",
            "get_operation_standard_geoparquet",
            "standardGeoparquet download",
        ),
        (
            "filteredGeojson",
            "get_operation_filtered_geojson",
            "filteredGeojson download",
        ),
        (
            "filteredGeoparquet",
            "get_operation_filtered_geoparquet",
            "filteredGeoparquet download",
        ),
        ("images", "get_operation_images", "V1 PNG images"),
        ("imagesV2", "get_operation_images_v2", "V2 images with legends"),
        ("geotiffImages", "get_operation_geotiff_images", "GeoTIFF images"),
        ("files", "get_operation_files", "The files merged into the operation"),
        ("machines", "get_operation_machines", "Machine ids"),
        ("implements", "get_operation_implements", "Implement ids"),
        ("operators", "get_operation_operators", "Operator ids"),
        ("sessions", "get_operation_sessions", "Sessions per machine"),
        (
            "cleaningReport",
            "get_cleaning_report",
            "leafnb extension: cleaning/filtering report",
        ),
    ]:
        operation_route(suffix, method, summary)

    # ---- downloads
    @ops.get(
        "/download/{token}",
        summary="Download an artifact (link from a resource)",
        response_class=FileResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def download(token: str, owner: str = Owner):
        aux = token.endswith(".aux.xml")
        path = store.download_path(
            owner, token.removesuffix(".aux.xml") if aux else token
        )
        if path is None:
            raise ApiError(404, "download not found")
        target = Path(path + ".aux.xml" if aux else path).resolve()
        if not target.is_relative_to(ws.path) or not target.is_file():
            raise ApiError(404, "download not found (artifact removed)")
        return FileResponse(
            target, media_type=_media_type(target), filename=target.name
        )

    # ================================================================== config service
    cfg = APIRouter(prefix=CONFIG, tags=["configs"], route_class=StrictJSONRoute)

    def owner_view(owner: str) -> dict:
        out = dict(ws.get_config())
        out.update(store.owner_config(owner))
        out.update(apiOwnerUsername=owner, leafUserId="")
        return out

    def user_view(owner: str, uid: str) -> dict:
        out = dict(ws.get_config(uid))
        out.update(
            {
                k: v
                for k, v in {
                    **store.owner_config(owner),
                    **store.user_config(uid),
                }.items()
                if k in PROVIDER_ONLY_CONFIG
            }
        )
        out.update(apiOwnerUsername=owner, leafUserId=uid)
        return out

    def config_body(body: Any) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object of configuration keys")
        extra = {}
        for key, kind in PROVIDER_ONLY_CONFIG.items():
            if key in body:
                value = body[key]
                if not isinstance(value, kind) or (
                    kind is not bool and isinstance(value, bool)
                ):
                    raise ApiError(400, f"{key} has the wrong type: {value!r}")
                extra[key] = value
        return {
            **validate_config(
                {k: v for k, v in body.items() if k not in PROVIDER_ONLY_CONFIG}
            ),
            **extra,
        }

    @cfg.get("/configs", summary="The API owner's configuration")
    def get_owner_config(owner: str = Owner):
        return JSONResponse(owner_view(owner))

    @cfg.patch("/configs", summary="Change the API owner's configuration (partial)")
    def patch_owner_config(body: dict[str, Any] = Body(...), owner: str = Owner):
        clean = config_body(body)
        store.set_owner_config(owner, {**store.owner_config(owner), **clean})
        for uid in store.user_ids(owner):
            apply_config(owner, uid)
        return JSONResponse(owner_view(owner))

    @cfg.get(
        "/configs/{leaf_user_id}", summary="A leafUserId's effective configuration"
    )
    def get_user_config(leaf_user_id: str, owner: str = Owner):
        return JSONResponse(user_view(owner, require_uid(owner, leaf_user_id)))

    def set_user(owner: str, uid: str, body: Any) -> dict:
        clean = config_body(body)
        claim(owner, uid)
        store.set_user_config(uid, {**store.user_config(uid), **clean})
        apply_config(owner, uid)
        return user_view(owner, uid)

    @cfg.post(
        "/configs/{leaf_user_id}",
        status_code=201,
        summary="Create a leafUserId's configuration (partial)",
    )
    def post_user_config(
        leaf_user_id: str, body: dict[str, Any] = Body(...), owner: str = Owner
    ):
        return JSONResponse(set_user(owner, leaf_user_id, body), status_code=201)

    @cfg.patch(
        "/configs/{leaf_user_id}",
        summary="Change a leafUserId's configuration (partial)",
    )
    def patch_user_config(
        leaf_user_id: str, body: dict[str, Any] = Body(...), owner: str = Owner
    ):
        return JSONResponse(set_user(owner, leaf_user_id, body))

    @cfg.delete(
        "/configs/{leaf_user_id}",
        status_code=204,
        summary="Remove a leafUserId's own settings",
    )
    def delete_user_config(leaf_user_id: str, owner: str = Owner):
        require_uid(owner, leaf_user_id)
        store.set_user_config(leaf_user_id, None)
        apply_config(owner, leaf_user_id)
        return Response(status_code=204)

    # ================================================================== alerts service
    alerts = APIRouter(prefix=ALERTS, tags=["alerts"], route_class=StrictJSONRoute)

    @alerts.post(
        "/alerts/webhooks",
        status_code=201,
        summary="Register a webhook (id in the Location header)",
    )
    def register_webhook(request: Request, body: WebhookRequest, owner: str = Owner):
        events = list(dict.fromkeys(body.events))
        if not events:
            raise ApiError(400, "events must list at least one event")
        bad = [e for e in events if e not in ALERT_EVENTS]
        if bad:
            raise ApiError(
                400, f"unknown events {bad}; valid events: {', '.join(ALERT_EVENTS)}"
            )
        if not body.name.strip() or not body.secret:
            raise ApiError(400, "name and secret are required")
        check_target(body.url, allow_private=dispatcher.allow_private, resolve=False)
        taken = {e for hook in store.webhooks(owner) for e in hook["events"]}
        twice = [e for e in events if e in taken]
        if twice:
            raise ApiError(
                400,
                f"events already bound to another webhook: {', '.join(twice)}",
                errorKey="eventRegisteredTwice",
                entityName="webhook",
                message="error.eventRegisteredTwice",
            )
        wid = store.add_webhook(owner, body.name, body.url, body.secret, events)
        return JSONResponse(
            {"message": f"Webhook {body.name!r} registered", "id": wid},
            status_code=201,
            headers={"Location": f"{ALERTS}/alerts/webhooks/{wid}"},
        )

    @alerts.get("/alerts/webhooks", summary="The owner's webhooks")
    def list_webhooks(owner: str = Owner):
        return JSONResponse(store.webhooks(owner))

    @alerts.get("/alerts/webhooks/{webhook_id}", summary="A webhook")
    def get_webhook(webhook_id: str, owner: str = Owner):
        hook = store.webhook(owner, webhook_id)
        if hook is None:
            raise ApiError(404, f"webhook {webhook_id!r} not found")
        return JSONResponse(hook)

    @alerts.delete(
        "/alerts/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook"
    )
    def delete_webhook(webhook_id: str, owner: str = Owner):
        if not store.delete_webhook(owner, webhook_id):
            raise ApiError(404, f"webhook {webhook_id!r} not found")
        return Response(status_code=204)

    # ================================================================== fields service (what operations need)
    flds = APIRouter(prefix=FIELDS, tags=["fields"], route_class=StrictJSONRoute)

    def own_field(owner: str, uid: str, field_id: str) -> dict:
        field = owns(owner, need("get_field")(field_id), "field", field_id)
        if field.get("leafUserId") != uid:
            raise ApiError(404, f"field {field_id!r} not found")
        return field

    @flds.post(
        "/users/{leaf_user_id}/fields", summary="Create a field from a GeoJSON boundary"
    )
    async def create_field(
        request: Request, leaf_user_id: str, body: FieldRequest, owner: str = Owner
    ):
        fn = need("create_field")
        claim(owner, leaf_user_id)
        field = await run_in_threadpool(fn, leaf_user_id, body.geometry, name=body.name)
        return reply(request, owner, field)

    @flds.get("/fields", summary="List fields")
    def list_fields(
        request: Request,
        leafUserId: str | None = None,
        page: int = 0,
        size: int = 20,
        sort: list[str] | None = Query(None),
        owner: str = Owner,
    ):
        items = scoped_list(
            owner,
            need("get_fields"),
            {"leafUserId": leafUserId},
            page,
            size,
            sort,
            ("createdTime", "id"),
        )
        return paged(request, owner, items)

    @flds.get("/users/{leaf_user_id}/fields/{field_id}", summary="A field")
    def get_field(
        request: Request, leaf_user_id: str, field_id: str, owner: str = Owner
    ):
        return reply(request, owner, own_field(owner, leaf_user_id, field_id))

    @flds.patch(
        "/users/{leaf_user_id}/fields/{field_id}",
        summary="Change a field's boundary or name",
    )
    async def update_field(
        request: Request,
        leaf_user_id: str,
        field_id: str,
        body: FieldPatch,
        owner: str = Owner,
    ):
        own_field(owner, leaf_user_id, field_id)
        field = await run_in_threadpool(
            need("update_field"), field_id, body.geometry, name=body.name
        )
        return reply(request, owner, field)

    @flds.delete(
        "/users/{leaf_user_id}/fields/{field_id}",
        status_code=204,
        summary="Delete a field",
    )
    def delete_field(leaf_user_id: str, field_id: str, owner: str = Owner):
        own_field(owner, leaf_user_id, field_id)
        need("delete_field")(field_id)
        return Response(status_code=204)

    app.include_router(ops)
    app.include_router(flds)
    app.include_router(cfg)
    app.include_router(alerts)
    return app


# ---------------------------------------------------------------------- helpers
def _version() -> str:
    from leafnb import __version__

    return __version__


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value), "")
    return (1, 0, str(value))


def _all(fetch: Callable[..., ResourceList], **filters: Any) -> list:
    out, page = [], 0
    while True:
        chunk = fetch(page=page, size=100, **filters)
        out.extend(chunk)
        if not chunk or (page + 1) * 100 >= chunk.total:
            return out
        page += 1


_MEDIA = {
    ".parquet": "application/vnd.apache.parquet",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".png": "image/png",
    ".zip": "application/zip",
    ".xml": "application/xml",
}


def _media_type(path: Path) -> str:
    return (
        _MEDIA.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: absolute paths under the usual top-level folders of a server (a message that quotes
#: a library error may carry one)
_SYSTEM_PATH = re.compile(
    r"(?<![\w.:/])/(?:home|root|tmp|var|usr|etc|opt|srv|mnt|media|run|proc|sys|dev|"
    r"work|private|Users|Volumes|nix|snap|lib|lib64|bin|sbin|boot)(?:/[^\s'\",;:)\]]*)?"
)


def _scrub_system_paths(text: str) -> str:
    return _SYSTEM_PATH.sub("<path>", text)


def _reclaim_uploads(root: Path) -> None:
    """Remove upload folders left by requests that never finished (a killed server)."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    now = time.time()
    for name in names:
        path = root / name
        try:
            if now - path.lstat().st_mtime >= STALE_UPLOAD_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _column_mapping_param(text: str | None) -> dict[str, Any] | None:
    """The ``columnMapping`` query parameter: JSON, validated (400 otherwise)."""
    if not text:
        return None
    from leafnb.formats.inference import parse_user_mapping

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, f"columnMapping is not valid JSON: {exc}") from None
    parse_user_mapping(value)  # InvalidRequest → 400
    return value


async def _receive_upload(request: Request, folder: Path, limit: int) -> Path:
    """Stream the multipart field ``file`` to *folder* in chunks; 413 past *limit* bytes."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    boundary = opts.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ApiError(
            400, "expected a multipart/form-data body with the zip in field 'file'"
        )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + 1024 * 1024:
        raise ApiError(413, f"upload larger than the {limit} byte limit")
    folder.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "field": b"",
        "value": b"",
        "headers": {},
        "out": None,
        "path": None,
        "bytes": 0,
        "over": False,
    }

    def on_part_begin():
        state["headers"] = {}

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(
            state["headers"].get(b"content-disposition", b"")
        )
        if disp.get(b"name") == b"file" and state["path"] is None:
            raw = disp.get(b"filename", b"upload.zip").decode("utf-8", "replace")
            name = (
                _SAFE_NAME.sub("_", Path(raw.replace("\\", "/")).name).strip("._")
                or "upload.zip"
            )
            state["path"] = folder / name
            state["out"] = open(state["path"], "wb")  # noqa: SIM115 - closed in on_part_end / finally

    def on_part_data(data, start, end):
        if state["out"] is not None and not state["over"]:
            state["bytes"] += end - start
            if state["bytes"] > limit:
                state["over"] = True
                return
            state["out"].write(data[start:end])

    def on_part_end():
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if state["over"]:
                raise ApiError(413, f"upload larger than the {limit} byte limit")
        parser.finalize()
    except ApiError:
        raise
    except Exception as exc:  # malformed multipart
        raise ApiError(
            400, f"malformed multipart body: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if state["out"] is not None:
            state["out"].close()
    if state["path"] is None:
        raise ApiError(400, "multipart field 'file' is missing")
    return state["path"]
