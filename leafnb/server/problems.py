"""Errors as HTTP answers: the one table from leafnb errors to status codes.

Routes never catch: an error rises to :func:`problem_response`, the app's one
exception handler, which answers Leaf's (JHipster) problem JSON
(``type``, ``title``, ``status``, ``detail``, ``path``, ``message``):

- a :class:`~leafnb.errors.LeafnbError` takes the status of the first of its classes
  (in method resolution order) that :data:`STATUS` lists; at 500 and above the
  detail is ``<Type>: <message>``;
- the Workspace's own :class:`~leafnb.errors.InvalidRequest` answers add
  ``errorKey``, the error's class (``UnsafeArchive``, ``RefusedTarget``…), so a client
  can tell which rule refused the request;
- FastAPI's request validation errors answer 400, one ``field: problem`` per error;
- Starlette's own answers (an unknown path, a wrong method) keep their status;
- anything else answers 500 ``internal error: <Type>`` (logged with its traceback;
  the message is never sent).

Every detail is scrubbed of workspace and system paths
(:meth:`leafnb.server.context.ServerState.scrub`); a 401 carries
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leafnb.errors import (
    BatchBusy,
    EventRegisteredTwice,
    InvalidRequest,
    LeafnbError,
    MalformedRequest,
    NotFound,
    OwnerConflict,
    StoreError,
    TokenError,
    UploadTooLarge,
)

__all__ = ["PROBLEM_TYPE", "STATUS", "problem", "problem_response", "status_of"]

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://www.jhipster.tech/problem/problem-with-message"

#: THE table: leafnb error class → HTTP status. An error takes the row of the first of
#: its classes (``type(exc).__mro__``) listed, so a subclass row wins over its base's.
STATUS: dict[type[LeafnbError], int] = {
    TokenError: 401,
    OwnerConflict: 403,
    NotFound: 404,
    BatchBusy: 409,
    UploadTooLarge: 413,
    InvalidRequest: 400,  # also UnsafeArchive, MalformedRequest, EventRegisteredTwice
    StoreError: 503,
    LeafnbError: 500,
}


def status_of(exc: LeafnbError) -> int:
    """The HTTP status of *exc* from :data:`STATUS`.

    Examples
    --------
    >>> from leafnb.errors import UnsafeArchive, WorkspaceBusy
    >>> status_of(UnsafeArchive("zip slip")), status_of(WorkspaceBusy("locked"))
    (400, 503)
    """
    return next(STATUS[c] for c in type(exc).__mro__ if c in STATUS)


def _members(exc: LeafnbError) -> dict[str, Any]:
    """Problem members besides Leaf's standard ones."""
    if isinstance(exc, EventRegisteredTwice):  # Leaf's documented answer (spec §9)
        return {
            "errorKey": "eventRegisteredTwice",
            "entityName": "webhook",
            "message": "error.eventRegisteredTwice",
        }
    if isinstance(exc, InvalidRequest) and not isinstance(
        exc, MalformedRequest | UploadTooLarge
    ):
        return {"errorKey": type(exc).__name__}
    return {}


def problem(status: int, detail: str, path: str, **extra: Any) -> dict[str, Any]:
    """Leaf's (JHipster) error body.

    Examples
    --------
    >>> problem(404, "file 'x' not found", "/files/x")["title"]
    'Not Found'
    """
    return {
        "type": PROBLEM_TYPE,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "path": path,
        "message": f"error.http.{status}",
        **extra,
    }


def _validation_detail(exc: RequestValidationError) -> str:
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
    return "; ".join(parts) or "invalid request"


async def problem_response(request: Request, exc: Exception) -> JSONResponse:
    """The app's one exception handler: *exc* as Leaf's problem JSON."""
    extra: dict[str, Any] = {}
    if isinstance(exc, LeafnbError):
        status = status_of(exc)
        detail = f"{type(exc).__name__}: {exc}" if status >= 500 else str(exc)
        extra = _members(exc)
        if status == 500:
            log.error("leafnb error on %s", request.url.path, exc_info=exc)
    elif isinstance(exc, RequestValidationError):
        status, detail = 400, _validation_detail(exc)
    elif isinstance(exc, StarletteHTTPException):
        status, detail = exc.status_code, str(exc.detail)
    else:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        status, detail = 500, f"internal error: {type(exc).__name__}"
    scrub = request.app.state.server.scrub
    return JSONResponse(
        problem(status, scrub(detail), request.url.path, **extra),
        status_code=status,
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )
