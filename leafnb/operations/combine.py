"""Combine the standard points of several converted files into one point set (merge, operations).

A field operation (automerge) or a manual merge is built from its member files' **standard
points**, never from their sources: each member was already read, normalised, given area and
yield, cleaned and converted by :func:`leafnb.pipeline.steps.convert_file`. Building one is

1. **read** each member's ``standard.parquet`` (and the machinery / original operation type of
   its summary), keeping only the points inside ``clip`` when the operation is cropped;
2. **harmonise units**: every numeric property is converted to the unit of the first member
   (by start time) that has it — ``kg/ha`` and ``mg/m2`` combine, as do ``bu/ac`` and
   ``m3/ha``;
3. **concatenate** (a property some member lacks is null there) and sort by time;
4. apply the current ``cleanupRules`` on the properties **every** member has (a null of a
   property only some members had would otherwise fail its rule), in canonical units as the
   file pipeline does, and convert to the current ``unitMeasurement``;

then the caller summarises, filters and renders the result **once**.

Choices
-------
- **Rates that cannot be harmonised stay apart.** An application rate in volume per area
  (``mm3/m2``, ``L/ha``) and one in mass per area (``mg/m2``, ``kg/ha``) measure different
  things; converting needs the product's density, which machine files do not carry. Such
  members never share an operation: automerge puts them in separate operations (see
  :func:`rate_kind` and :mod:`leafnb.operations.automerge`), and a manual merge of them is
  refused with :class:`~leafnb.errors.InvalidRequest` naming the files. If it still happens
  (files converted again in between), :class:`UnitsNotCombinable` fails that operation alone,
  with the reason on its own status.
- Per-point distance, area and yield are each member's own (computed along that machine's
  track); they are not recomputed over the time-sorted mix of machines.

Example
-------
>>> import pyarrow as pa
>>> from leafnb.operations.combine import Member, combine
>>> a = Member("a", pa.table({"lon": [1.0], "lat": [2.0], "appliedRate": [1.0]}),
...            {"appliedRate": "kg/ha"}, "applied")
>>> b = Member("b", pa.table({"lon": [1.0], "lat": [2.0], "appliedRate": [1.0]}),
...            {"appliedRate": "g/m**2"}, "applied")
>>> points = combine([a, b])
>>> points.units["appliedRate"], points.table["appliedRate"].to_pylist()
('kg/ha', [1.0, 10.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from leafnb.errors import LeafnbError
from leafnb.standard.points import PointSet
from leafnb.standard.schema import NUMERIC_PROPERTIES, PROPERTIES, properties_for
from leafnb.standard.units import conversion_factor, dimension_of
from leafnb.store.artifacts import points_recipe, read_json, read_points_table
from leafnb.store.derived import merge_recipes

__all__ = [
    "Member",
    "UnitsNotCombinable",
    "clip_mask",
    "combine",
    "common_rules",
    "rate_kind",
    "read_member",
]

#: properties whose unit may be of different kinds (volume, mass or count per area)
RATE_PROPERTIES = tuple(
    p for p, (_t, dim) in PROPERTIES.items() if dim == "application_rate"
)


class UnitsNotCombinable(LeafnbError):
    """Members' values of one property are in units of different kinds (no density to convert)."""


def clip_mask(lon: np.ndarray, lat: np.ndarray, geom) -> np.ndarray:
    """True for points inside (or on the edge of) *geom* (WGS84); all True when *geom* is None."""
    if geom is None:
        return np.ones(len(lon), dtype=bool)
    shapely.prepare(geom)
    return shapely.intersects_xy(geom, lon, lat)


@dataclass
class Member:
    """One member file's standard points and what its summary says about it."""

    id: str
    table: pa.Table
    units: dict[str, str]
    operation_type: str
    machinery: list[dict[str, Any]] = field(default_factory=list)
    original_operation_type: str | None = None
    #: how the file's derived columns are rebuilt (:mod:`leafnb.store.derived`)
    recipe: dict[str, Any] | None = None


def read_member(file_id: str, folder: Path, clip=None) -> Member:
    """The standard points (inside *clip*, a shapely geometry) of the converted file in *folder*."""
    table, meta = read_points_table(folder / "standard.parquet")
    if clip is not None and table.num_rows:
        mask = clip_mask(
            table.column("lon").to_numpy(zero_copy_only=False),
            table.column("lat").to_numpy(zero_copy_only=False),
            clip,
        )
        table = table.filter(pa.array(mask))
    summary = folder / "summary.json"
    props = read_json(summary).get("properties", {}) if summary.exists() else {}
    return Member(
        file_id,
        table,
        dict(meta.get("units") or {}),
        meta.get("operation_type", ""),
        list(props.get("machinery") or []),
        props.get("originalOperationType"),
        points_recipe(folder / "standard.parquet"),
    )


def rate_kind(units: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The kind (pint dimensionality) of each application rate in *units*.

    Files of different rate kinds cannot share an operation (a volume per area reduces
    to a length).

    >>> rate_kind({"appliedRate": "L/ha", "speed": "m/s"})
    (('appliedRate', '[length]'),)
    >>> rate_kind({"appliedRate": "kg/ha"})
    (('appliedRate', '[mass] / [length] ** 2'),)
    """
    out = []
    for prop in RATE_PROPERTIES:
        unit = units.get(prop)
        if unit:
            try:
                out.append((prop, dimension_of(unit)))
            except ValueError:
                out.append((prop, unit))
    return tuple(out)


def _harmonise(members: Sequence[Member]) -> dict[str, str]:
    """Convert every member's numeric properties to one unit each (in place); return the units."""
    target: dict[str, tuple[str, str]] = {}  # prop -> (unit, member id)
    for m in members:
        for prop, unit in m.units.items():
            if (
                prop not in m.table.column_names
                or prop not in NUMERIC_PROPERTIES
                or not unit
            ):
                continue
            first = target.setdefault(prop, (unit, m.id))
            if first[0] == unit:
                continue
            try:
                factor = conversion_factor(unit, first[0])
            except Exception:  # pint DimensionalityError (or an unparsable unit)
                raise UnitsNotCombinable(
                    f"{prop} of file {m.id} is in {unit} and of file {first[1]} in {first[0]}: "
                    "values of different kinds (e.g. a volume and a mass per area) cannot be "
                    "combined without the product's density; they belong in separate operations"
                ) from None
            values = (
                m.table.column(prop).to_numpy(zero_copy_only=False).astype("float64")
            )
            values = values * factor
            m.table = m.table.set_column(
                m.table.column_names.index(prop),
                prop,
                pa.array(values, mask=np.isnan(values)),
            )
    return {prop: unit for prop, (unit, _id) in target.items()}


def combine(members: Sequence[Member]) -> PointSet:
    """One time-sorted :class:`PointSet` of the members' points, units harmonised (module docstring).

    Raises
    ------
    UnitsNotCombinable
        Two members carry a property in units of different kinds.
    """
    members = list(members)
    optype = next((m.operation_type for m in members if m.operation_type), "")
    units = _harmonise(members)
    tables = [m.table for m in members]
    table = (
        pa.concat_tables(tables, promote_options="permissive")
        if tables
        else pa.table(
            {"lon": pa.array([], pa.float64()), "lat": pa.array([], pa.float64())}
        )
    )
    if "timestamp" in table.column_names and table.num_rows:
        table = table.sort_by([("timestamp", "ascending")])
    allowed = properties_for(optype) if optype else PROPERTIES
    head = [c for c in ("lon", "lat", "timestamp") if c in table.column_names]
    rest = [
        c
        for c in table.column_names
        if c not in head and c != "operationType" and c in allowed
    ]
    columns = {c: table.column(c) for c in head + rest}
    columns["operationType"] = pa.array([optype] * table.num_rows, pa.string())
    machinery: list[dict[str, Any]] = []
    for m in members:
        for item in m.machinery:
            if item not in machinery:
                machinery.append(item)
    if "machinery" not in columns and machinery and "machinery" in allowed:
        names = [x["name"] if isinstance(x, dict) else str(x) for x in machinery]
        columns["machinery"] = pa.array([names] * table.num_rows, pa.list_(pa.string()))
    meta: dict[str, Any] = {"machinery": machinery, "sources": [m.id for m in members]}
    recipe = merge_recipes([m.recipe for m in members])
    if recipe:  # the members' derived columns, still derivable (checked when written)
        meta["derived"] = recipe
    originals = [
        m.original_operation_type for m in members if m.original_operation_type
    ]
    if originals and "originalOperationType" not in columns:
        if "originalOperationType" in allowed:
            columns["originalOperationType"] = pa.array(
                [originals[0]] * table.num_rows, pa.string()
            )
        else:
            meta["original_operation_type"] = originals[0]
    units = {p: u for p, u in units.items() if p in columns}
    return PointSet(
        pa.table(columns), optype, units=units, source_units=dict(units), meta=meta
    )


def common_rules(rules: dict[str, Any], members: Sequence[Member]) -> dict[str, Any]:
    """The cleanup rules on properties every member has (see the module docstring, step 4)."""
    common: set[str] | None = None
    for m in members:
        names = set(m.table.column_names)
        common = names if common is None else common & names
    return {k: v for k, v in (rules or {}).items() if k in (common or set())}
