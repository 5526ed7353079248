"""The summary Feature of points stored as GeoParquet partitions, one batch at a time.

Each batch becomes a mergeable partial summary (:class:`Partial`: sums, counts, min/max,
sets of names, per-variety and per-product partials, coverage pieces); partials of all
batches and partitions are merged and turned into the same Feature as
:func:`leafnb.standard.summary.summarize`, with its totals
(:func:`~leafnb.standard.summary.rate_total`) and units
(:data:`~leafnb.standard.summary.AREA_UNIT`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.pipeline.executors import map_tasks
from leafnb.scale.partitions import (
    BATCH_ROWS,
    expand_paths,
    first_units,
    iter_point_batches,
    nonnull_count,
    partition_meta,
)
from leafnb.standard.optype import OperationType
from leafnb.standard.points import PointSet
from leafnb.standard.summary import (
    AREA_UNIT,
    STAT_PROPERTIES,
    TOTALS,
    coverage_geometry,
    iso_time,
    machinery_entries,
    rate_total,
    reconcile,
)
from leafnb.standard.units import UnitSystem, convert

__all__ = ["Partial", "summarize_partitions"]


@dataclass
class _Stat:
    s: float = 0.0
    n: int = 0
    lo: float = np.inf
    hi: float = -np.inf
    nonnull: int = 0  # values present (PointSet.has semantics)

    def add(self, values: np.ndarray, nonnull: int | None = None) -> None:
        v = values[np.isfinite(values)]
        self.nonnull += len(v) if nonnull is None else nonnull
        if len(v):
            self.s += float(v.sum())
            self.n += len(v)
            self.lo = min(self.lo, float(v.min()))
            self.hi = max(self.hi, float(v.max()))

    def merge(self, o: _Stat) -> None:
        self.s += o.s
        self.n += o.n
        self.lo = min(self.lo, o.lo)
        self.hi = max(self.hi, o.hi)
        self.nonnull += o.nonnull

    def out(self, unit: str | None) -> dict[str, Any] | None:
        if not self.n:
            return None
        d: dict[str, Any] = {"avg": self.s / self.n, "min": self.lo, "max": self.hi}
        if unit:
            d["unit"] = unit
        return d


@dataclass
class _Sum:
    value: float = 0.0
    unit: str | None = None
    nonnull: int = 0

    def add(self, value: float, unit: str | None, nonnull: int) -> None:
        self.value += value
        self.unit = self.unit or unit
        self.nonnull += nonnull

    def merge(self, o: _Sum) -> None:
        self.add(o.value, o.unit, o.nonnull)


@dataclass
class Partial:
    """Mergeable partial summary of some points (one batch, then a partition, then all)."""

    n: int = 0
    t_lo: int | None = None
    t_hi: int | None = None
    stats: dict[str, _Stat] = field(default_factory=dict)
    sums: dict[str, _Sum] = field(
        default_factory=dict
    )  # area(m2), distance, totals, planted, applied
    strings: dict[str, set] = field(
        default_factory=dict
    )  # crop, originalOperationType, tillType
    varieties: dict[str, Partial] = field(default_factory=dict)
    products: dict[str, Partial] = field(default_factory=dict)
    geoms: list = field(default_factory=list)
    has_till: bool = False

    def stat(self, key: str) -> _Stat:
        """The running statistic *key* (created empty)."""
        return self.stats.setdefault(key, _Stat())

    def sum(self, key: str) -> _Sum:
        """The running sum *key* (created empty)."""
        return self.sums.setdefault(key, _Sum())

    def merge(self, o: Partial) -> None:
        """Add the partial summary *o* (of other points) to this one."""
        self.n += o.n
        if o.t_lo is not None and o.t_hi is not None:  # set together
            self.t_lo = o.t_lo if self.t_lo is None else min(self.t_lo, o.t_lo)
            self.t_hi = o.t_hi if self.t_hi is None else max(self.t_hi, o.t_hi)
        for k, st in o.stats.items():
            self.stat(k).merge(st)
        for k, sm in o.sums.items():
            self.sum(k).merge(sm)
        for k, names in o.strings.items():
            self.strings.setdefault(k, set()).update(names)
        for attr in ("varieties", "products"):
            mine = getattr(self, attr)
            for k, part in getattr(o, attr).items():
                mine.setdefault(k, Partial()).merge(part)
        self.geoms += o.geoms
        self.has_till |= o.has_till


def _accumulate(points: PointSet, geometry: str | None) -> Partial:
    acc = Partial(n=len(points))
    table = points.table
    cols = table.column_names
    if "timestamp" in cols and nonnull_count(points, "timestamp"):
        ts = pc.cast(table.column("timestamp"), pa.int64())
        acc.t_lo, acc.t_hi = pc.min(ts).as_py(), pc.max(ts).as_py()
    for prop in STAT_PROPERTIES:
        if prop in cols:
            acc.stat(prop).add(points.array(prop), nonnull_count(points, prop))
    has_area = nonnull_count(points, "area") > 0
    area = points.array("area") if "area" in cols else None
    if area is not None:
        acc.sum("area").add(float(np.nansum(area)), "m2", nonnull_count(points, "area"))
    for key, prop in (("totalDistance", "distance"), *TOTALS.items()):
        if prop in cols:
            acc.sum(key).add(
                float(np.nansum(points.array(prop))),
                points.units.get(prop, "m" if prop == "distance" else None),
                nonnull_count(points, prop),
            )
    if has_area and area is not None:  # has_area: the column exists
        for key, prop in (
            ("totalPlanted", "seedRate"),
            ("totalApplied", "appliedRate"),
        ):
            if nonnull_count(points, prop):
                total = rate_total(points.array(prop), area, points.units[prop])
                if total:
                    acc.sum(key).add(total[0], total[1], 1)
    for prop in ("crop", "originalOperationType"):
        if prop in cols:
            acc.strings.setdefault(prop, set()).update(
                v for v in pc.unique(table.column(prop)).to_pylist() if v
            )
    if "tillType" in cols:
        acc.has_till = nonnull_count(points, "tillType") > 0
        acc.strings.setdefault("tillType", set()).update(
            t for lst in table.column("tillType").to_pylist() for t in (lst or [])
        )
    if nonnull_count(points, "variety"):
        names = table.column("variety").to_numpy(zero_copy_only=False).astype(str)
        for name in set(names) - {"None", ""}:
            sel = names == name
            sub = points.filter(sel)
            v = acc.varieties.setdefault(name, Partial())
            v.n += int(sel.sum())
            if area is not None:
                v.sum("area").add(
                    float(np.nansum(area[sel])), "m2", nonnull_count(sub, "area")
                )
            for prop in ("seedRate", "seedRateTarget", "harvestMoisture"):
                if prop in cols:
                    v.stat(prop).add(sub.array(prop), nonnull_count(sub, prop))
            if area is not None and nonnull_count(sub, "seedRate"):
                total = rate_total(
                    sub.array("seedRate"), area[sel], sub.units["seedRate"]
                )
                if total:
                    v.sum("totalPlanted").add(total[0], total[1], 1)
            for prop in ("wetMass", "wetVolume", "dryMass", "dryVolume"):
                if prop in cols:
                    v.sum(prop).add(
                        float(np.nansum(sub.array(prop))),
                        sub.units.get(prop),
                        nonnull_count(sub, prop),
                    )
            for prop in (
                "wetMassPerArea",
                "dryMassPerArea",
                "wetVolumePerArea",
                "dryVolumePerArea",
            ):
                if prop in cols:
                    v.stat(prop).add(
                        np.empty(0), nonnull_count(sub, prop)
                    )  # presence only
    if nonnull_count(points, "products"):
        col = table.column("products").combine_chunks()
        flat = col.flatten()
        pnames = pc.struct_field(flat, [0]).to_numpy(zero_copy_only=False).astype(str)
        rates = (
            pc.struct_field(pc.struct_field(flat, [1]), [0])
            .to_numpy(zero_copy_only=False)
            .astype(float)
        )
        parent = col.value_parent_indices().to_numpy()
        unit = points.units.get("appliedRate")
        for name in set(pnames):
            sel = pnames == name
            p = acc.products.setdefault(name, Partial())
            r = rates[sel]
            p.stat("rate").add(r)
            if area is not None and has_area:
                a = area[parent[sel]]
                p.sum("area").add(float(np.nansum(a)), "m2", 1)
                if unit:
                    total = rate_total(r, a, unit)
                    if total:
                        p.sum("totalApplied").add(total[0], total[1], 1)
    if geometry and len(points):
        g = coverage_geometry(points, geometry)
        if g is not None:
            import shapely.geometry

            acc.geoms.append(shapely.geometry.shape(g))
    return acc


def _partial(args: tuple) -> tuple[Partial, dict[str, Any]]:
    path, units, geometry, batch_size = args
    acc = Partial()
    meta = partition_meta(path)
    for pts in iter_point_batches(path, units=units, batch_size=batch_size):
        acc.merge(_accumulate(pts, geometry))
    if geometry == "CONVEX_HULL" and acc.geoms:
        import shapely

        acc.geoms = [shapely.convex_hull(shapely.union_all(acc.geoms))]
    elif acc.geoms:
        import shapely

        acc.geoms = [shapely.union_all(acc.geoms)]
    return acc, meta


def _area_value(acc: Partial, area_unit: str) -> dict[str, Any]:
    return {
        "value": float(convert(np.array([acc.sums["area"].value]), "m2", area_unit)[0]),
        "unit": area_unit,
    }


def summarize_partitions(
    paths: str | Path | Iterable[str | Path],
    *,
    unit_system: str = "DEFAULT",
    geometry: str | None = "BUFFER",
    original_operation_data: bool = True,
    meta: dict[str, Any] | None = None,
    executor: Any = None,
    batch_size: int = BATCH_ROWS,
) -> dict[str, Any]:
    """The summary Feature of points stored in GeoParquet partitions, one batch at a time.

    Parameters
    ----------
    paths : path or paths
        ``standard.parquet``/``filtered.parquet`` files, or folders searched for ``*.parquet``.
        All partitions must hold one operation type; units may differ between partitions
        (everything is converted to the first partition's units).
    unit_system : str
        The unit system the points are in (as for :func:`~leafnb.standard.summary.summarize`;
        it picks the unit of ``totalArea`` and variety/product areas).
    geometry : {"BUFFER", "CONVEX_HULL", None}
        Coverage geometry: the union of per-batch coverages, or none (faster).
    meta : dict, optional
        File-wide facts the partitions do not store (``machinery``, ``machine_totals``,
        ``original_operation_data``...), as a PointSet's ``meta``.
    executor : optional
        Map partitions on a ``concurrent.futures.Executor`` or a ``distributed.Client``.
    batch_size : int
        Rows per batch (memory ≈ batch_size × columns × 8 bytes, plus the geometry).

    Returns
    -------
    dict
        A GeoJSON Feature equal to ``summarize`` of the concatenated points for every
        statistic and total (up to floating-point summation order).
    """
    files = expand_paths(paths)
    metas = [partition_meta(p) for p in files]
    ops = {m.get("operation_type", "") for m in metas}
    if len(ops) > 1:
        raise ValueError(f"partitions hold several operation types: {sorted(ops)}")
    units = first_units(metas)
    parts = map_tasks(
        _partial, [(str(p), units, geometry, batch_size) for p in files], executor
    )
    acc = Partial()
    for part, _ in parts:
        acc.merge(part)
    meta = {**metas[0], **(meta or {})}
    op = ops.pop()
    system = UnitSystem(unit_system)
    area_unit = AREA_UNIT[system]
    props: dict[str, Any] = {"operationType": op}
    if acc.t_lo is not None and acc.t_hi is not None:
        props["startTime"], props["endTime"] = iso_time(acc.t_lo), iso_time(acc.t_hi)
    if acc.strings.get("originalOperationType"):
        props["originalOperationType"] = sorted(acc.strings["originalOperationType"])[0]
    elif meta.get("original_operation_type"):
        props["originalOperationType"] = meta["original_operation_type"]
    if meta.get("operation_description"):
        props["operationDescription"] = meta["operation_description"]
    for prop in STAT_PROPERTIES:
        st = acc.stats.get(prop)
        if st and st.nonnull:
            out = st.out(units.get(prop))
            if out:
                props[prop] = out
    has = lambda key: key in acc.sums and acc.sums[key].nonnull > 0  # noqa: E731
    if has("area"):
        props["totalArea"] = _area_value(acc, area_unit)
    if has("totalDistance"):
        props["totalDistance"] = {
            "value": acc.sums["totalDistance"].value,
            "unit": units.get("distance", "m"),
        }
    for key, prop in TOTALS.items():
        if has(key):
            props[key] = {"value": acc.sums[key].value, "unit": units.get(prop)}
    for key in ("totalPlanted", "totalApplied"):
        if has(key):
            props[key] = {"value": acc.sums[key].value, "unit": acc.sums[key].unit}
    props["crop"] = sorted(acc.strings.get("crop", ()))
    if op == OperationType.TILLAGE or acc.has_till:
        props["tillType"] = (
            sorted(acc.strings.get("tillType", ())) if acc.has_till else []
        )
    varieties = []
    for name in sorted(acc.varieties):
        v = acc.varieties[name]
        entry: dict[str, Any] = {"name": name}
        if "area" in v.sums:
            entry["area"] = _area_value(v, area_unit)
        vhas = lambda p: p in v.stats and v.stats[p].nonnull > 0  # noqa: E731, B023
        if op == OperationType.PLANTED and vhas("seedRate"):
            rate = v.stats["seedRate"].out(units.get("seedRate")) or {}
            if vhas("seedRateTarget"):
                t = v.stats["seedRateTarget"].out(None) or {}
                rate.update(
                    minTarget=t.get("min"),
                    maxTarget=t.get("max"),
                    avgTarget=t.get("avg"),
                )
            entry["rate"] = rate
            if "totalPlanted" in v.sums:
                entry["totalPlanted"] = {
                    "value": v.sums["totalPlanted"].value,
                    "unit": v.sums["totalPlanted"].unit,
                }
        if op == OperationType.HARVESTED:
            if vhas("harvestMoisture"):
                entry["harvestMoisture"] = v.stats["harvestMoisture"].out(
                    units.get("harvestMoisture")
                )
            for prop in ("wetMass", "wetVolume", "dryMass", "dryVolume"):
                if prop in v.sums and v.sums[prop].nonnull:
                    entry[prop] = {"value": v.sums[prop].value, "unit": units.get(prop)}
            a_m2 = v.sums["area"].value if "area" in v.sums else None
            for prop in (
                "wetMassPerArea",
                "dryMassPerArea",
                "wetVolumePerArea",
                "dryVolumePerArea",
            ):
                total_prop = prop.replace("PerArea", "")
                if (
                    vhas(prop)
                    and total_prop in v.sums
                    and v.sums[total_prop].nonnull
                    and a_m2 is not None
                    and a_m2 > 0
                ):
                    unit = units[prop]
                    denom = rate_total(np.ones(1), np.array([a_m2]), unit)
                    if denom and denom[1]:
                        tv = convert(
                            np.array([v.sums[total_prop].value]),
                            units[total_prop],
                            denom[1],
                        )[0]
                        entry[prop] = {"value": float(tv / denom[0]), "unit": unit}
        varieties.append(entry)
    if varieties:
        props["varieties"] = varieties
    if op == OperationType.APPLIED:
        products = []
        rate_unit = units.get("appliedRate")
        for name in sorted(acc.products):
            p = acc.products[name]
            entry = {
                "name": name,
                "type": "Component" if len(acc.products) > 1 else "Carrier",
            }
            st = p.stats.get("rate")
            entry["rate"] = {
                "value": (st.s / st.n) if st and st.n else None,
                "unit": rate_unit,
            }
            if "area" in p.sums:
                entry["area"] = _area_value(p, area_unit)
                if "totalApplied" in p.sums:
                    entry["totalApplied"] = {
                        "value": p.sums["totalApplied"].value,
                        "unit": p.sums["totalApplied"].unit,
                    }
            products.append(entry)
        props["products"] = products
        props["tankMix"] = len(products) > 1 or any(
            " + " in p["name"] for p in products
        )
    machinery = meta.get("machinery") or []
    props["machinery"] = machinery_entries(machinery)
    if original_operation_data:
        props["originalOperationData"] = meta.get("original_operation_data") or {}
    props["recordCount"] = acc.n
    rec = reconcile(props, meta.get("machine_totals") or {})
    if rec:
        props["machineTotals"] = rec
    return {
        "type": "Feature",
        "geometry": _union_geojson(acc.geoms, geometry),
        "properties": props,
    }


def _union_geojson(geoms: list, method: str | None) -> dict[str, Any] | None:
    if not method or not geoms:
        return None
    import shapely
    import shapely.geometry

    geom = shapely.union_all(geoms)
    if method == "CONVEX_HULL":
        geom = shapely.convex_hull(geom)
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    elif geom.geom_type != "MultiPolygon":
        geom = shapely.MultiPolygon(
            [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
        )
    return shapely.geometry.mapping(geom)
