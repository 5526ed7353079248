"""Downloads: the artifact behind a link that a published resource carries.

A link is ``/services/operations/api/download/<token>``; the opaque token maps to the
API owner and the artifact's path in ``server.sqlite``, so another owner's token, a
removed artifact or a path outside the workspace all answer 404. A file's
``rawGeojson`` / ``standardGeojson`` / ``rawGeoparquet`` is written on its first
download (:func:`leafnb.leafwire.ensure_artifact`); an ``originalFile`` is extracted
again from its batch's upload into a temporary folder that is deleted once the response
is sent (:func:`leafnb.leafwire.artifact_file`). ``<token>.aux.xml`` is the PNG's
georeferencing sidecar.
"""

from __future__ import annotations

import contextlib
import mimetypes
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from leafnb.errors import NotFound
from leafnb.leafwire import artifact_file
from leafnb.server.context import Auth, Caller
from leafnb.server.routing import OPS, OPS_TAG, service_router

__all__ = ["router"]

router = service_router(OPS, OPS_TAG)


@router.get(
    "/download/{token}",
    summary="Download an artifact (link from a resource)",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(token: str, caller: Caller = Auth):
    aux = token.endswith(".aux.xml")
    path = caller.state.store.download_path(
        caller.owner, token.removesuffix(".aux.xml") if aux else token
    )
    if path is None:
        raise NotFound("download not found")
    target = Path(path + ".aux.xml" if aux else path).resolve()
    if not target.is_relative_to(caller.workspace.path):
        raise NotFound("download not found (artifact removed)")
    with contextlib.ExitStack() as stack:
        # an artifact made on first download; an original extracted for this response
        served = target if aux else stack.enter_context(artifact_file(target))
        if not served.is_file():
            raise NotFound("download not found (artifact removed)")
        response = FileResponse(
            served,
            media_type=_media_type(target),
            filename=target.name,
            background=BackgroundTask(stack.pop_all().close),
        )
    return response


_MEDIA = {
    ".parquet": "application/vnd.apache.parquet",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".png": "image/png",
    ".zip": "application/zip",
    ".xml": "application/xml",
}


def _media_type(path: Path) -> str:
    return (
        _MEDIA.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )
