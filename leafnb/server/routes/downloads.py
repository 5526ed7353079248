"""Downloads: the artifact behind a link that a published resource carries.

A link is ``/services/operations/api/download/<token>``; the opaque token maps to the
API owner and the artifact's path in ``server.sqlite``, so another owner's token, a
removed artifact or a path outside the workspace all answer 404. A file's
``rawGeojson`` / ``standardGeojson`` is written on its first download
(:func:`leafnb.leafwire.ensure_artifact`). ``<token>.aux.xml``
is the PNG's georeferencing sidecar.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi.responses import FileResponse

from leafnb.errors import NotFound
from leafnb.leafwire import ensure_artifact
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
    if target.is_relative_to(caller.workspace.path) and not aux:
        ensure_artifact(target)  # a GeoJSON written on its first download
    if not target.is_relative_to(caller.workspace.path) or not target.is_file():
        raise NotFound("download not found (artifact removed)")
    return FileResponse(target, media_type=_media_type(target), filename=target.name)


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
