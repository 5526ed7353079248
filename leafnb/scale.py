"""Out-of-core work on standard points stored as GeoParquet partitions.

An operation bigger than memory is a set of GeoParquet files (each file's
``standard.parquet`` / ``filtered.parquet``, or any partitioned dataset with leafnb's
columns). The helpers here read **one row group (record batch) at a time**, so memory is
bounded by the largest row group plus the accumulators, never the whole operation:

- :func:`summarize_partitions` — the same statistics and totals as
  :func:`leafnb.standard.summary.summarize` (start/end time, avg/min/max of every
  statistic property, totalArea/Distance/Wet.../Planted/Applied, crops, varieties with
  their areas/rates/masses, products, tankMix, recordCount). The coverage geometry is
  the union of each batch's coverage (``BUFFER``: identical away from batch seams;
  ``CONVEX_HULL``: exact), or skipped with ``geometry=None``.
- :func:`clean_partitions` — Leaf's cleanup rules (point-wise, so exactly streamable)
  writing filtered partitions + the removed-per-rule counts.
- :func:`grid_partitions` — a mean-value grid of one property (what map rendering and
  quantile-map preparation start from), accumulated with ``numpy.bincount``.
- :func:`render_partitions` — the imagesV2 PNG + ``.aux.xml`` and item (7-class legend
  from exact out-of-core quantiles, EPSG:4326 extent), identical to the in-memory imagesV2.

Partitions are mapped independently and combined, so they also run on an executor:
``executor=`` takes anything with ``map`` (a :class:`concurrent.futures.Executor`) or a
``dask.distributed.Client`` (``client.map`` + ``gather``; only small accumulators travel).

Not out-of-core (needs the whole point set of one *file* in memory): reading a machine
file (readers return one Arrow table) and the per-file conversion steps. Their peak is
measured in ``docs/performance.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leafnb.standard.optype import OperationType
from leafnb.standard.points import PointSet
from leafnb.standard.summary import (
    _AREA_UNIT,
    _TOTALS,
    STAT_PROPERTIES,
    _iso,
    _rate_total,
    coverage_geometry,
    reconcile,
)
from leafnb.standard.units import UnitSystem, convert
from leafnb.store.artifacts import (
    iter_points_tables,
    leafnb_metadata,
    restore_points,
)

__all__ = [
    "clean_partitions",
    "grid_partitions",
    "iter_point_batches",
    "partition_meta",
    "render_partitions",
    "summarize_partitions",
]


# ----------------------------------------------------------------------------- reading
def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    if not out:
        raise ValueError("no GeoParquet partitions given")
    return out


def partition_meta(path: str | Path) -> dict[str, Any]:
    """leafnb metadata of one partition (``units``, ``operation_type``, ...) from its footer only."""
    return leafnb_metadata(pq.read_schema(path))


def iter_point_batches(
    path: str | Path,
    columns: Sequence[str] | None = None,
    units: dict[str, str] | None = None,
    batch_size: int = 262_144,
) -> Iterator[PointSet]:
    """Yield a partition's points as PointSets of at most *batch_size* rows (geometry column not read).

    With *units*, numeric columns are converted to those units (partitions of one
    operation written in different unit systems then combine).
    """
    meta = partition_meta(path)
    src_units = dict(meta.get("units") or {})
    op = meta.get("operation_type", "")
    wanted = None if columns is None else [*columns, "lon", "lat"]
    for table in iter_points_tables(path, wanted, batch_size):
        pts = PointSet(table, op, units=dict(src_units), meta=meta)
        if units:
            for prop, unit in units.items():
                have = src_units.get(prop)
                if have and have != unit and prop in table.column_names:
                    pts = pts.with_column(
                        prop, convert(pts.array(prop), have, unit), unit
                    )
        yield pts


def _map(fn, items: list, executor: Any) -> list:
    if executor is None:
        return [fn(x) for x in items]
    if (type(executor).__module__ or "").split(".")[0] == "distributed":
        return executor.gather(executor.map(fn, items, pure=False))
    return list(executor.map(fn, items))


# ----------------------------------------------------------------------------- summary
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
class _Acc:
    """Mergeable partial summary of some points."""

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
    varieties: dict[str, _Acc] = field(default_factory=dict)
    products: dict[str, _Acc] = field(default_factory=dict)
    geoms: list = field(default_factory=list)
    has_till: bool = False

    def stat(self, key: str) -> _Stat:
        return self.stats.setdefault(key, _Stat())

    def sum(self, key: str) -> _Sum:
        return self.sums.setdefault(key, _Sum())

    def merge(self, o: _Acc) -> None:
        self.n += o.n
        if o.t_lo is not None:
            self.t_lo = o.t_lo if self.t_lo is None else min(self.t_lo, o.t_lo)
            self.t_hi = o.t_hi if self.t_hi is None else max(self.t_hi, o.t_hi)
        for k, v in o.stats.items():
            self.stat(k).merge(v)
        for k, v in o.sums.items():
            self.sum(k).merge(v)
        for k, v in o.strings.items():
            self.strings.setdefault(k, set()).update(v)
        for attr in ("varieties", "products"):
            mine = getattr(self, attr)
            for k, v in getattr(o, attr).items():
                mine.setdefault(k, _Acc()).merge(v)
        self.geoms += o.geoms
        self.has_till |= o.has_till


def _nonnull(points: PointSet, prop: str) -> int:
    if prop not in points.table.column_names:
        return 0
    return len(points) - points.table.column(prop).null_count


def _accumulate(points: PointSet, geometry: str | None) -> _Acc:
    acc = _Acc(n=len(points))
    table = points.table
    cols = table.column_names
    if "timestamp" in cols and _nonnull(points, "timestamp"):
        ts = pc.cast(table.column("timestamp"), pa.int64())
        acc.t_lo, acc.t_hi = pc.min(ts).as_py(), pc.max(ts).as_py()
    for prop in STAT_PROPERTIES:
        if prop in cols:
            acc.stat(prop).add(points.array(prop), _nonnull(points, prop))
    has_area = _nonnull(points, "area") > 0
    area = points.array("area") if "area" in cols else None
    if area is not None:
        acc.sum("area").add(float(np.nansum(area)), "m2", _nonnull(points, "area"))
    for key, prop in (("totalDistance", "distance"), *_TOTALS.items()):
        if prop in cols:
            acc.sum(key).add(
                float(np.nansum(points.array(prop))),
                points.units.get(prop, "m" if prop == "distance" else None),
                _nonnull(points, prop),
            )
    if has_area:
        for key, prop in (
            ("totalPlanted", "seedRate"),
            ("totalApplied", "appliedRate"),
        ):
            if _nonnull(points, prop):
                total = _rate_total(points.array(prop), area, points.units[prop])
                if total:
                    acc.sum(key).add(total[0], total[1], 1)
    for prop in ("crop", "originalOperationType"):
        if prop in cols:
            acc.strings.setdefault(prop, set()).update(
                v for v in pc.unique(table.column(prop)).to_pylist() if v
            )
    if "tillType" in cols:
        acc.has_till = _nonnull(points, "tillType") > 0
        acc.strings.setdefault("tillType", set()).update(
            t for lst in table.column("tillType").to_pylist() for t in (lst or [])
        )
    if _nonnull(points, "variety"):
        names = table.column("variety").to_numpy(zero_copy_only=False).astype(str)
        for name in set(names) - {"None", ""}:
            sel = names == name
            sub = points.filter(sel)
            v = acc.varieties.setdefault(name, _Acc())
            v.n += int(sel.sum())
            if area is not None:
                v.sum("area").add(
                    float(np.nansum(area[sel])), "m2", _nonnull(sub, "area")
                )
            for prop in ("seedRate", "seedRateTarget", "harvestMoisture"):
                if prop in cols:
                    v.stat(prop).add(sub.array(prop), _nonnull(sub, prop))
            if area is not None and _nonnull(sub, "seedRate"):
                total = _rate_total(
                    sub.array("seedRate"), area[sel], sub.units["seedRate"]
                )
                if total:
                    v.sum("totalPlanted").add(total[0], total[1], 1)
            for prop in ("wetMass", "wetVolume", "dryMass", "dryVolume"):
                if prop in cols:
                    v.sum(prop).add(
                        float(np.nansum(sub.array(prop))),
                        sub.units.get(prop),
                        _nonnull(sub, prop),
                    )
            for prop in (
                "wetMassPerArea",
                "dryMassPerArea",
                "wetVolumePerArea",
                "dryVolumePerArea",
            ):
                if prop in cols:
                    v.stat(prop).add(np.empty(0), _nonnull(sub, prop))  # presence only
    if _nonnull(points, "products"):
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
            p = acc.products.setdefault(name, _Acc())
            r = rates[sel]
            p.stat("rate").add(r)
            if area is not None and has_area:
                a = area[parent[sel]]
                p.sum("area").add(float(np.nansum(a)), "m2", 1)
                if unit:
                    total = _rate_total(r, a, unit)
                    if total:
                        p.sum("totalApplied").add(total[0], total[1], 1)
    if geometry and len(points):
        g = coverage_geometry(points, geometry)
        if g is not None:
            import shapely.geometry

            acc.geoms.append(shapely.geometry.shape(g))
    return acc


def _partial(args: tuple) -> tuple[_Acc, dict[str, Any]]:
    path, units, geometry, batch_size = args
    acc = _Acc()
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


def _area_value(acc: _Acc, area_unit: str) -> dict[str, Any]:
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
    batch_size: int = 262_144,
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
    files = _expand(paths)
    metas = [partition_meta(p) for p in files]
    ops = {m.get("operation_type", "") for m in metas}
    if len(ops) > 1:
        raise ValueError(f"partitions hold several operation types: {sorted(ops)}")
    units: dict[str, str] = {}
    for m in metas:
        for prop, unit in (m.get("units") or {}).items():
            units.setdefault(prop, unit)
    parts = _map(
        _partial, [(str(p), units, geometry, batch_size) for p in files], executor
    )
    acc = _Acc()
    for part, _ in parts:
        acc.merge(part)
    meta = {**metas[0], **(meta or {})}
    op = ops.pop()
    system = UnitSystem(unit_system)
    area_unit = _AREA_UNIT[system]
    props: dict[str, Any] = {"operationType": op}
    if acc.t_lo is not None:
        props["startTime"], props["endTime"] = _iso(acc.t_lo), _iso(acc.t_hi)
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
    for key, prop in _TOTALS.items():
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
                    denom = _rate_total(np.ones(1), np.array([a_m2]), unit)
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
        unit = units.get("appliedRate")
        for name in sorted(acc.products):
            p = acc.products[name]
            entry = {
                "name": name,
                "type": "Component" if len(acc.products) > 1 else "Carrier",
            }
            st = p.stats.get("rate")
            entry["rate"] = {
                "value": (st.s / st.n) if st and st.n else None,
                "unit": unit,
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
    props["machinery"] = [
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


# ----------------------------------------------------------------------------- cleaning
def _clean_one(args: tuple) -> tuple[str, dict[str, int], int, int]:
    from leafnb.clean.cleanup import cleanup_mask

    src, dst, rules, batch_size = args
    pf = pq.ParquetFile(src)
    meta = partition_meta(src)
    schema = pf.schema_arrow
    removed: dict[str, int] = {}
    kept = total = 0
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(dst, schema, compression="zstd") as writer:
        for batch in pf.iter_batches(batch_size=batch_size):
            table = pa.Table.from_batches([batch], schema=schema)
            pts = PointSet(
                restore_points(table, meta),
                meta.get("operation_type", ""),
                units=meta.get("units") or {},
                meta=meta,
            )
            keep, rem = cleanup_mask(pts, rules)
            for k, v in rem.items():
                removed[k] = removed.get(k, 0) + v
            writer.write_table(table.filter(pa.array(keep)))
            kept += int(keep.sum())
            total += len(keep)
    return dst, removed, kept, total


def clean_partitions(
    paths: str | Path | Iterable[str | Path],
    rules: dict[str, list[dict[str, Any]]],
    out_dir: str | Path,
    *,
    executor: Any = None,
    batch_size: int = 262_144,
) -> dict[str, Any]:
    """Apply cleanup *rules* (Leaf's ``cleanupRules``) batch by batch; write ``out_dir/part-NNNNN.parquet``.

    Returns ``{"paths": [...], "removed": {property: count}, "kept": n, "total": n}``.
    The outputs keep the input schema and leafnb metadata (the ``geo`` bbox is the
    input's, a superset of the filtered points).
    """
    files = _expand(paths)
    out_dir = Path(out_dir)
    jobs = [
        (str(p), str(out_dir / f"part-{i:05d}.parquet"), rules, batch_size)
        for i, p in enumerate(files)
    ]
    removed: dict[str, int] = {}
    kept = total = 0
    outs = []
    for dst, rem, k, t in _map(_clean_one, jobs, executor):
        outs.append(dst)
        kept += k
        total += t
        for key, v in rem.items():
            removed[key] = removed.get(key, 0) + v
    return {"paths": outs, "removed": removed, "kept": kept, "total": total}


# ----------------------------------------------------------------------------- gridding
def _bbox(files: list[Path]) -> tuple[float, float, float, float]:
    boxes = []
    for p in files:
        md = pq.read_schema(p).metadata or {}
        geo = json.loads(md.get(b"geo", b"{}"))
        bbox = geo.get("columns", {}).get("geometry", {}).get("bbox")
        if not bbox:
            lo = hi = None
            for pts in iter_point_batches(p, columns=["lon", "lat"]):
                lon, lat = pts.array("lon"), pts.array("lat")
                b = (np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat))
                lo = b[:2] if lo is None else np.minimum(lo, b[:2])
                hi = b[2:] if hi is None else np.maximum(hi, b[2:])
            bbox = [*lo, *hi]
        boxes.append(bbox)
    b = np.array(boxes, dtype=float)
    return (
        float(b[:, 0].min()),
        float(b[:, 1].min()),
        float(b[:, 2].max()),
        float(b[:, 3].max()),
    )


def _grid_one(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    path, prop, bounds, shape, units, batch_size = args
    w, s, e, n = bounds
    rows, cols = shape
    total = np.zeros(rows * cols)
    count = np.zeros(rows * cols)
    for pts in iter_point_batches(
        path, columns=["lon", "lat", prop], units=units, batch_size=batch_size
    ):
        if prop not in pts.table.column_names:
            continue
        lon, lat, v = pts.array("lon"), pts.array("lat"), pts.array(prop)
        ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(v)
        c = np.clip(((lon[ok] - w) / (e - w) * cols).astype(np.int64), 0, cols - 1)
        r = np.clip(((n - lat[ok]) / (n - s) * rows).astype(np.int64), 0, rows - 1)
        idx = r * cols + c
        total += np.bincount(idx, weights=v[ok], minlength=rows * cols)
        count += np.bincount(idx, minlength=rows * cols)
    return total, count


def grid_partitions(
    paths: str | Path | Iterable[str | Path],
    prop: str,
    *,
    cell_size: float = 10.0,
    bounds: tuple[float, float, float, float] | None = None,
    executor: Any = None,
    batch_size: int = 262_144,
    max_cells: int = 50_000_000,
) -> dict[str, Any]:
    """Mean of *prop* per grid cell (about *cell_size* metres, north-up, WGS84 degrees).

    Returns ``{"values": 2-D float array (NaN = no points), "count": 2-D int array,
    "bounds": (west, south, east, north), "unit": ...}`` — the input of a map image,
    a GeoTIFF or quantile-class preparation, built without loading the points.
    """
    files = _expand(paths)
    bounds = bounds or _bbox(files)
    w, s, e, n = bounds
    lat0 = np.radians((s + n) / 2)
    m_per_deg = 111_320.0
    cols = max(1, int(np.ceil((e - w) * m_per_deg * np.cos(lat0) / cell_size)))
    rows = max(1, int(np.ceil((n - s) * m_per_deg / cell_size)))
    if rows * cols > max_cells:
        raise ValueError(
            f"grid of {rows}x{cols} cells exceeds max_cells={max_cells}; use a larger cell_size"
        )
    units: dict[str, str] = {}
    for p in files:
        for k, u in (partition_meta(p).get("units") or {}).items():
            units.setdefault(k, u)
    eps = 1e-12
    b = (w - eps, s - eps, e + eps, n + eps)
    total = np.zeros(rows * cols)
    count = np.zeros(rows * cols)
    for t, c in _map(
        _grid_one,
        [
            (
                str(p),
                prop,
                b,
                (rows, cols),
                {prop: units[prop]} if prop in units else None,
                batch_size,
            )
            for p in files
        ],
        executor,
    ):
        total += t
        count += c
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(count > 0, total / count, np.nan)
    return {
        "values": values.reshape(rows, cols),
        "count": count.reshape(rows, cols).astype(np.int64),
        "bounds": bounds,
        "unit": units.get(prop),
    }


# ----------------------------------------------------------------------------- imagesV2 rendering
_HIST_BINS = 1 << 16


def _rp_iter(
    path: str, prop: str, units: dict[str, str], batch_size: int, width: bool
) -> Iterator[tuple]:
    """``(nonnull widths, lon, lat, values, width_m | None)`` of one partition's positioned points, per batch.

    Mirrors :func:`leafnb.render.images.prepare`: points without a finite lon/lat are
    dropped; widths are converted to metres (an unknown unit is taken as metres).
    """
    cols = ["lon", "lat", prop] + (["equipmentWidth"] if width else [])
    for pts in iter_point_batches(
        path, columns=cols, units=units, batch_size=batch_size
    ):
        names = pts.table.column_names
        lon, lat = pts.array("lon"), pts.array("lat")
        keep = np.isfinite(lon) & np.isfinite(lat)
        n = int(keep.sum())
        v = pts.array(prop)[keep] if prop in names else np.full(n, np.nan)
        w = None
        nonnull = 0
        if width:
            if "equipmentWidth" in names:
                nonnull = _nonnull(pts, "equipmentWidth")
                w = pts.array("equipmentWidth")[keep]
                unit = units.get("equipmentWidth") or pts.units.get(
                    "equipmentWidth", "m"
                )
                if unit and unit != "m":
                    import contextlib

                    with contextlib.suppress(ValueError, KeyError, AttributeError):
                        w = convert(w, unit, "m")
            else:
                w = np.full(n, np.nan)
        yield nonnull, lon[keep], lat[keep], v, w


def _rp_scan(args: tuple) -> dict[str, Any]:
    """Pass 1 of one partition: counts, projected bounds, lat/value ranges, widest swath."""
    from leafnb.render.raster import project

    path, prop, units, batch_size, crs = args
    out: dict[str, Any] = {
        "n": 0,
        "vn": 0,
        "wnonnull": 0,
        "wmax": 0.0,
        "x": [np.inf, -np.inf],
        "y": [np.inf, -np.inf],
        "lat": [np.inf, -np.inf],
        "v": [np.inf, -np.inf],
    }

    def widen(key: str, a: np.ndarray) -> None:
        if len(a):
            out[key] = [
                min(out[key][0], float(a.min())),
                max(out[key][1], float(a.max())),
            ]

    for nonnull, lon, lat, v, w in _rp_iter(path, prop, units, batch_size, True):
        out["n"] += len(lon)
        out["wnonnull"] += nonnull
        x, y = project(lon, lat, crs)
        ok = np.isfinite(x) & np.isfinite(y)
        widen("x", x[ok])
        widen("y", y[ok])
        widen("lat", lat)
        fv = v[np.isfinite(v)]
        out["vn"] += len(fv)
        widen("v", fv)
        if w is not None and len(w):
            out["wmax"] = max(
                out["wmax"],
                float(
                    np.clip(
                        np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0), 0, None
                    ).max()
                ),
            )
    return out


def _bin_of(v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Histogram bin (0 .. _HIST_BINS-1) of values in [a, b]; monotone non-decreasing in v."""
    return np.clip(np.floor((v - a) / (b - a) * _HIST_BINS), 0, _HIST_BINS - 1).astype(
        np.int64
    )


def _select_values(lat: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    return {"lat": lat, "v": v[np.isfinite(v)]}


def _rp_hist(args: tuple) -> list[np.ndarray]:
    """Histograms (``_HIST_BINS`` bins over ``[a, b]``) of one partition's values inside each window."""
    path, prop, units, batch_size, windows = args
    hists = [np.zeros(_HIST_BINS, dtype=np.int64) for _ in windows]
    for _, _, lat, v, _ in _rp_iter(path, prop, units, batch_size, False):
        cols = _select_values(lat, v)
        for h, (col, a, b) in zip(hists, windows, strict=True):
            x = cols[col]
            x = x[(x >= a) & (x <= b)]
            h += np.bincount(_bin_of(x, a, b), minlength=_HIST_BINS)
    return hists


def _rp_collect(args: tuple) -> list[Any]:
    """One partition's values in each target bin (``collect``) or just their (min, max)."""
    path, prop, units, batch_size, targets = args
    got: list[Any] = [[] if collect else [np.inf, -np.inf] for *_, collect in targets]
    for _, _, lat, v, _ in _rp_iter(path, prop, units, batch_size, False):
        cols = _select_values(lat, v)
        for i, (col, a, b, j, collect) in enumerate(targets):
            x = cols[col]
            x = x[(x >= a) & (x <= b)]
            x = x[_bin_of(x, a, b) == j]
            if collect:
                got[i].append(x)
            elif len(x):
                got[i] = [
                    min(got[i][0], float(x.min())),
                    max(got[i][1], float(x.max())),
                ]
    return [
        np.concatenate(g) if collect else g
        for g, (*_, collect) in zip(got, targets, strict=True)
    ]


def _order_statistics(
    jobs: list[tuple],
    specs: dict[str, tuple[float, float, list[int]]],
    executor: Any,
    limit: int,
) -> dict[tuple[str, int], float]:
    """Exact k-th smallest values (0-based ranks) of the columns in *specs*, out of core.

    ``specs[col] = (min, max, ranks)``. Each round histograms the current window of every
    pending rank into 2^16 bins (one pass), finds the bin holding the rank from the
    cumulative counts, then (a second pass) either collects that bin's values when it
    holds at most *limit* of them — and selects exactly — or narrows the window to the
    bin's own [min, max] and repeats. Memory: 2^16 counts per window + at most *limit*
    values per pending rank.
    """
    result: dict[tuple[str, int], float] = {}
    pending: list[list] = []  # [col, rank, a, b, below]
    for col, (lo, hi, ranks) in specs.items():
        for r in sorted(set(ranks)):
            if lo == hi:
                result[col, r] = lo
            else:
                pending.append([col, r, lo, hi, 0])
    while pending:
        windows = sorted({(c, a, b) for c, _, a, b, _ in pending})
        hists = [np.zeros(_HIST_BINS, dtype=np.int64) for _ in windows]
        for part in _map(_rp_hist, [(*job, windows) for job in jobs], executor):
            for h, ph in zip(hists, part, strict=True):
                h += ph
        counts: dict[tuple, int] = {}
        placed = []
        for c, r, a, b, below in pending:
            h = hists[windows.index((c, a, b))]
            cum = np.cumsum(h)
            j = int(
                np.searchsorted(cum, r - below, side="right")
            )  # first bin with cum > local rank
            below2 = below + (int(cum[j - 1]) if j else 0)
            counts[(c, a, b, j)] = int(h[j])
            placed.append((c, r, (c, a, b, j), below2))
        targets = sorted(counts)
        spec = [(*t, counts[t] <= limit) for t in targets]
        merged: list[Any] = [
            [] if collect else [np.inf, -np.inf] for *_, collect in spec
        ]
        for part in _map(_rp_collect, [(*job, spec) for job in jobs], executor):
            for i, (got, (*_, collect)) in enumerate(zip(part, spec, strict=True)):
                if collect:
                    merged[i].append(got)
                else:
                    merged[i] = [min(merged[i][0], got[0]), max(merged[i][1], got[1])]
        merged = [
            np.sort(np.concatenate(m)) if collect else m
            for m, (*_, collect) in zip(merged, spec, strict=True)
        ]
        pending = []
        for c, r, t, below in placed:
            i = targets.index(t)
            if spec[i][-1]:
                result[c, r] = float(merged[i][r - below])
            elif merged[i][0] == merged[i][1]:
                result[c, r] = float(merged[i][0])
            else:
                pending.append([c, r, merged[i][0], merged[i][1], below])
    return result


def _quantile_plan(n: int, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks and weights of ``numpy.quantile(v, q)`` (method "linear") for *n* values.

    The same arithmetic as numpy's ``_compute_virtual_index`` / ``_get_indexes`` /
    ``_get_gamma``: virtual index ``(n - 1) * q``, neighbours ``floor`` and ``floor + 1``
    (both the last element at or past the end), gamma ``virtual - previous``.
    """
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above] = -1
    nxt[above] = -1
    below = virtual < 0
    prev[below] = 0
    nxt[below] = 0
    gamma = np.asarray(virtual - prev, dtype=virtual.dtype)
    prev_i = prev.astype(np.intp)
    nxt_i = nxt.astype(np.intp)
    return (
        np.where(prev_i < 0, n + prev_i, prev_i),
        np.where(nxt_i < 0, n + nxt_i, nxt_i),
        gamma,
    )


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's quantile interpolation (``_lerp``), bit for bit."""
    diff = b - a
    out = np.add(a, diff * t)
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out


def render_partitions(
    paths: str | Path | Iterable[str | Path],
    property: str,
    out_dir: str | Path,
    *,
    resolution: float | None = None,
    crs: str = "EPSG:3857",
    batch_rows: int = 262_144,
    executor: Any = None,
    max_size: int | None = None,
    select_limit: int = 1 << 20,
) -> dict[str, Any]:
    """The imagesV2 PNG (+ ``.aux.xml``) and legend of *property*, built from GeoParquet partitions.

    The same product as :meth:`leafnb.Workspace.get_operation_images_v2` (and
    :func:`leafnb.render.images.build_v2`) of the concatenated points, without loading
    them: every pass reads one record batch (*batch_rows* rows) at a time.

    1. **scan**: positioned-point count, projected bounds, latitude/value ranges, widest swath;
    2. **exact order statistics** (:func:`_order_statistics`): the median latitude
       (it sets the cell size and the grid) and the ranks ``numpy.quantile`` interpolates
       between for the 7 classes, via 2^16-bin histograms then an exact selection inside
       the bins holding them (repeated on a narrower window while a bin holds more than
       *select_limit* values); the edges are interpolated with numpy's own arithmetic
       and turned into a :class:`~leafnb.render.legend.Legend` by
       :func:`~leafnb.render.legend.legend_from_edges` (the same tie rule);
    3. **raster**: per footprint size, point sums and counts per cell accumulated in point
       order (``numpy.add.at``), then the spread / mean of :mod:`leafnb.render.raster`.

    So the legend, extent and PNG equal the in-memory imagesV2 of the partitions
    concatenated in the given order (tested pixel for pixel). With an *executor* the
    partitions are mapped in parallel (only histograms, bin contents and per-partition
    sparse cell sums travel back); per-cell sums of different partitions are then added
    in partition order, which is bitwise the in-memory result when no cell holds points
    of two partitions, and otherwise differs by float rounding of the sum only.

    Parameters
    ----------
    paths : path or paths
        ``standard.parquet``/``filtered.parquet`` files, or folders searched for ``*.parquet``;
        values are converted to the first partition's units.
    property : str
        The numeric property to render.
    out_dir : path
        Where ``<property>.png`` and ``<property>.png.aux.xml`` are written.
    resolution : float, optional
        Cell size in degrees (Leaf's convention; default imagesV2's 0.00001°), converted
        to *crs* units at the median latitude as imagesV2 does.
    crs : str
        Grid CRS (imagesV2: EPSG:3857).
    batch_rows : int
        Rows per record batch.
    executor : optional
        A ``concurrent.futures.Executor`` or ``distributed.Client`` mapping partitions.
    max_size : int, optional
        Cells per side before the resolution is raised (default imagesV2's 8192).
    select_limit : int
        Most values collected per quantile rank in the exact-selection pass.

    Returns
    -------
    dict
        ``{"property", "legend": {"ranges": [...] (, "tiedClasses")}, "extent": {xmin,
        xmax, ymin, ymax} (EPSG:4326), "url", "downloadUrl"}``.
    """
    from leafnb.render.images import MAX_SIZE, V2_RESOLUTION_DEG, _extent_4326
    from leafnb.render.legend import legend_from_edges
    from leafnb.render.png import write_png
    from leafnb.render.raster import degrees_to_crs_resolution, grid_spec

    files = _expand(paths)
    crs = crs.upper()
    units: dict[str, str] = {}
    for p in files:
        for k, u in (partition_meta(p).get("units") or {}).items():
            units.setdefault(k, u)
    units = {k: u for k, u in units.items() if k in (property, "equipmentWidth")}
    jobs = [(str(p), property, units, batch_rows) for p in files]

    # pass 1: ranges
    scans = _map(_rp_scan, [(*job, crs) for job in jobs], executor)
    n = sum(s["n"] for s in scans)
    if not n:
        raise ValueError("no points with a position to render")
    rng = {
        key: (min(s[key][0] for s in scans), max(s[key][1] for s in scans))
        for key in ("x", "y", "lat", "v")
    }
    vn = sum(s["vn"] for s in scans)
    has_width = any(s["wnonnull"] for s in scans)

    # passes 2-3: median latitude and quantile ranks, exactly
    q = np.linspace(0.0, 1.0, 8)
    specs: dict[str, tuple[float, float, list[int]]] = {
        "lat": (*rng["lat"], [(n - 1) // 2, n // 2])
    }
    if vn:
        prev, nxt, gamma = _quantile_plan(vn, q)
        specs["v"] = (*rng["v"], [int(i) for i in (*prev, *nxt)])
    stats = _order_statistics(jobs, specs, executor, select_limit)
    mid = [stats["lat", r] for r in sorted({(n - 1) // 2, n // 2})]
    lat0 = float(np.median(np.array(mid)))  # numpy's mean of the middle value(s)
    if vn:
        edges = _lerp(
            np.array([stats["v", int(i)] for i in prev]),
            np.array([stats["v", int(i)] for i in nxt]),
            gamma,
        )
        edges[0], edges[-1] = rng["v"]
    else:
        edges = np.full(8, np.nan)
    legend = legend_from_edges(
        edges, count=vn, unit=units.get(property), property=property, warn=False
    )

    # the grid, as images._raster
    res = degrees_to_crs_resolution(
        V2_RESOLUTION_DEG if resolution is None else resolution, crs, lat0
    )
    max_size = MAX_SIZE if max_size is None else max_size
    bx, by = np.array(rng["x"]), np.array(rng["y"])
    spec = grid_spec(bx, by, crs, res, max_size=max_size, lat=lat0)
    if has_width:
        from leafnb.render.raster import footprint_radii

        wmax = np.array([max(s["wmax"] for s in scans)])
        rx, ry = footprint_radii(wmax, spec, 1)
        pad = int(max(rx.max(initial=0), ry.max(initial=0)))
        if pad:
            spec = grid_spec(bx, by, crs, res, max_size=max_size, pad=pad, lat=lat0)

    # pass 4: cell sums and counts per footprint group
    size = spec.width * spec.height
    keys: set[int] = set()
    sums: dict[int, np.ndarray] = {}
    cnts: dict[int, np.ndarray] = {}
    rjobs = [(*job, spec, has_width) for job in jobs]
    if executor is None:
        for rjob in rjobs:
            for k, idx, v in _rp_cells(rjob):
                keys.add(k)
                if v is None:
                    continue
                if k not in sums:
                    sums[k], cnts[k] = np.zeros(size), np.zeros(size, dtype=np.uint32)
                np.add.at(sums[k], idx, v)
                np.add.at(cnts[k], idx, 1)
    else:
        for part_keys, part in _map(_rp_raster_partial, rjobs, executor):
            keys |= part_keys
            for k, (cells, s, c) in part.items():
                if k not in sums:
                    sums[k], cnts[k] = np.zeros(size), np.zeros(size, dtype=np.uint32)
                sums[k][cells] += s
                cnts[k][cells] += c
    mean = _cell_means(spec, sorted(keys), sums, cnts)

    out_dir = Path(out_dir)
    path = write_png(
        out_dir / f"{property}.png", legend.rgba(mean), spec, {"property": property}
    )
    return {
        "property": property,
        "legend": legend.to_dict(),
        "extent": _extent_4326(spec),
        "url": str(path),
        "downloadUrl": path.resolve().as_uri(),
    }


def _rp_cells(args: tuple) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """``(footprint group, cell indices, values)`` of one partition's points with a finite value, per batch and group.

    Groups with no finite value in a batch yield ``values=None`` (the group still exists,
    as in :func:`leafnb.render.raster.rasterize`).
    """
    from leafnb.render.raster import MAX_RADIUS, footprint_radii, project

    path, prop, units, batch_size, spec, has_width = args
    for _, lon, lat, v, w in _rp_iter(path, prop, units, batch_size, has_width):
        if not len(lon):
            continue
        x, y = project(lon, lat, spec.crs)
        row, col = spec.cell_of(x, y)
        idx = row * spec.width + col
        rx, ry = footprint_radii(w if has_width else None, spec, len(x))
        key = rx * (MAX_RADIUS + 1) + ry
        finite = np.isfinite(v)
        for k in np.unique(key):
            sel = key == int(k)
            m = sel & finite
            yield int(k), idx[m], (v[m] if m.any() else None)


def _rp_raster_partial(
    args: tuple,
) -> tuple[set[int], dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Sparse per-group cell sums/counts of one partition (point order within the partition)."""
    keys: set[int] = set()
    acc: dict[int, list] = {}
    for k, idx, v in _rp_cells(args):
        keys.add(k)
        if v is not None:
            acc.setdefault(k, []).append((idx, v))
    out = {}
    for k, parts in acc.items():
        idx = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        cells, inv = np.unique(idx, return_inverse=True)
        out[k] = (
            cells,
            np.bincount(inv, weights=v, minlength=len(cells)),
            np.bincount(inv, minlength=len(cells)).astype(np.uint32),
        )
    return keys, out


def _cell_means(
    spec: Any,
    groups: list[int],
    sums: dict[int, np.ndarray],
    cnts: dict[int, np.ndarray],
) -> np.ndarray:
    """The per-cell mean of :func:`leafnb.render.raster.rasterize` from per-group point sums/counts."""
    from leafnb.render.raster import MAX_RADIUS, _spread

    size = spec.width * spec.height
    shape2 = (spec.height, spec.width)
    mean = np.full(shape2, np.nan)
    if groups in ([], [0]):  # no footprints: mean of each occupied cell
        if 0 in sums:
            flat = mean.reshape(-1)
            has = cnts[0] > 0
            flat[has] = sums[0][has] / cnts[0][has]
        return mean
    total_s = total_c = None
    for k in groups:
        gx, gy = divmod(k, MAX_RADIUS + 1)
        s = sums.pop(k, None)
        c = cnts.pop(k, None)
        s = _spread((np.zeros(size) if s is None else s).reshape(shape2), gx, gy, False)
        c = _spread(
            (np.zeros(size) if c is None else c.astype(float)).reshape(shape2),
            gx,
            gy,
            False,
        )
        if total_s is None:
            total_s, total_c = s, c
        else:
            total_s += s
            total_c += c
    np.divide(total_s, total_c, out=mean, where=total_c >= 0.5)
    return mean
