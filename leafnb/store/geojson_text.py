"""JSON text of documents holding GeoJSON geometries, their coordinates rounded.

The geometries leafnb writes (a summary's coverage, boundaries) are computed from the
points, not measured: their coordinates are written to :data:`COORDINATE_DECIMALS`
decimals (RFC 7946 §11.2: 6 decimals of a degree are ~10 cm, and 15 nearly double a
text's size). Every other number is written as ``json.dumps`` writes it.

A coverage polygon has hundreds of thousands of positions. ``json.dumps`` formats
each float with ``float.__repr__``, one Python call per number (most of a 1M-point
file's summary write); :func:`json_text` formats a ring's numbers in one Arrow cast
instead. Arrow writes a double as its shortest round-trip decimal, as ``repr`` does;
the two spell alike numbers from 1e-4 to 1e9 in magnitude but for an integral
value's ``.0``, which is added (:func:`_spelled`); other numbers (``1e-05``, which
Arrow spells ``0.00001``) and non-finite ones are spelled by ``json.dumps``. The text is therefore ``json.dumps`` of
:func:`rounded_geometries` of the document, byte for byte.

>>> doc = {"area": 0.123456789123, "geometry": {"type": "LineString",
...     "coordinates": [[-93.56691604958532, 42.0], [1e-05, -0.0]]}}
>>> json_text(doc)
'{"area":0.123456789123,"geometry":{"type":"LineString","coordinates":[[-93.566916,42.0],[1e-05,-0.0]]}}'
>>> json_text(doc) == json.dumps(rounded_geometries(doc), separators=(",", ":"))
True
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["COORDINATE_DECIMALS", "json_text", "rounded_geometries"]

#: Decimals GeoJSON geometry coordinates are written with: 1e-7° is at most 0.56 cm
#: off (half a unit, on a meridian)
COORDINATE_DECIMALS = 7

_GEOJSON_GEOMETRIES = frozenset(
    ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
)

#: a JSON string no document holds (a NUL): marks where a geometry's coordinates go
_MARK = "\0coordinates"

#: a line of fewer positions is written by ``json.dumps`` (Arrow's set-up costs more)
_ARROW_FROM = 64


def rounded_geometries(doc: Any, decimals: int = COORDINATE_DECIMALS) -> Any:
    """*doc* with the coordinates of every GeoJSON geometry in it rounded to *decimals*.

    Other numbers are left as they are; *doc* itself is not changed.

    >>> rounded_geometries({"type": "Feature", "properties": {"area": 0.123456789123},
    ...     "geometry": {"type": "Point", "coordinates": [-93.56691604958532, 42.0]}})
    {'type': 'Feature', 'properties': {'area': 0.123456789123}, 'geometry': {'type': 'Point', 'coordinates': [-93.566916, 42.0]}}
    """
    return _with_coordinates(doc, lambda c: _round_coordinates(c, decimals))


def json_text(doc: Any, decimals: int = COORDINATE_DECIMALS) -> str:
    """Compact JSON of *doc*, GeoJSON coordinates to *decimals* (module docstring).

    ``json.dumps(rounded_geometries(doc, decimals), separators=(",", ":"),
    default=str)``, byte for byte.
    """
    texts: list[str] = []

    def mark(coordinates: Any) -> str:
        texts.append(_coordinates_text(coordinates, decimals))
        return _MARK

    text = json.dumps(_with_coordinates(doc, mark), separators=(",", ":"), default=str)
    parts = text.split(json.dumps(_MARK))
    if len(parts) != len(texts) + 1:  # a string of the document spells the mark
        return json.dumps(
            rounded_geometries(doc, decimals), separators=(",", ":"), default=str
        )
    return "".join(
        itertools.chain.from_iterable(itertools.zip_longest(parts, texts, fillvalue=""))
    )


def _with_coordinates(doc: Any, replace) -> Any:
    """*doc* with each GeoJSON geometry's ``coordinates`` as ``replace(coordinates)``."""
    if isinstance(doc, dict):
        if doc.get("type") in _GEOJSON_GEOMETRIES and "coordinates" in doc:
            return {k: replace(v) if k == "coordinates" else v for k, v in doc.items()}
        return {k: _with_coordinates(v, replace) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_with_coordinates(v, replace) for v in doc]
    return doc


def _round_position(position: Any, decimals: int) -> list[Any]:
    return [round(c, decimals) if isinstance(c, float) else c for c in position]


def _is_line(coords: Any) -> bool:
    """Whether *coords* is a list of positions (a line or ring), not of lines."""
    return (
        bool(coords)
        and isinstance(coords, list | tuple)
        and bool(
            coords[0]
            and isinstance(coords[0], list | tuple)
            and not isinstance(coords[0][0], list | tuple)
        )
    )


def _round_coordinates(coords: Any, decimals: int) -> Any:
    """GeoJSON ``coordinates`` with every float rounded (tuples become lists)."""
    if isinstance(coords, float):
        return round(coords, decimals)
    if not isinstance(coords, list | tuple):
        return coords
    if not coords or not isinstance(coords[0], list | tuple):
        return _round_position(coords, decimals)  # a position (or empty)
    if _is_line(coords):
        # a line or ring (a coverage polygon has hundreds of thousands of positions):
        # floats only, all positions of one dimension: in numpy; else position by position
        values = _float_positions(coords, decimals)
        if values is not None:
            return _rounded(values, decimals).tolist()
        return [_round_position(p, decimals) for p in coords]
    return [_round_coordinates(c, decimals) for c in coords]


def _coordinates_text(coords: Any, decimals: int) -> str:
    """The JSON text of :func:`_round_coordinates` of *coords* (compact)."""
    if _is_line(coords):
        if len(coords) >= _ARROW_FROM:
            values = _float_positions(coords, decimals)
            if values is not None:
                return _line_text(_rounded(values, decimals))
    elif (
        isinstance(coords, list | tuple)
        and coords
        and isinstance(coords[0], list | tuple)
    ):
        # lines, polygons: each on its own
        return "[" + ",".join(_coordinates_text(c, decimals) for c in coords) + "]"
    return json.dumps(
        _round_coordinates(coords, decimals), separators=(",", ":"), default=str
    )


def _float_positions(positions: Any, decimals: int) -> np.ndarray | None:
    """*positions* as a 2-D float64 array, or None unless all are floats of one dimension."""
    if not 0 <= decimals <= 22:  # 10**decimals exact in a float
        return None
    if set(map(type, itertools.chain.from_iterable(positions))) != {float}:
        return None
    try:
        values = np.array(positions, dtype=np.float64)
    except ValueError:  # positions of different lengths
        return None
    return values if values.ndim == 2 else None


def _rounded(values: np.ndarray, decimals: int) -> np.ndarray:
    """``round(v, decimals)`` of every value, computed in numpy.

    ``round`` rounds the exact value half to even and gives the float nearest the
    decimal; numpy's ``rint(v * 10**d) / 10**d`` gives the same float (the division of
    an exact integer by an exact power of ten is correctly rounded) unless
    ``v * 10**d`` was rounded across a half — values that close to a half are rounded
    by ``round`` itself.

    >>> _rounded(np.array([[0.12345678949, 1.0], [-2.5e-8, 1e300]]), 7).tolist()
    [[0.1234568, 1.0], [-0.0, 1e+300]]
    """
    scale = float(10**decimals)
    scaled = values * scale
    out = np.rint(scaled) / scale
    # |error of the product| <= |scaled| * 2**-53; ties, huge and non-finite values exact
    with np.errstate(invalid="ignore"):  # inf - inf: non-finite values go to round
        frac = np.abs(scaled - np.floor(scaled) - 0.5)
    near = ~(frac > np.abs(scaled) * 2.0**-50) | ~(np.abs(scaled) < 2.0**52)
    out[near] = [round(v, decimals) for v in values[near].tolist()]
    return out


def _line_text(values: np.ndarray) -> str:
    """``[[x,y],...]`` of the positions *values* (rows), each number as ``repr`` spells it."""
    columns = [_spelled(values[:, d]) for d in range(values.shape[1])]
    parts = [part for column in columns for part in (",", column)][1:]  # x "," y ...
    positions = pc.binary_join_element_wise("[", *parts, "]", "")
    line = pa.ListArray.from_arrays(
        pa.array([0, len(positions)], pa.int32()), positions
    )
    return "[" + pc.binary_join(line, ",")[0].as_py() + "]"


def _spelled(values: np.ndarray) -> pa.Array:
    """Each of *values* as ``json.dumps`` spells a float (``repr``; ``NaN``, ``Infinity``).

    Arrow's cast writes the shortest round-trip digits, as ``repr`` does, and the same
    way for magnitudes from 1e-4 to 1e9 (checked on every decade), but an integral
    value without ``.0``; anything else is spelled by ``json.dumps``.

    >>> _spelled(np.array([-93.5, 0.0, -0.0, 5.0, 2.5e-05, 1e300])).to_pylist()
    ['-93.5', '0.0', '-0.0', '5.0', '2.5e-05', '1e+300']
    """
    text = pc.cast(pa.array(values), pa.string())
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        arrow = ((size >= 1e-4) & (size < 1e9)) | (values == 0)
        integral = arrow & (values == np.floor(values))
    if integral.any():
        text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    if arrow.all():
        return text
    spelled = text.to_numpy(zero_copy_only=False)
    at = np.flatnonzero(~arrow)
    spelled[at] = [json.dumps(v) for v in values[at].tolist()]
    return pa.array(spelled, pa.string())
