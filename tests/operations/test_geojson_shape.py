"""GeoJSON (multi)polygons read from arrays are the geometries shapely's ``shape`` makes."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from leafnb.operations.fields import geojson_shape

SQUARE = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]]
HOLE = [[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 1.0]]
OPEN = [[10.0, 10.0], [11.0, 10.0], [11.0, 11.0]]  # not closed: closed by both


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [SQUARE]},
        {"type": "Polygon", "coordinates": [SQUARE, HOLE, HOLE]},
        {"type": "Polygon", "coordinates": [OPEN]},
        {"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [OPEN]]},
        {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
        {
            "type": "Polygon",
            "coordinates": [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 5]]],
        },
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "Point", "coordinates": [1.0, 2.0]},
    ],
)
def test_same_geometry_as_shape(geometry):
    assert geojson_shape(geometry).wkb == shape(geometry).wkb


def test_what_shape_refuses_is_refused_alike():
    bad = {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0]]]}
    with pytest.raises(ValueError, match="at least 4 coordinates"):
        shape(bad)
    with pytest.raises(ValueError, match="at least 4 coordinates"):
        geojson_shape(bad)
