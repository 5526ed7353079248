"""A real SMS shapefile export uploaded over HTTP reads back the same summary as the Python API."""

from __future__ import annotations

import json

import pytest

from leafnb import Workspace
from tests.conftest import zip_files
from tests.server.conftest import OPS, auth, upload, wait_batch

pytestmark = pytest.mark.real_data


def test_sms_shapefiles_over_http_match_python_api(
    client, app, tokens, shared_data, tmp_path
):
    folder = (
        shared_data / "shapefile" / "isu_strips_yield" / "sms_shapefile_export_2013"
    )
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    z = zip_files(
        tmp_path / "sms.zip", sorted(p for p in folder.iterdir() if p.is_file())
    )
    h = auth(tokens["alice"])
    r = upload(client, tokens["alice"], z, "isu", provider="Other")
    assert r.status_code == 200 and r.json()["status"] == "RECEIVED"
    batch = wait_batch(client, tokens["alice"], r.json()["id"], timeout=300)
    assert batch["status"] == "PROCESSED", batch
    reference = Workspace(tmp_path / "ref")
    ref_batch = reference.upload_batch(z, "isu")
    ref_by_name = {reference.get_file(f)["fileName"]: f for f in ref_batch["leafFiles"]}
    assert len(batch["leafFiles"]) == len(ref_by_name) >= 2
    for fid in batch["leafFiles"]:
        f = client.get(f"{OPS}/files/{fid}", headers=h).json()
        ref_id = ref_by_name[f["fileName"]]
        assert f["status"] == reference.get_file(ref_id)["status"]
        if f["status"] != "processed":
            continue
        got = client.get(f"{OPS}/files/{fid}/summary", headers=h).json()
        assert got == json.loads(json.dumps(reference.get_file_summary(ref_id)))
        assert client.get(
            f"{OPS}/files/{fid}/units", headers=h
        ).json() == reference.get_file_units(ref_id)
