"""Read-only sub-resources of one file or field operation, declared as table rows.

``GET /files/{file_id}/summary`` and its kind are all alike: check that the caller owns
the resource, call one Workspace method with its id, publish the answer. A router
module lists them as ``(path suffix, Workspace method, summary)`` rows and adds them
with :func:`add_file_views` / :func:`add_operation_views`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter

from leafnb.errors import NotFound
from leafnb.server.context import Auth, Caller

__all__ = ["View", "add_file_views", "add_operation_views", "gated"]

#: (path suffix, Workspace method, OpenAPI summary)
View = tuple[str, Callable[..., Any], str]


def gated(
    method: Callable[..., Any], key: str, empty: Any = None
) -> Callable[..., Any]:
    """*method* behind Leaf's output switch *key* (spec §12) of the resource's leafUserId.

    Switched off, the view answers *empty* (an image list: ``[]``, no image was made) or,
    when *empty* is None, 404 naming the switch (there is no artifact to link to). The
    Python face renders on request whatever the switch (a notebook convenience).
    """

    def call(ws, rid: str):
        try:
            uid = ws.get_operation(rid)["leafUserId"]
        except NotFound:
            uid = ws.get_file(rid)["leafUserId"]
        if not ws.get_config(uid).get(key):
            if empty is not None:
                return empty
            raise NotFound(f"not produced: {key} is off for this leafUserId")
        return method(ws, rid)

    call.__doc__ = method.__doc__
    return call


def _file_view(method: Callable[..., Any]) -> Callable[..., Any]:
    def handler(file_id: str, caller: Caller = Auth):
        caller.own_file(file_id)
        return caller.reply(method(caller.workspace, file_id))

    return handler


def _operation_view(method: Callable[..., Any]) -> Callable[..., Any]:
    def handler(operation_id: str, caller: Caller = Auth):
        caller.own_operation(operation_id)
        return caller.reply(method(caller.workspace, operation_id))

    return handler


def add_file_views(router: APIRouter, views: Iterable[View]) -> None:
    """Add ``GET /files/{file_id}/<suffix>`` for each row of *views*."""
    for suffix, method, summary in views:
        handler = _file_view(method)
        handler.__name__ = f"file_{suffix}"
        router.add_api_route(
            f"/files/{{file_id}}/{suffix}", handler, methods=["GET"], summary=summary
        )


def add_operation_views(router: APIRouter, views: Iterable[View]) -> None:
    """Add ``GET /operations/{operation_id}/<suffix>`` for each row of *views*."""
    for suffix, method, summary in views:
        handler = _operation_view(method)
        handler.__name__ = f"operation_{suffix}"
        router.add_api_route(
            f"/operations/{{operation_id}}/{suffix}",
            handler,
            methods=["GET"],
            summary=summary,
        )
