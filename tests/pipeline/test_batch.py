"""End-to-end batch behaviour on small generated inputs."""

import json
import threading

import pytest

from leafnb import Workspace
from leafnb.errors import InvalidRequest, NotFound, UnsafeArchive
from tests.conftest import SMS_CSV, make_zip


def test_upload_converts_and_records_every_step(workspace, harvest_csv_zip):
    events = []
    workspace.on("uploadedFileProcessingFinished", events.append)
    batch = workspace.upload_batch(harvest_csv_zip, "grower-1")
    assert batch["status"] == "PROCESSED" and len(batch["leafFiles"]) == 1
    fid = batch["leafFiles"][0]
    f = workspace.get_file(fid)
    assert (f["status"], f["operationType"], f["recordCount"], f["skippedRecords"]) == (
        "processed",
        "harvested",
        40,
        0,
    )
    assert (
        f["batchId"] == batch["id"]
        and f["origin"] == "uploaded"
        and f["leafUserId"] == "grower-1"
    )
    steps = workspace.get_file_status(fid)
    assert list(steps) == [
        "originalFile",
        "rawGeojson",
        "normalizedGeojson",
        "areaAndYield",
        "cleanupGeojson",
        "standardGeojson",
        "filteredGeojson",
        "summary",
        "units",
        "propertiesPNGs",
    ]
    assert all(s["status"] == "processed" for s in steps.values())
    assert all(s["message"] == "ok" for s in steps.values())
    summary = workspace.get_file_summary(fid)
    assert (
        summary["type"] == "Feature" and summary["geometry"]["type"] == "MultiPolygon"
    )
    props = summary["properties"]
    assert (
        props["crop"] == ["corn"] and props["startTime"] == "2024-10-01T12:00:00.000Z"
    )
    assert props["dryVolumePerArea"]["unit"] == "bu/ac"
    assert props["totalArea"]["unit"] == "m2"
    # 40 points × 4.4 ft × 30 ft
    assert props["totalArea"]["value"] == pytest.approx(40 * 4.4 * 30 * 0.09290304)
    units = workspace.get_file_units(fid)
    assert units["speed"] == "mi/hr" and units["area"] == "m2"
    assert [e["fileId"] for e in events] == [fid]
    json.dumps(workspace.get_file(fid))  # resources are JSON-serialisable
    gdf = workspace.points(fid)
    assert (
        len(gdf) == 40
        and gdf.crs.to_epsg() == 4326
        and gdf.attrs["units"]["speed"] == "mi/hr"
    )


def test_unit_measurement_metric(workspace, harvest_csv_zip):
    workspace.set_config({"unitMeasurement": "METRIC"})
    fid = workspace.upload_batch(harvest_csv_zip, "g")["leafFiles"][0]
    units = workspace.get_file_units(fid)
    assert (
        units["speed"] == "m/s"
        and units["dryVolumePerArea"] == "m3/ha"
        and units["wetMass"] == "t"
    )
    assert workspace.get_file_summary(fid)["properties"]["totalArea"]["unit"] == "ha"


def test_cleanup_removes_and_no_points_passed(workspace, tmp_path):
    bad = SMS_CSV.replace(b",18.5,", b",0,")  # moisture 0 fails the default rule
    z = make_zip(tmp_path / "bad.zip", {"bad.csv": bad})
    batch = workspace.upload_batch(z, "g")
    assert batch["status"] == "FAILED"
    assert batch["statusDetails"].startswith("Files found but unable to read")
    fid = batch["leafFiles"][0]
    steps = workspace.get_file_status(fid)
    assert steps["cleanupGeojson"]["status"] == "processed"
    assert "harvestMoisture: 40" in steps["cleanupGeojson"]["detail"]
    assert steps["standardGeojson"] == {
        "status": "failed",
        "message": "no points passed the filter",
    }
    assert steps["summary"]["status"] == "skipped"
    groups = workspace.get_batch_status(batch["id"])
    assert groups["failed"]["standardGeojson"]["leafFiles"] == [fid]
    assert (
        groups["failed"]["standardGeojson"]["message"] == "no points passed the filter"
    )
    # turning cleanup off and retrying converts the same file; converted files stay untouched
    workspace.set_config({"cleanupStandardGeojson": False})
    workspace.retry_batch(batch["id"])
    assert workspace.get_batch(batch["id"])["status"] == "PROCESSED"
    assert workspace.get_file_status(fid)["cleanupGeojson"]["status"] == "skipped"


def test_retry_redoes_only_failed_files(workspace, tmp_path):
    bad = SMS_CSV.replace(b",18.5,", b",0,")
    z = make_zip(tmp_path / "mixed.zip", {"good.csv": SMS_CSV, "bad.csv": bad})
    batch = workspace.upload_batch(z, "g")
    assert batch["status"] == "PROCESSED"
    good = next(
        f
        for f in workspace.get_files(batchId=batch["id"])
        if f["status"] == "processed"
    )
    before = good["updatedTime"]
    workspace.retry_batch(batch["id"])
    assert workspace.get_file(good["id"])["updatedTime"] == before


def test_missing_required_properties_message(workspace, tmp_path):
    csv = b"Longitude,Latitude,Yld Vol(Dry)(bu/ac)\n-93.6,42.0,150\n-93.6001,42.0,151\n"
    z = make_zip(tmp_path / "m.zip", {"m.csv": csv})
    # leafnb default: converted, flagged out of standard
    fid = workspace.upload_batch(z, "g")["leafFiles"][0]
    f = workspace.get_file(fid)
    assert f["status"] == "processed" and {"timestamp", "crop", "elevation"} <= set(
        f["outOfStandard"]
    )
    assert (
        "out of standard: missing timestamp"
        in workspace.get_file_status(fid)["standardGeojson"]["detail"]
    )
    # Leaf's strict rule
    workspace.set_config({"outOfStandardOperations": False})
    fid = workspace.upload_batch(z, "g")["leafFiles"][0]
    msg = workspace.get_file_status(fid)["standardGeojson"]["message"]
    assert msg.startswith("missing required properties: ")
    assert "timestamp" in msg and "crop" in msg


def test_essential_properties_always_required(workspace, tmp_path):
    csv = b"Longitude,Latitude,Moisture(%),Crop\n-93.6,42.0,15,corn\n-93.6001,42.0,16,corn\n"
    fid = workspace.upload_batch(make_zip(tmp_path / "e.zip", {"e.csv": csv}), "g")[
        "leafFiles"
    ][0]
    step = workspace.get_file_status(fid)["standardGeojson"]
    assert step["status"] == "failed"
    # Leaf's text, then the file and what its columns were understood as (issue 13)
    assert step["message"] == (
        "missing required properties: wetMass or wetMassPerArea; e.csv: columns "
        "understood: Moisture(%) → harvestMoisture (%); Crop → crop — a columnMapping "
        "can say what a column means"
    )


def test_empty_zip_and_junk_only(workspace, tmp_path):
    empty = make_zip(tmp_path / "empty.zip", {})
    batch = workspace.upload_batch(empty, "g")
    assert (batch["status"], batch["statusDetails"], batch["leafFiles"]) == (
        "FAILED",
        "No valid files found",
        [],
    )
    junk = make_zip(
        tmp_path / "junk.zip",
        {
            ".DS_Store": b"x",
            "__MACOSX/._a": b"x",
            "Thumbs.db": b"x",
            "notes.pdf": b"%PDF-1.4",
        },
    )
    batch = workspace.upload_batch(junk, "g")
    assert batch["statusDetails"] == "No valid files found" and batch["leafFiles"] == []


def test_unsafe_and_invalid_uploads_leave_workspace_intact(
    workspace, tmp_path, harvest_csv_zip
):
    workspace.upload_batch(harvest_csv_zip, "g")
    import zipfile

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.csv", SMS_CSV)
    with pytest.raises(UnsafeArchive, match="path traversal"):
        workspace.upload_batch(evil, "g")
    trunc = tmp_path / "trunc.zip"
    trunc.write_bytes(harvest_csv_zip.read_bytes()[:100])
    with pytest.raises(InvalidRequest, match="not a valid zip"):
        workspace.upload_batch(trunc, "g")
    with pytest.raises(InvalidRequest, match=r"only \.zip"):
        workspace.upload_batch(tmp_path / "data.csv", "g") if (
            tmp_path / "data.csv"
        ).write_text("x") else None
    assert len(workspace.get_batches()) == 1
    assert not list(tmp_path.rglob("escape.csv"))
    assert len(list((workspace.path / "batches").iterdir())) == 1


def test_provider_validation_and_mismatch(workspace, harvest_csv_zip):
    with pytest.raises(InvalidRequest, match="not a valid provider"):
        workspace.upload_batch(harvest_csv_zip, "g", provider="Nope")
    batch = workspace.upload_batch(harvest_csv_zip, "g", provider="JohnDeere")
    f = workspace.get_file(batch["leafFiles"][0])
    assert f["status"] == "processed"


def test_background_upload_and_events(workspace, harvest_csv_zip):
    done = threading.Event()
    workspace.on("batchUploadProcessingFinished", lambda e: done.set())
    received = workspace.upload_batch(harvest_csv_zip, "g", wait=False)
    assert received["status"] == "RECEIVED"
    assert set(received) == {
        "id",
        "leafUserId",
        "fileName",
        "size",
        "provider",
        "status",
        "uploadTimestamp",
    }
    assert done.wait(60)
    workspace.wait()
    assert workspace.get_batch(received["id"])["status"] == "PROCESSED"
    types = [e["type"] for e in workspace.get_events()]
    assert types == ["uploadedFileProcessingFinished", "batchUploadProcessingFinished"]


def test_two_workspaces_on_one_folder(tmp_path, harvest_csv_zip):
    a, b = Workspace(tmp_path / "shared"), Workspace(tmp_path / "shared")
    results = []

    def run(ws):
        results.append(ws.upload_batch(harvest_csv_zip, "g", progress=False)["status"])

    threads = [threading.Thread(target=run, args=(ws,)) for ws in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["PROCESSED"] * 4
    assert a.get_files(leafUserId="g").total == 4 == b.get_files(leafUserId="g").total


def test_not_found(workspace):
    with pytest.raises(NotFound, match="file 'nope' not found"):
        workspace.get_file("nope")
    with pytest.raises(NotFound, match="batch"):
        workspace.get_batch("nope")


def test_shapefile_without_dbf_and_csv_without_coordinates_fail_alone(
    workspace, tmp_path, harvest_csv_zip
):
    from leafnb.testing import make_points, write_as

    shp = write_as(
        make_points("harvested", 50, seed=1),
        "sms_shapefile",
        tmp_path / "shp",
        name="field1",
    )
    parts = {p.name: p for p in shp.parent.iterdir() if p.suffix != ".dbf"}
    no_coords = b"Time,Yld Vol(Dry)(bu/ac),Moisture(%)\n2024-10-01T12:00:00Z,150,18\n"
    z = make_zip(
        tmp_path / "bad.zip", {**parts, "nocoords.csv": no_coords, "good.csv": SMS_CSV}
    )
    batch = workspace.upload_batch(z, "g")
    assert (
        batch["status"] == "PROCESSED"
    )  # the good file converts; the bad ones fail alone
    by_name = {f["fileName"]: f for f in workspace.get_files(batchId=batch["id"])}
    assert by_name["good.csv"]["status"] == "processed"
    shp_msg = workspace.get_file_status(by_name["field1.shp"]["id"])["rawGeojson"]
    assert shp_msg["status"] == "failed" and ".dbf" in shp_msg["message"]
    csv_msg = workspace.get_file_status(by_name["nocoords.csv"]["id"])["rawGeojson"]
    assert csv_msg["status"] == "failed" and "coordinate" in csv_msg["message"]
