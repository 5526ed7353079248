"""Summaries of standard points (spec §2.2): statistics, totals, varieties, products, geometry."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from leafnb.standard.coverage import blocked_footprint
from leafnb.standard.optype import OperationType
from leafnb.standard.points import PointSet
from leafnb.standard.units import (
    UnitSystem,
    convert,
    get_registry,
    leaf_unit,
    parse_unit,
)
from leafnb.store.collector import collector_paused
from leafnb.store.derived import distinct

if TYPE_CHECKING:
    from pyproj import Transformer

__all__ = [
    "AREA_UNIT",
    "STAT_PROPERTIES",
    "TOTALS",
    "coverage_geometry",
    "iso_time",
    "machinery_entries",
    "rate_total",
    "summarize",
    "units_map",
]

STAT_PROPERTIES = (
    "elevation",
    "speed",
    "seedRate",
    "seedRateTarget",
    "seedDepth",
    "singulation",
    "downForce",
    "skips",
    "doubles",
    "appliedRate",
    "appliedRateTarget",
    "harvestMoisture",
    "wetMass",
    "dryMass",
    "wetMassPerArea",
    "dryMassPerArea",
    "wetVolume",
    "dryVolume",
    "wetVolumePerArea",
    "dryVolumePerArea",
    "tillageDepthActual",
    "tillageDepthTarget",
)
#: summary total -> the point property it sums (also used by :mod:`leafnb.scale`)
TOTALS = {
    "totalWetMass": "wetMass",
    "totalDryMass": "dryMass",
    "totalWetVolume": "wetVolume",
    "totalDryVolume": "dryVolume",
    "totalFuelUsed": "fuelUsed",
}
_SUMMED = frozenset(TOTALS.values())
#: the unit of ``totalArea`` (and variety/product areas) in each unit system
AREA_UNIT = {
    UnitSystem.DEFAULT: "m2",
    UnitSystem.METRIC: "ha",
    UnitSystem.IMPERIAL: "ac",
}
FALLBACK_WIDTH_M = 30 * 0.3048  # spec §2.4: 30 ft when the width is unknown


def iso_time(ms: float) -> str:
    """Epoch milliseconds as the summary's UTC timestamp (ISO 8601, milliseconds, ``Z``).

    >>> iso_time(1_600_000_000_123)
    '2020-09-13T12:26:40.123Z'
    """
    return np.datetime_as_string(np.datetime64(int(ms), "ms"), unit="ms") + "Z"


def _stat(values: np.ndarray, unit: str | None) -> dict[str, Any] | None:
    finite = np.isfinite(values)
    v = values if finite.all() else values[finite]
    if not len(v):
        return None
    out = {"avg": float(v.mean()), "min": float(v.min()), "max": float(v.max())}
    if unit:
        out["unit"] = unit
    return out


def units_map(points: PointSet) -> dict[str, str]:
    """``GET /files/{id}/units``: ``{property: unit}`` for the numeric properties present."""
    names = set(points.table.schema.names)  # a new list at each call
    return {p: u for p, u in points.units.items() if p in names and points.has(p)}


def rate_total(
    rates: np.ndarray, area_m2: np.ndarray, rate_unit: str
) -> tuple[float, str] | None:
    """Total of a per-area rate: sum(rate × area), in the rate's numerator unit (gal/ac -> gal).

    *area_m2* is each point's area in m²; non-finite rates or areas are skipped. Returns
    ``(total, unit)``, or None when *rate_unit* is not per area.

    >>> rate_total(np.array([2.0, 4.0]), np.array([5000.0, 5000.0]), "kg/ha")
    (3.0, 'kg')
    >>> rate_total(np.array([1.0]), np.array([1.0]), "kg") is None
    True
    """
    ureg = get_registry()
    unit = parse_unit(rate_unit)
    area_units = [
        u
        for u, exp in unit._units.items()
        if exp < 0 and ureg.Unit(u).dimensionality == ureg.m.dimensionality**2
    ]
    length_units = [
        u
        for u, exp in unit._units.items()
        if exp == -2 and ureg.Unit(u).dimensionality == ureg.m.dimensionality
    ]
    if area_units:
        denom = ureg.Unit(area_units[0])
    elif length_units:
        denom = ureg.Unit(length_units[0]) ** 2
    else:
        return None
    ok = np.isfinite(rates) & np.isfinite(area_m2)
    area_in_denom = area_m2[ok] * ureg.Quantity(1.0, "m**2").to(denom).magnitude
    total = float(np.sum(rates[ok] * area_in_denom))
    numerator = unit * denom
    return total, leaf_unit(ureg.Unit(numerator))


#: metres of a degree of latitude (and of longitude on the equator), mean Earth radius
_M_PER_DEGREE = 6_371_008.8 * np.pi / 180


@functools.cache
def _utm_transformers(zone: int, south: bool) -> tuple[Transformer, Transformer]:
    """(WGS84 lon/lat → UTM *zone*, back): EPSG:326xx/327xx, made once per zone.

    Forward, the bare PROJ pipeline (degrees to radians, then ``utm``): the same
    coordinates, bit for bit, as the EPSG transformation (tested on every zone), whose
    axis handling costs a third more on a million points; back, EPSG's own. pyproj's
    transformers are thread-safe (pyproj ≥ 3.1), so threads share them. pyproj is
    imported here: ~0.1 s of ``import leafnb`` otherwise.
    """
    from pyproj import CRS, Transformer

    utm = CRS.from_epsg((32700 if south else 32600) + zone)
    fwd = Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad"
        f" +step +proj=utm +zone={zone}{' +south' if south else ''} +ellps=WGS84"
    )
    return fwd, Transformer.from_crs(utm, "EPSG:4326", always_xy=True)


def coverage_geometry(
    points: PointSet, method: str = "BUFFER"
) -> dict[str, Any] | None:
    """Covered area as a GeoJSON MultiPolygon (spec §2.4).

    ``BUFFER``: the track, split into passes at gaps, buffered by half the equipment width
    on each side (the swath footprint, :mod:`leafnb.standard.coverage`; 30 ft when the
    width is unknown), computed in the local UTM zone and dissolved. ``CONVEX_HULL``: the
    hull of all points.
    """
    n = len(points)
    if n == 0:
        return None
    lon, lat = points.array("lon"), points.array("lat")
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.all():  # (no copy of every position when all are there)
        lon, lat = lon[ok], lat[ok]
    if not len(lon):
        return None
    zone = int((np.median(lon) + 180) // 6) + 1
    mid_lat = float(np.median(lat))
    fwd, inv = _utm_transformers(zone, mid_lat < 0)
    if method == "CONVEX_HULL":
        x, y = fwd.transform(lon, lat)
        geom = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
    else:
        w = _swath_width(points, ok)
        del ok
        # passes and the simplified track chosen in a local frame (metres along the
        # parallel and the meridian of the middle latitude); only the records it keeps
        # are projected to UTM, where they are buffered
        # block by block (leafnb.standard.coverage): one block's local frame at a time
        east = _M_PER_DEGREE * np.cos(np.radians(mid_lat))
        geom = blocked_footprint(
            len(lon),
            lambda a, b: (lon[a:b] * east, lat[a:b] * _M_PER_DEGREE),
            w,
            at=lambda r: fwd.transform(lon[r], lat[r]),
        )
    return _multipolygon_geojson(geom, inv)


def _swath_width(points: PointSet, ok: np.ndarray) -> float:
    """The median equipment width in metres of the positions *ok* (30 ft when unknown)."""
    if not points.has("equipmentWidth"):
        return FALLBACK_WIDTH_M
    width = points.array("equipmentWidth")
    if not ok.all():
        width = width[ok]
    width = convert(width, points.units.get("equipmentWidth", "m"), "m")
    w = float(np.nanmedian(width)) if np.isfinite(width).any() else FALLBACK_WIDTH_M
    return w if w > 0 else FALLBACK_WIDTH_M


def _multipolygon_geojson(geom: shapely.Geometry, inv: Transformer) -> dict[str, Any]:
    """The polygons of *geom*, coordinates through *inv*, as a GeoJSON MultiPolygon.

    As ``shapely.geometry.mapping`` of the transformed MultiPolygon, with positions as
    lists: the coordinates of all rings are transformed and listed in one call each
    (a coverage has hundreds of thousands of positions, and few rings).

    >>> from pyproj import Transformer
    >>> inv = Transformer.from_crs("EPSG:4326", "EPSG:4326", always_xy=True)
    >>> _multipolygon_geojson(shapely.box(0, 0, 1, 1), inv)["coordinates"]
    [[[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]]]
    """
    parts = shapely.get_parts(geom)
    polys = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    rings = shapely.get_rings(polys)
    coords = shapely.get_coordinates(rings)
    lon, lat = inv.transform(coords[:, 0], coords[:, 1])
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    ring_ends = np.cumsum(shapely.get_num_interior_rings(polys) + 1).tolist()
    with collector_paused():  # tens of thousands of new lists (leafnb.store.collector)
        positions = np.column_stack([lon, lat]).tolist()
        ring_list = [positions[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        return {
            "type": "MultiPolygon",
            "coordinates": [
                ring_list[a:b]
                for a, b in zip([0, *ring_ends[:-1]], ring_ends, strict=True)
            ],
        }


def _strings(points: PointSet, prop: str) -> list[str]:
    if not points.has(prop):
        return []
    return sorted(v for v in pc.unique(points.table.column(prop)).to_pylist() if v)


def summarize(
    points: PointSet,
    *,
    unit_system: str = "DEFAULT",
    geometry: str = "BUFFER",
    original_operation_data: bool = True,
) -> dict[str, Any]:
    """Return the summary Feature of *points* (already in the requested unit system)."""
    system = UnitSystem(unit_system)
    props: dict[str, Any] = {"operationType": points.operation_type}
    table = points.table
    if points.has("timestamp"):
        ts = pc.cast(table.column("timestamp"), pa.int64())
        props["startTime"] = iso_time(pc.min(ts).as_py())
        props["endTime"] = iso_time(pc.max(ts).as_py())
    if points.has("originalOperationType"):
        props["originalOperationType"] = _strings(points, "originalOperationType")[0]
    elif points.meta.get("original_operation_type"):
        props["originalOperationType"] = points.meta["original_operation_type"]
    if points.meta.get("operation_description"):
        props["operationDescription"] = points.meta["operation_description"]
    # each property's values read once for its statistics and its total (a big file's
    # columns are read back from its standard file, one at a time)
    sums: dict[str, float] = {}
    for prop in STAT_PROPERTIES:
        if points.has(prop):
            values = points.array(prop)
            stat = _stat(values, points.units.get(prop))
            if stat:
                props[prop] = stat
            if prop in _SUMMED:
                sums[prop] = float(np.nansum(values))
            del values
    area_m2 = points.array("area") if points.has("area") else None
    props.update(_totals(points, system, area_m2, sums))
    props["crop"] = _strings(points, "crop")
    if points.operation_type == OperationType.TILLAGE or points.has("tillType"):
        props["tillType"] = (
            sorted(
                {t for lst in table.column("tillType").to_pylist() for t in (lst or [])}
            )
            if points.has("tillType")
            else []
        )
    varieties = _varieties(points, area_m2, system, sums)
    if varieties:
        props["varieties"] = varieties
    if points.operation_type == OperationType.APPLIED:
        products = _products(points, area_m2, system)
        props["products"] = products
        props["tankMix"] = len(products) > 1 or any(
            " + " in p["name"] for p in products
        )
    machinery = points.meta.get("machinery") or []
    props["machinery"] = machinery_entries(machinery)
    if original_operation_data:
        props["originalOperationData"] = (
            points.meta.get("original_operation_data") or {}
        )
    props["recordCount"] = len(points)
    reconciliation = reconcile(
        props,
        points.meta.get("machine_totals") or {},
        points.meta.get("all_record_totals"),
    )
    if reconciliation:
        props["machineTotals"] = reconciliation
    del (
        area_m2
    )  # the coverage's arrays are the step's biggest: nothing else beside them
    return {
        "type": "Feature",
        "geometry": coverage_geometry(points, geometry),
        "properties": props,
    }


def totals(
    points: PointSet, unit_system: UnitSystem | str = "DEFAULT"
) -> dict[str, dict[str, Any]]:
    """The summary's total objects ``{value, unit}`` (totalArea, totalDistance, totalWetMass, ...).

    ``totalArea`` is the sum of per-point areas; ``totalPlanted``/``totalApplied`` are
    Σ rate × area in the rate's numerator unit (seeds/ac × ac -> seeds).
    """
    area_m2 = points.array("area") if points.has("area") else None
    return _totals(points, UnitSystem(unit_system), area_m2, {})


def _totals(
    points: PointSet,
    system: UnitSystem,
    area_m2: np.ndarray | None,
    sums: dict[str, float],
) -> dict[str, dict[str, Any]]:
    """:func:`totals` with the points' areas and the sums of properties already known."""
    out: dict[str, dict[str, Any]] = {}
    if area_m2 is not None:
        area_unit = AREA_UNIT[system]
        out["totalArea"] = {
            "value": float(np.nansum(convert(area_m2, "m2", area_unit))),
            "unit": area_unit,
        }
    if points.has("distance"):
        out["totalDistance"] = {
            "value": float(np.nansum(points.array("distance"))),
            "unit": points.units.get("distance", "m"),
        }
    for key, prop in TOTALS.items():
        if points.has(prop):
            if prop not in sums:
                sums[prop] = float(np.nansum(points.array(prop)))
            out[key] = {
                "value": sums[prop],
                "unit": points.units.get(prop),
            }
    if area_m2 is not None:
        for key, prop in (
            ("totalPlanted", "seedRate"),
            ("totalApplied", "appliedRate"),
        ):
            if points.has(prop):
                total = rate_total(points.array(prop), area_m2, points.units[prop])
                if total:
                    out[key] = {"value": total[0], "unit": total[1]}
    return out


def _varieties(
    points: PointSet, area_m2, system, sums: dict[str, float]
) -> list[dict[str, Any]]:
    """Per variety: area, rate or moisture, totals (*sums*: the whole file's, known)."""
    if not points.has("variety"):
        return []
    values, codes = distinct(points.table.column("variety"))
    # by text, as numpy spells the values (a missing variety: "None", left out)
    names = [str(v) for v in values]
    out = []
    area_unit = AREA_UNIT[system]
    for name in sorted(set(names) - {"None", ""}):
        sel = np.isin(codes, [i for i, v in enumerate(names) if v == name])
        sub = points if sel.all() else points.filter(sel)  # one variety: no copy
        entry: dict[str, Any] = {"name": name}
        a = area_m2[sel] if area_m2 is not None else None
        if a is not None:
            entry["area"] = {
                "value": float(np.nansum(convert(a, "m2", area_unit))),
                "unit": area_unit,
            }
        if points.operation_type == OperationType.PLANTED and sub.has("seedRate"):
            rate = _stat(sub.array("seedRate"), sub.units.get("seedRate")) or {}
            if sub.has("seedRateTarget"):
                t = _stat(sub.array("seedRateTarget"), None) or {}
                rate.update(
                    minTarget=t.get("min"),
                    maxTarget=t.get("max"),
                    avgTarget=t.get("avg"),
                )
            entry["rate"] = rate
            if a is not None:
                total = rate_total(sub.array("seedRate"), a, sub.units["seedRate"])
                if total:
                    entry["totalPlanted"] = {"value": total[0], "unit": total[1]}
        if points.operation_type == OperationType.HARVESTED:
            if sub.has("harvestMoisture"):
                entry["harvestMoisture"] = _stat(
                    sub.array("harvestMoisture"), sub.units.get("harvestMoisture")
                )
            # each total summed once; one variety's are the file's
            totals_of = dict(sums) if sub is points else {}
            for prop in ("wetMass", "wetVolume", "dryMass", "dryVolume"):
                if sub.has(prop):
                    if prop not in totals_of:
                        totals_of[prop] = float(np.nansum(sub.array(prop)))
                    entry[prop] = {
                        "value": totals_of[prop],
                        "unit": sub.units.get(prop),
                    }
            area_sum = np.nansum(a) if a is not None else None
            # per-area values of a variety: its total over its own area (spec §2.2 [gap])
            for prop in (
                "wetMassPerArea",
                "dryMassPerArea",
                "wetVolumePerArea",
                "dryVolumePerArea",
            ):
                total_prop = prop.replace("PerArea", "")
                if (
                    sub.has(prop)
                    and total_prop in totals_of
                    and area_sum is not None
                    and area_sum > 0
                ):
                    unit = sub.units[prop]
                    denom = rate_total(np.ones(1), np.array([area_sum]), unit)
                    total_unit = denom[1] if denom else None
                    if total_unit:
                        tv = convert(
                            np.array([totals_of[total_prop]]),
                            sub.units[total_prop],
                            total_unit,
                        )[0]
                        entry[prop] = {"value": float(tv / denom[0]), "unit": unit}
        out.append(entry)
    return out


def _products(points: PointSet, area_m2, system) -> list[dict[str, Any]]:
    if not points.has("products"):
        return []
    col = points.table.column("products").combine_chunks()
    flat = col.flatten()
    # each product's entries by the code of its name (a name per entry and point:
    # compared as text, 100k of them took 50 ms); a missing name is "None", as str()
    # writes it
    names = pc.dictionary_encode(
        pc.fill_null(pc.cast(pc.struct_field(flat, [0]), pa.string()), "None")
    )
    codes = names.indices.to_numpy(zero_copy_only=False)
    distinct = names.dictionary.to_pylist()
    rates = (
        pc.struct_field(pc.struct_field(flat, [1]), [0])
        .to_numpy(zero_copy_only=False)
        .astype(float)
    )
    parent = col.value_parent_indices().to_numpy()
    unit = points.units.get("appliedRate")
    area_unit = AREA_UNIT[system]
    out = []
    for name in sorted(distinct):
        sel = codes == distinct.index(name)
        entry: dict[str, Any] = {
            "name": name,
            "type": "Component" if len(distinct) > 1 else "Carrier",
        }
        r = rates[sel]
        entry["rate"] = {
            "value": float(np.nanmean(r)) if np.isfinite(r).any() else None,
            "unit": unit,
        }
        if area_m2 is not None:
            a = area_m2[parent[sel]]
            entry["area"] = {
                "value": float(np.nansum(convert(a, "m2", area_unit))),
                "unit": area_unit,
            }
            if unit:
                total = rate_total(r, a, unit)
                if total:
                    entry["totalApplied"] = {"value": total[0], "unit": total[1]}
        out.append(entry)
    return out


def _in_unit(mine: Any, unit: str | None) -> float | None:
    if (
        not isinstance(mine, dict)
        or mine.get("value") is None
        or not unit
        or not mine.get("unit")
    ):
        return None
    try:
        return float(convert(np.array([mine["value"]]), mine["unit"], unit)[0])
    except Exception:  # incompatible units: report without a comparison
        return None


def reconcile(
    summary_props: dict[str, Any],
    machine_totals: dict[str, Any],
    all_record_totals: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Compare totals the machine recorded with leafnb's own totals.

    Returns one row per machine total: ``{key, value, unit, leafnbValue,
    relativeDifference, leafnbAllRecordsValue, allRecordsRelativeDifference}``.
    ``leafnbValue`` is the summary's total (standard points, after cleanup);
    ``leafnbAllRecordsValue`` is the total over every decoded record before cleanup —
    the like-for-like check of the decoding, since the machine counts every record.
    Values are converted to the machine's unit; ``None`` where leafnb has no such total.
    """
    rows = []
    for key, total in machine_totals.items():
        unit, machine = total.get("unit"), total.get("value")
        row = {"key": key, "value": machine, "unit": unit}
        for name, source in (
            ("leafnbValue", summary_props),
            ("leafnbAllRecordsValue", all_record_totals or {}),
        ):
            value = _in_unit(source.get(key), unit)
            diff = (
                "relativeDifference"
                if name == "leafnbValue"
                else "allRecordsRelativeDifference"
            )
            row[name] = value
            row[diff] = (
                (value - machine) / machine if value is not None and machine else None
            )
        rows.append(row)
    return rows


def machinery_entries(machinery: list[Any]) -> list[dict[str, Any]]:
    """The summary's ``machinery`` list: name, type, brand (+ serial) of each machine.

    >>> machinery_entries(["combine", {"name": "header", "serialNumber": "7"}])[1]
    {'name': 'header', 'type': 'machine', 'brand': 'unknown', 'serialNumber': '7'}
    """
    return [
        {
            "name": m["name"],
            "type": m.get("type", "machine"),
            "brand": m.get("brand") or "unknown",
            **({"serialNumber": m["serialNumber"]} if m.get("serialNumber") else {}),
        }
        if isinstance(m, dict)
        else {"name": str(m), "type": "machine", "brand": "unknown"}
        for m in machinery
    ]
