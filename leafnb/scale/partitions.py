"""Reading GeoParquet partitions one record batch at a time.

A partition is one GeoParquet file of standard points (a file's ``standard.parquet`` /
``filtered.parquet``, or any file with leafnb's columns and ``leafnb.*`` footer metadata).
Everything here reads the footer or one record batch at a time; the ``geometry`` column
is never read (``lon``/``lat`` carry the position).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from leafnb.standard.points import PointSet
from leafnb.standard.units import convert
from leafnb.store.artifacts import iter_points_tables, leafnb_metadata

__all__ = [
    "expand_paths",
    "first_units",
    "iter_point_batches",
    "nonnull_count",
    "partition_meta",
    "positioned_batches",
]

#: rows per record batch unless the caller says otherwise (≈ 2 MB per float column)
BATCH_ROWS = 262_144


def expand_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The partition files of *paths*: files as given, folders searched for ``*.parquet`` (sorted).

    Raises ``ValueError`` when nothing is found.

    >>> expand_paths(["a.parquet", "b.parquet"])
    [PosixPath('a.parquet'), PosixPath('b.parquet')]
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    if not out:
        raise ValueError("no GeoParquet partitions given")
    return out


def partition_meta(path: str | Path) -> dict[str, Any]:
    """The leafnb metadata of one partition (``units``, ``operation_type``, ...) from its footer only."""
    return leafnb_metadata(pq.read_schema(path))


def first_units(metas: Iterable[dict[str, Any]]) -> dict[str, str]:
    """``{property: unit}`` over partitions' metadata, the first partition naming a property winning.

    Partitions of one operation may be written in different units; the out-of-core
    helpers convert every partition to these.

    >>> first_units([{"units": {"speed": "km/h"}}, {"units": {"speed": "mph", "area": "m2"}}])
    {'speed': 'km/h', 'area': 'm2'}
    """
    units: dict[str, str] = {}
    for meta in metas:
        for prop, unit in (meta.get("units") or {}).items():
            units.setdefault(prop, unit)
    return units


def iter_point_batches(
    path: str | Path,
    columns: Sequence[str] | None = None,
    units: dict[str, str] | None = None,
    batch_size: int = BATCH_ROWS,
) -> Iterator[PointSet]:
    """Yield a partition's points as PointSets of at most *batch_size* rows (geometry column not read).

    With *units*, numeric columns are converted to those units (partitions of one
    operation written in different unit systems then combine).
    """
    meta = partition_meta(path)
    src_units = dict(meta.get("units") or {})
    op = meta.get("operation_type", "")
    wanted = None if columns is None else [*columns, "lon", "lat"]
    # lon/lat and derived columns rebuilt as the file was written (store.artifacts)
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


def nonnull_count(points: PointSet, prop: str) -> int:
    """Rows of *points* where *prop* is present (not null); 0 when the column is missing."""
    if prop not in points.table.column_names:
        return 0
    return len(points) - points.table.column(prop).null_count


def positioned_batches(
    path: str, prop: str, units: dict[str, str], batch_size: int, width: bool
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
    """``(nonnull widths, lon, lat, values, width_m | None)`` of one partition's positioned points, per batch.

    Mirrors :func:`leafnb.render.images.prepare`: points without a finite lon/lat are
    dropped; values of *prop* are NaN where missing; with *width*, ``equipmentWidth`` is
    converted to metres (an unknown unit is taken as metres).
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
                nonnull = nonnull_count(pts, "equipmentWidth")
                w = pts.array("equipmentWidth")[keep]
                unit = units.get("equipmentWidth") or pts.units.get(
                    "equipmentWidth", "m"
                )
                if unit and unit != "m":
                    with contextlib.suppress(ValueError, KeyError, AttributeError):
                        w = convert(w, unit, "m")
            else:
                w = np.full(n, np.nan)
        yield nonnull, lon[keep], lat[keep], v, w
