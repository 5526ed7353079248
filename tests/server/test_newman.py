"""Leaf's Postman requests (Operations, Configurations, Alerts) run by newman against uvicorn on 127.0.0.1.

Plus leafnb's two folders: field operations, and the coverage of issue 17 (retry, file
status, GeoParquet, images V1, GeoTIFF images, sessions, crop by field, reprocess).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import SMS_CSV, make_zip

HERE = Path(__file__).resolve().parent / "newman"
NEWMAN = HERE / "node_modules" / ".bin" / "newman"


@pytest.fixture
def live_server(app):
    """uvicorn serving the app on 127.0.0.1 in a thread, on a port the OS chose."""
    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound here and handed over: no free-port race
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.mark.requires_node
def test_postman_collection_requests_succeed(
    live_server, app, tokens, receiver, tmp_path
):
    if shutil.which("node") is None or not NEWMAN.exists():
        pytest.skip("node or newman missing (cd tests/server/newman && npm ci)")
    ws, store = app.state.workspace, app.state.store
    z = make_zip(
        tmp_path / "work" / "upload.zip",
        {"a.csv": SMS_CSV, "b.csv": SMS_CSV.replace(b"2024-10-01", b"2024-10-02")},
    )
    store.claim("alice", "grower-a")
    batch = ws.upload_batch(z, "grower-a")
    assert batch["status"] == "PROCESSED"
    f1, f2 = batch["leafFiles"]
    # a field around the points makes the two files a field operation (spec §5.2)
    import shapely

    box = shapely.box(*ws.points(f1).total_bounds).buffer(0.001)
    field = ws.create_field(
        "grower-a", geometry=shapely.geometry.mapping(box), name="north"
    )
    (op,) = ws.get_operations(leafUserId="grower-a")
    variables = {
        "leaf_api_url": live_server,
        "leaf_token": tokens["alice"],
        "leaf_user_id": "grower-a",
        "file_id": f1,
        "operation_1_id": f1,
        "operation_2_id": f2,
        "webhook_url": receiver.url,
        "operation_id": op["id"],
        "done_batch_id": batch["id"],
        "field_id": field["id"],
    }
    report = tmp_path / "report.json"
    cmd = [
        str(NEWMAN),
        "run",
        str(HERE / "leaf_api_fixture.postman_collection.json"),
        "--working-dir",
        str(z.parent),
        "--reporters",
        "cli,json",
        "--reporter-json-export",
        str(report),
        "--timeout-request",
        "60000",
        "--bail",
    ]
    for k, v in variables.items():
        cmd += ["--env-var", f"{k}={v}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    run = json.loads(report.read_text())["run"]
    assert (
        run["stats"]["requests"]["total"] == 19 + 11 + 12
        and run["stats"]["assertions"]["failed"] == 0
    )
    ws.wait(30)
