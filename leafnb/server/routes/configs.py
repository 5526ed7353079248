# ruff: noqa: B008  (FastAPI declares parameters with Body() defaults)
"""Configurations (spec §12): the API owner's and each leafUserId's.

The Workspace config of a leafUserId is the owner's settings overlaid with the user's
own. Leaf keys about provider sync that leafnb has no use for
(:data:`~leafnb.server.context.PROVIDER_ONLY_CONFIG`) are type-checked, stored in
``server.sqlite`` and echoed back, never passed to the Workspace.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, Response
from fastapi.responses import JSONResponse

from leafnb.config import validate as validate_config
from leafnb.errors import MalformedRequest
from leafnb.server.context import PROVIDER_ONLY_CONFIG, Auth, Caller
from leafnb.server.routing import CONFIG, service_router

__all__ = ["router"]

router = service_router(CONFIG, "configs")


def _owner_view(caller: Caller) -> dict:
    out = dict(caller.workspace.get_config())
    out.update(caller.state.store.owner_config(caller.owner))
    out.update(apiOwnerUsername=caller.owner, leafUserId="")
    return out


def _user_view(caller: Caller, uid: str) -> dict:
    store = caller.state.store
    out = dict(caller.workspace.get_config(uid))
    out.update(
        {
            k: v
            for k, v in {
                **store.owner_config(caller.owner),
                **store.user_config(uid),
            }.items()
            if k in PROVIDER_ONLY_CONFIG
        }
    )
    out.update(apiOwnerUsername=caller.owner, leafUserId=uid)
    return out


def _config_body(body: Any) -> dict:
    if not isinstance(body, dict):
        raise MalformedRequest("the body must be a JSON object of configuration keys")
    extra = {}
    for key, kind in PROVIDER_ONLY_CONFIG.items():
        if key in body:
            value = body[key]
            if not isinstance(value, kind) or (
                kind is not bool and isinstance(value, bool)
            ):
                raise MalformedRequest(f"{key} has the wrong type: {value!r}")
            extra[key] = value
    return {
        **validate_config(
            {k: v for k, v in body.items() if k not in PROVIDER_ONLY_CONFIG}
        ),
        **extra,
    }


def _set_user(caller: Caller, uid: str, body: Any) -> dict:
    clean = _config_body(body)
    caller.claim(uid)
    store = caller.state.store
    store.set_user_config(uid, {**store.user_config(uid), **clean})
    caller.state.apply_config(caller.owner, uid)
    return _user_view(caller, uid)


@router.get("/configs", summary="The API owner's configuration")
def get_owner_config(caller: Caller = Auth):
    return JSONResponse(_owner_view(caller))


@router.patch("/configs", summary="Change the API owner's configuration (partial)")
def patch_owner_config(body: dict[str, Any] = Body(...), caller: Caller = Auth):
    clean = _config_body(body)
    store, owner = caller.state.store, caller.owner
    store.set_owner_config(owner, {**store.owner_config(owner), **clean})
    for uid in store.user_ids(owner):
        caller.state.apply_config(owner, uid)
    return JSONResponse(_owner_view(caller))


@router.get("/configs/{leaf_user_id}", summary="A leafUserId's effective configuration")
def get_user_config(leaf_user_id: str, caller: Caller = Auth):
    return JSONResponse(_user_view(caller, caller.require_uid(leaf_user_id)))


@router.post(
    "/configs/{leaf_user_id}",
    status_code=201,
    summary="Create a leafUserId's configuration (partial)",
)
def post_user_config(
    leaf_user_id: str, body: dict[str, Any] = Body(...), caller: Caller = Auth
):
    return JSONResponse(_set_user(caller, leaf_user_id, body), status_code=201)


@router.patch(
    "/configs/{leaf_user_id}",
    summary="Change a leafUserId's configuration (partial)",
)
def patch_user_config(
    leaf_user_id: str, body: dict[str, Any] = Body(...), caller: Caller = Auth
):
    return JSONResponse(_set_user(caller, leaf_user_id, body))


@router.delete(
    "/configs/{leaf_user_id}",
    status_code=204,
    summary="Remove a leafUserId's own settings",
)
def delete_user_config(leaf_user_id: str, caller: Caller = Auth):
    caller.require_uid(leaf_user_id)
    caller.state.store.set_user_config(leaf_user_id, None)
    caller.state.apply_config(caller.owner, leaf_user_id)
    return Response(status_code=204)
