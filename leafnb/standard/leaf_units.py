"""Leaf's unit vocabulary on the wire: ONE table from leafnb's unit strings to Leaf's.

leafnb keeps units internally as :mod:`leafnb.standard.units` spells them (pint-backed,
e.g. ``percentage`` for moisture). Leaf's documented samples write a few of them
differently (``GET /files/{id}/units`` sample: ``"harvestMoisture": "prcnt"``; the
planted sample: ``"singulation": "prcnt"``). Every response that carries a unit — the
units map of a file or an operation, each ``unit`` of a summary, a session's area — goes
through :func:`wire_unit`, so a client ported from Leaf reads Leaf's strings.

Leaf spellings kept as they are (already Leaf's): ``ft``, ``m``, ``in``, ``cm``,
``mi/hr``, ``m/s``, ``ft/s``, ``arcdeg``, ``m2``, ``ac``, ``ha``, ``bu``, ``bu/ac``,
``lb``, ``lb/ac``, ``t``, ``t/ha``, ``gal``, ``gal/ac``, ``L``, ``L/ha``, ``seeds``,
``seeds/ac``, ``seeds/ha``, ``lbf``, ``kgf``, ``lb/s``, ``s``.

The harvest units map also names ``yieldVolume`` (the documented file-units sample:
``"yieldVolume": "bu"``): the unit of the harvested volume, i.e. of ``wetVolume``
(``dryVolume`` when a file has no wet volume).

Examples
--------
>>> wire_unit("percentage"), wire_unit("bu/ac"), wire_unit(None)
('prcnt', 'bu/ac', None)
>>> units_map_wire({"harvestMoisture": "percentage", "wetVolume": "bu"}, "harvested")
{'harvestMoisture': 'prcnt', 'wetVolume': 'bu', 'yieldVolume': 'bu'}
"""

from __future__ import annotations

from typing import Any

__all__ = ["LEAF_UNITS", "summary_wire", "units_map_wire", "wire_unit"]

#: leafnb unit string -> Leaf's unit string (units not listed are already Leaf's)
LEAF_UNITS: dict[str, str] = {
    "percentage": "prcnt",
    "percent": "prcnt",
    "%": "prcnt",
    "pct": "prcnt",
    "degree": "arcdeg",
    "deg": "arcdeg",
    "mph": "mi/hr",
    "mile / hour": "mi/hr",
    "foot": "ft",
    "meter": "m",
    "meter ** 2": "m2",
    "liter": "L",
    "l": "L",
    "l/ha": "L/ha",
    "bushel": "bu",
    "pound": "lb",
}


def wire_unit(unit: Any) -> Any:
    """Leaf's spelling of one leafnb *unit* string (other values pass through)."""
    if isinstance(unit, str):
        return LEAF_UNITS.get(unit, unit)
    return unit


def units_map_wire(units: dict[str, Any], operation_type: str | None) -> dict[str, Any]:
    """A ``{property: unit}`` map in Leaf's vocabulary (+ ``yieldVolume`` for harvests)."""
    out = {k: wire_unit(v) for k, v in units.items()}
    if operation_type == "harvested" and "yieldVolume" not in out:
        volume = out.get("wetVolume") or out.get("dryVolume")
        if volume:
            out["yieldVolume"] = volume
    return out


def summary_wire(value: Any) -> Any:
    """*value* (a summary Feature, a session list…) with every ``"unit"`` in Leaf's vocabulary."""
    if isinstance(value, dict):
        return {
            k: wire_unit(v) if k == "unit" else summary_wire(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [summary_wire(v) for v in value]
    return value
