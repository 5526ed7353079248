"""Per-point distance, heading, speed, area and the harvest mass/volume family (``areaAndYield``).

Everything here is vectorised over the whole file. Values are first brought to one
canonical unit per dimension (SI-based, see ``CANONICAL``), derived, and later
converted to the requested unit system by :func:`to_unit_system`.

Formulas (spec §11 leaves them open; these are the conventional ones):

- ``distance``: great-circle distance from the previous record (haversine, R = 6,371,008.8 m);
  the first record takes the second record's distance;
- ``heading``: initial bearing from the previous record (0° = north, clockwise);
- ``speed``: ``distance / Δt`` where Δt > 0;
- ``area``: ``distance × equipmentWidth``;
- mass ↔ volume: ``volume = mass / density`` with the crop's density (lb/bu);
- dry ↔ wet: ``dry = wet × (100 − moisture) / (100 − standard moisture)``; when the crop
  has no standard moisture the dry values repeat the wet values (spec §1.5);
- per-area values: ``value / area`` and back.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.standard.crops import get_crop
from leafnb.standard.optype import OperationType
from leafnb.standard.points import PointSet
from leafnb.standard.schema import PROPERTIES
from leafnb.standard.units import (
    UnitSystem,
    convert,
    leaf_unit,
    parse_unit,
    target_unit,
)

__all__ = [
    "CANONICAL",
    "compute_area_and_yield",
    "haversine",
    "initial_bearing",
    "to_canonical",
    "to_unit_system",
]

EARTH_RADIUS_M = 6_371_008.8

#: canonical unit per schema dimension (what the store keeps between steps)
CANONICAL = {
    "length": "m",
    "depth": "cm",
    "area": "m2",
    "speed": "m/s",
    "angle": "arcdeg",
    "percent": "percentage",
    "mass": "kg",
    "mass_per_area": "kg/ha",
    "grain_volume": "m3",
    "grain_volume_per_area": "m3/ha",
    "volume": "L",
    "volume_rate": "L/hr",
    "seed_rate": "seeds/ha",
    "force": "kgf",
    "mass_flow": "kg/s",
    "time": "s",
}
_APPLICATION_CANONICAL = ("L/ha", "kg/ha", "seeds/ha")


def haversine(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres between arrays of WGS84 points."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def initial_bearing(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Initial bearing in degrees (0–360, clockwise from north) from point 1 to point 2."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    y = np.sin(lon2 - lon1) * np.cos(lat2)
    x = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(lon2 - lon1)
    return np.degrees(np.arctan2(y, x)) % 360.0


def _canonical_unit(prop: str, unit: str) -> str:
    dim = PROPERTIES[prop][1]
    if dim == "application_rate":
        src = parse_unit(unit).dimensionality
        for cand in _APPLICATION_CANONICAL:
            if parse_unit(cand).dimensionality == src:
                return cand
        return unit
    canon = CANONICAL.get(dim or "")
    if canon and parse_unit(canon).dimensionality == parse_unit(unit).dimensionality:
        return canon
    return unit


def to_canonical(points: PointSet) -> PointSet:
    """Convert every numeric property with a unit to its canonical unit."""
    for prop, unit in list(points.units.items()):
        if prop not in points.table.column_names:
            continue
        canon = _canonical_unit(prop, unit)
        if canon != unit:
            points = points.with_column(
                prop, convert(points.array(prop), unit, canon), canon
            )
    return points


def _fill(points: PointSet, prop: str, values: np.ndarray, unit: str) -> PointSet:
    """Set *prop* where it is missing (NaN/absent) from *values*."""
    if points.has(prop):
        current = points.array(prop)
        merged = np.where(np.isnan(current), values, current)
        if np.array_equal(merged, current, equal_nan=True):
            return points
        return points.with_column(prop, merged, unit)
    if np.all(np.isnan(values)):
        return points
    return points.with_column(prop, values, unit)


def _get(points: PointSet, prop: str) -> np.ndarray | None:
    return points.array(prop) if points.has(prop) else None


def compute_area_and_yield(points: PointSet) -> PointSet:
    """Fill distance, heading, speed, area and the harvest yield family (canonical units)."""
    points = to_canonical(points)
    n = len(points)
    if n == 0:
        return points
    lon, lat = points.array("lon"), points.array("lat")
    step = np.empty(n)
    step[1:] = haversine(lon[:-1], lat[:-1], lon[1:], lat[1:])
    step[0] = step[1] if n > 1 else 0.0
    points = _fill(points, "distance", step, "m")
    if n > 1:
        bearing = np.empty(n)
        bearing[1:] = initial_bearing(lon[:-1], lat[:-1], lon[1:], lat[1:])
        bearing[0] = bearing[1]
        points = _fill(points, "heading", bearing, "arcdeg")
    if points.has("timestamp") and n > 1:
        t = (
            pc.cast(points.table.column("timestamp"), pa.int64())
            .to_numpy(zero_copy_only=False)
            .astype("float64")
            / 1000.0
        )
        dt = np.empty(n)
        dt[1:] = np.diff(t)
        dt[0] = dt[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.where(dt > 0, points.array("distance") / dt, np.nan)
        points = _fill(points, "speed", speed, "m/s")
    width = _get(points, "equipmentWidth")
    if width is not None:
        points = _fill(points, "area", points.array("distance") * width, "m2")
    if points.operation_type == OperationType.HARVESTED:
        points = _harvest(points)
    return points


def _harvest(points: PointSet) -> PointSet:
    crop_values = (
        points.table.column("crop").to_numpy(zero_copy_only=False)
        if points.has("crop")
        else None
    )
    n = len(points)
    density = np.full(n, np.nan)  # kg/m³
    std_moist = np.full(n, np.nan)
    if crop_values is not None:
        uniq, inv = np.unique(crop_values.astype(str), return_inverse=True)
        crops = [get_crop(u) for u in uniq]
        density = np.array([c.density_kg_m3 if c else np.nan for c in crops])[inv]
        std_moist = np.array(
            [
                c.standard_moisture if c and c.standard_moisture is not None else np.nan
                for c in crops
            ]
        )[inv]
    area_ha = _get(points, "area")
    area_ha = area_ha / 10_000.0 if area_ha is not None else np.full(n, np.nan)
    moisture = _get(points, "harvestMoisture")
    if moisture is None:
        moisture = np.full(n, np.nan)
    # dry factor: no standard moisture -> dry repeats wet (factor 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dry_factor = np.where(
            np.isnan(std_moist), 1.0, (100.0 - moisture) / (100.0 - std_moist)
        )

    def per_area_pair(
        total: str, per_area: str, unit_total: str, unit_per_area: str
    ) -> None:
        nonlocal points
        t, p = _get(points, total), _get(points, per_area)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p is not None:
                points = _fill(points, total, p * area_ha, unit_total)
            if t is not None:
                points = _fill(
                    points,
                    per_area,
                    np.where(area_ha > 0, t / area_ha, np.nan),
                    unit_per_area,
                )

    # Repeat the rule set until nothing new appears (each pass can unlock another).
    for _ in range(4):
        before = {c for c in points.columns if points.has(c)}
        for prefix in ("wet", "dry"):
            per_area_pair(f"{prefix}Mass", f"{prefix}MassPerArea", "kg", "kg/ha")
            per_area_pair(f"{prefix}Volume", f"{prefix}VolumePerArea", "m3", "m3/ha")
            mass, vol = _get(points, f"{prefix}Mass"), _get(points, f"{prefix}Volume")
            if mass is not None:
                points = _fill(points, f"{prefix}Volume", mass / density, "m3")
            if vol is not None:
                points = _fill(points, f"{prefix}Mass", vol * density, "kg")
        wet, dry = _get(points, "wetMass"), _get(points, "dryMass")
        with np.errstate(divide="ignore", invalid="ignore"):
            if wet is not None:
                points = _fill(points, "dryMass", wet * dry_factor, "kg")
            if dry is not None:
                points = _fill(points, "wetMass", dry / dry_factor, "kg")
        flow, interval = _get(points, "cropFlow"), _get(points, "samplingInterval")
        if flow is not None and interval is not None:
            points = _fill(points, "wetMass", flow * interval, "kg")
        if {c for c in points.columns if points.has(c)} == before:
            break
    return points


def unit_family(units: dict[str, str]) -> UnitSystem:
    """IMPERIAL when the source used any imperial unit, else METRIC (for derived values)."""
    imperial = {
        "foot",
        "mile",
        "inch",
        "pound",
        "bushel",
        "acre",
        "intl_acre",
        "gallon",
        "fluid_ounce",
        "quart",
        "force_pound",
    }
    for unit in units.values():
        try:
            names = {str(k) for k in parse_unit(unit)._units}
        except ValueError:
            continue
        if names & imperial:
            return UnitSystem.IMPERIAL
    return UnitSystem.METRIC


def to_unit_system(points: PointSet, system: UnitSystem | str) -> PointSet:
    """Convert numeric properties to *system* (``DEFAULT`` restores the source units).

    Under ``DEFAULT`` a property the source carried is reported in the source's unit and a
    derived property in the source's family (imperial if the source used imperial units).
    Per-point ``area`` stays in m² in every system, as in every Leaf units sample.
    """
    system = UnitSystem(system)
    family = unit_family(points.source_units)
    sibling: dict[str | None, str] = {}
    for prop, unit in points.source_units.items():
        if prop in PROPERTIES and prop != "area":
            sibling.setdefault(PROPERTIES[prop][1], unit)
    for prop, unit in list(points.units.items()):
        if prop not in points.table.column_names or prop == "area":
            continue
        dim = PROPERTIES[prop][1]
        if system is UnitSystem.DEFAULT:
            # the source's own unit; for a derived value, the unit of a source value of the
            # same kind (dryMass follows wetMass), else the source's unit family
            source = points.source_units.get(prop) or sibling.get(dim)
            target = leaf_unit(source) if source else target_unit(dim, unit, family)
        else:
            target = target_unit(dim, unit, system)
        if target and target != unit:
            points = points.with_column(
                prop, convert(points.array(prop), unit, target), target
            )
    return replace(points, meta={**points.meta, "unit_system": system.value})
