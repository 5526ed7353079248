# ruff: noqa: B008  (FastAPI declares parameters with Query() defaults)
"""Files (spec §2, §3, §10): list with filters, one file and its views, merge files."""

from __future__ import annotations

from fastapi import Query
from pydantic import BaseModel

from leafnb.errors import InvalidRequest, MalformedRequest, NotFound
from leafnb.server.context import Auth, Caller, all_pages
from leafnb.server.routes.views import View, add_file_views, gated
from leafnb.server.routing import OPS, OPS_TAG, service_router
from leafnb.workspace import Workspace

__all__ = ["FILE_VIEWS", "router"]

router = service_router(OPS, OPS_TAG)


class MergeRequest(BaseModel):
    ids: list[str]


# fixed paths before /files/{file_id}
@router.get(
    "/files",
    summary="List files (filters, page/size/sort; X-Total-Count and Link headers)",
)
def list_files(
    leafUserId: str | None = None,
    provider: str | None = None,
    status: str | None = None,
    origin: str | None = None,
    organizationId: str | None = None,
    batchId: str | None = None,
    createdTime: str | None = None,
    startTime: str | None = None,
    updatedTime: str | None = None,
    endTime: str | None = None,
    operationType: str | None = None,
    minArea: float | None = None,
    fileId: str | None = None,
    fileFormat: str | None = None,
    operationStartTime: str | None = Query(
        None, description="legacy alias of startTime"
    ),
    operationEndTime: str | None = Query(None, description="legacy alias of endTime"),
    page: int = 0,
    size: int = 20,
    sort: list[str] | None = Query(None),
    caller: Caller = Auth,
):
    filters = {
        "leafUserId": leafUserId,
        "provider": provider,
        "status": status,
        "origin": origin,
        "organizationId": organizationId,
        "batchId": batchId,
        "createdTime": createdTime,
        "startTime": startTime or operationStartTime,
        "updatedTime": updatedTime,
        "endTime": endTime or operationEndTime,
        "operationType": operationType,
        "minArea": minArea,
        "fileId": fileId,
        "fileFormat": fileFormat,
    }
    items = caller.scoped_list(
        caller.workspace.get_files, filters, page, size, sort, ("createdTime", "id")
    )
    return caller.paged(items, envelope="operations")


@router.post("/files/merge", summary="Merge files of one leafUserId and operation type")
def merge_files(body: MergeRequest, caller: Caller = Auth):
    if not body.ids:
        raise MalformedRequest("ids must list the files to merge")
    for fid in body.ids:
        caller.own_file(fid)
    return caller.reply(caller.workspace.merge_files(list(body.ids), wait=False))


@router.get(
    "/files/uncoveredFiles",
    summary="Files that produced no operation (no intersecting field)",
)
def uncovered_files(leafUserId: str = Query(...), caller: Caller = Auth):
    uid = caller.require_uid(leafUserId)
    return caller.reply(caller.workspace.get_uncovered_files(uid))


@router.get(
    "/files/outsideFieldGeojson",
    summary="outsideFieldGeojson of every file of the owner",
)
def outside_field_all(leafUserId: str | None = None, caller: Caller = Auth):
    ws = caller.workspace
    uids = (
        [caller.require_uid(leafUserId)]
        if leafUserId
        else caller.state.store.user_ids(caller.owner)
    )
    out = []
    for uid in uids:
        for f in all_pages(ws.get_files, leafUserId=uid, status="processed"):
            try:
                out.append(
                    {"id": f["id"], **ws.get_file_outside_field_geojson(f["id"])}
                )
            except (NotFound, InvalidRequest):
                continue  # a file without the artifact is left out of the list
    return caller.reply(out)


@router.get("/files/{file_id}", summary="A file")
def get_file(file_id: str, caller: Caller = Auth):
    return caller.reply(caller.own_file(file_id))


@router.put(
    "/files/{file_id}/status",
    summary="Processing steps of a file (Leaf's documented curl uses PUT)",
)
def put_file_status(file_id: str, caller: Caller = Auth):
    caller.own_file(file_id)
    return caller.reply(caller.workspace.get_file_status(file_id))


#: GET /files/{file_id}/<suffix> → Workspace method
FILE_VIEWS: tuple[View, ...] = (
    ("summary", Workspace.get_file_summary, "Summary Feature of a file"),
    ("units", Workspace.get_file_units, "Units of a file"),
    ("status", Workspace.get_file_status, "Processing steps of a file"),
    ("images", Workspace.get_file_images, "PNG images of a file"),
    (
        "standardGeojson",
        Workspace.get_file_standard_geojson,
        "standardGeojson download",
    ),
    (
        "standardGeoparquet",
        gated(Workspace.get_file_standard_geoparquet, "enableGeoparquetOutput"),
        "standardGeoparquet download",
    ),
    (
        "filteredGeojson",
        Workspace.get_file_filtered_geojson,
        "filteredGeojson download",
    ),
    (
        "filteredGeoparquet",
        gated(Workspace.get_file_filtered_geoparquet, "enableGeoparquetOutput"),
        "filteredGeoparquet download",
    ),
    (
        "outsideFieldGeojson",
        Workspace.get_file_outside_field_geojson,
        "points outside every field",
    ),
    (
        "cleaningReport",
        Workspace.get_cleaning_report,
        "leafnb extension: cleaning/filtering report",
    ),
)
add_file_views(router, FILE_VIEWS)
