"""What the browser map receives: point layers as binary buffers, the legend, unit factors.

The notebook map (``leafnb/widgets/pointmap.js``) draws points it gets as little-endian
buffers, so a million points travel as ~13 MB of numbers rather than ~200 MB of GeoJSON:

- ``x``, ``y``: float32 EPSG:3857 metres relative to the map's ``origin`` (float64), which
  keeps millimetre precision across a farm;
- ``value``: the shown property in its *stored* unit (float32, NaN = no value); display
  units are one factor per property (:func:`unit_factors`), so switching
  source/metric/imperial sends a few numbers, not the points again;
- ``cls``: the legend class of each point (uint8, 255 = no value), computed here by
  :meth:`Legend.classify`, so a point's colour is exactly the imagesV2 colour;
- ``width``: swath width in metres (float32; ``width_m`` when constant) for footprints;
- ``props``: every numeric property (float32) for hover inspection, on small layers only.

Everything is vectorised (no per-point Python loop).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.render.raster import project
from leafnb.standard.display import (
    DisplaySystem,
    convert_for_display,
    display_legend,
    format_edges,
    format_number,
    unit_label,
)
from leafnb.standard.points import PointSet

__all__ = [
    "encode_points",
    "legend_spec",
    "point_rows",
    "swath_width_m",
    "unit_factors",
]


def _f32(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f4").tobytes()


def encode_points(
    layer_id: str,
    name: str,
    lon: np.ndarray,
    lat: np.ndarray,
    origin: Sequence[float],
    *,
    kind: str = "points",
    values: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    width_m: np.ndarray | None = None,
    props: Mapping[str, np.ndarray] | None = None,
    side: str = "",
    color: str | None = None,
) -> dict[str, Any]:
    """One layer for the browser map (see module doc); lon/lat must be finite.

    Examples
    --------
    >>> spec = encode_points("a", "points", np.array([0.0]), np.array([0.0]), (0.0, 0.0))
    >>> spec["count"], len(spec["x"])
    (1, 4)
    """
    x, y = project(lon, lat, "EPSG:3857")
    spec: dict[str, Any] = {
        "id": layer_id,
        "name": name,
        "kind": kind,
        "side": side,
        "count": len(x),
        "x": _f32(x - origin[0]),
        "y": _f32(y - origin[1]),
    }
    if color:
        spec["color"] = color
    if values is not None:
        spec["value"] = _f32(values)
    if classes is not None:
        cls = np.asarray(classes, dtype=np.int16)
        spec["cls"] = np.where(cls < 0, 255, cls).astype(np.uint8).tobytes()
    if width_m is not None:
        w = np.nan_to_num(np.asarray(width_m, dtype=float), nan=0.0)
        if len(w) and np.all(w == w[0]):
            spec["width_m"] = float(w[0])
        else:
            spec["width"] = _f32(w)
    if props:
        spec["props"] = {k: _f32(v) for k, v in props.items()}
    return spec


def swath_width_m(points: PointSet) -> np.ndarray | None:
    """``equipmentWidth`` in metres (None when the points have none)."""
    if not points.has("equipmentWidth"):
        return None
    width = points.array("equipmentWidth")
    unit = points.units.get("equipmentWidth", "m")
    if unit and unit != "m":
        from leafnb.standard.units import convert

        with contextlib.suppress(ValueError, KeyError, AttributeError):
            width = convert(width, unit, "m")
    return width


def legend_spec(
    legend: Any, prop: str, unit: str | None, system: DisplaySystem | str
) -> dict[str, Any]:
    """The map legend: title, rows and the classes the browser colours pixels with.

    Rows ``{color, label}`` are in display units; the edges and colours (stored units)
    are what the browser classifies pixel means with.

    >>> from leafnb.render.legend import quantile_legend
    >>> spec = legend_spec(quantile_legend(range(29980, 31440)), "seedRate", "seeds/ac", "source")
    >>> spec["rows"][0]["label"]
    '29,980 – 30,188 seeds/ac'
    """
    ranges, shown = display_legend(legend.ranges, prop, unit, system)
    edges = [ranges[0]["min"], *(r["max"] for r in ranges)]
    labels = format_edges(edges)
    label = unit_label(shown)
    rows = [
        {
            "color": r["colorCode"],
            "label": f"{labels[i]} – {labels[i + 1]} {label}".strip(),
        }
        for i, r in enumerate(ranges)
    ]
    return {
        "title": f"{prop} ({label})" if label else prop,
        "unit": label,
        "rows": rows,
        "edges": [float(e) if e is not None else None for e in legend.edges],
        "colors": [r["colorCode"] for r in legend.ranges],
        "constant": bool(legend.constant),
    }


def unit_factors(
    units: Mapping[str, str], system: DisplaySystem | str
) -> dict[str, dict[str, Any]]:
    """``{property: {"factor", "label"}}``: stored unit → display unit, per property."""
    out = {}
    for prop, unit in units.items():
        converted, shown = convert_for_display([1.0], prop, unit, system)
        out[prop] = {"factor": float(converted[0]), "label": unit_label(shown)}
    return out


def point_rows(
    points: PointSet, row: int, system: DisplaySystem | str
) -> list[tuple[str, str]]:
    """Every standard property of one point as ``(name, "value unit")``, in display units.

    Numbers are converted and formatted (:func:`leafnb.standard.display.format_number`),
    times are ISO 8601, lists are joined; empty values are left out.
    """
    one = points.table.slice(row, 1).to_pylist()[0]
    out = []
    for name, value in one.items():
        if value is None or name in ("lon", "lat"):
            continue
        field = points.table.schema.field(name)
        if pa.types.is_floating(field.type) or pa.types.is_integer(field.type):
            unit = points.units.get(name)
            converted, shown = convert_for_display([value], name, unit, system)
            text = f"{format_number(converted[0], 4)} {unit_label(shown)}".strip()
        elif isinstance(value, list):
            text = ", ".join(
                str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value
            )
        elif hasattr(value, "isoformat"):
            text = value.isoformat().replace("+00:00", "Z")
        else:
            text = str(value)
        if text:
            out.append((name, text))
    out.append(("lon, lat", f"{one['lon']:.6f}, {one['lat']:.6f}"))
    return out
