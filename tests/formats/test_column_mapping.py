"""A user column mapping fixes what inference gets wrong: at upload, as config, on retry
and reprocess, from the CLI and over HTTP; the file records what was understood."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from leafnb.errors import InvalidRequest
from leafnb.leafwire import ensure_artifact
from leafnb.store.artifacts import read_points_table, write_geojson
from tests.conftest import make_zip

# A real-world shape (the Minnesota "gartner.corn" yield-monitor table, whose "mass"
# inference reads as a flow since the file names an interval) with the flow column
# unnamed, as R writes it ("V3"): grain mass flow (lb/s), which no name vocabulary
# can know; "time" counts seconds from the start of the day's work.
HEADER = "long,lat,V3,time,seconds,dist,moist,elev\n"
ROWS = "".join(
    f"{-93.97842 + (i % 50) * 1e-6:.6f},{43.927265 - i * 5.5e-5:.6f},{30 + i % 7},"
    f"{3 * i},3,{230 + i % 9},17.{i % 9},1030.5\n"
    for i in range(120)
)
MAPPING = {
    "V3": {"property": "cropFlow", "unit": "lb/s"},
    "seconds": "samplingInterval",
}


@pytest.fixture
def upload(tmp_path):
    return make_zip(
        tmp_path / "ym.zip", {"yield_monitor.csv": (HEADER + ROWS).encode()}
    )


def _only_file(ws, batch):
    (fid,) = batch["leafFiles"]
    return ws.get_file(fid)


def test_inference_alone_cannot_read_it_and_says_what_it_understood(workspace, upload):
    f = _only_file(workspace, workspace.upload_batch(upload, "g", progress=False))
    assert f["status"] == "failed"
    msg = workspace.get_file_status(f["id"])["standardGeojson"]["message"]
    assert msg.startswith("missing required properties: wetMass or wetMassPerArea; ")
    assert "yield_monitor.csv: columns understood: " in msg
    assert "dist → distance (in)" in msg
    assert "moist → harvestMoisture (%)" in msg
    assert "V3 (name not recognised)" in msg
    mapping = f["columnMapping"]
    assert mapping["unused"]["V3"] == "name not recognised"
    assert mapping["columns"]["time"]["timeEncoding"] == "relative"


def _check_converted(ws, f):
    assert f["status"] == "processed", ws.get_file_status(f["id"])
    assert f["columnMapping"]["columns"]["V3"] == {
        "property": "cropFlow",
        "unit": "lb/s",
        "score": 1.0,
        "basis": "column mapping",
    }
    pts = ws.load_points(f["id"])
    wet = pts.array("wetMass")
    # wet mass = flow × interval, summed over the raw columns independently
    flow = np.array([30 + i % 7 for i in range(120)], dtype=float)
    expected_lb = float((flow * 3).sum())
    from leafnb.standard.units import convert

    got_lb = float(convert(np.nansum(wet), pts.units["wetMass"], "lb"))
    assert got_lb == pytest.approx(expected_lb, rel=1e-9)


def test_mapping_at_upload_fixes_it(workspace, upload):
    batch = workspace.upload_batch(upload, "g", progress=False, column_mapping=MAPPING)
    _check_converted(workspace, _only_file(workspace, batch))


def test_config_key_then_retry_fixes_it(workspace, upload):
    batch = workspace.upload_batch(upload, "g", progress=False)
    assert _only_file(workspace, batch)["status"] == "failed"
    cfg = workspace.set_config({"columnMapping": MAPPING}, leaf_user_id="g")
    assert cfg["columnMapping"] == MAPPING
    workspace.retry_batch(batch["id"])
    _check_converted(workspace, _only_file(workspace, workspace.get_batch(batch["id"])))


def test_retry_with_a_mapping_fixes_it(workspace, upload):
    batch = workspace.upload_batch(upload, "g", progress=False)
    workspace.retry_batch(batch["id"], column_mapping=MAPPING)
    _check_converted(workspace, _only_file(workspace, workspace.get_batch(batch["id"])))


def test_reprocess_a_converted_file_with_a_corrected_unit(workspace, tmp_path):
    body = "Longitude,Latitude,Time,Yield,Width,Moisture\n" + "".join(
        f"{-93.6 + i * 2e-5:.6f},42.0,2024-10-01T12:00:{i % 60:02d}Z,180,30,17\n"
        for i in range(60)
    )
    batch = workspace.upload_batch(
        make_zip(tmp_path / "w.zip", {"w.csv": body.encode()}), "g", progress=False
    )
    f = _only_file(workspace, batch)
    assert f["status"] == "processed"
    assert f["columnMapping"]["columns"]["Width"]["unit"] == "ft"  # the regional guess
    area_ft = f["summary"]["properties"]["totalArea"]
    before = ensure_artifact(f["standardGeojson"]).read_bytes()  # made on download
    f2 = workspace.reprocess_file(
        f["id"], column_mapping={"Width": {"property": "equipmentWidth", "unit": "m"}}
    )
    assert f2["status"] == "processed"
    assert f2["columnMapping"]["columns"]["Width"]["unit"] == "m"
    area_m = f2["summary"]["properties"]["totalArea"]
    assert area_m["value"] / area_ft["value"] == pytest.approx(1 / 0.3048, rel=1e-6)
    # the GeoJSON made from the earlier standard points is not served again
    after = ensure_artifact(f2["standardGeojson"]).read_bytes()
    table, _ = read_points_table(Path(f2["standardGeojson"]).with_suffix(".parquet"))
    fresh = write_geojson(tmp_path / "fresh.geojson", table).read_bytes()
    assert after == fresh != before
    # a later retry keeps the file's mapping
    workspace.retry_batch(batch["id"])
    assert (
        workspace.get_file(f["id"])["columnMapping"]["columns"]["Width"]["unit"] == "m"
    )


def test_bad_mapping_is_refused_before_upload(workspace, upload):
    with pytest.raises(InvalidRequest, match="not a standard property"):
        workspace.upload_batch(upload, "g", column_mapping={"V3": "massiness"})
    with pytest.raises(InvalidRequest, match="columnMapping"):
        workspace.set_config({"columnMapping": ["V3"]})


def test_cli_option(tmp_path, upload, capsys):
    from leafnb.cli import main

    rc = main(
        [
            "convert",
            str(upload),
            "--workspace",
            str(tmp_path / "cli_ws"),
            "--create",
            "--json",
            "--column-mapping",
            json.dumps(MAPPING),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["files"][0]["status"] == "processed"
    mapping_file = tmp_path / "m.json"
    mapping_file.write_text(json.dumps(MAPPING))
    rc = main(
        ["convert", str(upload), "--workspace", str(tmp_path / "cli2"), "--create",
         "--column-mapping", f"@{mapping_file}"]
    )  # fmt: skip
    assert rc == 0


def test_http_query_parameter(tmp_path, upload):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from leafnb.server.app import create_app

    app = create_app(tmp_path / "ws")
    token = app.state.store.create_token("alice")
    ops = "/services/operations/api"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(app, base_url="http://testserver") as client:

            def post(params):
                with open(upload, "rb") as fh:
                    return client.post(
                        f"{ops}/batch",
                        params={"leafUserId": "g", "provider": "Other", **params},
                        files={"file": ("ym.zip", fh, "application/zip")},
                        headers=headers,
                    )

            bad = post({"columnMapping": "{not json"})
            assert bad.status_code == 400 and "columnMapping" in bad.text
            bad = post({"columnMapping": json.dumps({"V3": "nope"})})
            assert bad.status_code == 400
            r = post({"columnMapping": json.dumps(MAPPING)})
            assert r.status_code == 200, r.text
            app.state.workspace.wait(60)
            batch = client.get(f"{ops}/batch/{r.json()['id']}", headers=headers).json()
            assert batch["status"] == "PROCESSED"
            f = client.get(
                f"{ops}/files/{batch['leafFiles'][0]}", headers=headers
            ).json()
            assert f["columnMapping"]["columns"]["V3"]["basis"] == "column mapping"
    finally:
        app.state.dispatcher.close()
        app.state.workspace.wait(30)


def test_unknown_operation_type_failure_says_what_was_understood(workspace, tmp_path):
    body = "Longitude,Latitude,Tgt_Rate_k,Speed_mph_\n" + "".join(
        f"{-93.6 + i * 2e-5:.6f},42.0,32,4.5\n" for i in range(20)
    )
    z = make_zip(tmp_path / "t.zip", {"target_only.csv": body.encode()})
    (fid,) = workspace.upload_batch(z, "g", progress=False)["leafFiles"]
    msg = workspace.get_file_status(fid)["normalizedGeojson"]["message"]
    assert msg.startswith("unsupported operation type: unknown; target_only.csv: ")
    assert "Speed_mph_ → speed (mi/hr)" in msg
    assert "Tgt_Rate_k (its name means a property of applied or planted files)" in msg
