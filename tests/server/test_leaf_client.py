"""A Leaf client written from Leaf's documents, run against a live ``leafnb serve`` on real data.

Every request here is what Leaf's documentation (our copy: shared/spec/leaf-behaviour.md,
and the docs' own samples) tells a client to send, and every assertion is a documented
key, type, nesting, envelope, status code or message — never something read back from
leafnb's own output. Real files: the Ag Leader SMS yield shapefiles (harvest, soybeans)
and the Kverneland IMT PRO ISOXML bench test (ISOXML ``DVC`` serial numbers). Where the
documents contradict themselves the test says which reading leafnb follows (README,
"Choices").
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.conftest import SHARED_DATA, zip_files
from tests.server.live import ALERTS, CONFIG, FIELDS, OPS, LiveServer

pytestmark = pytest.mark.real_data

BETA = "/services/beta/api"
SMS = SHARED_DATA / "shapefile" / "isu_strips_yield" / "sms_shapefile_export_2013"
KV = SHARED_DATA / "isoxml" / "kverneland_imtpro_benchtest"

#: file resource keys of the documented sample (spec §2.1)
FILE_KEYS = {
    "id",
    "provider",
    "fields",
    "fileFormat",
    "fileName",
    "originalFile",
    "downloadOriginalFile",
    "rawGeojson",
    "downloadRawGeojson",
    "standardGeojson",
    "downloadStandardGeojson",
    "leafUserId",
    "apiOwnerUsername",
    "summary",
    "batchId",
}
URL_KEYS = (
    "originalFile",
    "downloadOriginalFile",
    "rawGeojson",
    "downloadRawGeojson",
    "standardGeojson",
    "downloadStandardGeojson",
)
#: the documented file-status sample (all processed / ok)
STATUS_SAMPLE_STEPS = {
    "rawGeojson",
    "normalizedGeojson",
    "standardGeojson",
    "propertiesPNGs",
    "areaAndYield",
    "summary",
    "units",
    "originalFile",
    "cleanupGeojson",
}
#: harvested summary properties marked * (spec §2.2)
HARVEST_SUMMARY = {
    "elevation",
    "harvestMoisture",
    "operationType",
    "totalArea",
    "wetMass",
    "wetMassPerArea",
    "wetVolume",
    "wetVolumePerArea",
    "totalWetVolume",
    "totalWetMass",
    "crop",
    "dryMass",
    "dryMassPerArea",
    "totalDryMass",
    "dryVolume",
    "dryVolumePerArea",
    "totalDryVolume",
}
RAMP = {
    "0%": [200, 0, 0],
    "35%": [255, 40, 0],
    "45%": [255, 150, 0],
    "55%": [255, 240, 0],
    "65%": [0, 230, 0],
    "75%": [0, 190, 0],
    "100%": [0, 130, 0],
    "nv": [0, 0, 0, 0],
}
V2_COLOURS = [
    "#C80000",
    "#FF2800",
    "#FF9600",
    "#FFF000",
    "#00E600",
    "#00BE00",
    "#008200",
]
CONFIG_FLAGS = {
    "enableGeoparquetOutput": True,
    "operationsImageCreation": True,
    "operationsImageAsGeoTiff": True,
    "enableOperationsSession": True,
    "enableOutsideFieldGeojson": True,
    "automaticFixBoundary": False,
}


def _bbox_polygon(features: list[dict], pad: float = 0.0005) -> dict:
    xs = [f["geometry"]["coordinates"][0] for f in features]
    ys = [f["geometry"]["coordinates"][1] for f in features]
    x0, x1, y0, y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


class Client:
    """What a Leaf client does: bearer token, JSON in and out."""

    def __init__(self, live: LiveServer, owner: str):
        self.live, self.owner = live, owner

    def __call__(self, method: str, path: str, status: int = 200, **kw):
        r = self.live.request(self.owner, method, path, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text[:800])
        return r

    def get(self, path: str, **kw):
        return self("GET", path, **kw).json()

    def download(self, url: str) -> bytes:
        r = self.live.client.get(url, headers=self.live.headers(self.owner))
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        return r.content

    def wait_file(self, fid: str, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            f = self.get(f"{OPS}/files/{fid}")
            if f["status"] != "processing":
                return f
            assert time.monotonic() < deadline, f
            time.sleep(0.1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not (SMS.is_dir() and KV.is_dir()):
        pytest.skip("../shared/data is absent")
    tmp = tmp_path_factory.mktemp("leafclient")
    live = LiveServer(tmp / "ws")
    alice, bob = Client(live, "alice"), Client(live, "bob")
    try:
        # configuration first (Leaf: configs are not retroactive)
        for uid in ("isu", "kv"):
            alice("POST", f"{CONFIG}/configs/{uid}", 201, json=CONFIG_FLAGS)
        sms_zip = zip_files(
            tmp / "sms.zip", sorted(p for p in SMS.iterdir() if p.is_file())
        )
        kv_zip = zip_files(
            tmp / "kv.zip",
            sorted(p for p in (KV / "TASKDATA").iterdir()),
            root=KV,
        )
        uploads = {}
        for uid, z in (("isu", sms_zip), ("kv", kv_zip)):
            r = live.upload("alice", z, uid, provider="Other")
            assert r.status_code == 200, r.text
            uploads[uid] = r.json()
            seen = set()
            deadline = time.monotonic() + 300
            while True:  # every status on the wire is a documented one
                b = alice.get(f"{OPS}/batch/{r.json()['id']}")
                seen.add(b["status"])
                if b["status"] in ("PROCESSED", "FAILED"):
                    break
                assert time.monotonic() < deadline, b
                time.sleep(0.05)
            assert seen <= {"RECEIVED", "PROCESSED", "FAILED"}, seen
            assert b["status"] == "PROCESSED", b
        # a field around each leafUserId's points (client side: from standardGeojson)
        fields = {}
        for uid in ("isu", "kv"):
            files = alice.get(f"{OPS}/files", params={"leafUserId": uid})["operations"]
            feats = []
            for f in files:
                if f["status"] == "processed":
                    feats += json.loads(alice.download(f["downloadStandardGeojson"]))[
                        "features"
                    ]
            r = alice(
                "POST",
                f"{FIELDS}/users/{uid}/fields",
                json={"geometry": _bbox_polygon(feats), "name": f"{uid} field"},
            )
            fields[uid] = r.json()["id"]
        # bob uploads the same zip: his resources name him as API owner
        r = live.upload("bob", sms_zip, "bob-grower", provider="Other")
        bob_batch = live.wait_batch("bob", r.json()["id"], timeout=300)
        yield {
            "live": live,
            "alice": alice,
            "bob": bob,
            "uploads": uploads,
            "fields": fields,
            "bob_batch": bob_batch,
            "tmp": tmp,
            "sms_zip": sms_zip,
        }
    finally:
        live.stop()


def _files(world, uid: str) -> list[dict]:
    return world["alice"].get(f"{OPS}/files", params={"leafUserId": uid})["operations"]


def _harvest_files(world) -> list[dict]:
    return [
        f
        for f in _files(world, "isu")
        if f["status"] == "processed" and f["origin"] == "uploaded"
    ]


def _operation(world, uid: str) -> dict:
    ops = world["alice"].get(f"{OPS}/operations", params={"leafUserId": uid})
    assert isinstance(ops, list) and ops, ops  # documented as a bare array
    return ops[0]


# ------------------------------------------------------------------ batches (spec §4)
def test_upload_response_is_the_documented_one(world):
    up = world["uploads"]["isu"]
    assert set(up) >= {
        "id",
        "leafUserId",
        "fileName",
        "size",
        "provider",
        "status",
        "uploadTimestamp",
    }
    assert up["status"] == "RECEIVED" and up["provider"] == "Other"
    assert up["leafUserId"] == "isu" and up["fileName"] == "sms.zip"
    assert isinstance(up["size"], int) and up["size"] > 0


def test_upload_without_provider_is_a_400(world):
    live = world["live"]
    with open(world["sms_zip"], "rb") as fh:
        r = live.request(
            "alice",
            "POST",
            f"{OPS}/batch",
            params={"leafUserId": "isu"},
            files={"file": ("sms.zip", fh, "application/zip")},
        )
    assert r.status_code == 400, r.text
    assert "provider" in r.json()["detail"]


def test_get_batch_list_status_and_retry(world):
    alice = world["alice"]
    bid = world["uploads"]["isu"]["id"]
    b = alice.get(f"{OPS}/batch/{bid}")
    assert {"id", "leafUserId", "provider", "status", "leafFiles"} <= set(b)
    assert b["status"] == "PROCESSED" and len(b["leafFiles"]) == 3
    listing = alice.get(f"{OPS}/batch")
    assert isinstance(listing, list)  # documented as a bare array
    assert {x["id"] for x in listing} >= {bid}
    st = alice.get(f"{OPS}/batch/{bid}/status")
    assert set(st["converted"]["leafFiles"]) == set(b["leafFiles"])
    assert st["processing"]["leafFiles"] == [] and st["failed"] == {}
    retry = alice("PUT", f"{OPS}/batch/{bid}/retry").json()
    assert retry["status"] == "RECEIVED" and retry["id"] == bid
    assert {"leafUserId", "fileName", "size", "provider", "uploadTimestamp"} <= set(
        retry
    )
    world["live"].wait_batch("alice", bid)


# ------------------------------------------------------------------ files (spec §2, §3)
def test_get_all_files_has_the_documented_envelope(world):
    r = world["alice"]("GET", f"{OPS}/files", params={"size": 2, "page": 0})
    body = r.json()
    assert set(body) == {"message", "operations"} and body["message"] == "SUCCESS"
    assert len(body["operations"]) == 2
    assert int(r.headers["X-Total-Count"]) >= 4
    assert 'rel="next"' in r.headers["Link"]
    for params, n in (
        ({"leafUserId": "isu", "operationType": "harvested", "origin": "uploaded"}, 3),
        ({"leafUserId": "isu", "status": "processed", "provider": "AgLeader"}, None),
        ({"batchId": world["uploads"]["isu"]["id"]}, 3),
        ({"leafUserId": "isu", "operationType": "planted"}, 0),
    ):
        got = world["alice"].get(f"{OPS}/files", params=params)["operations"]
        if n is not None:
            assert len(got) == n, (params, [f["fileName"] for f in got])


def test_file_resource_keys_and_every_url_works(world):
    alice = world["alice"]
    for f in _harvest_files(world):
        f = alice.get(f"{OPS}/files/{f['id']}")
        assert set(f) >= FILE_KEYS, FILE_KEYS - set(f)
        assert f["apiOwnerUsername"] == "alice"
        assert f["fileFormat"] == "SHAPEFILE" and f["operationType"] == "harvested"
        assert isinstance(f["fields"], list) and f["fields"]
        assert f["summary"]["type"] == "Feature"
        for key in URL_KEYS:
            assert isinstance(f[key], str) and f[key].startswith("http"), (key, f[key])
            body = alice.download(f[key])
            if "Geojson" in key:
                doc = json.loads(body)
                assert doc["type"] == "FeatureCollection" and doc["features"]
                assert doc["features"][0]["geometry"]["type"] == "Point"


def test_file_summary_units_status(world):
    alice = world["alice"]
    fid = _harvest_files(world)[0]["id"]
    summary = alice.get(f"{OPS}/files/{fid}/summary")
    assert summary["type"] == "Feature"
    assert summary["geometry"]["type"] in ("MultiPolygon", "Polygon")
    props = summary["properties"]
    assert set(props) >= HARVEST_SUMMARY, HARVEST_SUMMARY - set(props)
    assert props["operationType"] == "harvested" and props["crop"] == ["soybeans"]
    assert set(props["harvestMoisture"]) >= {"avg", "min", "max", "unit"}
    assert props["harvestMoisture"]["unit"] == "prcnt"
    assert set(props["totalArea"]) == {"value", "unit"}
    units = alice.get(f"{OPS}/files/{fid}/units")
    assert units["harvestMoisture"] == "prcnt"
    assert units["yieldVolume"] == units["wetVolume"] == "bu"
    for key in ("wetMass", "dryMass", "wetVolume", "dryVolume", "elevation", "speed"):
        assert isinstance(units[key], str), key
    for method in ("GET", "PUT"):  # the docs' curl for a file status uses PUT
        steps = alice(method, f"{OPS}/files/{fid}/status").json()
        assert set(steps) >= STATUS_SAMPLE_STEPS, STATUS_SAMPLE_STEPS - set(steps)
        for name in STATUS_SAMPLE_STEPS:
            assert steps[name]["status"] == "processed", (name, steps[name])
            assert steps[name]["message"] == "ok", (name, steps[name])


def test_file_images_v1(world):
    alice = world["alice"]
    fid = _harvest_files(world)[0]["id"]
    images = alice.get(f"{OPS}/files/{fid}/images")
    assert isinstance(images, list) and images
    props = {i["property"] for i in images}
    assert {"harvestMoisture", "wetMass", "elevation"} <= props
    for img in images[:2]:
        assert img["ramp"] == RAMP
        assert alice.download(img["url"])[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<PAMDataset" in alice.download(img["url"] + ".aux.xml")


def test_merge_files(world):
    alice = world["alice"]
    ids = [f["id"] for f in _harvest_files(world)][:2]
    r = alice("POST", f"{OPS}/files/merge", json={"ids": ids}).json()
    assert set(r) == {"id", "status"} and r["status"] == "SENT_TO_MERGE"
    merged = alice.wait_file(r["id"])
    assert merged["status"] == "processed" and merged["origin"] == "merged"
    assert set(merged["sources"]) == set(ids)
    # files of two leafUserIds cannot be merged: HTTP 400
    other = _files(world, "kv")[0]["id"]
    bad = alice("POST", f"{OPS}/files/merge", 400, json={"ids": [ids[0], other]})
    assert bad.json()["status"] == 400


def test_merge_accepts_the_documented_curl_without_content_type(world):
    """The docs' curl sends ``-d '{"ids": [...]}'`` with no Content-Type header (curl
    then says form-urlencoded): leafnb reads the JSON body all the same."""
    live = world["live"]
    ids = [f["id"] for f in _harvest_files(world)][1:3]
    r = live.client.post(
        f"{OPS}/files/merge",
        content=json.dumps({"ids": ids}),
        headers={
            **live.headers("alice"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SENT_TO_MERGE"
    world["alice"].wait_file(r.json()["id"])


def test_coverage_helpers(world):
    alice = world["alice"]
    unc = alice.get(f"{OPS}/files/uncoveredFiles", params={"leafUserId": "isu"})
    assert set(unc) == {"files"} and isinstance(unc["files"], list)
    assert alice("GET", f"{OPS}/files/uncoveredFiles", 400).json()["status"] == 400
    fid = _harvest_files(world)[0]["id"]
    out = alice.get(f"{OPS}/files/{fid}/outsideFieldGeojson")
    assert {
        "fields",
        "featureCount",
        "outsideFieldGeojson",
        "downloadOutsideFieldGeojson",
    } <= set(out)
    assert isinstance(out["featureCount"], int)
    for key in ("outsideFieldGeojson", "downloadOutsideFieldGeojson"):
        doc = json.loads(alice.download(out[key]))
        assert doc["type"] == "FeatureCollection"
        assert len(doc["features"]) == out["featureCount"]


def test_standard_geoparquet_of_a_file(world):
    alice = world["alice"]
    fid = _harvest_files(world)[0]["id"]
    gp = alice.get(f"{OPS}/files/{fid}/standardGeoparquet")
    assert alice.download(gp["downloadStandardGeoparquet"])[:4] == b"PAR1"


# ------------------------------------------------------------------ operations (spec §5, §7, §8)
def test_operation_resource_and_views(world):
    alice = world["alice"]
    op = _operation(world, "isu")
    assert {
        "id",
        "apiOwnerUsername",
        "leafUserId",
        "startTime",
        "endTime",
        "updatedTime",
        "type",
        "files",
        "fields",
        "providers",
    } <= set(op)
    assert op["apiOwnerUsername"] == "alice" and op["type"] == "harvested"
    assert op["fields"][0]["id"] == world["fields"]["isu"]
    assert isinstance(op["fields"][0]["coverage"], float)
    oid = op["id"]
    base = f"{OPS}/operations/{oid}"
    assert alice.get(base)["id"] == oid
    assert alice.get(f"{base}/summary")["type"] == "Feature"
    units = alice.get(f"{base}/units")
    assert units["harvestMoisture"] == "prcnt" and units["yieldVolume"] == "bu"
    for view, keys in (
        ("standardGeojson", ("standardGeojson", "downloadStandardGeojson")),
        ("filteredGeojson", ("filteredGeojson", "downloadFilteredGeojson")),
        ("standardGeoparquet", ("downloadStandardGeoparquet",)),
        ("filteredGeoparquet", ("downloadFilteredGeoparquet",)),
    ):
        body = alice.get(f"{base}/{view}")
        assert set(keys) <= set(body), (view, body)
        for key in keys:
            data = alice.download(body[key])
            assert data[:4] == b"PAR1" if "parquet" in key.lower() else data[:1] == b"{"
    files = alice.get(f"{base}/files")
    assert {f["id"] for f in files} == set(op["files"])
    assert all(FILE_KEYS - {"batchId"} <= set(f) for f in files)


def test_operation_images(world):
    alice = world["alice"]
    base = f"{OPS}/operations/{_operation(world, 'isu')['id']}"
    v1 = alice.get(f"{base}/images")
    assert v1 and all(set(i) >= {"property", "ramp", "url"} for i in v1)
    assert alice.download(v1[0]["url"])[:4] == b"\x89PNG"
    v2 = alice.get(f"{base}/imagesV2")
    assert v2
    for img in v2:
        assert {"property", "legend", "extent", "url", "downloadUrl"} <= set(img)
        assert [r["colorCode"] for r in img["legend"]["ranges"]] == V2_COLOURS
        assert set(img["extent"]) == {"xmin", "xmax", "ymin", "ymax"}
    tifs = alice.get(f"{base}/geotiffImages")
    assert tifs and all(set(t) >= {"property", "url", "downloadUrl"} for t in tifs)
    assert alice.download(tifs[0]["downloadUrl"])[:2] in (b"II", b"MM")


def test_machines_implements_operators_sessions_agree(world):
    alice = world["alice"]
    for uid in ("isu", "kv"):
        op = _operation(world, uid)
        base = f"{OPS}/operations/{op['id']}"
        machines = alice.get(f"{base}/machines")
        implements = alice.get(f"{base}/implements")
        operators = alice.get(f"{base}/operators")
        assert set(machines) == {"machines"} and set(implements) == {"implements"}
        assert set(operators) == {"operators"}
        sessions = alice.get(f"{base}/sessions")
        assert sessions
        for entry in sessions:
            assert {"machineId", "serialNumber", "sessions"} <= set(entry)
            assert entry["machineId"] in machines["machines"]
            for s in entry["sessions"]:
                assert {"id", "startTime", "endTime", "operator", "area"} <= set(s)
                assert s["area"]["unit"] == "ha"
        for mid in machines["machines"]:
            m = alice.get(f"{BETA}/users/{uid}/machines/{mid}")
            assert m["id"] == mid and m["leafUserId"] == uid
            assert {"name", "originType", "serialNumber", "make", "model"} <= set(m)
            assert alice.get(f"{BETA}/users/{uid}/machines/{mid}/files")
        for iid in implements["implements"]:
            assert alice.get(f"{BETA}/users/{uid}/implements/{iid}")["id"] == iid
        for oid in operators["operators"]:
            assert alice.get(f"{BETA}/users/{uid}/operators/{oid}")["id"] == oid
        listed = {m["id"] for m in alice.get(f"{BETA}/users/{uid}/machines")}
        assert set(machines["machines"]) <= listed
    # ISOXML: serial numbers are the ones the task data's devices carry (DVC attribute E)
    xml = (KV / "TASKDATA" / "TASKDATA.XML").read_text(errors="replace")
    dvc_serials = set(re.findall(r'<DVC [^>]*\bE="([^"]*)"', xml))
    kv = _operation(world, "kv")
    serials = {
        alice.get(f"{BETA}/users/kv/{kind}/{aid}")["serialNumber"]
        for kind in ("machines", "implements")
        for aid in alice.get(f"{OPS}/operations/{kv['id']}/{kind}")[kind]
    } - {None}
    assert serials and serials <= dvc_serials, (serials, dvc_serials)
    for entry in alice.get(f"{OPS}/operations/{kv['id']}/sessions"):
        machine = alice.get(f"{BETA}/users/kv/machines/{entry['machineId']}")
        assert entry["serialNumber"] == machine["serialNumber"]
    alice("GET", f"{BETA}/users/kv/machines/not-a-machine", 404)


def test_crop_by_field_and_reprocess(world):
    alice = world["alice"]
    op = _operation(world, "isu")
    r = alice("POST", f"{OPS}/operations/cropOperationByField", json={"id": op["id"]})
    body = r.json()
    assert (
        body["id"] == op["id"] and body["message"] == "Sent operation to be processed."
    )
    assert "leafFileId" in body
    r = alice("POST", f"{OPS}/operations/{op['id']}/reprocess").json()
    assert r["id"] == op["id"]
    alice(
        "POST", f"{OPS}/operations/reprocess", json={"fieldId": world["fields"]["isu"]}
    )
    assert alice.get(f"{OPS}/operations/{op['id']}/summary")["type"] == "Feature"


def test_field_side_listing_of_operation_files(world):
    alice = world["alice"]
    fid = world["fields"]["isu"]
    base = f"{FIELDS}/users/isu/fields/{fid}/operations/files"
    items = alice.get(base)
    assert isinstance(items, list) and items
    for item in items:
        assert set(item) >= {
            "id",
            "operationType",
            "origin",
            "startTime",
            "endTime",
            "crops",
            "varieties",
            "providerFileId",
            "provider",
            "leafUserId",
        }
        assert item["leafUserId"] == "isu"
    assert alice.get(f"{base}/{items[0]['id']}")["id"] == items[0]["id"]
    assert alice.get(base, params={"operationType": "planted"}) == []
    assert {i["id"] for i in alice.get(base, params={"crop": "soybeans"})} == {
        i["id"] for i in items
    }
    assert alice.get(base, params={"operationType": "other"}) == []
    alice("GET", base, 400, params={"operationType": "mowed"})


# ------------------------------------------------------------------ configs (spec §12)
def test_configs_keep_every_documented_key(world):
    alice = world["alice"]
    owner = alice.get(f"{CONFIG}/configs")
    assert owner["apiOwnerUsername"] == "alice" and owner["leafUserId"] == ""
    user = alice.get(f"{CONFIG}/configs/isu")
    for key, value in CONFIG_FLAGS.items():
        assert user[key] == value, key
    r = alice("PATCH", f"{CONFIG}/configs/isu", json={"automaticFixBoundary": True})
    assert r.json()["automaticFixBoundary"] is True
    assert alice.get(f"{CONFIG}/configs/isu")["automaticFixBoundary"] is True


# ------------------------------------------------------------------ owners, errors
def test_api_owner_username_is_the_callers(world):
    bob = world["bob"]
    fid = world["bob_batch"]["leafFiles"][0]
    assert bob.get(f"{OPS}/files/{fid}")["apiOwnerUsername"] == "bob"
    assert bob.get(f"{CONFIG}/configs")["apiOwnerUsername"] == "bob"
    world["alice"]("GET", f"{OPS}/files/{fid}", 404)  # another owner's file


def test_errors_are_problem_json(world):
    live = world["live"]
    r = live.client.get(f"{OPS}/files")
    assert r.status_code == 401 and r.json()["status"] == 401
    r = world["alice"]("GET", f"{OPS}/files/00000000-0000-0000-0000-000000000000", 404)
    assert {"title", "status", "detail"} <= set(r.json())
    r = world["alice"]("GET", f"{OPS}/files", 400, params={"size": 1000})
    hooks = world["alice"].get(f"{ALERTS}/alerts/webhooks")
    assert isinstance(hooks, list)


def test_output_switches_gate_what_they_document(world):
    """bob switched nothing on: no GeoParquet link (404 naming the switch), and a batch
    processed file still has Leaf's GeoJSON links."""
    bob = world["bob"]
    fid = world["bob_batch"]["leafFiles"][0]
    r = bob("GET", f"{OPS}/files/{fid}/standardGeoparquet", 404)
    assert "enableGeoparquetOutput" in r.json()["detail"]
    assert bob.get(f"{OPS}/files/{fid}")["downloadStandardGeojson"].startswith("http")


def test_python_face_returns_the_same_keys_and_values(world):
    """The Workspace over the server's folder answers what HTTP answers; only links
    (local paths vs download URLs) and the API owner (``local`` vs the token's) differ."""
    from leafnb import Workspace

    alice = world["alice"]
    ws = Workspace(world["live"].workspace, executor="inline")
    fid = _harvest_files(world)[0]["id"]
    http, py = alice.get(f"{OPS}/files/{fid}"), json.loads(json.dumps(ws.get_file(fid)))
    assert set(http) == set(py)
    links = {k for k in http if isinstance(http[k], str) and http[k].startswith("http")}
    assert links >= set(URL_KEYS)
    for key in set(http) - links - {"apiOwnerUsername"}:
        assert http[key] == py[key], key
    for view, call in (
        ("units", ws.get_file_units),
        ("status", ws.get_file_status),
        ("summary", ws.get_file_summary),
    ):
        assert alice.get(f"{OPS}/files/{fid}/{view}") == json.loads(
            json.dumps(call(fid))
        ), view
    bid = world["uploads"]["isu"]["id"]
    assert alice.get(f"{OPS}/batch/{bid}") == json.loads(json.dumps(ws.get_batch(bid)))
