"""Automerge on generated multi-file seasons: time windows, crop, provider, fields, coverage, updates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping, shape

from leafnb.errors import InvalidRequest
from leafnb.operations.automerge import FileFacts, group_files, parse_time
from tests.operations.conftest import field_around, shifted, upload

UID = "grower-1"


def _ops(ws, **kw):
    return list(ws.get_operations(leafUserId=UID, size=100, **kw))


def _files(op):
    return sorted(op["files"])


def test_group_files_single_linkage_and_crop_less_files():
    cfg = {
        "operationsMergeRange": 5,
        "operationsMergeRangeHarvested": 21,
        "splitOperationsByProvider": True,
    }

    def f(i, day, dur=0.5, crop="corn", op="planted", provider="AgLeader"):
        start = parse_time(f"2024-05-{day:02d}T08:00:00.000Z")
        return FileFacts(
            f"f{i}",
            op,
            provider,
            crop,
            start,
            start
            + (parse_time("2024-01-01T12:00:00Z") - parse_time("2024-01-01T00:00:00Z"))
            * dur
            * 2,
        )

    files = [
        f(1, 1),
        f(2, 5),
        f(3, 9),
        f(4, 20),
        f(5, 21, crop=None),
        f(6, 2, crop="soybeans"),
        f(7, 2, provider="JohnDeere"),
        f(8, 28, crop=None),
    ]
    groups = {tuple(sorted(x.id for x in g.files)) for g in group_files(files, cfg)}
    # 1-2-3 chained (each within 5 days of the latest end), 4 alone + crop-less 5 joins it,
    # soybeans and JohnDeere separate, crop-less 8 too far from everything
    assert groups == {("f1", "f2", "f3"), ("f4", "f5"), ("f6",), ("f7",), ("f8",)}
    cfg["splitOperationsByProvider"] = False
    groups = {tuple(sorted(x.id for x in g.files)) for g in group_files(files, cfg)}
    assert ("f1", "f2", "f3", "f7") in groups


@pytest.fixture
def season(ws, tmp_path):
    """Harvest of one field over 3 days (2 monitors of one provider), plus one file on another field."""
    h1 = shifted("harvested", 600, 1)
    h2 = shifted("harvested", 600, 2, days=2)
    far = shifted("harvested", 600, 3, days=1, east_m=3000)
    ids = upload(
        ws,
        {"h1": (h1, "sms_csv"), "h2": (h2, "sms_csv"), "far": (far, "sms_csv")},
        tmp_path,
    )
    return ids, h1, far


def test_no_fields_no_operations_then_field_creates_them(ws, season):
    ids, h1, _far = season
    assert _ops(ws) == []
    assert sorted(ws.get_uncovered_files(UID)["files"]) == sorted(ids.values())
    events = []
    ws.on("operationCreated", events.append)
    ws.on("operationProcessingFinished", events.append)
    f = ws.create_field(UID, mapping(field_around(h1, 200)), name="North 40")
    ops = _ops(ws)
    assert len(ops) == 1
    op = ops[0]
    assert _files(op) == sorted([ids["h1"], ids["h2"]])
    assert (
        op["type"] == "harvested"
        and op["providers"] == ["AgLeader"]
        and op["status"] == "processed"
    )
    assert op["fields"][0]["id"] == f["id"] and 0 < op["fields"][0]["coverage"] < 100
    assert op["startTime"] == "2023-10-14T15:00:00.000Z" and op["endTime"].startswith(
        "2023-10-16T15:09"
    )
    assert [e["type"] for e in events] == [
        "operationCreated",
        "operationProcessingFinished",
    ]
    assert ws.get_uncovered_files(UID)["files"] == [ids["far"]]
    assert ws.get_file(ids["h1"])["fields"] == [f["id"]]
    json.dumps(op)
    # the automerged file behind the operation
    lf = ws.get_file(op["leafFileId"])
    assert (
        lf["origin"] == "automerged"
        and sorted(lf["sources"]) == _files(op)
        and lf["status"] == "processed"
    )
    assert [x["id"] for x in ws.get_files(origin="automerged")] == [op["leafFileId"]]


def _files_passed_to(name: str, monkeypatch) -> list[str]:
    """The file ids automerge's function *name* is called with from now on, in order."""
    from leafnb.operations import automerge

    seen: list[str] = []
    real = getattr(automerge, name)

    def counted(ctx, file_id, *args, **kwargs):
        seen.append(file_id)
        return real(ctx, file_id, *args, **kwargs)

    monkeypatch.setattr(automerge, name, counted)
    return seen


def test_automerge_reads_the_summaries_that_decide(ws, season, monkeypatch):
    """Automerge looks at every processed file of the user at every upload: a user
    without fields has nothing of its files read, and with fields only the summaries
    (a big file's coverage shape is megabytes) of files with points in a field are."""
    ids, h1, _far = season
    read = _files_passed_to("_summary_geometry", monkeypatch)
    assert ws.run_automerge(UID) is not None and read == []
    ws.create_field(UID, mapping(field_around(h1, 200)), name="North 40")
    assert sorted(set(read)) == sorted([ids["h1"], ids["h2"]])  # not the far file
    assert ws.get_file(ids["far"])["fields"] == []


def test_links_are_found_again_only_when_what_they_are_found_from_changes(
    ws, season, monkeypatch
):
    """An upload automerges every processed file of its user: a file's links (all its
    points read) are found again only after the file is reprocessed, or the fields or
    the threshold change; the operations are those of a fresh search."""
    ids, h1, _far = season
    field = ws.create_field(UID, mapping(field_around(h1, 200)), name="North 40")
    before = _ops(ws)
    searched = _files_passed_to("link_file", monkeypatch)
    assert ws.run_automerge(UID)["unchanged"] and searched == []
    ws.reprocess_file(ids["h1"])
    assert searched == [ids["h1"]]
    searched.clear()
    ws.update_field(field["id"], geometry=mapping(field_around(h1, 300)))
    assert sorted(searched) == sorted(ids.values())
    searched.clear()
    ws.set_config({"fieldsAttachIntersection": 0.02}, leaf_user_id=UID)
    ws.run_automerge(UID)
    assert sorted(searched) == sorted(ids.values())
    settled = _ops(ws)
    assert [_files(op) for op in settled] == [_files(op) for op in before]
    ws.ctx.links.clear()  # a fresh search finds what the kept links gave
    report = ws.run_automerge(UID)
    assert not (report["created"] or report["updated"] or report["deleted"])
    assert [_files(op) for op in _ops(ws)] == [_files(op) for op in settled]


def test_operation_totals_equal_sum_of_files(ws, season):
    ids, h1, _ = season
    ws.create_field(
        UID, mapping(field_around(h1, 400))
    )  # large: no point dropped (GPS jump included)
    op = _ops(ws)[0]
    props = ws.get_operation_summary(op["id"])["properties"]
    files = [ws.get_file_summary(ids[k])["properties"] for k in ("h1", "h2")]
    assert props["recordCount"] == sum(p["recordCount"] for p in files)
    for key in (
        "totalArea",
        "totalWetMass",
        "totalDryMass",
        "totalWetVolume",
        "totalDryVolume",
        "totalDistance",
    ):
        assert props[key]["unit"] == files[0][key]["unit"]
        assert props[key]["value"] == pytest.approx(
            sum(p[key]["value"] for p in files), rel=1e-9
        ), key
    assert props["crop"] == ["corn"] and props.get("varieties") == files[0].get(
        "varieties"
    )
    units = ws.get_operation_units(op["id"])
    assert units == ws.get_file_units(ids["h1"])
    gdf = ws.points(op["id"])
    assert (
        len(gdf) == props["recordCount"]
        and gdf.attrs["units"]["wetMass"] == units["wetMass"]
    )
    gj = ws.get_operation_standard_geojson(op["id"])
    assert gj["downloadStandardGeojson"].startswith("file://")
    assert len(json.loads(Path(gj["standardGeojson"]).read_text())["features"]) == len(
        gdf
    )
    gp = ws.get_operation_standard_geoparquet(op["id"])
    assert gp["standardGeoparquet"].endswith(
        f"operations/{op['id']}/export/standard.parquet"
    )
    assert [f["id"] for f in ws.get_operation_files(op["id"])] == _files(op) or sorted(
        f["id"] for f in ws.get_operation_files(op["id"])
    ) == _files(op)


def test_time_window_crop_and_provider_split(ws, tmp_path):
    base = shifted("planted", 500, 1)
    tables = {
        "p_day0": (base, "jd_shapefile"),
        "p_day4": (shifted("planted", 500, 2, days=4), "jd_shapefile"),
        "p_day12": (
            shifted("planted", 500, 3, days=12),
            "jd_shapefile",
        ),  # > 5 days after day 4's end
        "p_soy": (shifted("planted", 500, 4, days=1, crop="soybeans"), "jd_shapefile"),
        # (sms_shapefile: the SMS CSV reader swaps day and month of 12/3-style dates)
        "h_day0": (shifted("harvested", 500, 6, days=150), "sms_shapefile"),
        "h_day20": (
            shifted("harvested", 500, 7, days=170),
            "sms_shapefile",
        ),  # within 21 days: same harvest
        "h_jd": (
            shifted("harvested", 500, 8, days=151),
            "jd_shapefile",
        ),  # other provider
    }
    ids = upload(ws, tables, tmp_path)
    ws.create_field(UID, mapping(field_around(base, 300)))
    groups = sorted(
        sorted(k for k, v in ids.items() if v in op["files"]) for op in _ops(ws)
    )
    assert groups == [
        ["h_day0", "h_day20"],
        ["h_jd"],
        ["p_day0", "p_day4"],
        ["p_day12"],
        ["p_soy"],
    ]
    jd = next(op for op in _ops(ws) if ids["h_jd"] in op["files"])
    assert jd["providers"] == ["JohnDeere"]
    assert {
        o["id"] for o in ws.get_operations(leafUserId=UID, provider="AgLeader")
    } == {o["id"] for o in _ops(ws) if ids["h_day0"] in o["files"]}
    # without the provider split the JD harvest joins the AgLeader one (same operation id kept)
    ws.set_config({"splitOperationsByProvider": False}, leaf_user_id=UID)
    report = ws.run_automerge(UID)
    groups = sorted(
        sorted(k for k, v in ids.items() if v in op["files"]) for op in _ops(ws)
    )
    assert ["h_day0", "h_day20", "h_jd"] in groups and len(groups) == 4
    merged = next(op for op in _ops(ws) if ids["h_jd"] in op["files"])
    assert merged["providers"] == ["AgLeader", "JohnDeere"]
    assert ws.get_file(merged["leafFileId"])["provider"] == "Leaf"
    assert report["deleted"] or report["created"]


def test_split_by_field_coverage_and_outside_points(ws, tmp_path):
    h = shifted("harvested", 800, 1)
    ids = upload(ws, {"h": (h, "sms_csv")}, tmp_path)
    box = field_around(h, 5)
    minx, miny, maxx, maxy = box.bounds
    mid = (minx + maxx) / 2
    west = ws.create_field(UID, shapely.box(minx, miny, mid, maxy).wkt, name="west")
    east = ws.create_field(UID, shapely.box(mid, miny, maxx, maxy).wkt, name="east")
    ops = {op["fields"][0]["id"]: op for op in _ops(ws)}
    assert set(ops) == {west["id"], east["id"]}
    n_file = ws.get_file_summary(ids["h"])["properties"]["recordCount"]
    n_ops = [
        ws.get_operation_summary(o["id"])["properties"]["recordCount"]
        for o in ops.values()
    ]
    gdf = ws.points(ids["h"])
    inside_west = gdf.within(shapely.box(minx, miny, mid, maxy)).sum()
    assert n_ops[0] + n_ops[1] < n_file  # the GPS jump point is outside both fields
    assert (
        sorted(n_ops)
        == sorted(
            [int(inside_west), n_file - int(inside_west) - (n_file - sum(n_ops) - 0)]
        )
        or sum(n_ops) <= n_file
    )
    # each operation only has points in its field
    for fid, op in ops.items():
        pts = ws.points(op["id"])
        assert pts.intersects(shape(ws.get_field(fid)["geometry"])).all()
        cov = op["fields"][0]["coverage"]
        summary_geom = shape(ws.get_operation_summary(op["id"])["geometry"])
        assert 5 < cov <= 100 and summary_geom.is_valid
    assert ws.get_operations(leafUserId=UID, fieldId=west["id"]).total == 1
    # outside points: disabled by default, then the count of points in no field
    with pytest.raises(InvalidRequest, match="enableOutsideFieldGeojson"):
        ws.get_file_outside_field_geojson(ids["h"])
    ws.set_config({"enableOutsideFieldGeojson": True}, leaf_user_id=UID)
    out = ws.get_file_outside_field_geojson(ids["h"])
    assert out["featureCount"] == n_file - sum(n_ops) and sorted(
        out["fields"]
    ) == sorted([west["id"], east["id"]])
    assert (
        len(json.loads(Path(out["outsideFieldGeojson"]).read_text())["features"])
        == out["featureCount"]
    )
    listing = ws.get_files_outside_field_geojson(UID)
    assert [item["id"] for item in listing] == [ids["h"]] and listing[0][
        "featureCount"
    ] == out["featureCount"]


def test_new_files_update_the_operation_and_bridging(ws, tmp_path):
    h1 = shifted("harvested", 500, 1)
    ids1 = upload(ws, {"h1": (h1, "sms_csv")}, tmp_path, name="b1")
    ws.create_field(UID, mapping(field_around(h1, 300)))
    (op,) = _ops(ws)
    updated = []
    ws.on("operationUpdated", updated.append)
    ids2 = upload(
        ws,
        {"h2": (shifted("harvested", 500, 2, days=10), "sms_csv")},
        tmp_path,
        name="b2",
    )
    (op2,) = _ops(ws)
    assert op2["id"] == op["id"] and _files(op2) == sorted([ids1["h1"], ids2["h2"]])
    assert [e["operationId"] for e in updated] == [op["id"]]
    assert op2["updatedTime"] >= op["updatedTime"] and op2["endTime"] > op["endTime"]
    # a harvest 3 weeks + after the last one is a new operation
    upload(
        ws,
        {"h3": (shifted("harvested", 500, 3, days=40), "sms_csv")},
        tmp_path,
        name="b3",
    )
    assert len(_ops(ws)) == 2
    # re-running with nothing new changes nothing
    assert ws.run_automerge(UID)["unchanged"] and not ws.run_automerge(UID)["updated"]


def test_without_split_by_field_then_crop_by_field(ws, tmp_path):
    h = shifted("harvested", 800, 1)
    ids = upload(ws, {"h": (h, "sms_csv")}, tmp_path)
    ws.set_config({"splitOperationsByField": False}, leaf_user_id=UID)
    box = field_around(h, 5)
    minx, miny, maxx, maxy = box.bounds
    small = shapely.box(minx, miny, (minx + maxx) / 2, maxy)
    f = ws.create_field(UID, small.wkt)
    (op,) = _ops(ws)
    n_file = ws.get_file_summary(ids["h"])["properties"]["recordCount"]
    assert (
        ws.get_operation_summary(op["id"])["properties"]["recordCount"] == n_file
    )  # whole file
    resp = ws.crop_operation_by_field(op["id"])
    assert resp == {
        "id": op["id"],
        "message": "Sent operation to be processed.",
        "leafFileId": op["leafFileId"],
    }
    pts = ws.points(op["id"])
    assert 0 < len(pts) < n_file and pts.intersects(shape(f["geometry"])).all()
    assert ws.get_operation(op["id"])["croppedByField"] is True


def test_reprocess_applies_current_config(ws, season):
    _ids, h1, _ = season
    ws.create_field(UID, mapping(field_around(h1, 200)))
    op = _ops(ws)[0]
    assert ws.get_operation_units(op["id"])["wetMass"] == "lb"
    ws.set_config({"unitMeasurement": "METRIC"}, leaf_user_id=UID)
    assert ws.get_operation_units(op["id"])["wetMass"] == "lb"  # not retroactive
    resp = ws.reprocess_operation(op["id"])
    assert (
        resp["id"] == op["id"] and resp["message"] == "Sent operation to be processed."
    )
    assert ws.get_operation_units(op["id"])["wetMass"] == "t"
    assert ws.get_operation_summary(op["id"])["properties"]["totalArea"]["unit"] == "ha"


def test_operations_paging_sorting_filters(ws, tmp_path):
    base = shifted("planted", 300, 1)
    tables = {
        f"p{i}": (shifted("planted", 300, i, days=10 * i), "jd_shapefile")
        for i in range(5)
    }
    upload(ws, tables, tmp_path)
    ws.create_field(UID, mapping(field_around(base, 300)))
    page0 = ws.get_operations(leafUserId=UID, size=2)
    assert page0.total == 5 and len(page0) == 2
    starts = [o["startTime"] for o in ws.get_operations(leafUserId=UID, size=100)]
    assert starts == sorted(starts)
    desc = ws.get_operations(leafUserId=UID, sort="startTime,desc", size=3)
    assert [o["startTime"] for o in desc] == sorted(starts, reverse=True)[:3]
    assert [
        o["startTime"]
        for o in ws.get_operations(
            leafUserId=UID, sort="startTime,desc", page=1, size=3
        )
    ] == sorted(starts, reverse=True)[3:]
    assert ws.get_operations(leafUserId=UID, startTime=starts[2]).total == 3
    assert ws.get_operations(leafUserId=UID, endTime=starts[2]).total == 2
    assert ws.get_operations(leafUserId=UID, operationType="harvested").total == 0
    assert ws.get_operations(leafUserId="nobody").total == 0
    all_ids = [o["id"] for o in ws.get_operations(leafUserId=UID, size=100)]
    assert [
        o["id"]
        for o in ws.get_operations(leafUserId=UID, sort=["type", "id,desc"], size=100)
    ] == sorted(all_ids, reverse=True)
    assert [
        o["id"] for o in ws.get_operations(leafUserId=UID, sort="id", size=2, page=2)
    ] == sorted(all_ids)[4:]
    with pytest.raises(InvalidRequest, match="cannot sort by 'fileName'"):
        ws.get_operations(sort="fileName")
    with pytest.raises(InvalidRequest, match="'crop' is not a filter"):
        ws.get_operations(crop="corn")
    with pytest.raises(InvalidRequest, match="size must be between 1 and 100"):
        ws.get_operations(size=101)


def test_machines_operators_sessions(ws, season):
    _ids, h1, _ = season
    ws.create_field(UID, mapping(field_around(h1, 200)))
    op = _ops(ws)[0]
    machines = ws.get_operation_machines(op["id"])
    assert set(machines) == {"machines"} and isinstance(machines["machines"], list)
    assert ws.get_operation_operators(op["id"]) == {"operators": []}
    assert set(ws.get_operation_implements(op["id"])) == {"implements"}
    with pytest.raises(InvalidRequest, match="enableOperationsSession"):
        ws.get_operation_sessions(op["id"])
    ws.set_config({"enableOperationsSession": True}, leaf_user_id=UID)
    sessions = ws.get_operation_sessions(op["id"])
    assert len(sessions) == 1  # one (unknown) machine
    ss = sessions[0]["sessions"]
    assert len(ss) == 2  # two days apart: > 30 min gap
    assert ss[0]["startTime"] == "2023-10-14T15:00:00.000Z" and ss[1][
        "startTime"
    ].startswith("2023-10-16")
    total_ha = (
        ws.get_operation_summary(op["id"])["properties"]["totalArea"]["value"] / 1e4
    )
    assert sum(s["area"]["value"] for s in ss) == pytest.approx(total_ha, rel=0.02)
    assert all(s["area"]["unit"] == "ha" for s in ss)
    assert np.all([s["endTime"] >= s["startTime"] for s in ss])


def test_boundary_update_moves_operations_and_field_reprocess(ws, tmp_path):
    h = shifted("harvested", 600, 1)
    ids = upload(ws, {"h": (h, "sms_csv")}, tmp_path)
    box = field_around(h, 5)
    minx, miny, maxx, maxy = box.bounds
    half = shapely.box(minx, miny, (minx + maxx) / 2, maxy)
    f = ws.create_field(UID, half.wkt, name="west half")
    (op,) = _ops(ws)
    half_count = ws.get_operation_summary(op["id"])["properties"]["recordCount"]
    events = []
    ws.on("fieldUpdated", events.append)
    updated = ws.update_field(f["id"], box.wkt, name="whole field")
    assert (
        updated["name"] == "whole field"
        and updated["area"]["value"] > f["area"]["value"]
    )
    assert [e["fieldId"] for e in events] == [f["id"]]
    (op2,) = _ops(ws)
    n_file = ws.get_file_summary(ids["h"])["properties"]["recordCount"]
    whole = ws.get_operation_summary(op2["id"])["properties"]["recordCount"]
    assert half_count < whole <= n_file  # the operation follows the new boundary
    ws.set_config({"unitMeasurement": "METRIC"}, leaf_user_id=UID)
    (resp,) = ws.reprocess_field_operations(f["id"])
    assert resp["message"] == "Sent operation to be processed."
    assert ws.get_operation_units(op2["id"])["wetMass"] == "t"
