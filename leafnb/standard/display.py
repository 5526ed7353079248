"""Units and numbers as a person reads them: display unit systems, unit labels, number formats.

Stored data keep the units Leaf's ``unitMeasurement`` chose when they were converted
(``set_config(unitMeasurement="IMPERIAL")`` changes only later uploads: that is Leaf's rule
for stored data). Panels and reports instead *display* in a unit system chosen on the fly,
converting values, legends and summaries here (one factor per property, vectorised):

``source``
    the units of the file, except machine units nobody reads: ISO 11783 base units such as
    ``mm/s``, ``ppm``, ``mg/m²``, ``mm³/m²`` or an elevation in ``mm`` show in the usual
    unit of the same family (``km/h``, ``%``, ``t/ha``, ``L/ha``, ``m``); an imperial
    source (``ft/s``) goes to its imperial counterpart (``mph``).
``metric`` / ``imperial``
    every quantity in the agronomic unit of that system (table ``_KINDS``): yields in
    ``t/ha`` / ``bu/ac``…, rates in ``L/ha``, ``kg/ha`` / ``gal/ac``, ``lb/ac``, speeds in
    ``km/h`` / ``mph``, total areas in ``ha`` / ``ac``.

Which unit a value gets depends on *what it is* (a per-point area in m², a total area in
ha), so the choice goes by property name: the schema dimension of a standard property, or
the kind of a summary key (``totalArea``, ``totalDistance``, a variety's ``rate``…).

Numbers: thousands separators, three significant digits below 1,000 (more where a legend
needs them to tell two class edges apart), whole numbers above, never scientific notation:
``29,980 – 31,430 seeds/ac``.

Examples
--------
>>> display_unit("speed", "mm/s", "source")
'km/hr'
>>> unit_label("km/hr"), unit_label("percentage"), unit_label("milligram/meter**2")
('km/h', '%', 'mg/m²')
>>> format_number(29979.9), format_number(16.6418), format_number(0.0012345)
('29,980', '16.6', '0.00123')
>>> format_range(29979.9, 31430.2, "seeds/ac")
'29,980 – 31,430 seeds/ac'
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np

from leafnb.standard.schema import PROPERTIES
from leafnb.standard.units import conversion_factor, get_registry, leaf_unit, parse_unit

__all__ = [
    "DisplaySystem",
    "convert_for_display",
    "default_system",
    "display_legend",
    "display_summary",
    "display_unit",
    "format_edges",
    "format_number",
    "format_quantity",
    "format_range",
    "kind_of",
    "unit_label",
]


class DisplaySystem(StrEnum):
    """How panels and reports show units (converted on the fly, stored data unchanged)."""

    SOURCE = "source"
    METRIC = "metric"
    IMPERIAL = "imperial"


# kind -> (metric candidates, imperial candidates, other readable spellings); the first
# candidate whose pint dimensionality matches the value's unit is used
_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "length": (("m",), ("ft",), ()),
    "distance_total": (("km",), ("mi",), ("m", "ft")),
    "depth": (("cm",), ("in",), ("mm",)),
    "area": (("m2",), ("ft2",), ()),
    "area_total": (("ha",), ("ac",), ()),
    "speed": (("km/hr",), ("mi/hr",), ()),
    "angle": (("arcdeg",), ("arcdeg",), ()),
    "percent": (("percentage",), ("percentage",), ()),
    "mass": (("kg",), ("lb",), ("t", "g")),
    "mass_total": (("t",), ("lb",), ("kg",)),
    "mass_per_area": (("t/ha",), ("lb/ac",), ("kg/ha",)),
    "grain_volume": (("m3",), ("bu",), ("L",)),
    "grain_volume_per_area": (("m3/ha",), ("bu/ac",), ()),
    "volume": (("L",), ("gal",), ("m3",)),
    "volume_rate": (("L/hr",), ("gal/hr",), ()),
    "seed_rate": (("seeds/ha",), ("seeds/ac",), ("ksds/ac",)),
    "application_rate": (
        ("L/ha", "kg/ha", "seeds/ha"),
        ("gal/ac", "lb/ac", "seeds/ac"),
        ("floz/ac", "qt/ac", "t/ha"),
    ),
    "application_total": (
        ("L", "kg", "seeds"),
        ("gal", "lb", "seeds"),
        ("t", "m3"),
    ),
    "force": (("kgf",), ("lbf",), ()),
    "mass_flow": (("kg/s",), ("lb/s",), ()),
    "time": (("s",), ("s",), ()),
}

# summary keys that are not standard point properties
_SUMMARY_KINDS = {
    "totalArea": "area_total",
    "totalDistance": "distance_total",
    "totalWetMass": "mass_total",
    "totalDryMass": "mass_total",
    "totalWetVolume": "grain_volume",
    "totalDryVolume": "grain_volume",
    "totalApplied": "application_total",
    "totalPlanted": "application_total",
    "totalFuel": "volume",
}

# units that tell an imperial source (its unreadable units go to the imperial counterpart)
_IMPERIAL_WORDS = ("foot", "inch", "mile", "pound", "bushel", "acre", "gallon", "ounce")

_LABELS = {
    "mi/hr": "mph",
    "km/hr": "km/h",
    "percentage": "%",
    "prcnt": "%",
    "arcdeg": "°",
    "m2": "m²",
    "ft2": "ft²",
    "m3": "m³",
    "m3/ha": "m³/ha",
    "L/hr": "L/h",
    "gal/hr": "gal/h",
    "kilometer": "km",
    "mile": "mi",
    "metric_ton": "t",
}


def default_system(unit_measurement: str | None) -> DisplaySystem:
    """The display system that matches Leaf's ``unitMeasurement`` (``DEFAULT`` → ``source``).

    >>> default_system("IMPERIAL")
    <DisplaySystem.IMPERIAL: 'imperial'>
    """
    return {
        "METRIC": DisplaySystem.METRIC,
        "IMPERIAL": DisplaySystem.IMPERIAL,
    }.get(str(unit_measurement or "").upper(), DisplaySystem.SOURCE)


def kind_of(name: str, context: str | None = None) -> str | None:
    """What a value named *name* measures (a key of ``_KINDS``), or None when unknown.

    *context* is the summary list the value sits in (``varieties``, ``products``): there
    ``area`` is the variety's total area and ``rate`` an application or seed rate.
    """
    if context in ("varieties", "products"):
        if name == "area":
            return "area_total"
        if name == "rate":
            return "application_rate"
        if name in ("wetMass", "dryMass"):
            return "mass_total"
        if name in ("wetVolume", "dryVolume"):
            return "grain_volume"
    if name in _SUMMARY_KINDS:
        return _SUMMARY_KINDS[name]
    if name in ("distance", "elevation"):
        return "length"
    spec = PROPERTIES.get(name)
    return spec[1] if spec else None


def _same_dim(a: str, b: str) -> bool:
    try:
        return parse_unit(a).dimensionality == parse_unit(b).dimensionality
    except ValueError:
        return False


def _spelling(unit: str) -> str:
    try:
        return leaf_unit(unit)
    except ValueError:
        return unit


def display_unit(
    name: str, unit: str | None, system: DisplaySystem | str, context: str | None = None
) -> str | None:
    """The unit a value of *name* stored in *unit* is shown in under *system*.

    A unit of another kind than expected (an application rate in mm³/m² is still a
    rate) picks the candidate with the same dimensionality; with no such candidate, or
    an unknown unit, the stored unit stays.

    >>> display_unit("wetMassPerArea", "milligram/meter**2", "imperial")
    'lb/ac'
    >>> display_unit("appliedRate", "mm3/m2", "metric")
    'L/ha'
    >>> display_unit("seedRate", "seeds/ac", "source")
    'seeds/ac'
    """
    if not unit:
        return unit
    system = DisplaySystem(system)
    kind = kind_of(name, context)
    if kind not in _KINDS:
        return unit
    metric, imperial, extra = _KINDS[kind]
    spelled = _spelling(unit)
    if system is DisplaySystem.SOURCE:
        if spelled in (*metric, *imperial, *extra):
            return spelled
        try:
            words = str(parse_unit(unit))
        except ValueError:
            return unit
        system = (
            DisplaySystem.IMPERIAL
            if any(w in words for w in _IMPERIAL_WORDS)
            else DisplaySystem.METRIC
        )
    for candidate in metric if system is DisplaySystem.METRIC else imperial:
        if _same_dim(unit, candidate):
            return candidate
    return spelled if _same_dim(unit, spelled) else unit


def _factor(unit: str | None, target: str | None) -> float:
    if not unit or not target or unit == target:
        return 1.0
    try:
        return conversion_factor(unit, target)
    except Exception:  # pint raises several types; an unknown unit is shown unconverted
        return 1.0


def convert_for_display(
    values: Any,
    name: str,
    unit: str | None,
    system: DisplaySystem | str,
    context: str | None = None,
) -> tuple[np.ndarray, str | None]:
    """``(values, unit)`` of *values* (stored in *unit*) converted for display (one factor).

    >>> v, u = convert_for_display([2200.0], "speed", "mm/s", "metric")
    >>> round(float(v[0]), 2), u
    (7.92, 'km/hr')
    """
    target = display_unit(name, unit, system, context)
    factor = _factor(unit, target)
    if factor == 1.0 and target != unit and not _same_dim(unit or "", target or ""):
        target = unit
    return np.asarray(values, dtype=float) * factor, target


def _scale(value: Any, factor: float) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value * factor
    return value


def _convert_entry(
    entry: Mapping[str, Any], name: str, system: DisplaySystem, context: str | None
) -> dict[str, Any]:
    unit = entry.get("unit")
    target = display_unit(name, unit, system, context) if unit else unit
    factor = _factor(unit, target)
    out = {k: _scale(v, factor) if k != "unit" else v for k, v in entry.items()}
    if factor != 1.0 or target == _spelling(unit or ""):
        out["unit"] = target
    return out


def display_summary(props: Mapping[str, Any], system: DisplaySystem | str) -> dict:
    """A summary's ``properties`` with every ``{value|avg|min|max…, unit}`` entry converted.

    Lists of varieties, products and machine totals are converted entry by entry; other
    keys are copied.

    >>> out = display_summary({"totalArea": {"value": 43453.0, "unit": "m2"}}, "metric")
    >>> out["totalArea"]["unit"], round(out["totalArea"]["value"], 4)
    ('ha', 4.3453)
    """
    system = DisplaySystem(system)

    def walk(name: str, value: Any, context: str | None) -> Any:
        if isinstance(value, Mapping):
            if "unit" in value:
                return _convert_entry(value, name, system, context)
            return {k: walk(k, v, context) for k, v in value.items()}
        if isinstance(value, list) and name in ("varieties", "products"):
            return [walk(name, item, name) for item in value]
        if isinstance(value, list) and name == "machineTotals":
            return [_machine_total(item, system) for item in value]
        return value

    return {k: walk(k, v, None) for k, v in props.items()}


def _machine_total(item: Any, system: DisplaySystem) -> Any:
    """A machine-total row: its recorded value and leafnb's in one display unit."""
    if not isinstance(item, Mapping) or not item.get("unit"):
        return item
    key = str(item.get("key", ""))
    name = key if key in _SUMMARY_KINDS else "totalWetMass"
    unit = item["unit"]
    target = display_unit(name, unit, system)
    factor = _factor(unit, target)
    out = dict(item)
    for k in ("value", "leafnbValue", "leafnbAllRecordsValue"):
        if k in out:
            out[k] = _scale(out[k], factor)
    if factor != 1.0:
        out["unit"] = target
    return out


def display_legend(
    ranges: Sequence[Mapping[str, Any]],
    name: str,
    unit: str | None,
    system: DisplaySystem | str,
) -> tuple[list[dict[str, Any]], str | None]:
    """Legend rows ``[{colorCode, min, max}]`` converted for display, and their unit.

    Classes do not change: a unit conversion is one positive factor, so every value stays
    in its class.
    """
    target = display_unit(name, unit, system)
    factor = _factor(unit, target)
    if factor == 1.0:
        target = unit if not _same_dim(unit or "", target or "") else target
    rows = [
        {
            **r,
            "min": None if r.get("min") is None else r["min"] * factor,
            "max": None if r.get("max") is None else r["max"] * factor,
        }
        for r in ranges
    ]
    return rows, target


# ---------------------------------------------------------------------------- labels
def unit_label(unit: str | None) -> str:
    """A unit as people write it: ``km/h``, ``mph``, ``%``, ``m²``, ``mg/m²``.

    Leaf's short spellings (``bu/ac``, ``seeds/ac``, ``L/ha``) stay; anything else is
    pint's compact form with superscripts.
    """
    if not unit:
        return ""
    spelled = _spelling(unit)
    if spelled in _LABELS:
        return _LABELS[spelled]
    if "*" not in spelled and " " not in spelled and "_" not in spelled:
        return spelled.replace("**2", "²").replace("**3", "³")
    with contextlib.suppress(ValueError):
        text = f"{get_registry().Unit(parse_unit(unit)):~P}"
        return text.replace("intl_acre", "ac")
    return unit


# ---------------------------------------------------------------------------- numbers
def _decimals(value: float, digits: int) -> int:
    if value == 0 or not math.isfinite(value):
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    return max(0, min(digits - 1 - magnitude, 9))


def format_number(value: Any, digits: int = 3) -> str:
    """*value* with thousands separators and *digits* significant digits.

    Whole numbers from 1,000 on, no scientific notation; ``–`` for None/NaN.

    >>> format_number(1234567.8), format_number(183.42), format_number(0.5), format_number(7)
    ('1,234,568', '183', '0.5', '7')
    """
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "–"
    dec = _decimals(x, digits)
    text = f"{x:,.{dec}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_quantity(value: Any, unit: str | None = None, digits: int = 3) -> str:
    """``"29,980 seeds/ac"``: :func:`format_number` and :func:`unit_label`."""
    label = unit_label(unit)
    return f"{format_number(value, digits)} {label}".strip()


def format_edges(edges: Sequence[float | None], digits: int = 3) -> list[str]:
    """Class edges formatted with the fewest significant digits (≥ *digits*) that keep them distinct.

    So no two legend rows read the same.

    >>> format_edges([29979.9, 31430.2, 31431.0])
    ['29,980', '31,430', '31,431']
    >>> format_edges([10.01, 10.02, 10.5])
    ['10.01', '10.02', '10.5']
    """
    vals = [None if e is None or not math.isfinite(e) else float(e) for e in edges]
    finite = [v for v in vals if v is not None]
    for d in range(digits, 12):
        labels = [format_number(v, d) for v in vals]
        distinct = {}
        clash = False
        for v, label in zip(vals, labels, strict=True):
            if v is None:
                continue
            if label in distinct and distinct[label] != v:
                clash = True
                break
            distinct[label] = v
        if not clash or len(set(finite)) <= 1:
            return labels
    return [format_number(v, 12) for v in vals]


def format_range(lo: Any, hi: Any, unit: str | None = None, digits: int = 3) -> str:
    """``"29,980 – 31,430 seeds/ac"`` (both ends with enough digits to differ)."""
    a, b = format_edges([lo, hi], digits)
    return f"{a} – {b} {unit_label(unit)}".strip()
