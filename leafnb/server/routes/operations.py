# ruff: noqa: B008  (FastAPI declares parameters with Query() defaults)
"""Field operations (spec §5): list, one operation and its views, crop, reprocess."""

from __future__ import annotations

from fastapi import Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from leafnb.server.context import Auth, Caller
from leafnb.server.routes.views import View, add_operation_views, gated
from leafnb.server.routing import OPS, OPS_TAG, service_router
from leafnb.workspace import Workspace

__all__ = ["OPERATION_VIEWS", "router"]

router = service_router(OPS, OPS_TAG)


class OperationRef(BaseModel):
    id: str


class FieldRef(BaseModel):
    fieldId: str


# fixed paths before /operations/{operation_id}
@router.get("/operations", summary="List field operations")
def list_operations(
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
    caller: Caller = Auth,
):
    filters = {
        "leafUserId": leafUserId,
        "provider": provider,
        "startTime": startTime,
        "updatedTime": updatedTime,
        "endTime": endTime,
        "operationType": operationType,
        "fieldId": fieldId,
    }
    items = caller.scoped_list(
        caller.workspace.get_operations, filters, page, size, sort, ("startTime", "id")
    )
    return caller.paged(items)


@router.post(
    "/operations/cropOperationByField",
    summary="Crop an operation's points to its field",
)
def crop_by_field(body: OperationRef, caller: Caller = Auth):
    caller.own_operation(body.id)
    return caller.reply(caller.workspace.crop_operation_by_field(body.id))


@router.get("/operations/{operation_id}", summary="A field operation")
def get_operation(operation_id: str, caller: Caller = Auth):
    return caller.reply(caller.own_operation(operation_id))


@router.post(
    "/operations/reprocess",
    summary="Reprocess every operation of a field (body {fieldId})",
)
async def reprocess_by_field(body: FieldRef, caller: Caller = Auth):
    caller.own_field(body.fieldId)
    done = await run_in_threadpool(
        caller.workspace.reprocess_field_operations, body.fieldId
    )
    return caller.reply(done)


@router.post(
    "/operations/{operation_id}/reprocess",
    summary="Re-run an operation from the merge step",
)
def reprocess(operation_id: str, caller: Caller = Auth):
    caller.own_operation(operation_id)
    return caller.reply(caller.workspace.reprocess_operation(operation_id))


#: GET /operations/{operation_id}/<suffix> → Workspace method (assets: routes/assets.py)
OPERATION_VIEWS: tuple[View, ...] = (
    ("summary", Workspace.get_operation_summary, "Summary Feature of an operation"),
    ("units", Workspace.get_operation_units, "Units of an operation"),
    (
        "standardGeojson",
        Workspace.get_operation_standard_geojson,
        "standardGeojson download",
    ),
    (
        "standardGeoparquet",
        gated(Workspace.get_operation_standard_geoparquet, "enableGeoparquetOutput"),
        "standardGeoparquet download",
    ),
    (
        "filteredGeojson",
        Workspace.get_operation_filtered_geojson,
        "filteredGeojson download",
    ),
    (
        "filteredGeoparquet",
        gated(Workspace.get_operation_filtered_geoparquet, "enableGeoparquetOutput"),
        "filteredGeoparquet download",
    ),
    (
        "images",
        gated(Workspace.get_operation_images, "operationsImageCreation", []),
        "V1 PNG images (operationsImageCreation)",
    ),
    ("imagesV2", Workspace.get_operation_images_v2, "V2 images with legends"),
    (
        "geotiffImages",
        gated(Workspace.get_operation_geotiff_images, "operationsImageAsGeoTiff", []),
        "GeoTIFF images (operationsImageAsGeoTiff)",
    ),
    ("files", Workspace.get_operation_files, "The files merged into the operation"),
    (
        "cleaningReport",
        Workspace.get_cleaning_report,
        "leafnb extension: cleaning/filtering report",
    ),
)
add_operation_views(router, OPERATION_VIEWS)
