# ruff: noqa: B008  (FastAPI declares parameters with Query() defaults)
"""Fields (the part of Leaf's fields service that operations need).

Boundaries per leafUserId, and the field-side listing of operation files
(``/users/{leafUserId}/fields/{fieldId}/operations/files[/{fileId}]``): the
leafUserId's files whose ``fields`` name the field, each as Leaf's short item
(:func:`leafnb.leafwire.field_file_wire`), filters ``operationType`` (``other`` = not
harvested/planted/applied), ``provider``, ``origin``, ``crop``, ``startTime``,
``endTime``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from leafnb.errors import MalformedRequest, NotFound
from leafnb.leafwire import field_file_wire
from leafnb.resources import ResourceList
from leafnb.server.context import Auth, Caller, all_pages
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


# ------------------------------------------------------------------ operation files
_FIELD_FILE_TYPES = ("harvested", "planted", "applied", "other")


def _field_files(
    caller: Caller, leaf_user_id: str, field_id: str, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """The leafUserId's files intersecting the field, as Leaf's field-file items."""
    caller.own_field(field_id, leaf_user_id)
    kind = filters.pop("operationType", None)
    if kind is not None and kind not in _FIELD_FILE_TYPES:
        raise MalformedRequest(
            f"operationType must be one of {', '.join(_FIELD_FILE_TYPES)}"
        )
    crop = filters.pop("crop", None)
    query = {k: v for k, v in filters.items() if v is not None}
    if kind not in (None, "other"):
        query["operationType"] = kind
    items = []
    for f in all_pages(caller.workspace.get_files, leafUserId=leaf_user_id, **query):
        if field_id not in (f.get("fields") or []):
            continue
        if kind == "other" and f.get("operationType") in _FIELD_FILE_TYPES:
            continue
        item = field_file_wire(f)
        if crop is not None and crop.lower() not in [c.lower() for c in item["crops"]]:
            continue
        items.append(item)
    return items


@router.get(
    "/users/{leaf_user_id}/fields/{field_id}/operations/files",
    summary="The operation files of a field",
)
def field_operation_files(
    leaf_user_id: str,
    field_id: str,
    operationType: str | None = None,
    provider: str | None = None,
    origin: str | None = None,
    crop: str | None = None,
    startTime: str | None = None,
    endTime: str | None = None,
    page: int = Query(0, ge=0),
    size: int = Query(20, ge=1, le=100),
    caller: Caller = Auth,
):
    items = _field_files(
        caller,
        leaf_user_id,
        field_id,
        {
            "operationType": operationType,
            "provider": provider,
            "origin": origin,
            "crop": crop,
            "startTime": startTime,
            "endTime": endTime,
        },
    )
    return caller.paged(
        ResourceList(items[page * size : (page + 1) * size], len(items), page, size)
    )


@router.get(
    "/users/{leaf_user_id}/fields/{field_id}/operations/files/{file_id}",
    summary="An operation file of a field",
)
def field_operation_file(
    leaf_user_id: str, field_id: str, file_id: str, caller: Caller = Auth
):
    for item in _field_files(caller, leaf_user_id, field_id, {}):
        if item["id"] == file_id:
            return caller.reply(item)
    raise NotFound(f"file {file_id!r} not found in field {field_id!r}")
