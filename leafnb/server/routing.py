"""The URL layout of the Leaf services and the router every service module starts from.

Leaf serves operations, fields, configs and alerts under separate path prefixes
(spec §0); a router module of :mod:`leafnb.server.routes` declares its routes on
``service_router(PREFIX, TAG)``. Every route reads its JSON body strictly:
``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and answer 400 (Python's json
module accepts them, and once stored they made every later response of the resource
fail to serialise).

Leaf's documented curl examples post JSON with ``-d`` and no ``Content-Type``, so
curl labels the body ``application/x-www-form-urlencoded``: a body so labelled that
is a JSON object or array is read as JSON (what those clients mean).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

__all__ = [
    "ALERTS",
    "BETA",
    "CONFIG",
    "DOWNLOAD",
    "FIELDS",
    "OPS",
    "OPS_TAG",
    "StrictJSONRequest",
    "StrictJSONRoute",
    "service_router",
]

OPS = "/services/operations/api"
CONFIG = "/services/config/api"
ALERTS = "/services/alerts/api"
FIELDS = "/services/fields/api"
BETA = "/services/beta/api"
#: authenticated artifact links (:mod:`leafnb.server.routes.downloads`)
DOWNLOAD = f"{OPS}/download/"
#: the OpenAPI tag of every route of the operations service
OPS_TAG = "files, batches and operations"


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(
        f"{name} is not a JSON number (use null or a finite number)", name, 0
    )


class StrictJSONRequest(Request):
    """A request whose JSON body may not contain ``NaN``, ``Infinity`` or ``-Infinity``."""

    async def json(self) -> Any:
        """The parsed JSON body; ``NaN``/``Infinity`` constants are refused."""
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_constant=_reject_constant)
        return self._json


class StrictJSONRoute(APIRoute):
    """Route class giving handlers a :class:`StrictJSONRequest`."""

    def get_route_handler(self) -> Callable:
        """The route's handler, wrapped to parse request bodies strictly."""
        handler = super().get_route_handler()

        async def strict(request: Request):
            if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                body = await request.body()
                if body.lstrip()[:1] in (b"{", b"["):
                    request.scope["headers"] = [
                        (k, b"application/json" if k == b"content-type" else v)
                        for k, v in request.scope["headers"]
                    ]
                    strict_request = StrictJSONRequest(request.scope, request.receive)
                    strict_request._body = body
                    return await handler(strict_request)
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


def service_router(prefix: str, tag: str) -> APIRouter:
    """An empty router of one Leaf service (*prefix*), its routes tagged *tag* in OpenAPI.

    Examples
    --------
    >>> router = service_router(OPS, OPS_TAG)
    >>> router.prefix
    '/services/operations/api'
    """
    return APIRouter(prefix=prefix, tags=[tag], route_class=StrictJSONRoute)
