"""Per-point distance, heading, speed, area and the harvest mass/volume family (``areaAndYield``).

Everything here is vectorised over the whole file. Values are first brought to one
canonical unit per dimension (SI-based, see ``CANONICAL``), derived, and later
converted to the requested unit system by :func:`to_unit_system`. A column that was
only converted (no value filled or replaced) goes back to the values the source wrote
at the end of :func:`compute_area_and_yield`: in the source's units they are stored as
written, not as ``x · f · (1/f)``, which differed from ``x`` in its last bits for 14–93 %
of the records of a generated 1M-point SMS GeoPackage (speed in mi/hr 17 %, elevation
in ft 58 %, yield in lb/ac 93 %). What compares values with thresholds after it (the
cleanup rules) reads them in canonical units (:func:`canonical_array`).

Formulas (spec §11 leaves them open; these are the conventional ones):

- ``distance``: great-circle distance from the previous record (haversine, R = 6,371,008.8 m);
  the first record takes the second record's distance;
- **impossible steps** (every format): a step longer than the machine can drive in the
  time between the two records — ``step > MAX_SPEED[operation type] x dt + 10 m`` (the
  10 m allow for GPS noise) — is a position glitch or a relocation (a 2,264 km jump in
  a 2-minute log): it gets distance 0, so it adds no distance or area, and is counted in
  ``meta["excluded_steps"]``. Without timestamps no step is judged;
- ``heading``: initial bearing from the previous record (0° = north, clockwise);
- ``speed``: distance over time, over at least :data:`SPEED_WINDOW_S` (records written
  milliseconds apart, or several at one instant, would otherwise turn GPS jitter into
  hundreds of m/s);
- ``area``: ``distance × equipmentWidth``;
- **flows** (``cropFlow``, by mass or by volume): integrated over each record's time
  interval — ``samplingInterval`` when the source gives it (Ag Leader's cycle), else the
  time since the previous record (the first record takes the second's); an interval
  longer than 10 typical intervals is a pause in logging and counts as 10 (the flow
  logged after it is not known to have lasted longer). A mass flow gives ``wetMass``,
  a volume flow ``wetVolume``. When the source gives a per-area yield too, the
  per-area yield times the area gives the mass if the area is the source's own (its
  area, or its distance with its width: an SMS export's yields are per its own swath
  and distance); if the area is modelled (positions x working width, here or by a
  reader: ``meta["modelled_properties"]``) the measured flow is integrated first — the
  machine's per-area figure times another area mixes two measurements;
- mass ↔ volume: ``volume = mass / density`` with the crop's density (lb/bu);
- dry ↔ wet: ``dry = wet × (100 − moisture) / (100 − standard moisture)``; when the crop
  has no standard moisture the dry values repeat the wet values (spec §1.5);
- per-area values: ``value / area`` and back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.standard.crops import get_crop
from leafnb.standard.optype import OperationType
from leafnb.standard.points import PointSet
from leafnb.standard.schema import PROPERTIES
from leafnb.standard.units import (
    UnitSystem,
    conversion_factor,
    convert,
    leaf_unit,
    parse_unit,
    target_unit,
)
from leafnb.store import derived

__all__ = [
    "CANONICAL",
    "MAX_SPEED",
    "canonical_array",
    "compute_area_and_yield",
    "exact_derived",
    "haversine",
    "initial_bearing",
    "position_steps",
    "record_intervals",
    "running_distance",
    "to_canonical",
    "to_unit_system",
]

EARTH_RADIUS_M = 6_371_008.8

#: fastest a machine of each operation type drives, m/s (road speeds: combines and
#: forage harvesters 40 km/h, tractors with implements up to 60 km/h, self-propelled
#: sprayers up to 50 km/h; with a margin)
MAX_SPEED: dict[str, float] = {
    OperationType.HARVESTED: 15.0,
    OperationType.PLANTED: 20.0,
    OperationType.TILLAGE: 20.0,
    OperationType.APPLIED: 25.0,
}
#: GPS position noise allowed on top of the driving distance of one step, m
STEP_TOLERANCE_M = 10.0
#: shortest time over which a derived speed is measured, s
SPEED_WINDOW_S = 1.0
#: an interval longer than this many typical intervals is a pause in logging
PAUSE_FACTOR = 10.0

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


#: the last track :func:`_track` measured: (lon, lat, its step distances); a file's
#: track is measured by its reader (running totals) and again by
#: :func:`compute_area_and_yield`, which lets it go
_LAST_TRACK: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | None = None


def _track(lon: np.ndarray, lat: np.ndarray) -> dict[str, np.ndarray]:
    """Measures of the track (lon, lat) computed so far: kept for the last track.

    The same track given again (equal coordinates, checked in full against a copy)
    gets the same dict, so its steps are computed once per file, not once per step
    that needs them.
    """
    global _LAST_TRACK
    last = _LAST_TRACK
    if (
        last is not None
        and last[0].shape == lon.shape
        and np.array_equal(last[0], lon, equal_nan=True)
        and np.array_equal(last[1], lat, equal_nan=True)
    ):
        return last[2]
    measures: dict[str, np.ndarray] = {}
    _LAST_TRACK = (np.array(lon, np.float64), np.array(lat, np.float64), measures)
    return measures


def _forget_track() -> None:
    """Let go of the last track's measures (:func:`_track`)."""
    global _LAST_TRACK
    _LAST_TRACK = None


def _along(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, ...]:
    """Radian steps, cos of latitude and latitudes in radians of a track's consecutive pairs.

    The same numbers :func:`haversine` and :func:`initial_bearing` compute for
    ``(lon[:-1], lat[:-1])`` → ``(lon[1:], lat[1:])``, each latitude's cosine (and
    sine, in :func:`_step_bearings`) taken once instead of once per pair it is in.
    """
    rlon, rlat = np.radians(lon), np.radians(lat)
    return np.diff(rlon), np.diff(rlat), np.cos(rlat), rlat


def _step_distances(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``haversine(lon[:-1], lat[:-1], lon[1:], lat[1:])``, bit for bit (:func:`_along`).

    The same operations in the same order, in place (fewer temporaries); computed once
    per track (:func:`_track`).
    """
    measures = _track(lon, lat)
    if "distance" not in measures:
        dlon, dlat, cos_lat, _ = _along(lon, lat)
        a = np.sin(dlat / 2)
        np.square(a, out=a)
        b = cos_lat[:-1] * cos_lat[1:]
        s = np.sin(dlon / 2)
        np.square(s, out=s)
        b *= s
        a += b
        np.clip(a, 0, 1, out=a)
        np.sqrt(a, out=a)
        np.arcsin(a, out=a)
        a *= 2 * EARTH_RADIUS_M
        measures["distance"] = a
    return measures["distance"].copy()


def _step_bearings(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``initial_bearing(lon[:-1], lat[:-1], lon[1:], lat[1:])``, bit for bit (:func:`_along`)."""
    dlon, _, cos_lat, rlat = _along(lon, lat)
    sin_lat = np.sin(rlat, out=rlat)
    # the operations of initial_bearing in its order, in place
    y = np.sin(dlon)
    y *= cos_lat[1:]
    x = cos_lat[:-1] * sin_lat[1:]
    c = sin_lat[:-1] * cos_lat[1:]
    c *= np.cos(dlon, out=dlon)
    x -= c
    b = np.arctan2(y, x, out=y)
    np.degrees(b, out=b)
    return np.remainder(b, 360.0, out=b)


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
    # the loop only replaces columns: their names, looked up once (a list made per call)
    names = set(points.table.schema.names)
    for prop, unit in list(points.units.items()):
        if prop not in names:
            continue
        canon = _canonical_unit(prop, unit)
        if canon != unit:
            points = points.with_column(
                prop, _converted(points, prop, unit, canon), canon
            )
    return points


def canonical_array(points: PointSet, prop: str) -> np.ndarray:
    """Column *prop* as float64 numpy in its canonical unit (as :func:`to_canonical` makes it).

    >>> p = PointSet(pa.table({"speed": [1.0, 3.6]}), "harvested", units={"speed": "km/h"})
    >>> canonical_array(p, "speed").round(6).tolist()
    [0.277778, 1.0]
    """
    unit = points.units.get(prop)
    if unit is not None and prop in PROPERTIES:
        canon = _canonical_unit(prop, unit)
        if canon != unit:
            values = _converted(points, prop, unit, canon)
            if isinstance(values, np.ndarray):
                return values.astype("float64", copy=False)
            return derived.float_values(values)
    return points.array(prop)


def _place(column: pa.ChunkedArray) -> tuple[Any, ...]:
    """Where a column's values are: equal for a column no step has replaced."""
    return tuple(
        (c.offset, len(c), tuple(0 if b is None else b.address for b in c.buffers()))
        for c in column.chunks
    )


def _as_written(
    points: PointSet, source: PointSet, converted: dict[str, tuple[Any, ...]]
) -> PointSet:
    """*points* with each column of *converted* back in the source's unit, as written.

    Every value the source wrote is its own again; a value filled in (where the source
    had none: :func:`_fill`) is converted to the source's unit. The same for every
    column whatever its values, so a file's record ranges decide as the whole file.
    """
    for prop, place in converted.items():
        i = points.table.schema.get_field_index(prop)
        if i < 0:
            continue
        unit = source.units[prop]
        written_column = source.table.column(prop)
        if (
            _place(points.table.column(i)) == place  # only converted: as written
            and written_column.type == pa.float64()
        ):
            points = points.with_column(prop, written_column, unit)
            continue
        written = source.array(prop)
        filled = convert(points.array(prop), points.units[prop], unit)
        points = points.with_column(
            prop, np.where(np.isnan(written), filled, written), unit
        )
    return points


def _converted(
    points: PointSet, prop: str, unit: str, target: str
) -> pa.ChunkedArray | np.ndarray:
    """Column *prop* of *points* converted from *unit* to *target*.

    A float64 column is multiplied in Arrow (nulls stay null, no NumPy copy and NaN
    mask; a small one without nulls in NumPy): the same products as :func:`convert`.
    Unless a value is NaN (missing in a point set, made null by
    :meth:`PointSet.with_column`): then through NumPy.
    """
    column = points.table.column(prop)
    if pa.types.is_float64(column.type):
        factor = conversion_factor(unit, target)
        if column.num_chunks == 1 and not column.null_count and len(column) <= 4096:
            # a small file's column: the same products in NumPy (a view of the values),
            # without three compute-function calls that cost more than the values
            values = column.chunk(0).to_numpy() * factor
            if not np.isnan(values).any():
                return pa.array(values, pa.float64())
        else:
            out = pc.multiply(column, pa.scalar(factor, pa.float64()))
            if not pc.any(pc.is_nan(out)).as_py():
                return out
    return convert(points.array(prop), unit, target)


def _fill(
    points: PointSet,
    prop: str,
    values: np.ndarray,
    unit: str,
    rule: dict[str, Any] | None = None,
) -> PointSet:
    """Set *prop* where it is missing (NaN/absent) from *values*.

    *rule* says how *values* were computed (see :func:`exact_derived`); a column made
    by one rule alone is recorded in ``meta["derivations"]``, one filled partly from
    the source or by two rules is not derivable (``None``).
    """
    if points.has(prop):
        current = points.array(prop)
        fill = np.isnan(current)
        fill &= ~np.isnan(values)  # missing here, known from the rule
        if not fill.any():
            return points
        merged = np.where(fill, values, current)
        return _derived_by(points.with_column(prop, merged, unit), prop, None)
    if np.all(np.isnan(values)):
        return points
    if rule is not None:
        rule = {**rule, "from_unit": points.units.get(rule["from"]), "unit": unit}
        if rule.get("by"):
            rule["by_unit"] = points.units.get(rule["by"])
    return _derived_by(points.with_column(prop, values, unit), prop, rule)


def _derived_by(points: PointSet, prop: str, rule: dict[str, Any] | None) -> PointSet:
    derivations = {**(points.meta.get("derivations") or {}), prop: rule}
    return replace(points, meta={**points.meta, "derivations": derivations})


def _missing(points: PointSet, prop: str) -> bool:
    """True unless *points* has *prop* with no NaN (then :func:`_fill` would change nothing)."""
    return not points.has(prop) or bool(np.isnan(points.array(prop)).any())


def _get(points: PointSet, prop: str) -> np.ndarray | None:
    return points.array(prop) if points.has(prop) else None


def position_steps(
    lon: np.ndarray,
    lat: np.ndarray,
    time_s: np.ndarray | None = None,
    max_speed: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) of each record from the previous one, and which steps are impossible.

    The first record's step is 0. A step is impossible when it is longer than
    ``max_speed x dt + STEP_TOLERANCE_M`` (module docstring); without *time_s* or
    *max_speed* none is.

    Examples
    --------
    >>> import numpy as np
    >>> lon = np.array([10.0, 10.0001, 30.0, 10.0002])  # a 1,400 km glitch and back
    >>> steps, bad = position_steps(lon, np.full(4, 54.0), np.arange(4.0), 15.0)
    >>> bad.tolist()
    [False, False, True, True]
    """
    n = len(lon)
    step = np.zeros(n)
    if n > 1:
        step[1:] = _step_distances(lon, lat)
    bad = np.zeros(n, bool)
    if time_s is not None and max_speed is not None and n > 1:
        dt = np.abs(np.diff(time_s))
        with np.errstate(invalid="ignore"):
            bad[1:] = step[1:] > max_speed * dt + STEP_TOLERANCE_M
    bad &= ~np.isnan(step)
    return step, bad


def record_intervals(time_s: np.ndarray, typical: float | None = None) -> np.ndarray:
    """Each record's time interval (s): the time since the previous record.

    The first record takes the second's interval; an interval longer than
    ``PAUSE_FACTOR`` typical intervals (*typical*, by default the median positive
    interval) is a pause in logging and counts as ``PAUSE_FACTOR`` typical intervals;
    going back in time counts as 0.

    Examples
    --------
    >>> record_intervals(np.array([0.0, 1.0, 2.0, 600.0, 601.0])).tolist()
    [1.0, 1.0, 1.0, 10.0, 1.0]
    """
    n = len(time_s)
    if n < 2:
        return np.zeros(n)
    dt = np.empty(n)
    dt[1:] = np.diff(time_s)
    dt[0] = dt[1]
    dt = np.where(np.isnan(dt) | (dt < 0), 0.0, dt)
    if typical is None:
        positive = dt[dt > 0]
        typical = float(np.median(positive)) if len(positive) else None
    if typical is not None:
        dt = np.minimum(dt, PAUSE_FACTOR * typical)
    return dt


def running_distance(distance: np.ndarray, start: float = 0.0) -> np.ndarray:
    """The distance driven up to each record, *start* at the first (what speeds are taken from).

    The sum runs record by record, so a file's running distance continued from a
    record's value is, bit for bit, the one summed from the file's start.

    >>> running_distance(np.array([5.0, 1.0, np.nan, 2.0])).tolist()
    [0.0, 1.0, 1.0, 3.0]
    """
    return np.cumsum(np.concatenate([[start], np.nan_to_num(distance[1:])]))


def _speed(distance: np.ndarray, time_s: np.ndarray, start: float = 0.0) -> np.ndarray:
    """Distance over time, measured over at least ``SPEED_WINDOW_S`` per record."""
    n = len(distance)
    cum = running_distance(distance, start)
    # j: the last record at least SPEED_WINDOW_S before record i (time need not be sorted)
    order = np.argsort(time_s, kind="stable")
    ts = time_s[order]
    pos = np.searchsorted(ts, time_s - SPEED_WINDOW_S, side="right") - 1
    j = np.where(pos >= 0, order[np.clip(pos, 0, n - 1)], 0)
    j = np.minimum(j, np.arange(n))  # look back only
    span = time_s - time_s[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(span > 0, (cum - cum[j]) / span, np.nan)
    if n > 1:
        speed[0] = speed[1]
    return speed


def compute_area_and_yield(
    points: PointSet,
    *,
    lead: int = 0,
    typical_interval: float | None = None,
    distance_before: float = 0.0,
) -> PointSet:
    """Fill distance, heading, speed, area and the harvest yield family.

    What it computes is in canonical units; the source's own columns are in the
    source's units, their values as written (module docstring): read the units from
    ``points.units``, or values in canonical units with :func:`canonical_array`.

    Impossible steps (module docstring) are excluded from distance and area and counted
    in ``meta["excluded_steps"]``.

    A file converted in record ranges (:mod:`leafnb.pipeline.stream`) passes each range
    with the end of the previous one in front: the first *lead* records give the
    range's first record its step, heading and speed window, are not counted, and are
    left out of the result; *typical_interval* is the file's typical record interval
    (:func:`record_intervals`) and *distance_before* the file's running distance at the
    first record given (:func:`running_distance`).
    """
    source, points = points, to_canonical(points)
    n = len(points)
    if n == 0:
        return points
    # the columns only converted: as written again at the end unless replaced (module
    # docstring)
    names = set(source.table.schema.names)
    converted = {
        prop: _place(points.table.column(prop))
        for prop, unit in source.units.items()
        if prop in names and points.units.get(prop) != unit
    }
    lon, lat = points.array("lon"), points.array("lat")
    time_s = None
    if points.has("timestamp"):
        time_s = (
            pc.cast(points.table.column("timestamp"), pa.int64())
            .to_numpy(zero_copy_only=False)
            .astype("float64")
            / 1000.0
        )
    step, bad = position_steps(
        lon, lat, time_s, MAX_SPEED.get(OperationType(points.operation_type))
    )
    _forget_track()  # measured by the reader and here: not needed after
    if bad.any():
        step[bad] = 0.0
        if bad[lead:].any():
            excluded = int(bad[lead:].sum())
            points = replace(points, meta={**points.meta, "excluded_steps": excluded})
    if n > 1:
        step[0] = step[1]
    points = _fill(points, "distance", step, "m")
    if n > 1 and _missing(points, "heading"):
        bearing = np.empty(n)
        bearing[1:] = _step_bearings(lon, lat)
        bearing[0] = bearing[1]
        points = _fill(points, "heading", bearing, "arcdeg")
    if time_s is not None and n > 1 and _missing(points, "speed"):
        speed = _speed(points.array("distance"), time_s, distance_before)
        points = _fill(points, "speed", speed, "m/s")
    width = _get(points, "equipmentWidth")
    if width is not None:
        points = _fill(
            points,
            "area",
            points.array("distance") * width,
            "m2",
            {"from": "distance", "by": "equipmentWidth", "row": None, "area": None},
        )
    if points.operation_type == OperationType.HARVESTED:
        points = _harvest(points, time_s, typical_interval)
    points = _as_written(points, source, converted)
    if lead:
        points = replace(points, table=points.table.slice(lead))
    return points


def _harvest(
    points: PointSet, time_s: np.ndarray | None, typical: float | None = None
) -> PointSet:
    n = len(points)
    density = np.full(n, np.nan)  # kg/m³
    std_moist = np.full(n, np.nan)
    if points.has("crop"):
        # once per distinct crop, by its text (a missing crop: "None", as numpy spells it)
        uniq, inv = derived.distinct(points.table.column("crop"))
        crops = [get_crop(str(u)) for u in uniq]
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

    # a column without a missing value stays so (rules only fill): not computed again
    complete: set[str] = set()

    def missing(prop: str) -> bool:
        if prop not in complete and not _missing(points, prop):
            complete.add(prop)
        return prop not in complete

    def per_area_pair(
        total: str, per_area: str, unit_total: str, unit_per_area: str
    ) -> None:
        nonlocal points
        # both read before either is filled
        t = _get(points, total) if missing(per_area) else None
        p = _get(points, per_area) if missing(total) else None
        with np.errstate(divide="ignore", invalid="ignore"):
            if p is not None:
                points = _fill(
                    points,
                    total,
                    p * area_ha,
                    unit_total,
                    {"from": per_area, "row": None, "area": "times"},
                )
            if t is not None:
                points = _fill(
                    points,
                    per_area,
                    np.where(area_ha > 0, t / area_ha, np.nan),
                    unit_per_area,
                    {"from": total, "row": None, "area": "per"},
                )

    modelled = set(points.meta.get("modelled_properties") or ())
    if not ({"area", "distance"} & (set(points.source_units) - modelled)):
        points = _integrate_flow(points, time_s, typical)  # modelled area: flow first
    # Repeat the rule set until nothing new appears (each pass can unlock another).
    for _ in range(4):
        before = {c for c in points.columns if points.has(c)}
        for prefix in ("wet", "dry"):
            per_area_pair(f"{prefix}Mass", f"{prefix}MassPerArea", "kg", "kg/ha")
            per_area_pair(f"{prefix}Volume", f"{prefix}VolumePerArea", "m3", "m3/ha")
            mass = _get(points, f"{prefix}Mass") if missing(f"{prefix}Volume") else None
            vol = _get(points, f"{prefix}Volume") if missing(f"{prefix}Mass") else None
            if mass is not None:
                points = _fill(
                    points,
                    f"{prefix}Volume",
                    mass / density,
                    "m3",
                    {"from": f"{prefix}Mass", "row": "per_density", "area": None},
                )
            if vol is not None:
                points = _fill(
                    points,
                    f"{prefix}Mass",
                    vol * density,
                    "kg",
                    {"from": f"{prefix}Volume", "row": "density", "area": None},
                )
        wet = _get(points, "wetMass") if missing("dryMass") else None
        dry = _get(points, "dryMass") if missing("wetMass") else None
        with np.errstate(divide="ignore", invalid="ignore"):
            if wet is not None:
                points = _fill(
                    points,
                    "dryMass",
                    wet * dry_factor,
                    "kg",
                    {"from": "wetMass", "row": "dry", "area": None},
                )
            if dry is not None:
                points = _fill(
                    points,
                    "wetMass",
                    dry / dry_factor,
                    "kg",
                    {"from": "dryMass", "row": "per_dry", "area": None},
                )
        if missing("wetMass") or missing("wetVolume"):
            points = _integrate_flow(points, time_s, typical)
        if {c for c in points.columns if points.has(c)} == before:
            break
    return points


def _integrate_flow(
    points: PointSet, time_s: np.ndarray | None, typical: float | None = None
) -> PointSet:
    """``wetMass`` (mass flow) or ``wetVolume`` (volume flow) = flow x record interval."""
    flow = _get(points, "cropFlow")
    if flow is None:
        return points
    interval = _get(points, "samplingInterval")
    # a logged interval column makes the mass a product of two stored columns
    rule = {"from": "cropFlow", "by": "samplingInterval", "row": None, "area": None}
    if interval is None:
        if time_s is None:
            return points
        interval, rule = record_intervals(time_s, typical), None
    unit = points.units.get("cropFlow", "kg/s")
    dim = parse_unit(unit).dimensionality
    if dim == parse_unit("kg/s").dimensionality:
        flow_kg = convert(flow, unit, "kg/s") * interval
        return _fill(points, "wetMass", flow_kg, "kg", rule)
    if dim == parse_unit("m3/s").dimensionality:
        flow_m3 = convert(flow, unit, "m3/s") * interval
        return _fill(points, "wetVolume", flow_m3, "m3", rule)
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
    names = set(points.table.schema.names)  # (as in to_canonical)
    for prop, unit in list(points.units.items()):
        if prop not in names or prop == "area":
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
                prop, _converted(points, prop, unit, target), target
            )
    return replace(points, meta={**points.meta, "unit_system": system.value})


def exact_derived(points: PointSet) -> tuple[PointSet, dict[str, Any] | None]:
    """Recompute the derived harvest columns with :mod:`leafnb.store.derived` (final units).

    Returns the points and the recipe that rebuilds those columns from the stored ones,
    so a standard artifact need not store them (None when nothing is derived). Each
    column made by one rule (``meta["derivations"]``, recorded by :func:`_harvest`) is
    recomputed from the points' current columns and units — the same numbers up to the
    last bits of a float64 (unit factors applied in another order); a column that would
    differ by more (relative 1e-9, or where it is missing) keeps its values and stays
    stored. Call it on the points as they will be written: every later step then sees
    exactly what a reader of the artifact gets.
    """
    rules = points.meta.get("derivations") or {}
    if not rules or points.units.get("area", "m2") != "m2":
        return points, None
    crops: dict[str, list[float | None]] = {}
    if points.has("crop"):
        for name in sorted(
            str(v) for v in derived.distinct(points.table.column("crop"))[0]
        ):
            crop = get_crop(name)
            if crop is not None:
                crops[str(name)] = [crop.density_kg_m3, crop.standard_moisture]
    moisture_unit = points.units.get("harvestMoisture")
    recipe: dict[str, Any] = {
        "crops": crops,
        "moisture": [
            "harvestMoisture",
            conversion_factor(moisture_unit, CANONICAL["percent"])
            if moisture_unit
            else 1.0,
        ],
        "steps": [],
    }
    rows: dict[str, np.ndarray] = {}  # per-point crop factors, shared by the steps
    for prop, rule in rules.items():
        if (
            rule is None
            or prop in points.source_units
            or not points.has(prop)
            or rule["from"] not in points.units
            or not rule.get("from_unit")
        ):
            continue
        factor = conversion_factor(
            points.units[rule["from"]], rule["from_unit"]
        ) * conversion_factor(rule["unit"], points.units[prop])
        step = {
            "column": prop,
            "from": rule["from"],
            "factor": factor,
            "row": rule["row"],
            "area": rule["area"],
        }
        if rule.get("by"):
            by, by_unit = rule["by"], rule.get("by_unit")
            if not by_unit or by not in points.units:
                continue
            step["by"] = by
            step["factor"] = factor * conversion_factor(points.units[by], by_unit)
        values = derived.step_values(points.table, recipe, step, rows)
        gaps = np.isnan(values)
        if _close(values, points.array(prop), gaps, 1e-9):
            points = points.with_column(prop, derived.float_array(values, gaps))
            recipe["steps"].append(step)
    if not recipe["steps"]:
        return points, None
    written: set[str] = set()  # columns set by a later step
    for step in reversed(recipe["steps"]):
        if derived.step_inputs(recipe, step) & written:
            break
        written.add(step["column"])
    else:  # no step reads a column a later one set: the table is as the recipe makes it
        derived.made_by(points.table, recipe)
    return points, recipe


def _close(
    values: np.ndarray, current: np.ndarray, gaps: np.ndarray, rtol: float
) -> bool:
    """``np.allclose(values, current, rtol=rtol, atol=0, equal_nan=True)`` with equal gaps.

    *gaps* is ``np.isnan(values)``; False when *current* is missing elsewhere. numpy's
    test (``|x - y| <= atol + rtol |y|`` where y is finite, or ``x == y``, or both
    NaN) in place, the gaps computed once.

    >>> a = np.array([1.0, np.nan, np.inf, 3.0])
    >>> _close(a, a * (1 + 1e-12), np.isnan(a), 1e-9)
    True
    >>> _close(a, np.array([1.0, 2.0, np.inf, 3.0]), np.isnan(a), 1e-9)
    False
    """
    if not np.array_equal(gaps, np.isnan(current)):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.subtract(values, current)
        np.abs(diff, out=diff)
        bound = np.abs(current)
        bound *= rtol
        ok = diff <= bound
        ok &= np.isfinite(current)
        ok |= values == current
        ok |= gaps
    return bool(ok.all())
