from __future__ import annotations

import json

from leafnb.formats.geojson import GeoJSONReader
from leafnb.testing import make_points, write_as

R = GeoJSONReader()


def test_farmobile(tmp_path):
    path = write_as(make_points("applied", 100), "farmobile_geojson", tmp_path)
    assert R.sniff(path) == 0.9
    assert R.describe(path)["provider"] == "Farmobile"
    raw = R.read(path)
    assert raw.meta["operation_type"] == "applied"
    assert raw.meta["columns"]["product"].property == "productName"


def test_generic_points_and_polygons(tmp_path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-93.6, 42.0]},
                "properties": {"seedRate": 32000, "timestamp": "2023-05-01T10:00:00Z"},
            },
        ],
    }
    p = tmp_path / "pts.geojson"
    p.write_text(json.dumps(fc))
    assert R.sniff(p) == 0.6
    raw = R.read(p)
    assert raw.meta["columns"]["seedRate"].property == "seedRate"
    assert raw.table["timestamp"][0].as_py().isoformat() == "2023-05-01T10:00:00+00:00"
    poly = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
                },
            }
        ],
    }
    q = tmp_path / "b.geojson"
    q.write_text(json.dumps(poly))
    assert R.sniff(q) == 0.0
