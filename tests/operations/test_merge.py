"""Manual merge (POST /files/merge): validation messages, processing, totals."""

from __future__ import annotations

import pytest

from leafnb.errors import InvalidRequest
from tests.conftest import SMS_CSV, make_zip
from tests.operations.conftest import shifted, upload


@pytest.fixture
def files(ws, tmp_path):
    ids = upload(
        ws,
        {
            "h1": (shifted("harvested", 400, 1), "sms_shapefile"),
            "h2": (shifted("harvested", 400, 2, days=1), "sms_shapefile"),
            "p1": (shifted("planted", 400, 3), "jd_shapefile"),
        },
        tmp_path,
    )
    other = upload(
        ws,
        {"h9": (shifted("harvested", 400, 9), "sms_shapefile")},
        tmp_path,
        uid="someone-else",
        name="o",
    )
    bad = ws.upload_batch(
        make_zip(tmp_path / "bad.zip", {"bad.csv": SMS_CSV.replace(b",18.5,", b",0,")}),
        "grower-1",
        progress=False,
    )
    return {**ids, **other, "bad": bad["leafFiles"][0]}


def test_validation_messages(ws, files):
    h1, h2, p1, h9, bad = (files[k] for k in ("h1", "h2", "p1", "h9", "bad"))
    cases = [
        ([h1], "merge needs at least 2 file ids, got 1"),
        ("abc", "ids must be a list of file ids"),
        ([h1, h1], f"file ids given more than once: {h1}"),
        ([h1, "nope"], "files not found: nope"),
        (
            [h1, h9],
            f"all files must belong to the same leafUserId; found grower-1 ({h1}); someone-else ({h9})",
        ),
        (
            [h1, bad],
            f"all files must have status processed; not processed: {bad} (failed)",
        ),
        (
            [h1, h2, p1],
            f"all files must have the same operation type; found harvested ({h1}, {h2}); planted ({p1})",
        ),
    ]
    for ids, message in cases:
        with pytest.raises(InvalidRequest) as info:
            ws.merge_files(ids)
        assert str(info.value) == message
    assert ws.get_files(origin="merged").total == 0


def test_merge_processes_like_a_file(ws, files):
    events = []
    ws.on("mergedFileProcessingFinished", events.append)
    resp = ws.merge_files([files["h2"], files["h1"]])
    assert set(resp) == {"id", "status"} and resp["status"] == "SENT_TO_MERGE"
    f = ws.get_file(resp["id"])
    assert (
        f["origin"] == "merged"
        and f["status"] == "processed"
        and f["sources"] == [files["h2"], files["h1"]]
    )
    assert (
        f["operationType"] == "harvested"
        and f["provider"] == "AgLeader"
        and f["leafUserId"] == "grower-1"
    )
    assert [x["id"] for x in ws.get_files(origin="merged")] == [resp["id"]]
    assert all(
        s["status"] in ("processed", "skipped")
        for s in ws.get_file_status(resp["id"]).values()
    )
    assert [e["fileId"] for e in events] == [resp["id"]]
    props = ws.get_file_summary(resp["id"])["properties"]
    parts = [ws.get_file_summary(files[k])["properties"] for k in ("h1", "h2")]
    assert props["recordCount"] == sum(p["recordCount"] for p in parts)
    for key in ("totalArea", "totalWetMass", "totalDryVolume"):
        assert props[key]["value"] == pytest.approx(
            sum(p[key]["value"] for p in parts), rel=1e-9
        )
    assert (
        props["startTime"] == parts[0]["startTime"]
        and props["endTime"] == parts[1]["endTime"]
    )
    assert ws.get_file_units(resp["id"]) == ws.get_file_units(files["h1"])
    assert len(ws.points(resp["id"])) == props["recordCount"]
    # merged files are outputs: automerge never takes them as inputs
    assert resp["id"] not in ws.get_uncovered_files("grower-1")["files"]


def test_merge_in_background(ws, files):
    resp = ws.merge_files([files["h1"], files["h2"]], wait=False)
    assert resp["status"] == "SENT_TO_MERGE"
    ws.wait(60)
    assert ws.get_file(resp["id"])["status"] == "processed"
