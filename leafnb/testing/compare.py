"""Point tables compared: a reader's columns mapped to standard names, and equality.

:func:`to_standard` applies a reader's column mapping and converts units (a test-side
pipeline); :func:`assert_points_equal` compares two point tables within a tolerance,
converting units first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.standard.units import convert
from leafnb.testing.points import UNITS_KEY, point_units

__all__ = ["assert_points_equal", "to_standard"]


def to_standard(raw: Any, units: Mapping[str, str] | None = None) -> pa.Table:
    """Apply a :class:`~leafnb.formats.base.RawRead`'s column mapping (a test-side pipeline).

    Mapped source columns are renamed to their standard property; numeric values are
    converted to *units* (``{property: unit}``) when given; ``productName`` stays as is.
    The result's schema metadata carries the units (like :func:`make_points`).
    """
    units = dict(units or {})
    t = raw.table
    arrays = {c: t[c] for c in ("lon", "lat", "timestamp") if c in t.column_names}
    out_units: dict[str, str] = {}
    for src, col in raw.meta["columns"].items():
        if src not in t.column_names:
            continue
        arr = t[src]
        target = units.get(col.property)
        if col.unit is not None and (
            pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
        ):
            vals = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
            if target:
                vals = convert(vals, col.unit, target)
                out_units[col.property] = target
            else:
                out_units[col.property] = col.unit
            arr = pa.array(vals, pa.float64())
        arrays[col.property] = arr
    table = pa.table(arrays)
    return table.replace_schema_metadata({UNITS_KEY: json.dumps(out_units).encode()})


def assert_points_equal(
    a: pa.Table,
    b: pa.Table,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    *,
    columns: Sequence[str] | None = None,
    coord_atol: float = 1e-7,
) -> None:
    """Assert two point tables hold the same points (columns present in both).

    Numbers are compared with ``numpy.allclose(rtol, atol)`` after converting *b* to
    *a*'s units (schema metadata); coordinates with *coord_atol* degrees; strings and
    timestamps exactly. ``products`` in one table matches ``productName`` in the other.

    Raises
    ------
    AssertionError
        Naming the first column that differs.
    """
    assert a.num_rows == b.num_rows, f"row counts differ: {a.num_rows} != {b.num_rows}"
    ua, ub = point_units(a), point_units(b)
    if columns is None:
        columns = [c for c in a.column_names if c in b.column_names]
        if "products" in a.column_names and "productName" in b.column_names:
            columns.append("products")
    for c in columns:
        if c == "products" and "productName" in b.column_names:
            names = [(p[0]["name"] if p else None) for p in a["products"].to_pylist()]
            assert names == b["productName"].to_pylist(), "products names differ"
            continue
        x, y = a[c], b[c]
        if pa.types.is_timestamp(x.type):
            xa = x.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy()
            ya = y.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy()
            assert np.array_equal(xa, ya), f"column {c!r} differs"
            continue
        if pa.types.is_floating(x.type) or pa.types.is_integer(x.type):
            xv = x.cast(pa.float64()).to_numpy(zero_copy_only=False)
            yv = y.cast(pa.float64()).to_numpy(zero_copy_only=False)
            if c in ua and c in ub and ua[c] != ub[c]:
                yv = convert(yv, ub[c], ua[c])
            tol = coord_atol if c in ("lon", "lat") else atol
            r = 0.0 if c in ("lon", "lat") else rtol
            bad = ~np.isclose(xv, yv, rtol=r, atol=tol, equal_nan=True)
            assert not bad.any(), (
                f"column {c!r} differs at {int(bad.sum())} rows, first at {int(np.argmax(bad))}: "
                f"{xv[bad][0]!r} != {yv[bad][0]!r}"
            )
            continue
        assert x.to_pylist() == y.to_pylist(), f"column {c!r} differs"
