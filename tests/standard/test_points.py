"""PointSet: filtering without copies, float columns with NaN as missing."""

import numpy as np
import pyarrow as pa

from leafnb.standard.points import PointSet


def _points():
    return PointSet(
        pa.table(
            {"lon": [1.0, 2.0, 3.0], "lat": [4.0, 5.0, 6.0], "speed": [1.0, 2.0, 3.0]}
        ),
        "harvested",
        units={"speed": "m/s"},
    )


def test_filter_keeping_every_point_makes_no_copy():
    points = _points()
    assert points.filter(np.ones(3, bool)) is points
    kept = points.filter(np.array([True, False, True]))
    assert kept.table.column("speed").to_pylist() == [1.0, 3.0]
    assert kept.units == points.units


def test_with_column_reads_nan_as_missing():
    points = _points().with_column("speed", np.array([np.nan, 2.5, np.nan]), "m/s")
    assert points.table.column("speed").to_pylist() == [None, 2.5, None]
    assert not points.with_column("x", np.array([np.nan] * 3)).has("x")
