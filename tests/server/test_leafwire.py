"""Leaf's wire shape (leafnb.leafwire, leafnb.standard.leaf_units) on synthetic resources."""

from __future__ import annotations

import json

import pyarrow as pa

from leafnb.leafwire import (
    batch_wire,
    ensure_artifact,
    field_file_wire,
    file_resource_wire,
    steps_wire,
)
from leafnb.standard.leaf_units import summary_wire, units_map_wire, wire_unit
from leafnb.store.artifacts import write_geoparquet


def test_units_use_leafs_strings():
    assert wire_unit("percentage") == "prcnt" and wire_unit("bu/ac") == "bu/ac"
    harvest = units_map_wire(
        {"harvestMoisture": "percentage", "wetVolume": "bu", "dryVolume": "bu"},
        "harvested",
    )
    assert harvest == {
        "harvestMoisture": "prcnt",
        "wetVolume": "bu",
        "dryVolume": "bu",
        "yieldVolume": "bu",
    }
    # yieldVolume only for harvests, and from dryVolume when there is no wet volume
    assert "yieldVolume" not in units_map_wire({"singulation": "percentage"}, "planted")
    assert units_map_wire({"dryVolume": "m3"}, "harvested")["yieldVolume"] == "m3"
    summary = {
        "properties": {
            "harvestMoisture": {"avg": 14.0, "unit": "percentage"},
            "varieties": [{"harvestMoisture": {"avg": 1, "unit": "percentage"}}],
            "crop": ["corn"],
        }
    }
    out = summary_wire(summary)
    assert out["properties"]["harvestMoisture"]["unit"] == "prcnt"
    assert out["properties"]["varieties"][0]["harvestMoisture"]["unit"] == "prcnt"
    assert out["properties"]["crop"] == ["corn"]


def test_batch_status_is_received_while_work_goes_on():
    b = batch_wire({"id": "b", "status": "PROCESSING"})
    assert b["status"] == "RECEIVED" and b["processingStatus"] == "PROCESSING"
    assert b["statusDetails"].startswith("PROCESSING")
    assert batch_wire({"status": "RECEIVED"}) == {"status": "RECEIVED"}
    done = batch_wire({"status": "FAILED", "statusDetails": "No valid files found"})
    assert done == {"status": "FAILED", "statusDetails": "No valid files found"}


def test_steps_say_ok_and_keep_the_detail():
    steps = steps_wire(
        {
            "rawGeojson": {"status": "processed", "message": "ok: 5 records"},
            "standardGeojson": {"status": "processed", "message": "ok"},
            "summary": {"status": "failed", "message": "boom"},
        }
    )
    assert steps["rawGeojson"] == {
        "status": "processed",
        "message": "ok",
        "detail": "ok: 5 records",
    }
    assert steps["standardGeojson"] == {"status": "processed", "message": "ok"}
    assert steps["summary"] == {"status": "failed", "message": "boom"}
    assert steps["propertiesPNGs"]["status"] == "processed"
    failed = steps_wire(
        {"standardGeojson": {"status": "failed", "message": "no points passed"}}
    )
    assert failed["propertiesPNGs"] == {"status": "skipped", "message": "skipped"}
    running = steps_wire({"originalFile": {"status": "processing", "message": ""}})
    assert running["propertiesPNGs"]["status"] == "processing"
    assert steps_wire({}) == {}


def test_geojson_links_exist_once_the_points_do_and_write_on_first_use(tmp_path):
    folder = tmp_path / "files" / "f1"
    folder.mkdir(parents=True)
    res = file_resource_wire({"id": "f1"}, folder)
    assert res["rawGeojson"] is None and res["downloadStandardGeojson"] is None
    table = pa.table({"lon": [1.0, 2.0], "lat": [3.0, 4.0], "speed": [0.5, 0.7]})
    write_geoparquet(folder / "standard.parquet", table)
    res = file_resource_wire({"id": "f1"}, folder)
    target = folder / "standard.geojson"
    assert res["standardGeojson"] == str(target)
    assert res["downloadStandardGeojson"] == target.as_uri()
    assert res["rawGeojson"] is None  # no raw.parquet
    assert not target.exists()
    ensure_artifact(res["standardGeojson"])
    doc = json.loads(target.read_text())
    assert [f["geometry"]["coordinates"] for f in doc["features"]] == [
        [1.0, 3.0],
        [2.0, 4.0],
    ]
    assert doc["features"][1]["properties"] == {"speed": 0.7}


def test_field_file_item_has_leafs_keys():
    item = field_file_wire(
        {
            "id": "f",
            "operationType": "harvested",
            "origin": "uploaded",
            "startTime": "s",
            "endTime": "e",
            "provider": "Leaf",
            "leafUserId": "u",
            "summary": {
                "properties": {"crop": ["corn"], "varieties": [{"name": "P1197"}]}
            },
        }
    )
    assert item == {
        "id": "f",
        "operationType": "harvested",
        "origin": "uploaded",
        "startTime": "s",
        "endTime": "e",
        "crops": ["corn"],
        "varieties": ["P1197"],
        "providerFileId": "f",
        "provider": "Leaf",
        "leafUserId": "u",
    }


def test_the_standard_export_is_made_only_for_files_and_operations(tmp_path):
    """``export/standard.parquet`` comes from its folder's points, never from an upload."""
    from leafnb.leafwire import lazy_source

    for kind in ("files", "operations"):
        folder = tmp_path / kind / "id1"
        folder.mkdir(parents=True)
        (folder / "standard.parquet").write_bytes(b"points")
        assert lazy_source(folder / "export" / "standard.parquet") == (
            folder / "standard.parquet"
        )
    upload = tmp_path / "batches" / "b1" / "extracted" / "field7"
    (upload / "export").mkdir(parents=True)
    (upload / "standard.parquet").write_bytes(b"a user's own file")
    assert lazy_source(upload / "export" / "standard.parquet") is None
