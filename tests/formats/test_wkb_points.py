"""Point WKB read with numpy (no shapely object per point)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from leafnb.formats.shapefile import wkb_point_xy


def test_xy_equal_shapely_on_many_points():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, 1000), rng.uniform(-90, 90, 1000)
    x, y = wkb_point_xy(pa.array(shapely.to_wkb(shapely.points(lon, lat))))
    np.testing.assert_array_equal(x, lon)
    np.testing.assert_array_equal(y, lat)


def test_xy_of_every_point_flavour():
    geoms = [
        shapely.Point(1, 2),
        shapely.Point(3, 4, 5),
        None,
        shapely.from_wkt("POINT EMPTY"),
        shapely.from_wkt("POINT M (6 7 8)"),
        shapely.from_wkt("POINT ZM (9 10 11 12)"),
    ]
    for flavor in ("iso", "extended"):
        wkb = shapely.to_wkb(np.array(geoms, dtype=object), flavor=flavor)
        for typ in (pa.binary(), pa.large_binary()):
            x, y = wkb_point_xy(pa.array(wkb, typ))
            np.testing.assert_array_equal(x, [1, 3, np.nan, np.nan, 6, 9])
            np.testing.assert_array_equal(y, [2, 4, np.nan, np.nan, 7, 10])
            x, y = wkb_point_xy(
                pa.array(wkb, typ).slice(4)
            )  # an offset into the buffers
            np.testing.assert_array_equal(x, [6, 9])


def test_other_geometries_are_left_to_geos():
    multi = shapely.to_wkb([shapely.Point(0, 0), shapely.MultiPoint([(1, 2)])])
    assert wkb_point_xy(pa.array(multi, pa.binary())) is None
    big_endian = shapely.to_wkb([shapely.Point(1, 2)], byte_order=0)
    assert wkb_point_xy(pa.array(big_endian, pa.binary())) is None
    assert wkb_point_xy(pa.array(["POINT (1 2)"])) is None


def test_fixed_size_records_of_a_chunked_column():
    # one layout throughout (what a point layer's writer gives): read as strided fields
    rng = np.random.default_rng(1)
    lon, lat, z = (rng.uniform(-90, 90, 300) for _ in range(3))
    for pts in (shapely.points(lon, lat), shapely.points(lon, lat, z)):
        wkb = pa.array(shapely.to_wkb(pts))
        column = pa.chunked_array([wkb.slice(0, 100), wkb.slice(100, 150), wkb[250:]])
        x, y = wkb_point_xy(column)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)
    assert wkb_point_xy(pa.chunked_array([], pa.binary()))[0].size == 0
    big_endian = shapely.to_wkb(shapely.points(lon, lat), byte_order=0)
    assert wkb_point_xy(pa.array(big_endian)) is None
    lines = shapely.to_wkb(shapely.linestrings([[(0, 0), (1, 1)]] * 3))
    assert wkb_point_xy(pa.array(lines)) is None
