"""Leaf-compatible HTTP API over a :class:`leafnb.Workspace` (``leafnb serve``).

Same paths, methods, query parameters, JSON bodies and paging headers as Leaf's operations,
config and alerts services (spec §0, §2–§5, §9, §10, §12). This module assembles the app:

- the routes, one module per Leaf service (:mod:`leafnb.server.routes`);
- authentication, the dependency every route takes: a Bearer token of an API owner
  (``leafnb token create``) and what that owner may see (:mod:`leafnb.server.context`);
- the one exception handler answering every error as Leaf's problem JSON, its status
  from one table (:mod:`leafnb.server.problems`);
- the lifespan: webhooks delivered while the app runs (:mod:`leafnb.server.webhooks`),
  stale upload folders removed at start.

Hostile clients are expected (docs/security.md): uploads return once the zip is stored
and its entry list checked (extraction and detection run in the background, never in a
request thread); request bodies are strict JSON (``NaN``/``Infinity`` refused, 400); a
leafUserId that is not the caller's answers 404 whether it is unknown or another
owner's (no existence oracle); a batch being processed answers 409 to a retry;
webhooks may only target public addresses (:mod:`leafnb.server.webhooks`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leafnb.errors import LeafnbError
from leafnb.server.context import ServerState
from leafnb.server.problems import problem_response
from leafnb.server.routes import ROUTERS
from leafnb.server.uploads import reclaim_uploads
from leafnb.server.webhooks import WebhookDispatcher
from leafnb.store.server_state import ServerStore

__all__ = ["DEFAULT_MAX_UPLOAD", "create_app"]

DEFAULT_MAX_UPLOAD = 3 * 1024**3  # spec §4.3: 3 GB


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
    state = ServerState(ws, store, dispatcher, max_upload_bytes)
    reclaim_uploads(state.upload_root)

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
    app.state.server = state
    app.state.workspace, app.state.store, app.state.dispatcher = ws, store, dispatcher
    for root in (
        LeafnbError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(root, problem_response)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _version() -> str:
    from leafnb import __version__

    return __version__
