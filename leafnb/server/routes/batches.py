# ruff: noqa: B008  (FastAPI declares parameters with Query() defaults)
"""Batches (spec §4): upload a zip, list and get batches, their status, retry.

An upload returns once the zip is stored and its entry list checked: extraction,
detection and conversion run in the background, never in a request thread. A batch
being processed answers 409 to a retry.
"""

from __future__ import annotations

import functools
import json
import shutil
import uuid
from typing import Any

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool

from leafnb.errors import MalformedRequest
from leafnb.formats.inference import parse_user_mapping
from leafnb.server.context import Auth, Caller
from leafnb.server.routing import OPS, OPS_TAG, service_router
from leafnb.server.uploads import receive_upload

__all__ = ["router"]

router = service_router(OPS, OPS_TAG)

_ZIP_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/batch",
    summary="Upload a zip of machine files (multipart field `file`)",
    openapi_extra=_ZIP_BODY,
)
async def upload_batch(
    request: Request,
    leafUserId: str = Query(...),
    provider: str = Query(
        ..., description="Other (auto-detect) or a Leaf provider; required as in Leaf"
    ),
    columnMapping: str | None = Query(
        None,
        description='leafnb: JSON {"source column": "property" | {"property", "unit"} | null}',
    ),
    caller: Caller = Auth,
):
    caller.claim(leafUserId)
    mapping = _column_mapping_param(columnMapping)
    state = caller.state
    tmp = state.upload_root / uuid.uuid4().hex
    try:
        path = await receive_upload(request, tmp, state.max_upload_bytes)
        # checks the zip's entry list and stores it; extraction, detection and
        # conversion run in a background thread (never in this request)
        batch = await run_in_threadpool(
            functools.partial(
                state.workspace.upload_batch,
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
    return caller.reply(batch)


@router.get("/batch", summary="List batches")
def list_batches(
    leafUserId: str | None = None,
    status: str | None = None,
    page: int = 0,
    size: int = 20,
    sort: list[str] | None = Query(None),
    caller: Caller = Auth,
):
    items = caller.scoped_list(
        caller.workspace.get_batches,
        {"leafUserId": leafUserId, "status": status},
        page,
        size,
        sort,
        ("uploadTimestamp", "id"),
    )
    return caller.paged(items)


@router.get("/batch/{batch_id}", summary="A batch with its leafFiles")
def get_batch(batch_id: str, caller: Caller = Auth):
    return caller.reply(caller.own_batch(batch_id))


@router.get("/batch/{batch_id}/status", summary="Files of a batch grouped by outcome")
def get_batch_status(batch_id: str, caller: Caller = Auth):
    caller.own_batch(batch_id)
    return caller.reply(caller.workspace.get_batch_status(batch_id))


@router.put(
    "/batch/{batch_id}/retry",
    summary="Re-run the files that failed (409 while the batch is being processed)",
)
def retry_batch(batch_id: str, caller: Caller = Auth):
    caller.own_batch(batch_id)
    return caller.reply(caller.workspace.retry_batch(batch_id, wait=False))


def _column_mapping_param(text: str | None) -> dict[str, Any] | None:
    """The ``columnMapping`` query parameter: JSON, validated (400 otherwise)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise MalformedRequest(f"columnMapping is not valid JSON: {exc}") from None
    parse_user_mapping(value)  # InvalidRequest → 400
    return value
