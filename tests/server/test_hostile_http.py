"""Hostile requests against a live ``leafnb serve`` (issue 14 items 1, 2, 3, 4, 10).

Each test reproduces an attack of the issue over the wire: a subprocess serves a
workspace on a port the OS chose (:class:`tests.server.live.LiveServer`), two API owners
(alice, bob) hold tokens, and the test checks the answer, the stored state and that no
response names a server path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from leafnb import Workspace
from leafnb.pipeline.originals import restore
from tests.conftest import REPO, SMS_CSV, make_zip, zip_files
from tests.fuzz import zips
from tests.server.live import ALERTS, CONFIG, FIELDS, OPS, LiveServer

pytest.importorskip("uvicorn")

SAMPLE_TASKDATA = REPO / "sample_data" / "isoxml"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("live") / "ws", ("alice", "bob", "carol"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def alice_isoxml(server, tmp_path_factory):
    """Alice converted the sample TASKDATA: (batch id, path of her extracted TLG)."""
    z = zip_files(
        tmp_path_factory.mktemp("alice") / "taskdata.zip",
        sorted(p for p in SAMPLE_TASKDATA.rglob("*") if p.is_file()),
        root=SAMPLE_TASKDATA,
    )
    r = server.upload("alice", z, "grower-a")
    assert r.status_code == 200, r.text
    batch = server.wait_batch("alice", r.json()["id"])
    assert batch["status"] == "PROCESSED", batch
    bdir = server.workspace / "batches" / batch["id"]
    assert not (bdir / "extracted").exists()  # only the upload is kept
    # extracted again, as a retry or a download of the original does: the attacks
    # below find Alice's log on disk
    tlg = restore(bdir) / "TASKDATA"
    assert (tlg / "TLG00001.bin").is_file()
    return batch["id"], tlg / "TLG00001"


def assert_no_server_path(server: LiveServer, text: str) -> None:
    assert str(server.workspace) not in text
    assert str(server.workspace.parent) not in text
    assert not re.search(r"(?<![\w.:/])/(tmp|work|home|root|var)/", text), text


def taskdata_referencing(*targets: str, xfr: str | None = None) -> bytes:
    """The sample TASKDATA.XML with one task per TLG reference in *targets*."""
    xml = (SAMPLE_TASKDATA / "TASKDATA" / "TASKDATA.XML").read_text()
    task = xml[xml.index("<TSK") : xml.index("</TSK>") + len("</TSK>")]
    tasks = "".join(
        task.replace('A="TSK1"', f'A="TSK{i}"').replace(
            '<TLG A="TLG00001"', f'<TLG A="{target}"'
        )
        for i, target in enumerate(targets, 1)
    )
    if xfr is not None:
        tasks += f'<XFR A="{xfr}" B="1"/>'
    return (xml[: xml.index("<TSK")] + tasks + xml[xml.index("</TSK>") + 6 :]).encode()


# ------------------------------------------------------------------ item 1
def test_an_upload_cannot_convert_another_owners_log(server, alice_isoxml, tmp_path):
    alice_batch, alice_tlg = alice_isoxml
    evil = make_zip(
        tmp_path / "evil.zip",
        {
            "TASKDATA/TASKDATA.XML": taskdata_referencing(
                str(alice_tlg), f"../../{alice_batch}/extracted/TASKDATA/TLG00001"
            )
        },
    )
    r = server.upload("bob", evil, "grower-b")
    assert r.status_code == 200, r.text
    batch = server.wait_batch("bob", r.json()["id"])
    assert batch["status"] == "FAILED" and len(batch["leafFiles"]) == 2
    for fid in batch["leafFiles"]:
        f = server.request("bob", "GET", f"{OPS}/files/{fid}").json()
        assert f["status"] == "failed" and f["recordCount"] == 0
        assert (
            f["standardGeoparquet"] is None and f["downloadStandardGeoparquet"] is None
        )
        status = server.request("bob", "GET", f"{OPS}/files/{fid}/status")
        failed = [s for s in status.json().values() if s["status"] == "failed"]
        assert len(failed) == 1
        assert "not a plain file name" in failed[0]["message"]
        assert alice_batch not in status.text
        assert_no_server_path(server, status.text)
        summary = server.request("bob", "GET", f"{OPS}/files/{fid}/summary")
        assert summary.status_code == 404
    # nothing of alice's reached bob: no points, no operation, no file of hers listed
    listing = server.request("bob", "GET", f"{OPS}/files").json()["operations"]
    assert {f["batchId"] for f in listing} == {batch["id"]}


# ------------------------------------------------------------------ item 2
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_references_to_blocking_files_do_not_hang_the_server(tmp_path, fifo):
    # stdin is a pipe nobody writes to: reading /dev/stdin would block forever
    live = LiveServer(tmp_path / "ws", stdin=subprocess.PIPE)
    try:
        blocking = make_zip(
            tmp_path / "block.zip",
            {
                "TASKDATA/TASKDATA.XML": taskdata_referencing(
                    "/dev/stdin", str(fifo), "/dev/zero", xfr="/dev/stdin"
                )
            },
        )
        good = make_zip(tmp_path / "good.zip", {"a.csv": SMS_CSV})
        r = live.upload("alice", good, "grower-a")
        assert r.status_code == 200, r.text
        # alice's file exists before bob's uploads arrive (her conversion runs in the background)
        assert live.wait_batch("alice", r.json()["id"])["status"] == "PROCESSED"
        ids = []
        for _ in range(41):  # the number of uploads that hung the server before
            r = live.upload("bob", blocking, "grower-b")
            assert r.status_code == 200 and r.json()["status"] == "RECEIVED", r.text
            ids.append(r.json()["id"])
        r = live.request(
            "alice", "GET", f"{OPS}/files", params={"leafUserId": "grower-a"}
        )
        assert r.status_code == 200 and len(r.json()["operations"]) == 1
        for batch_id in ids:  # every batch settles: nothing waits on the FIFO or stdin
            assert live.wait_batch("bob", batch_id)["status"] == "FAILED"
        assert live.interrupt() == 0
    finally:
        live.stop()


def test_detection_never_runs_in_the_request_thread(tmp_path):
    pause = tmp_path / "paused"
    live = LiveServer(
        tmp_path / "ws",
        env={"LEAFNB_PAUSE_AT": "detect", "LEAFNB_PAUSE_FILE": str(pause)},
    )
    try:
        z = make_zip(tmp_path / "a.zip", {"a.csv": SMS_CSV})
        ids = []
        for _ in range(41):  # each one's detection freezes, for good, in the background
            r = live.upload("bob", z, "grower-b")
            assert r.status_code == 200 and r.json()["status"] == "RECEIVED", r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 60
        while len(pause.read_text().splitlines() if pause.exists() else []) < 41:
            assert time.monotonic() < deadline, (
                "the background detections never started"
            )
            time.sleep(0.05)
        # the server still answers every owner, and its batches show where they are
        r = live.request("alice", "GET", f"{OPS}/files")
        assert r.status_code == 200 and r.json()["operations"] == []
        assert live.request("bob", "GET", f"{OPS}/batch/{ids[0]}").json()["status"] == (
            "RECEIVED"
        )
        assert live.interrupt() == 0  # SIGINT stops it despite 41 frozen threads
    finally:
        live.stop()
    # the next open finds the 41 interrupted batches; their partial extractions are gone
    ws = Workspace(tmp_path / "ws", executor="inline")
    assert sorted(ws.recovered) == sorted(ids)
    batch = ws.get_batch(ids[0])
    assert batch["status"] == "FAILED" and "interrupted" in batch["statusDetails"]
    assert not (tmp_path / "ws" / "batches" / ids[0] / "extracted").exists()
    assert ws.retry_batch(ids[0]) and ws.get_batch(ids[0])["status"] == "PROCESSED"


# ------------------------------------------------------------------ item 3
@pytest.mark.parametrize("kind", ["flat", "many_small_entries"])
def test_zip_bombs_are_refused_before_anything_is_written(server, tmp_path, kind):
    if kind == "flat":  # one entry of 96 MiB of zeros: ~96 kB uploaded
        z = zips.zeros_zip(tmp_path / "bomb.zip", {"zeros.bin": 96 * 2**20})
    else:  # 1,600 entries of 64 kB: none is "large", together they are
        z = zips.zeros_zip(
            tmp_path / "bomb.zip", {f"z{i:04d}.bin": 2**16 for i in range(1600)}
        )
    before = _batch_folders(server)
    r = server.upload("bob", z, "grower-b")
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "inflates beyond 64.0 MB" in detail and "zip bomb" in detail, detail
    assert "nothing was extracted" in detail
    assert _batch_folders(server) == before
    assert_no_server_path(server, r.text)


def _batch_folders(server) -> set[str]:
    """Names under the workspace's ``batches/`` (none before the first upload of a new workspace)."""
    root = server.workspace / "batches"
    return set(os.listdir(root)) if root.exists() else set()


def test_a_nested_zip_bomb_fails_its_batch_and_leaves_nothing(server, tmp_path):
    # an upload of a few kB holding a zip of 4 x 64 MiB of zeros: the inner zip is only
    # seen while extracting, in the background
    z = zips.nested_bomb(tmp_path / "bomb.zip", 4, 64 * 2**20)
    assert z.stat().st_size < 64 * 1024
    r = server.upload("bob", z, "grower-b")
    assert r.status_code == 200, r.text
    batch = server.wait_batch("bob", r.json()["id"])
    assert batch["status"] == "FAILED" and batch["leafFiles"] == []
    details = batch["statusDetails"]
    assert details.startswith("bomb.zip/card/inner.zip inflates beyond 64.0 MB")
    assert "zip bomb" in details and "nothing was extracted" in details
    assert_no_server_path(server, details)
    assert not (server.workspace / "batches" / batch["id"]).exists()
    # a refused upload cannot be retried into extraction
    retry = server.request("bob", "PUT", f"{OPS}/batch/{batch['id']}/retry")
    assert retry.status_code == 400 and "was refused" in retry.json()["detail"]


# ------------------------------------------------------------------ item 4
def test_retry_of_a_batch_being_processed_answers_409(tmp_path):
    pause = tmp_path / "paused"
    live = LiveServer(
        tmp_path / "ws",
        env={"LEAFNB_PAUSE_AT": "convert", "LEAFNB_PAUSE_FILE": str(pause)},
    )
    try:
        z = make_zip(tmp_path / "a.zip", {"a.csv": SMS_CSV})
        batch_id = live.upload("alice", z, "grower-a").json()["id"]
        deadline = time.monotonic() + 60
        while not pause.exists():
            assert time.monotonic() < deadline, "the conversion never started"
            time.sleep(0.05)
        r = live.request("alice", "PUT", f"{OPS}/batch/{batch_id}/retry")
        assert r.status_code == 409, r.text
        assert "is being processed" in r.json()["detail"]
        status = live.request("alice", "GET", f"{OPS}/batch/{batch_id}/status").json()
        assert len(status["processing"]["leafFiles"]) == 1  # not re-run, not reset
        assert live.interrupt() == 0
    finally:
        live.stop()


# ------------------------------------------------------------------ item 10
@pytest.mark.parametrize("name", sorted(zips.HOSTILE))
def test_hostile_archives_get_a_specific_400(server, tmp_path, name):
    build, words = zips.HOSTILE[name]
    r = server.upload("bob", build(tmp_path / f"{name}.zip"), "grower-b")
    assert r.status_code == 400, (name, r.status_code, r.text)
    body = r.json()
    assert words in body["detail"] and body["errorKey"] == "UnsafeArchive", body
    assert_no_server_path(server, r.text)
    assert len(r.text) < 2000  # a 6,000-character name is not echoed back


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_bodies_are_refused(server, constant):
    h = {**server.headers("alice"), "Content-Type": "application/json"}
    bodies = [
        ("PATCH", f"{CONFIG}/configs", f'{{"fieldsAttachIntersection": {constant}}}'),
        (
            "POST",
            f"{CONFIG}/configs/grower-nan",
            f'{{"cleanupRules": {{"wetMass": [{{"operator": "GT", "value": {constant}}}]}}}}',
        ),
        (
            "POST",
            f"{FIELDS}/users/grower-a/fields",
            f'{{"geometry": {{"type": "Polygon", "coordinates": [[[{constant}, 0], [1, 0], [1, 1], [{constant}, 0]]]}}}}',
        ),
    ]
    for method, path, body in bodies:
        r = server.client.request(method, path, content=body, headers=h)
        assert r.status_code == 400, (path, r.text)
        assert f"{constant.lstrip('-')} is not a JSON number" in r.json()["detail"]
    # nothing invalid was stored: every config read still answers
    assert server.request("alice", "GET", f"{CONFIG}/configs").status_code == 200
    assert (
        server.request("alice", "GET", f"{CONFIG}/configs/grower-nan").status_code
        == 404
    )


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": "x"},
        {"type": "Polygon", "coordinates": [[1, 2]]},
        {"type": "MultiPolygon", "coordinates": [[["a", "b"]]]},
        {"type": "Feature"},
        {
            "type": "Polygon",
            "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
            "crs": {"properties": {"name": "no such crs"}},
        },
    ],
)
def test_bad_field_geometry_is_a_400(server, geometry):
    r = server.request(
        "alice", "POST", f"{FIELDS}/users/grower-a/fields", json={"geometry": geometry}
    )
    assert r.status_code == 400, r.text
    assert "boundary" in r.json()["detail"]
    assert_no_server_path(server, r.text)


def test_unknown_and_foreign_leaf_user_ids_answer_alike(server, alice_isoxml):
    def answer(uid: str, path: str):
        r = server.request("bob", "GET", path.format(uid=uid))
        body = {k: v for k, v in r.json().items() if k != "path"}
        return r.status_code, body

    for path in (
        f"{OPS}/files?leafUserId={{uid}}",
        f"{OPS}/batch?leafUserId={{uid}}",
        f"{OPS}/operations?leafUserId={{uid}}",
        f"{OPS}/files/uncoveredFiles?leafUserId={{uid}}",
        f"{OPS}/files/outsideFieldGeojson?leafUserId={{uid}}",
        f"{FIELDS}/fields?leafUserId={{uid}}",
        f"{CONFIG}/configs/{{uid}}",
    ):
        foreign, unknown = answer("grower-a", path), answer("nobody-at-all", path)
        assert foreign == unknown, (path, foreign, unknown)
        assert foreign[0] == 404
    delete = [
        server.request("bob", "DELETE", f"{CONFIG}/configs/{uid}")
        for uid in ("grower-a", "nobody-at-all")
    ]
    assert [r.status_code for r in delete] == [404, 404]
    assert delete[0].json()["detail"] == delete[1].json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one decimal number
        "http://0.0.0.0/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://224.0.0.1/hook",
        "ftp://example.org/hook",
    ],
)
def test_webhooks_to_non_public_addresses_are_refused(server, url):
    r = server.request(
        "carol",
        "POST",
        f"{ALERTS}/alerts/webhooks",
        json={
            "events": ["batchUploadProcessingFinished"],
            "name": "x",
            "secret": "s",
            "url": url,
        },
    )
    assert r.status_code == 400, (url, r.text)
    assert re.search(r"public addresses|http\(s\) URL", r.json()["detail"])
    assert server.request("carol", "GET", f"{ALERTS}/alerts/webhooks").json() == []


def test_a_public_webhook_address_is_accepted(server):
    r = server.request(
        "carol",
        "POST",
        f"{ALERTS}/alerts/webhooks",
        json={
            "events": ["uploadedFileProcessingFailed"],
            "name": "public",
            "secret": "s",
            "url": "https://93.184.216.34/hook",  # never called: carol uploads nothing
        },
    )
    assert r.status_code == 201, r.text
    hook_id = r.headers["Location"].rsplit("/", 1)[1]
    assert (
        server.request(
            "carol", "DELETE", f"{ALERTS}/alerts/webhooks/{hook_id}"
        ).status_code
        == 204
    )


def test_no_response_names_a_server_path(server, alice_isoxml):
    """Every JSON answer alice gets for her own data is free of server paths."""
    batch_id, _ = alice_isoxml
    batch = server.request("alice", "GET", f"{OPS}/batch/{batch_id}").json()
    texts = [json.dumps(batch)]
    for fid in batch["leafFiles"]:
        for sub in ("", "/status", "/summary", "/units", "/standardGeoparquet"):
            texts.append(server.request("alice", "GET", f"{OPS}/files/{fid}{sub}").text)
    for text in texts:
        assert_no_server_path(server, text)


def test_path_of_a_missing_upload_is_not_revealed(server, tmp_path):
    r = server.request(
        "alice",
        "POST",
        f"{OPS}/batch",
        params={"leafUserId": "grower-a"},
        files={"file": ("x.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
    )
    assert r.status_code in (200, 400)
    assert_no_server_path(server, r.text)
