"""Sessions, machines and operators over HTTP name what the ISOXML task data names.

A synthetic TASKDATA (leafnb's writer): one combine ``DVC1`` with serial ``SN-0001``
(attribute E) and a worker ``WKR1`` "Demo operator" allocated to the task (``WAN``).
Sessions, /machines, /operators and the beta asset look-ups must all agree on them.
"""

from __future__ import annotations

import time

import pytest

from leafnb.formats.isoxml.writer import write_taskdata
from tests.conftest import zip_files
from tests.formats.isoxml.test_tlg import make_spec
from tests.server.conftest import OPS, auth, upload, wait_batch

BETA = "/services/beta/api"
POLY = [(10.19, 54.49), (10.25, 54.49), (10.25, 54.52), (10.19, 54.52)]


@pytest.fixture
def isoxml_operation(client, tokens, tmp_path):
    h = auth(tokens["alice"])
    task = write_taskdata(
        tmp_path / "src" / "TASKDATA",
        [make_spec(n=300, name="TLG00001", logged="ABC")],
        field_polygon=POLY,
    )
    z = zip_files(
        tmp_path / "t.zip", sorted(task.parent.iterdir()), root=task.parent.parent
    )
    r = client.post(
        "/services/config/api/configs/iso",
        json={"enableOperationsSession": True},
        headers=h,
    )
    assert r.status_code == 201, r.text
    batch = wait_batch(
        client, tokens["alice"], upload(client, tokens["alice"], z, "iso").json()["id"]
    )
    assert batch["status"] == "PROCESSED", batch
    # the task's partfield (PFD + polygon) becomes the leafUserId's field, and the file
    # its operation, once the batch's follow-up work ran
    deadline = time.monotonic() + 60
    while True:
        ops = client.get(f"{OPS}/operations", params={"leafUserId": "iso"}, headers=h)
        if ops.json() or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (op,) = ops.json()
    return h, op, batch


def test_sessions_name_the_device_serial_and_the_worker(client, isoxml_operation):
    h, op, batch = isoxml_operation
    base = f"{OPS}/operations/{op['id']}"
    (entry,) = client.get(f"{base}/sessions", headers=h).json()
    assert entry["serialNumber"] == "SN-0001"
    assert {s["operator"]["name"] for s in entry["sessions"]} == {"Demo operator"}
    assert client.get(f"{base}/machines", headers=h).json() == {
        "machines": [entry["machineId"]]
    }
    machine = client.get(
        f"{BETA}/users/iso/machines/{entry['machineId']}", headers=h
    ).json()
    assert machine["serialNumber"] == "SN-0001" and machine["name"] == "Combine"
    assert machine["originType"] == "FILE_POOLED"
    (oid,) = client.get(f"{base}/operators", headers=h).json()["operators"]
    assert oid == entry["sessions"][0]["operator"]["id"]
    operator = client.get(f"{BETA}/users/iso/operators/{oid}", headers=h).json()
    assert operator["name"] == "Demo operator"
    assert operator["providerOperatorId"] == "WKR1"
    files = client.get(
        f"{BETA}/users/iso/machines/{entry['machineId']}/files", headers=h
    ).json()
    assert set(batch["leafFiles"]) <= {f["leafFileId"] for f in files}
    for f in files:
        assert f["machineId"] == entry["machineId"]
        assert {"id", "startTime", "endTime", "distance", "fuelConsumption"} <= set(f)


def test_asset_look_ups_are_the_owners_only(client, tokens, isoxml_operation):
    h, op, _ = isoxml_operation
    mid = client.get(f"{OPS}/operations/{op['id']}/machines", headers=h).json()[
        "machines"
    ][0]
    bob = auth(tokens["bob"])
    r = client.get(f"{BETA}/users/iso/machines/{mid}", headers=bob)
    assert r.status_code == 404
    assert client.get(f"{BETA}/users/iso/machines", headers=bob).status_code == 404
    r = client.get(f"{BETA}/users/iso/implements/nope", headers=h)
    assert r.status_code == 404 and r.json()["status"] == 404
