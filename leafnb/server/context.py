# ruff: noqa: B008  (FastAPI declares parameters with Security() defaults)
"""What every route shares: the server's state, and the API owner making the call.

:class:`ServerState` (one per app, ``app.state.server``)
    The :class:`~leafnb.Workspace`, ``server.sqlite`` (:class:`ServerStore`), the
    webhook dispatcher and the upload limit; turns local paths into download links and
    scrubs paths out of texts.
:class:`Caller` (one per request: the :data:`Auth` dependency)
    The API owner of the bearer token, and what that owner may see. An owner sees only
    the leafUserIds it claimed (first upload or configuration wins, another owner gets
    403); a resource of another owner's leafUserId answers 404, the same as an unknown
    id, so no route tells one from the other. Answers go through :meth:`Caller.reply`,
    which replaces every local path and ``file://`` URL with an authenticated
    ``/services/operations/api/download/<token>`` link (the opaque token maps to owner
    + path in ``server.sqlite``): no filesystem path leaves the server, and any other
    text naming a path of the workspace (a step message quoting a library error, say)
    has it replaced by the path inside the upload or ``<workspace>``.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leafnb.errors import MalformedRequest, NotFound, TokenError
from leafnb.leafwire import lazy_source
from leafnb.resources import ResourceList
from leafnb.server.routing import DOWNLOAD
from leafnb.server.webhooks import WebhookDispatcher
from leafnb.store.server_state import ServerStore
from leafnb.workspace import Workspace

__all__ = [
    "NOT_YOUR_USER",
    "PROVIDER_ONLY_CONFIG",
    "Auth",
    "Caller",
    "ServerState",
    "all_pages",
    "authenticate",
    "bearer",
]

#: the one answer for a leafUserId that is unknown or another API owner's
NOT_YOUR_USER = (
    "leafUserId not found among this API owner's users (a leafUserId becomes yours "
    "with its first upload or configuration)"
)
#: a leafUserId nobody can have: validates filters, matches nothing
_NO_USER = "\x00no-leaf-user"
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
    "operationsProcessingRange": (int, float),
    "irrigationProcessingRange": (int, float),
    "generateProviderImages": bool,
    "filesImageAttributeCreation": dict,
}

#: absolute paths under the usual top-level folders of a server (a message that quotes
#: a library error may carry one)
_SYSTEM_PATH = re.compile(
    r"(?<![\w.:/])/(?:home|root|tmp|var|usr|etc|opt|srv|mnt|media|run|proc|sys|dev|"
    r"work|private|Users|Volumes|nix|snap|lib|lib64|bin|sbin|boot)(?:/[^\s'\",;:)\]]*)?"
)


@dataclass
class ServerState:
    """The app's Workspace, ``server.sqlite``, webhook dispatcher and upload limit."""

    workspace: Workspace
    store: ServerStore
    dispatcher: WebhookDispatcher
    max_upload_bytes: int
    _root: str = field(init=False, repr=False)
    _in_upload: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._root = str(self.workspace.path)
        self._in_upload = re.compile(
            re.escape(self._root) + r"/batches/[^/\s'\"]+/extracted/"
        )

    @property
    def upload_root(self) -> Path:
        """Where uploads are received before the Workspace takes them."""
        return self.workspace.path / "server" / "uploads"

    def scrub(self, text: str) -> str:
        """*text* with workspace paths made relative to the upload or ``<workspace>``."""
        if self._root in text:
            text = self._in_upload.sub("", text).replace(self._root, "<workspace>")
        return _SYSTEM_PATH.sub("<path>", text)

    def _local_path(self, value: str) -> Path | None:
        if value.startswith("file://"):
            parsed = urllib.parse.urlparse(value)
            return Path(urllib.request.url2pathname(urllib.parse.unquote(parsed.path)))
        if value.startswith(self._root + os.sep) or value == self._root:
            return Path(value)
        return None

    def publish(self, base_url: str, owner: str, value: Any) -> Any:
        """*value* with every local path / file:// URL replaced by a download link of *owner*."""
        base = base_url.rstrip("/") + DOWNLOAD
        ws_path = self.workspace.path

        def conv(v: Any) -> Any:
            if isinstance(v, dict):
                return {
                    k: owner if k == "apiOwnerUsername" else conv(x)
                    for k, x in v.items()
                }
            if isinstance(v, list | tuple):
                return [conv(x) for x in v]
            if isinstance(v, str):
                p = self._local_path(v)
                if p is not None:
                    try:
                        real = p.resolve()
                    except OSError:
                        return None
                    if real.is_relative_to(ws_path) and (
                        real.is_file() or lazy_source(real) is not None
                    ):
                        return base + self.store.download_token(owner, str(real))
                    return None  # never expose a path, even one we cannot serve
                if self._root in v:
                    return self.scrub(v)
            return v

        return conv(value)

    def apply_config(self, owner: str, uid: str) -> None:
        """Write owner-level + the user's own settings as the Workspace config of *uid*."""
        merged = {
            k: v
            for k, v in {
                **self.store.owner_config(owner),
                **self.store.user_config(uid),
            }.items()
            if k not in PROVIDER_ONLY_CONFIG
        }
        self.workspace.delete_config(uid)
        if merged:
            self.workspace.set_config(merged, leaf_user_id=uid)


class Caller:
    """The API owner making a request, with the owner-scoped look-ups routes use."""

    def __init__(self, request: Request, state: ServerState, owner: str):
        self.request, self.state, self.owner = request, state, owner

    @property
    def workspace(self) -> Workspace:
        """The server's Workspace."""
        return self.state.workspace

    # ------------------------------------------------------------------ scoping
    def claim(self, uid: str) -> None:
        """Make *uid* the owner's (first come); raises OwnerConflict when it is another's."""
        if not isinstance(uid, str) or not uid.strip():
            raise MalformedRequest("leafUserId is required")
        store = self.state.store
        if store.claim(self.owner, uid) and store.owner_config(self.owner):
            self.state.apply_config(self.owner, uid)

    def require_uid(self, uid: str) -> str:
        """*uid* when it is one of the owner's leafUserIds; else NotFound.

        The same answer whether nobody or another owner has it (no existence oracle).
        """
        if self.state.store.owner_of(uid) != self.owner:
            raise NotFound(NOT_YOUR_USER)
        return uid

    def owns(self, resource: dict, kind: str, rid: str) -> dict:
        """*resource* when its leafUserId is the owner's; else NotFound (as an unknown id)."""
        uid = resource.get("leafUserId")
        if not isinstance(uid, str) or self.state.store.owner_of(uid) != self.owner:
            raise NotFound(f"{kind} {rid!r} not found")
        return resource

    def own_file(self, file_id: str) -> dict:
        """The owner's file *file_id*."""
        return self.owns(self.workspace.get_file(file_id), "file", file_id)

    def own_batch(self, batch_id: str) -> dict:
        """The owner's batch *batch_id*."""
        return self.owns(self.workspace.get_batch(batch_id), "batch", batch_id)

    def own_operation(self, op_id: str) -> dict:
        """The owner's field operation *op_id*."""
        return self.owns(self.workspace.get_operation(op_id), "operation", op_id)

    def own_field(self, field_id: str, uid: str | None = None) -> dict:
        """The owner's field *field_id* (of leafUserId *uid* when given)."""
        found = self.owns(self.workspace.get_field(field_id), "field", field_id)
        if uid is not None and found.get("leafUserId") != uid:
            raise NotFound(f"field {field_id!r} not found")
        return found

    def scoped_list(
        self,
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
                leafUserId=self.require_uid(uid),
                **filters,
            )
        uids = self.state.store.user_ids(self.owner)
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
            items.extend(all_pages(fetch, sort=sort, leafUserId=u, **filters))
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

    # ------------------------------------------------------------------ answers
    def reply(
        self, value: Any, status: int = 200, headers: dict | None = None
    ) -> JSONResponse:
        """*value* as JSON, its local paths published as the owner's download links."""
        published = self.state.publish(str(self.request.base_url), self.owner, value)
        return JSONResponse(published, status_code=status, headers=headers)

    def paged(self, items: ResourceList, envelope: str | None = None) -> JSONResponse:
        """One page of a list, with Leaf's ``X-Total-Count`` and ``Link`` headers.

        With *envelope* the page is ``{"message": "SUCCESS", envelope: [...]}``, as Leaf
        documents ``GET /files`` (key ``operations``); other lists are bare arrays.
        """
        request = self.request
        total, page, size = items.total, items.page, items.size
        last = max(0, math.ceil(total / size) - 1) if size else 0
        params = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("page", "size")
        ]

        def url(p: int) -> str:
            query = urllib.parse.urlencode([*params, ("page", p), ("size", size)])
            return f"{request.url.path}?{query}"

        rels = [("first", 0)]
        if page > 0:
            rels.append(("prev", min(page - 1, last)))
        if page < last:
            rels.append(("next", page + 1))
        rels.append(("last", last))
        link = ", ".join(f'<{url(p)}>; rel="{rel}"' for rel, p in rels)
        body: Any = list(items)
        if envelope:
            body = {"message": "SUCCESS", envelope: body}
        return self.reply(body, headers={"X-Total-Count": str(total), "Link": link})


bearer = HTTPBearer(
    auto_error=False, description="token from `leafnb token create --owner NAME`"
)


def authenticate(
    request: Request,
    creds: HTTPAuthorizationCredentials | None = Security(bearer),
) -> Caller:
    """The :class:`Caller` of a request with a valid bearer token; else TokenError (401)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise TokenError("missing bearer token (Authorization: Bearer <token>)")
    state: ServerState = request.app.state.server
    return Caller(request, state, state.store.verify_token(creds.credentials.strip()))


#: the dependency of every route: ``caller: Caller = Auth``
Auth = Depends(authenticate)


def all_pages(fetch: Callable[..., ResourceList], **filters: Any) -> list:
    """Every item of a paged Workspace list (pages of 100)."""
    out, page = [], 0
    while True:
        chunk = fetch(page=page, size=100, **filters)
        out.extend(chunk)
        if not chunk or (page + 1) * 100 >= chunk.total:
            return out
        page += 1


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value), "")
    return (1, 0, str(value))
