"""The JSON text of GeoJSON geometries: Arrow-spelled coordinates, ``json.dumps``'s bytes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from leafnb.store.geojson_text import json_text, rounded_geometries


def reference(doc) -> str:
    """What ``write_json`` wrote before: the rounded document through ``json.dumps``."""
    return json.dumps(rounded_geometries(doc), separators=(",", ":"), default=str)


def _ring(rng: np.random.Generator, n: int, scale: float) -> list[list[float]]:
    values = rng.uniform(-scale, scale, (n, 2))
    values[rng.random(values.shape) < 0.05] *= 1e-6  # near 0: below 1e-4 after rounding
    values[rng.random(values.shape) < 0.02] = rng.choice(
        [0.0, -0.0, 5.0, -93.0, 1e-4, 9.99999e-5, 1e16, 1.5e17, 123456789.5]
    )
    return values.tolist()


@pytest.mark.parametrize("seed", range(40))
def test_coordinates_are_written_as_json_dumps_writes_the_rounded_document(seed):
    rng = np.random.default_rng(seed)
    scale = [180.0, 1.0, 1e-3, 1e6][seed % 4]
    polygons = [
        [
            _ring(rng, int(rng.integers(1, 400)), scale)
            for _ in range(rng.integers(1, 4))
        ]
        for _ in range(rng.integers(1, 5))
    ]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"area": float(rng.random()), "name": "a\0b"},
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            },
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.0, 2]}},
        ],
        "coverage": {"type": "LineString", "coordinates": polygons[0][0]},
    }
    assert json_text(doc) == reference(doc)
    assert json.loads(json_text(doc)) == json.loads(reference(doc))


def test_odd_coordinates_take_the_plain_path_and_agree():
    long_ring = [[float(i) + 0.123456789, -float(i)] for i in range(200)]
    docs = [
        {"type": "LineString", "coordinates": [[1, 2.5]] * 100},  # an integer
        {"type": "LineString", "coordinates": [[1.5, 2.5, 3.0]] * 100},  # 3-D
        {"type": "LineString", "coordinates": [[1.5, 2.5]] * 50 + [[1.5]] * 50},
        {"type": "LineString", "coordinates": [(1.5, 2.25)] * 100},  # tuples
        {"type": "LineString", "coordinates": [[math.nan, math.inf]] * 100},
        {"type": "Polygon", "coordinates": [long_ring, [], long_ring[:3]]},
        {"type": "MultiPolygon", "coordinates": [[[]], []]},
        {"type": "Polygon", "coordinates": []},
        {"type": "GeometryCollection", "geometries": [{"type": "Point"}]},
        {"geometry": {"type": "Point", "coordinates": "\0coordinates"}},  # the mark
        [{"type": "LineString", "coordinates": long_ring}, 1.0 / 3.0, None, "x"],
    ]
    for doc in docs:
        assert json_text(doc) == reference(doc), doc


def test_rounding_is_the_same_as_before():
    """``rounded_geometries`` moved here unchanged: the old function's result."""
    rng = np.random.default_rng(7)
    ring = (rng.uniform(-180, 180, (3000, 2)) + 0.5e-7).tolist()  # ties near a half
    doc = {"type": "Polygon", "coordinates": [ring]}
    expected = [[[round(v, 7) for v in p] for p in ring]]
    assert rounded_geometries(doc)["coordinates"] == expected


@pytest.mark.parametrize("decade", range(-6, 13))
def test_every_decade_is_spelled_as_repr_spells_it(decade):
    """Arrow's spelling is used from 1e-4 to 1e9 only: each decade, rounded or not."""
    rng = np.random.default_rng(decade + 100)
    values = rng.uniform(10.0**decade, 10.0 ** (decade + 1), (3000, 2))
    values[:1000] = np.floor(values[:1000])  # integral
    values[1000:2000] = np.round(values[1000:2000], 7)
    values[::2] *= -1
    doc = {"type": "LineString", "coordinates": values.tolist()}
    assert json_text(doc) == reference(doc)
