"""What filtering leaves beside the standard points: a reason per point, not a copy.

A filter run keeps most points and changes a few columns (the flow and moisture delays
shift yield values along the track). Writing its result as a second and third point
table (kept and removed) doubled every file's size; what it adds to the standard points
is small: which filter removed each point, and the delays it resolved. So
:func:`write_filtered` stores

* ``filter.parquet`` (:data:`MASK`) — one row per standard point, in table order, with
  ``filterReason`` (the filter that removed the point, null when kept), and in its
  metadata (:data:`REPORT_KEY`) the report, with each filter's resolved parameters
  (:func:`read_report`). One file, not two: creating a file is most of what writing a
  small one costs (docs/performance.md); folders written before kept the report in
  ``cleaning.json`` (:data:`REPORT`), which is still read;

and :func:`read_filtered` rebuilds the kept and removed point sets from the standard
points: it replays the value-changing filters with the resolved delays
(:func:`leafnb.clean.profiles.replay`), which gives the same numbers. ``filtered.parquet``
and ``removed.parquet`` (:data:`FILTERED`, :data:`REMOVED`) are written only when
somebody asks for the file (:func:`materialize`: a download, an export).

>>> import tempfile
>>> from leafnb.testing.points import make_points, point_units
>>> folder = Path(tempfile.mkdtemp())
>>> table = make_points("harvested", 500)
>>> points = PointSet(table, "harvested", units=point_units(table))
>>> _ = write_geoparquet(folder / "standard.parquet", table,
...                      {"units": points.units, "operation_type": "harvested"})
>>> report = make_filtered(points, {}, folder)
>>> read_filtered(folder).kept.table.num_rows == report["kept"]
True
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from leafnb.clean.profiles import (
    FilterPipeline,
    FilterResult,
    replay,
    resolve_pipeline,
)
from leafnb.clean.report import CleaningReport
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import (
    footer_entry,
    read_json,
    read_points_table,
    write_geojson,
    write_geoparquet,
    write_parquet,
)
from leafnb.store.geojson_text import json_text
from leafnb.store.layout import FILTER_MASK

__all__ = [
    "EXPORTS",
    "FILTERED",
    "MASK",
    "REMOVED",
    "REPORT",
    "REPORT_KEY",
    "has_filtered",
    "make_filtered",
    "materialize",
    "read_filtered",
    "read_report",
    "write_filtered",
]

FILTERED, REMOVED, REPORT = "filtered.parquet", "removed.parquet", "cleaning.json"
MASK = FILTER_MASK
#: the key of the cleaning report (compact JSON) in ``filter.parquet``'s metadata
REPORT_KEY = b"leafnb.cleaning"
#: exports written from the mask on request; stale ones go when the mask changes
EXPORTS = (FILTERED, REMOVED, "filtered.geojson")


def _reason_column(codes: np.ndarray, labels: list[str]) -> pa.DictionaryArray:
    """Per point its filter's name, kept as null, dictionary encoded in order of first removal.

    *codes*: 0 = kept, *c* = removed by ``labels[c - 1]``
    (:meth:`~leafnb.clean.profiles.FilterResult.reason_codes`); the dictionary lists
    the names in the order their first point comes (as Arrow's ``dictionary_encode``
    of the removed points' names):

    >>> _reason_column(np.array([0, 2, 0, 1, 2], np.uint8), ["flow", "speed"]).to_pylist()
    [None, 'speed', None, 'flow', 'speed']
    """
    removed = codes[codes != 0]
    present, first = np.unique(removed, return_index=True)
    present = present[np.argsort(first, kind="stable")]
    index = np.zeros(len(labels) + 1, np.int32)
    index[present] = np.arange(len(present), dtype=np.int32)
    names = pa.array([labels[c - 1] for c in present.tolist()], pa.string())
    return pa.DictionaryArray.from_arrays(
        pa.array(index[codes], pa.int32(), mask=codes == 0), names
    )


def write_filtered(out_dir: str | Path, result: FilterResult) -> CleaningReport:
    """Write ``filter.parquet``: the reason per standard point, and the report in its metadata."""
    out = Path(out_dir)
    codes = result.reason_codes()
    if codes is None:  # pragma: no cover - every FilterResult of this package has them
        raise ValueError("a filter result without per-point reasons cannot be stored")
    column = _reason_column(*codes)
    table = pa.table({"filterReason": column}).replace_schema_metadata(
        {
            b"leafnb.filterProfile": str(result.report["profile"]).encode(),
            REPORT_KEY: json_text(dict(result.report)).encode(),
        }
    )
    write_parquet(out / MASK, table, compression="zstd")
    # a stale export, or the report of an earlier layout, would disagree
    for name in (*EXPORTS, REPORT):
        (out / name).unlink(missing_ok=True)
    return result.report


def make_filtered(
    points: PointSet,
    config: dict[str, Any],
    out_dir: str | Path,
    pipeline: str | FilterPipeline | list | None = None,
    boundary: Any = None,
) -> CleaningReport:
    """Filter *points* with *pipeline* (default: the config's ``filterProfile``) and write the artifacts."""
    result = resolve_pipeline(pipeline, config).run(points, boundary=boundary)
    return write_filtered(out_dir, result)


def read_report(folder: str | Path) -> CleaningReport:
    """The cleaning report of the filter result in *folder* (:func:`write_filtered`).

    From ``filter.parquet``'s metadata (its footer only), or from ``cleaning.json`` in a
    folder written before the report moved there. ``FileNotFoundError`` when there is
    neither.
    """
    folder = Path(folder)
    if (folder / MASK).is_file():
        text = footer_entry(folder / MASK, REPORT_KEY.decode())
        if text is not None:
            return CleaningReport(json.loads(text))
    return CleaningReport(read_json(folder / REPORT))


def has_filtered(folder: str | Path) -> bool:
    """True when *folder* (a file's or operation's) holds a filter result."""
    folder = Path(folder)
    return (folder / MASK).is_file() or (folder / FILTERED).is_file()


def _standard(folder: Path) -> PointSet:
    table, meta = read_points_table(folder / "standard.parquet")
    return PointSet(
        table, meta.get("operation_type", ""), units=meta.get("units", {}), meta=meta
    )


def read_filtered(folder: str | Path) -> FilterResult:
    """The kept and removed points of the filter result in *folder*.

    Rebuilt from ``standard.parquet`` and ``filter.parquet`` (:func:`read_report`); a
    folder written before the mask existed (``filtered.parquet`` + ``removed.parquet``)
    is read as it is. ``FileNotFoundError`` when there is no filter result.
    """
    folder = Path(folder)
    if not (folder / MASK).is_file():
        return _read_copies(folder)
    report = read_report(folder)
    points = _standard(folder)
    mask = pq.read_table(folder / MASK).column("filterReason")
    reasons = np.asarray(mask.cast(pa.string()).fill_null("").to_pylist(), dtype=object)
    if len(reasons) != len(points):
        raise ValueError(
            f"{folder / MASK} has {len(reasons)} rows for {len(points)} standard points"
        )
    kept, removed, _ = replay(points, reasons, report)
    profile = {"filterProfile": report["profile"]}
    return FilterResult(
        replace(kept, meta={**kept.meta, **profile}),
        replace(removed, meta={**removed.meta, **profile}),
        report,
        reasons=reasons,
    )


def _read_copies(folder: Path) -> FilterResult:
    """A filter result stored as point tables (leafnb before the mask)."""
    kept = _as_points(*read_points_table(folder / FILTERED))
    if (folder / REMOVED).is_file():
        removed = _as_points(*read_points_table(folder / REMOVED))
    else:
        removed = replace(kept, table=kept.table.slice(0, 0))
    report = read_json(folder / REPORT) if (folder / REPORT).is_file() else {}
    return FilterResult(kept, removed, CleaningReport(report))


def _as_points(table: pa.Table, meta: dict[str, Any]) -> PointSet:
    return PointSet(
        table, meta.get("operation_type", ""), units=meta.get("units", {}), meta=meta
    )


def materialize(path: str | Path) -> Path:
    """Write the export *path* from its filter result.

    *path* is ``filtered.parquet``, ``removed.parquet`` or ``filtered.geojson`` of a file
    or operation folder.
    """
    path = Path(path)
    if path.name not in EXPORTS:
        raise ValueError(f"{path.name} is not a filter export")
    result = read_filtered(path.parent)
    points = result.removed if path.name == REMOVED else result.kept
    if path.suffix == ".geojson":
        return write_geojson(path, points.table)
    meta = {
        "units": points.units,
        "operation_type": points.operation_type,
        "filterProfile": result.report["profile"],
    }
    return write_geoparquet(path, points.table, meta, compact=False)  # for other tools
