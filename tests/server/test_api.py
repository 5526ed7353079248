"""The Leaf-compatible HTTP API over a Workspace: auth, uploads, files, batches, paging, configs, downloads."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.conftest import SMS_CSV, make_zip
from tests.server.conftest import MAX_UPLOAD, OPS, auth, upload, wait_batch

CONFIG = "/services/config/api"


def no_paths(response, app) -> None:
    text = response.text
    assert str(app.state.workspace.path) not in text and "file://" not in text, text[
        :500
    ]


# ---------------------------------------------------------------- auth
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer lnb_000000000000_" + "x" * 43},
    ],
)
def test_requests_without_a_valid_token_get_401(client, tokens, headers):
    r = client.get(f"{OPS}/files", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert (
        body["status"] == 401
        and body["title"] == "Unauthorized"
        and body["path"] == f"{OPS}/files"
    )


def test_revoked_token_is_refused(client, app, tokens):
    assert client.get(f"{OPS}/files", headers=auth(tokens["alice"])).status_code == 200
    app.state.store.revoke_token(tokens["alice"])
    assert client.get(f"{OPS}/files", headers=auth(tokens["alice"])).status_code == 401


def test_tokens_are_stored_hashed(app, tokens):
    import sqlite3

    conn = sqlite3.connect(app.state.workspace.path / "server.sqlite")
    dump = "\n".join(conn.iterdump())
    for token in tokens.values():
        assert (
            token not in dump and token.split("_", 2)[2] not in dump
        )  # the whole secret (it may contain "_")


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    for path in (
        f"{OPS}/files",
        f"{OPS}/batch",
        f"{OPS}/files/merge",
        f"{OPS}/operations/{{operation_id}}/imagesV2",
        f"{CONFIG}/configs/{{leaf_user_id}}",
        "/services/alerts/api/alerts/webhooks",
    ):
        assert path in doc["paths"], path


# ---------------------------------------------------------------- upload & read back
def test_upload_and_read_back_like_the_python_api(client, app, tokens, alice_data):
    ws, h = app.state.workspace, auth(tokens["alice"])
    fid = alice_data["files"][0]
    r = client.get(f"{OPS}/files/{fid}", headers=h)
    assert r.status_code == 200
    no_paths(r, app)
    f = r.json()
    assert (
        f["leafUserId"] == "grower-a"
        and f["status"] == "processed"
        and f["batchId"] == alice_data["batch"]
    )
    assert f["summary"] == ws.get_file_summary(fid)
    assert f["downloadStandardGeoparquet"].startswith(
        f"http://testserver{OPS}/download/"
    )
    assert client.get(f"{OPS}/files/{fid}/summary", headers=h).json() == json.loads(
        json.dumps(ws.get_file_summary(fid))
    )
    assert client.get(
        f"{OPS}/files/{fid}/units", headers=h
    ).json() == ws.get_file_units(fid)
    assert client.get(
        f"{OPS}/files/{fid}/status", headers=h
    ).json() == ws.get_file_status(fid)
    batch = client.get(f"{OPS}/batch/{alice_data['batch']}", headers=h).json()
    assert (
        sorted(batch["leafFiles"]) == sorted(alice_data["files"])
        and batch["status"] == "PROCESSED"
    )
    status = client.get(f"{OPS}/batch/{alice_data['batch']}/status", headers=h).json()
    assert sorted(status["converted"]["leafFiles"]) == sorted(alice_data["files"])


def test_download_links_stream_the_artifacts(client, app, tokens, alice_data):
    h, fid = auth(tokens["alice"]), alice_data["files"][0]
    r = client.get(f"{OPS}/files/{fid}/standardGeojson", headers=h)
    assert r.status_code == 200
    no_paths(r, app)
    link = r.json()["downloadStandardGeojson"]
    assert (
        link == r.json()["standardGeojson"]
    )  # the legacy key is a link too, never a path
    geo = client.get(link, headers=h)
    assert geo.status_code == 200 and geo.headers["content-type"].startswith(
        "application/geo+json"
    )
    assert len(geo.json()["features"]) == 40
    # GeoParquet links only once enableGeoparquetOutput is on (spec §8.3)
    off = client.get(f"{OPS}/files/{fid}/standardGeoparquet", headers=h)
    assert off.status_code == 404 and "enableGeoparquetOutput" in off.text
    r = client.patch(
        f"{CONFIG}/configs/grower-a", json={"enableGeoparquetOutput": True}, headers=h
    )
    assert r.status_code == 200, r.text
    pq = client.get(
        client.get(f"{OPS}/files/{fid}/standardGeoparquet", headers=h).json()[
            "downloadStandardGeoparquet"
        ],
        headers=h,
    )
    assert pq.status_code == 200 and pq.content[:4] == b"PAR1"
    # the link is authenticated and stable
    assert client.get(link).status_code == 401
    assert (
        client.get(f"{OPS}/files/{fid}/standardGeojson", headers=h).json()[
            "downloadStandardGeojson"
        ]
        == link
    )
    assert client.get(f"{OPS}/download/not-a-token", headers=h).status_code == 404


def test_original_and_raw_downloads_are_made_from_the_kept_upload(
    client, app, tokens, alice_data
):
    """Only the upload is kept: the original is extracted for the response, then deleted."""
    h, ws = auth(tokens["alice"]), app.state.workspace
    bdir = ws.path / "batches" / alice_data["batch"]
    assert not (bdir / "extracted").exists()
    names = {}
    for fid in alice_data["files"]:
        f = client.get(f"{OPS}/files/{fid}", headers=h).json()
        names[f["fileName"]] = f
        r = client.get(f["downloadOriginalFile"], headers=h)
        assert r.status_code == 200, r.text
        with zipfile.ZipFile(bdir / "upload.zip") as zf:
            assert r.content == zf.read(f["fileName"])
        assert f["fileName"] in r.headers["content-disposition"]
    assert not (bdir / "extracted").exists()
    assert not list(bdir.glob(".extract-*"))  # deleted once the response was sent
    # the raw GeoJSON is made from the raw table, read again from the original
    f = names["a.csv"]
    geo = client.get(f["downloadRawGeojson"], headers=h)
    assert geo.status_code == 200, geo.text
    lons = [ft["geometry"]["coordinates"][0] for ft in geo.json()["features"]]
    assert lons == [float(f"{-93.6 + i * 0.00003:.6f}") for i in range(40)]  # SMS_CSV
    # an upload that cannot be extracted again: a clear message, no server path
    (bdir / "upload.zip").write_bytes(b"PK\x03\x04 truncated")
    r = client.get(names["b.csv"]["downloadOriginalFile"], headers=h)
    assert r.status_code == 500
    assert "could not be extracted again" in r.json()["detail"]
    no_paths(r, app)


def test_list_paging_headers_filters_and_sort(client, app, tokens, alice_data):
    h = auth(tokens["alice"])
    r = client.get(
        f"{OPS}/files",
        params={"size": 1, "sort": "createdTime,desc", "leafUserId": "grower-a"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["message"] == "SUCCESS"
    assert len(r.json()["operations"]) == 1
    assert r.headers["X-Total-Count"] == "2"
    link = r.headers["Link"]
    assert (
        'page=1&size=1>; rel="next"' in link
        and 'rel="last"' in link
        and 'page=0&size=1>; rel="first"' in link
    )
    assert "leafUserId=grower-a" in link
    assert (
        client.get(
            f"{OPS}/files", params={"operationType": "harvested"}, headers=h
        ).headers["X-Total-Count"]
        == "2"
    )
    assert (
        client.get(
            f"{OPS}/files", params={"operationType": "planted"}, headers=h
        ).json()["operations"]
        == []
    )
    assert (
        client.get(
            f"{OPS}/files",
            params={
                "batchId": alice_data["batch"],
                "status": "processed",
                "origin": "uploaded",
                "minArea": 1,
            },
            headers=h,
        ).headers["X-Total-Count"]
        == "2"
    )
    for bad in (
        {"size": 1000},
        {"page": -1},
        {"sort": "nope"},
        {"operationType": "mowed"},
        {"createdTime": "yesterday"},
        {"size": "x"},
    ):
        r = client.get(f"{OPS}/files", params=bad, headers=h)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["status"] == 400
    batches = client.get(f"{OPS}/batch", headers=h)
    assert (
        batches.headers["X-Total-Count"] == "1"
        and batches.json()[0]["id"] == alice_data["batch"]
    )


def test_lists_merge_several_leaf_users_of_one_owner(
    client, tokens, alice_data, tmp_path
):
    h = auth(tokens["alice"])
    z = make_zip(tmp_path / "c.zip", {"c.csv": SMS_CSV})
    b = wait_batch(
        client,
        tokens["alice"],
        upload(client, tokens["alice"], z, "grower-a2").json()["id"],
    )
    assert b["status"] == "PROCESSED"
    everything = client.get(
        f"{OPS}/files", params={"sort": ["leafUserId,desc", "id"]}, headers=h
    )
    assert everything.headers["X-Total-Count"] == "3"
    assert [f["leafUserId"] for f in everything.json()["operations"]] == [
        "grower-a2",
        "grower-a",
        "grower-a",
    ]
    page = client.get(
        f"{OPS}/files",
        params={"size": 2, "page": 1, "sort": "leafUserId,desc"},
        headers=h,
    )
    assert len(page.json()["operations"]) == 1
    assert 'rel="prev"' in page.headers["Link"]


def test_retry_returns_received(client, tokens, alice_data):
    r = client.put(
        f"{OPS}/batch/{alice_data['batch']}/retry", headers=auth(tokens["alice"])
    )
    assert r.status_code == 200 and r.json()["status"] == "RECEIVED"
    assert (
        wait_batch(client, tokens["alice"], alice_data["batch"])["status"]
        == "PROCESSED"
    )


# ---------------------------------------------------------------- upload errors
def test_upload_limit_gives_413(client, tokens, tmp_path):
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("noise.bin", bytes(MAX_UPLOAD + 10))
    r = upload(client, tokens["alice"], big, "grower-a")
    assert r.status_code == 413 and r.json()["status"] == 413


def test_upload_errors_are_400(client, app, tokens, tmp_path):
    h = auth(tokens["alice"])
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.csv", SMS_CSV)
    r = upload(client, tokens["alice"], evil, "grower-a")
    assert r.status_code == 400 and r.json()["errorKey"] == "UnsafeArchive"
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    assert upload(client, tokens["alice"], txt, "grower-a").status_code == 400
    z = make_zip(tmp_path / "ok.zip", {"a.csv": SMS_CSV})
    assert (
        upload(client, tokens["alice"], z, "grower-a", provider="Nobody").status_code
        == 400
    )
    r = client.post(
        f"{OPS}/batch",
        params={"leafUserId": "grower-a", "provider": "Other"},
        headers=h,
        data={"x": "1"},
    )
    assert r.status_code == 400
    r = client.post(
        f"{OPS}/batch",
        params={"provider": "Other"},
        headers=h,
        files={"file": ("a.zip", b"PK", "application/zip")},
    )
    assert r.status_code == 400
    assert not any(
        (app.state.workspace.path / "server" / "uploads").iterdir()
    )  # temporary uploads removed


# ---------------------------------------------------------------- merge
def test_merge_validation(client, app, tokens, alice_data):
    h = auth(tokens["alice"])
    assert (
        client.post(f"{OPS}/files/merge", json={"ids": []}, headers=h).status_code
        == 400
    )
    assert (
        client.post(f"{OPS}/files/merge", json={"nope": 1}, headers=h).status_code
        == 400
    )
    assert (
        client.post(
            f"{OPS}/files/merge", json={"ids": ["unknown-id"]}, headers=h
        ).status_code
        == 404
    )
    r = client.post(f"{OPS}/files/merge", json={"ids": alice_data["files"]}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SENT_TO_MERGE"


# ---------------------------------------------------------------- routes backed by optional Workspace methods
ROUTES = [
    ("get_file_images", "GET", "/files/{fid}/images"),
    ("get_file_filtered_geojson", "GET", "/files/{fid}/filteredGeojson"),
    ("get_file_filtered_geoparquet", "GET", "/files/{fid}/filteredGeoparquet"),
    ("get_file_outside_field_geojson", "GET", "/files/{fid}/outsideFieldGeojson"),
    ("get_operations", "GET", "/operations"),
    ("get_operation", "GET", "/operations/some-id"),
    ("get_uncovered_files", "GET", "/files/uncoveredFiles?leafUserId=grower-a"),
]


@pytest.mark.parametrize(("method_name", "verb", "path"), ROUTES)
def test_routes_are_served(client, app, tokens, alice_data, method_name, verb, path):
    r = client.request(
        verb,
        OPS + path.format(fid=alice_data["files"][0]),
        headers=auth(tokens["alice"]),
    )
    assert r.status_code < 500, r.text


def test_operation_routes_when_available(client, app, tokens, alice_data):
    h = auth(tokens["alice"])
    r = client.get(f"{OPS}/operations", headers=h)
    assert r.status_code == 200 and "X-Total-Count" in r.headers
    no_paths(r, app)
    for op in r.json():
        got = client.get(f"{OPS}/operations/{op['id']}", headers=h)
        assert got.status_code == 200 and got.json()["leafUserId"] == "grower-a"
        for sub in ("summary", "units", "files", "standardGeojson"):
            s = client.get(f"{OPS}/operations/{op['id']}/{sub}", headers=h)
            assert s.status_code in (200, 404, 501), (sub, s.text)
            no_paths(s, app)


# ---------------------------------------------------------------- configs
def test_configs(client, app, tokens, alice_data):
    ws, h = app.state.workspace, auth(tokens["alice"])
    owner = client.get(f"{CONFIG}/configs", headers=h).json()
    assert (
        owner["apiOwnerUsername"] == "alice"
        and owner["leafUserId"] == ""
        and owner["unitMeasurement"]
    )
    r = client.patch(f"{CONFIG}/configs", json={"unitMeasurement": "METRIC"}, headers=h)
    assert r.status_code == 200 and r.json()["unitMeasurement"] == "METRIC"
    assert (
        ws.get_config("grower-a")["unitMeasurement"] == "METRIC"
    )  # the owner's users inherit
    assert (
        ws.get_config()["unitMeasurement"] != "METRIC"
        or owner["unitMeasurement"] == "METRIC"
    )  # workspace level untouched
    r = client.post(
        f"{CONFIG}/configs/grower-a",
        json={"unitMeasurement": "IMPERIAL", "cleanupStandardGeojson": False},
        headers=h,
    )
    assert (
        r.status_code == 201
        and r.json()["unitMeasurement"] == "IMPERIAL"
        and r.json()["leafUserId"] == "grower-a"
    )
    assert (
        client.patch(
            f"{CONFIG}/configs/grower-a", json={"unitMeasurement": "DEFAULT"}, headers=h
        ).json()["cleanupStandardGeojson"]
        is False
    )
    assert (
        client.get(f"{CONFIG}/configs/grower-a", headers=h).json()["unitMeasurement"]
        == "DEFAULT"
    )
    assert (
        client.patch(
            f"{CONFIG}/configs/grower-a",
            json={"unitMeasurement": "FURLONGS"},
            headers=h,
        ).status_code
        == 400
    )
    assert (
        client.patch(f"{CONFIG}/configs", json={"notAKey": 1}, headers=h).status_code
        == 400
    )
    assert client.patch(f"{CONFIG}/configs", json=[1, 2], headers=h).status_code == 400
    assert client.delete(f"{CONFIG}/configs/grower-a", headers=h).status_code == 204
    back = client.get(f"{CONFIG}/configs/grower-a", headers=h).json()
    assert (
        back["unitMeasurement"] == "METRIC" and back["cleanupStandardGeojson"] is True
    )  # inherits the owner again
    # a new leafUserId created by config belongs to alice
    assert (
        client.post(
            f"{CONFIG}/configs/grower-new",
            json={"unitMeasurement": "METRIC"},
            headers=h,
        ).status_code
        == 201
    )
    assert app.state.store.owner_of("grower-new") == "alice"
    assert client.delete(f"{CONFIG}/configs/never-seen", headers=h).status_code == 404


def test_config_of_an_unclaimed_user_does_not_claim_it(client, app, tokens):
    # 404 like another owner's leafUserId (issue 14 item 10: no existence oracle)
    r = client.get(f"{CONFIG}/configs/somebody", headers=auth(tokens["alice"]))
    assert r.status_code == 404 and "not found among" in r.json()["detail"]
    assert app.state.store.owner_of("somebody") is None


# ---------------------------------------------------------------- cli
def test_token_cli_and_serve_wiring(tmp_path, capsys):
    from leafnb.cli import main
    from leafnb.server.auth import ServerStore

    assert (
        main(
            [
                "token",
                "create",
                "--owner",
                "carol",
                "--workspace",
                str(tmp_path / "w"),
                "--create",
            ]
        )
        == 0
    )
    token = capsys.readouterr().out.strip()
    assert ServerStore.for_workspace(tmp_path / "w").verify_token(token) == "carol"
    assert main(["token", "list", "--workspace", str(tmp_path / "w")]) == 0
    assert "carol" in capsys.readouterr().out and token not in capsys.readouterr().out
    assert (
        main(
            [
                "token",
                "create",
                "--owner",
                "bad owner!",
                "--workspace",
                str(tmp_path / "w"),
            ]
        )
        == 2
    )
    with pytest.raises(SystemExit):
        main(["serve", "--help"])


def test_field_update_and_reprocess_by_field(client, tokens, alice_data):
    from tests.server.test_cross_owner import FIELD_GEOMETRY, FIELDS

    h, uid = auth(tokens["alice"]), alice_data["uid"]
    field = client.post(
        f"{FIELDS}/users/{uid}/fields",
        json={"geometry": FIELD_GEOMETRY, "name": "north"},
        headers=h,
    ).json()
    r = client.patch(
        f"{FIELDS}/users/{uid}/fields/{field['id']}",
        json={"name": "north 40"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["name"] == "north 40"
    r = client.post(
        f"{OPS}/operations/reprocess", json={"fieldId": field["id"]}, headers=h
    )
    assert r.status_code == 200 and isinstance(r.json(), list)
    assert (
        client.post(
            f"{OPS}/operations/reprocess", json={"fieldId": "nope"}, headers=h
        ).status_code
        == 404
    )
