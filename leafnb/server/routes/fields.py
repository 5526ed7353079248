# ruff: noqa: B008  (FastAPI declares parameters with Query() defaults)
"""Fields (the part of Leaf's fields service that operations need): boundaries per leafUserId."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from leafnb.server.context import Auth, Caller
from leafnb.server.routing import FIELDS, service_router

__all__ = ["router"]

router = service_router(FIELDS, "fields")


class FieldRequest(BaseModel):
    geometry: dict[str, Any]
    name: str | None = None


class FieldPatch(BaseModel):
    geometry: dict[str, Any] | None = None
    name: str | None = None


@router.post(
    "/users/{leaf_user_id}/fields", summary="Create a field from a GeoJSON boundary"
)
async def create_field(leaf_user_id: str, body: FieldRequest, caller: Caller = Auth):
    caller.claim(leaf_user_id)
    field = await run_in_threadpool(
        caller.workspace.create_field, leaf_user_id, body.geometry, name=body.name
    )
    return caller.reply(field)


@router.get("/fields", summary="List fields")
def list_fields(
    leafUserId: str | None = None,
    page: int = 0,
    size: int = 20,
    sort: list[str] | None = Query(None),
    caller: Caller = Auth,
):
    items = caller.scoped_list(
        caller.workspace.get_fields,
        {"leafUserId": leafUserId},
        page,
        size,
        sort,
        ("createdTime", "id"),
    )
    return caller.paged(items)


@router.get("/users/{leaf_user_id}/fields/{field_id}", summary="A field")
def get_field(leaf_user_id: str, field_id: str, caller: Caller = Auth):
    return caller.reply(caller.own_field(field_id, leaf_user_id))


@router.patch(
    "/users/{leaf_user_id}/fields/{field_id}",
    summary="Change a field's boundary or name",
)
async def update_field(
    leaf_user_id: str, field_id: str, body: FieldPatch, caller: Caller = Auth
):
    caller.own_field(field_id, leaf_user_id)
    field = await run_in_threadpool(
        caller.workspace.update_field, field_id, body.geometry, name=body.name
    )
    return caller.reply(field)


@router.delete(
    "/users/{leaf_user_id}/fields/{field_id}",
    status_code=204,
    summary="Delete a field",
)
def delete_field(leaf_user_id: str, field_id: str, caller: Caller = Auth):
    caller.own_field(field_id, leaf_user_id)
    caller.workspace.delete_field(field_id)
    return Response(status_code=204)
