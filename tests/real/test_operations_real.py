"""Fields and field operations on real boundaries (other CRSs, holes) and real machine files."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape

from tests.conftest import zip_files

pytestmark = pytest.mark.real_data

UID = "real-grower"


@pytest.fixture
def ws(tmp_path):
    from leafnb import Workspace

    try:
        return Workspace(tmp_path / "ws", executor="inline")
    except TypeError:
        return Workspace(tmp_path / "ws")


def test_boundary_with_holes_and_irregular(ws, shared_data):
    folder = shared_data / "boundaries" / "difm_ofpetrial_boundaries"
    f = ws.create_field(UID, path=folder / "field_boundary_with_holes.shp")
    g = shape(f["geometry"])
    assert g.is_valid and g.geom_type == "MultiPolygon"
    assert sum(len(p.interiors) for p in g.geoms) >= 1  # holes kept
    minx, miny, maxx, maxy = g.bounds
    assert -105 < minx < maxx < -95 and 42 < miny < maxy < 46  # South Dakota, in WGS84
    assert f["area"]["value"] > 1
    f2 = ws.create_field(UID, path=folder / "boundary-irregular1.shp")
    assert shape(f2["geometry"]).is_valid and f2["area"]["value"] > 0


def test_mga54_box_around_csiro_yield(ws, shared_data, tmp_path):
    folder = shared_data / "csv" / "csiro_pyprecag"
    ws.set_config(
        {"outOfStandardOperations": True}, leaf_user_id=UID
    )  # the CSV has no crop column
    # The file's dates say 2032 (anonymised), which leafnb refuses as implausible, and a
    # file without times makes no operation: use the same records dated 2012.
    csv = tmp_path / "area2_yield_ISO-8859-1.csv"
    data = (folder / csv.name).read_bytes()
    assert data.count(b"/2032") == 1543
    csv.write_bytes(data.replace(b"/2032", b"/2012"))
    batch = ws.upload_batch(
        zip_files(tmp_path / "y.zip", [csv]),
        UID,
        progress=False,
    )
    fid = batch["leafFiles"][0]
    assert ws.get_file(fid)["status"] == "processed"
    assert ws.get_uncovered_files(UID)["files"] == [fid]
    field = ws.create_field(UID, path=folder / "area2_onebox_94mga54.shp", name="area2")
    g = shape(field["geometry"])
    assert (
        135 < g.bounds[0] < 145 and -40 < g.bounds[1] < -30
    )  # reprojected from GDA94/MGA54
    (op,) = ws.get_operations(leafUserId=UID)
    assert (
        op["files"] == [fid]
        and op["fields"][0]["id"] == field["id"]
        and op["fields"][0]["coverage"] > 1
    )
    assert ws.get_uncovered_files(UID)["files"] == []
    pts = ws.points(op["id"])
    assert pts.intersects(g).all() and len(pts) > 0


def test_datacarpentry_planting_in_gpkg_boundary(ws, shared_data, tmp_path):
    folder = shared_data / "shapefile" / "datacarpentry_trial_lesson_gpkg"
    batch = ws.upload_batch(
        zip_files(
            tmp_path / "p.zip", [folder / "asplanted.gpkg", folder / "asapplied.gpkg"]
        ),
        UID,
        progress=False,
    )
    processed = [
        i for i in batch["leafFiles"] if ws.get_file(i)["status"] == "processed"
    ]
    assert processed, "the datacarpentry GeoPackages must convert"
    field = ws.create_field(UID, path=folder / "boundary.gpkg")
    ops = ws.get_operations(leafUserId=UID)
    assert ops.total >= 1
    for op in ops:
        assert op["fields"][0]["id"] == field["id"]
        props = ws.get_operation_summary(op["id"])["properties"]
        assert props["operationType"] == op["type"]


def test_isoxml_partfields_become_fields(ws, shared_data, tmp_path):
    folder = shared_data / "isoxml" / "cci_forage_harvester_yield" / "TASKDATA"
    z = zip_files(tmp_path / "t.zip", sorted(folder.iterdir()), root=folder.parent)
    batch = ws.upload_batch(z, UID, progress=False)
    docs = [
        ws.catalog.loads(r["doc"])
        for r in ws.catalog.query(
            "SELECT doc FROM files WHERE batch_id=?", (batch["id"],)
        )
    ]
    reported = {
        (p["properties"].get("id"), json.dumps(p["geometry"]))
        for d in docs
        for p in d.get("partfields") or []
    }
    assert reported, "the CCI TASKDATA carries partfields"
    fields = ws.get_fields(leafUserId=UID, size=100)
    # one field per distinct partfield polygon (TASKDATA.XML has 21 PFDs; the reader reports those its tasks use)
    assert 0 < fields.total == len({g for _, g in reported}) <= 21 and {
        f["source"] for f in fields
    } == {"ISOXML"}
    assert all(shapely.is_valid(shape(f["geometry"])) for f in fields)
    converted = [
        i for i in batch["leafFiles"] if ws.get_file(i)["status"] == "processed"
    ]
    if converted:
        covered = set(converted) - set(ws.get_uncovered_files(UID)["files"])
        ops = ws.get_operations(leafUserId=UID, size=100)
        assert {f for op in ops for f in op["files"]} == covered
