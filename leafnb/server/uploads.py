"""Receiving an upload: the multipart body streamed to disk, and what dead requests left.

The zip arrives as the multipart field ``file`` and is written to a folder of its own
in chunks, never held in memory; past the server's limit the request answers 413
(checked on ``Content-Length`` first, then on the bytes received). The file keeps the
client's name, reduced to safe characters. A request that never finished (a killed
server) leaves its folder behind: :func:`reclaim_uploads` removes those older than
:data:`STALE_UPLOAD_SECONDS` when the app starts.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import Request

from leafnb.errors import MalformedRequest, UploadTooLarge

__all__ = ["STALE_UPLOAD_SECONDS", "receive_upload", "reclaim_uploads"]

#: server/uploads/<tmp> folders untouched this long belong to no live request
STALE_UPLOAD_SECONDS = 3600.0
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def reclaim_uploads(root: Path) -> None:
    """Remove upload folders left by requests that never finished (a killed server)."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    now = time.time()
    for name in names:
        path = root / name
        try:
            if now - path.lstat().st_mtime >= STALE_UPLOAD_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


async def receive_upload(request: Request, folder: Path, limit: int) -> Path:
    """Stream the multipart field ``file`` to *folder* in chunks; 413 past *limit* bytes."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    boundary = opts.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise MalformedRequest(
            "expected a multipart/form-data body with the zip in field 'file'"
        )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + 1024 * 1024:
        raise UploadTooLarge(f"upload larger than the {limit} byte limit")
    folder.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "field": b"",
        "value": b"",
        "headers": {},
        "out": None,
        "path": None,
        "bytes": 0,
        "over": False,
    }

    def on_part_begin():
        state["headers"] = {}

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(
            state["headers"].get(b"content-disposition", b"")
        )
        if disp.get(b"name") == b"file" and state["path"] is None:
            raw = disp.get(b"filename", b"upload.zip").decode("utf-8", "replace")
            name = (
                _SAFE_NAME.sub("_", Path(raw.replace("\\", "/")).name).strip("._")
                or "upload.zip"
            )
            state["path"] = folder / name
            state["out"] = open(state["path"], "wb")  # noqa: SIM115 - closed in on_part_end / finally

    def on_part_data(data, start, end):
        if state["out"] is not None and not state["over"]:
            state["bytes"] += end - start
            if state["bytes"] > limit:
                state["over"] = True
                return
            state["out"].write(data[start:end])

    def on_part_end():
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if state["over"]:
                raise UploadTooLarge(f"upload larger than the {limit} byte limit")
        parser.finalize()
    except UploadTooLarge:
        raise
    except Exception as exc:  # malformed multipart
        raise MalformedRequest(
            f"malformed multipart body: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if state["out"] is not None:
            state["out"].close()
    if state["path"] is None:
        raise MalformedRequest("multipart field 'file' is missing")
    return state["path"]
