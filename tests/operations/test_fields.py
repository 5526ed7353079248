"""Fields: boundaries from GeoJSON / WKT / files in any CRS, repair, paging, ISOXML partfields."""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

from leafnb.errors import InvalidRequest, NotFound
from tests.conftest import SMS_CSV, make_zip

RING = [
    (-93.60, 42.00),
    (-93.59, 42.00),
    (-93.59, 42.01),
    (-93.60, 42.01),
    (-93.60, 42.00),
]
HOLE = [
    (-93.597, 42.003),
    (-93.593, 42.003),
    (-93.593, 42.007),
    (-93.597, 42.007),
    (-93.597, 42.003),
]


def test_geojson_polygon_with_hole_and_resource_shape(ws):
    geom = {"type": "Polygon", "coordinates": [RING, HOLE]}
    f = ws.create_field("g", geom, name="North 40")
    assert set(f) >= {
        "id",
        "leafUserId",
        "name",
        "geometry",
        "area",
        "createdTime",
        "source",
    }
    assert (
        f["geometry"]["type"] == "MultiPolygon"
        and f["name"] == "North 40"
        and f["source"] == "REST"
    )
    g = shape(f["geometry"])
    assert len(g.geoms[0].interiors) == 1  # hole kept
    assert f["area"]["unit"] == "ha"
    # ~ 829 m x 1112 m minus a 331 m x 445 m hole
    assert f["area"]["value"] == pytest.approx(
        (829.2 * 1111.9 - 331.7 * 444.8) / 1e4, rel=0.01
    )
    json.dumps(f)
    assert ws.get_field(f["id"]) == f
    with pytest.raises(NotFound):
        ws.get_field("nope")


def test_multipolygon_feature_collection_and_wkt_in_utm(ws, tmp_path):
    a = shapely.box(-93.60, 42.00, -93.59, 42.01)
    b = shapely.box(-93.58, 42.00, -93.57, 42.01)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Two parts"},
                "geometry": mapping(a),
            },
            {"type": "Feature", "properties": {}, "geometry": mapping(b)},
        ],
    }
    f = ws.create_field("g", fc)
    assert f["name"] == "Two parts" and len(shape(f["geometry"]).geoms) == 2
    # the same square given as WKT in UTM 15N is reprojected back to WGS84
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32615", always_xy=True)
    utm = shapely.transform(
        a,
        lambda c: __import__("numpy").column_stack(to_utm.transform(c[:, 0], c[:, 1])),
    )
    f2 = ws.create_field("g", utm.wkt, crs="EPSG:32615", name="utm")
    assert shape(f2["geometry"]).symmetric_difference(a).area < 1e-9
    # a GeoJSON file
    p = tmp_path / "b.geojson"
    p.write_text(json.dumps(mapping(b)))
    f3 = ws.create_field("g", path=p)
    assert f3["name"] == "b" and shape(f3["geometry"]).equals(shapely.MultiPolygon([b]))


def test_invalid_boundary_is_repaired_and_bad_input_rejected(ws):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                (-93.6, 42.0),
                (-93.59, 42.01),
                (-93.59, 42.0),
                (-93.6, 42.01),
                (-93.6, 42.0),
            ]
        ],
    }
    f = ws.create_field("g", bowtie)
    g = shape(f["geometry"])
    assert g.is_valid and g.geom_type == "MultiPolygon" and len(g.geoms) == 2
    with pytest.raises(InvalidRequest, match="not longitude/latitude"):
        ws.create_field(
            "g",
            "POLYGON ((500000 4650000, 501000 4650000, 501000 4651000, 500000 4650000))",
        )
    with pytest.raises(InvalidRequest, match="no polygon area"):
        ws.create_field("g", "LINESTRING (-93.6 42, -93.5 42)")
    with pytest.raises(InvalidRequest, match="leafUserId is required"):
        ws.create_field("", bowtie)


def test_get_fields_paging_and_filters(ws):
    for i in range(5):
        ws.create_field(
            "g" if i < 4 else "other",
            shapely.box(-93.6 + i * 0.01, 42.0, -93.595 + i * 0.01, 42.005).wkt,
            name=f"f{i}",
        )
    page = ws.get_fields(leafUserId="g", size=3)
    assert page.total == 4 and [f["name"] for f in page] == ["f0", "f1", "f2"]
    assert [f["name"] for f in ws.get_fields(leafUserId="g", page=1, size=3)] == ["f3"]
    assert [
        f["name"] for f in ws.get_fields(leafUserId="g", sort="name,desc", size=2)
    ] == ["f3", "f2"]


def test_partfields_become_fields_once(ws, tmp_path):
    batch = ws.upload_batch(
        make_zip(tmp_path / "h.zip", {"h.csv": SMS_CSV}), "g", progress=False
    )
    fid = batch["leafFiles"][0]
    row = ws._file_row(fid)
    doc = ws.catalog.loads(row["doc"])
    doc["partfields"] = [
        {
            "type": "Feature",
            "properties": {"id": "PFD1", "name": "Home", "area": 1000},
            "geometry": mapping(shapely.box(-93.601, 41.999, -93.598, 42.001)),
        },
        {
            "type": "Feature",
            "properties": {"id": "PFD2", "name": "Back", "area": 1000},
            "geometry": mapping(shapely.box(-93.5, 41.9, -93.49, 41.91)),
        },
    ]
    with ws.catalog.transaction() as conn:
        conn.execute("UPDATE files SET doc=? WHERE id=?", (ws.catalog.dumps(doc), fid))
    ws._after_batch(batch["id"])
    ws._after_batch(batch["id"])  # same partfields again: no duplicates
    fields = ws.get_fields(leafUserId="g")
    assert sorted(f["name"] for f in fields) == ["Back", "Home"]
    assert {f["source"] for f in fields} == {"ISOXML"} and fields[0][
        "sourceFileId"
    ] == fid
    # the uploaded file lies in "Home": automerge made an operation of it
    home = next(f for f in fields if f["name"] == "Home")
    ops = ws.get_operations(leafUserId="g", fieldId=home["id"])
    assert len(ops) == 1 and ops[0]["files"] == [fid]
    assert ws.get_file(fid)["fields"] == [home["id"]]
