"""The ISO 11783-11 data dictionary (DDI number -> name, unit, resolution) and leafnb's mapping.

``ddi.json`` is the dictionary shipped with isoxml-js 1.11.2 (``src/DDEntities.ts`` of
dev4Agriculture/isoxml-js, Apache-2.0), exported with ``tests/oracle/isoxml_oracle.mjs ddi``;
its ``pint`` field is leafnb's pint spelling of the unit. DDIs from 0xDFFF up
(proprietary/PGN based) are not scaled and never mapped.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "DELTA_PROPERTIES",
    "POINT_PROPERTIES",
    "PROPRIETARY_FROM",
    "TOTAL_KEYS",
    "WORK_STATE",
    "DdiEntry",
    "ddi_entry",
    "load_dictionary",
]

#: DDIs from this number up are proprietary / PGN based: kept raw (resolution 1, no unit)
PROPRIETARY_FROM = 0xDFFF


@dataclass(frozen=True)
class DdiEntry:
    """One row of the ISO 11783-11 data dictionary: DDI, name, unit, resolution per bit."""

    ddi: int
    name: str
    unit: str | None  # pint-parsable (None: count / unitless / unknown)
    resolution: float


@functools.cache
def load_dictionary() -> dict[int, DdiEntry]:
    """Return the full dictionary, keyed by DDI number."""
    text = (
        resources.files("leafnb.formats.isoxml")
        .joinpath("ddi.json")
        .read_text(encoding="utf-8")
    )
    doc = json.loads(text)
    return {
        e["ddi"]: DdiEntry(e["ddi"], e["name"], e.get("pint"), float(e["resolution"]))
        for e in doc["entries"]
    }


def ddi_entry(ddi: int) -> DdiEntry:
    """Return the entry of *ddi*; proprietary or unknown DDIs get resolution 1 and no unit."""
    if ddi < PROPRIETARY_FROM:
        entry = load_dictionary().get(ddi)
        if entry is not None:
            return entry
        return DdiEntry(ddi, f"Unknown DDI {ddi}", None, 1.0)
    return DdiEntry(ddi, f"Proprietary DDI 0x{ddi:04X}", None, 1.0)


#: what a DDI means as a standard property read on its own — no device tree, no
#: operation type (CSV decodings of time logs use it, ``formats.columns``; the ISOXML
#: reader maps by operation type and device element, :mod:`.properties`); the unit is
#: the dictionary's
POINT_PROPERTIES: dict[int, str] = {
    1: "appliedRateTarget",  # Setpoint Volume Per Area Application Rate, mm3/m2
    2: "appliedRate",  # Actual Volume Per Area Application Rate, mm3/m2
    6: "appliedRateTarget",  # Setpoint Mass Per Area Application Rate, mg/m2
    7: "appliedRate",  # Actual Mass Per Area Application Rate, mg/m2
    11: "seedRateTarget",  # Setpoint Count Per Area Application Rate, 1/m2
    12: "seedRate",  # Actual Count Per Area Application Rate, 1/m2
    51: "tillageDepthTarget",  # Setpoint Tillage Depth, mm
    52: "tillageDepthActual",  # Actual Tillage Depth, mm
    57: "seedDepth",  # Actual Seeding Depth, mm
    67: "equipmentWidth",  # Actual Working Width, mm
    83: "wetVolumePerArea",  # Volume Per Area Yield, ml/m2
    84: "wetMassPerArea",  # Mass Per Area Yield, mg/m2
    87: "cropFlow",  # Mass Per Time Yield, mg/s
    99: "harvestMoisture",  # Crop Moisture, ppm
    397: "speed",  # Actual Speed, mm/s
    406: "proteinPercentage",  # Actual Protein Content, ppm
}
#: running totals whose per-record increments are standard properties (read alone)
DELTA_PROPERTIES: dict[int, str] = {
    89: "wetVolume",
    90: "wetMass",
    116: "area",
    117: "distance",
    148: "fuelUsed",
}
#: Actual Work State (0 off, 1 on, 2 error, 3 not available)
WORK_STATE = 141

#: running/task totals (decimal DDI) -> the summary total they are compared with
TOTAL_KEYS: dict[int, str] = {
    80: "totalApplied",  # Application Total Volume, L
    81: "totalApplied",  # Application Total Mass, kg
    82: "totalPlanted",  # Application Total Count
    89: "totalWetVolume",  # Yield Total Volume, L
    90: "totalWetMass",  # Yield Total Mass, kg
    116: "totalArea",  # Total Area, m2
    117: "totalDistance",  # Effective Total Distance, mm
    148: "totalFuelUsed",  # Total Fuel Consumption, ml
    183: "totalDryMass",  # Yield Total Dry Mass, kg
}
