"""The common tail of every tabular reader: positions, time, value transforms, the record.

:func:`finish_table` turns source columns + coordinates + a
:class:`~leafnb.formats.inference.ColumnMatch` into a
:class:`~leafnb.formats.base.RawRead`:

- rows with missing or impossible coordinates (non-finite, beyond ±180/±90, or exactly
  0,0 — an unfixed GPS) are dropped and counted (:class:`SkippedRecordsWarning`);
  a file where no row has a position fails with the reason;
- the latitude/longitude order is checked against the file's own motion
  (:func:`leafnb.formats.positions.check_axis_order`);
- ``timestamp`` is built by :func:`leafnb.formats.timeparse.build_timestamp`;
- value transforms of the matched rules (crop text, header status codes) are applied;
- the family's derived columns are added (Ag Leader ``WETMASS`` = flow × interval);
- ``meta["column_mapping"]`` records what was understood (source → property, unit,
  score, basis; unused columns and why), ``meta["bad_cells"]`` the unparseable cells;
- ``meta["skips"]`` (when anything was passed over) says what, for the notes
  :func:`skip_notes` writes: a file read in record ranges sums its ranges' with
  :func:`add_skips` and writes the notes of the file read whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.errors import CorruptFile, SkippedRecordsWarning
from leafnb.formats.assets import assets_from_columns
from leafnb.formats.columns import DERIVED
from leafnb.formats.inference import ColumnMatch, exact_median, infer_columns
from leafnb.formats.positions import check_axis_order
from leafnb.formats.timeparse import build_timestamp, date_order
from leafnb.formats.transforms import apply_transform, numeric_array
from leafnb.standard.units import convert

__all__ = [
    "RangeCarry",
    "add_skips",
    "bad_cells_note",
    "finish_table",
    "skip_notes",
    "valid_coords",
]


def valid_coords(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Finite, within ±180/±90, and not the 0,0 of a GPS without a fix."""
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (np.abs(lon) <= 180)
            & (np.abs(lat) <= 90)
            & ~((lon == 0) & (lat == 0))
        )


def bad_cells_note(bad: Mapping[str, tuple[int, list[str]]]) -> str | None:
    """``"3 unparseable cells read as missing: Moisture 2 ('-', 'x'); Speed 1 ('1,5')"``."""
    if not bad:
        return None
    total = sum(n for n, _ in bad.values())
    parts = []
    for col, (n, examples) in bad.items():
        ex = ", ".join(repr(e) for e in examples)
        parts.append(f"{col} {n}" + (f" ({ex})" if ex else ""))
    return f"{total} unparseable cells read as missing: " + "; ".join(parts)


def skip_notes(skips: Mapping[str, Any]) -> list[str]:
    """The notes of what a read passed over (``meta["skips"]`` of :func:`finish_table`).

    The unreadable cells (:func:`bad_cells_note`), then the records skipped.

    >>> skip_notes({"reader": "csv", "read": 10, "invalid": 2, "unparsed": 1,
    ...             "bad_cells": {"Speed": [1, ["x"], 4]}})  # doctest: +NORMALIZE_WHITESPACE
    ["1 unparseable cells read as missing: Speed 1 ('x')",
     'csv: skipped 3 of 10 records (2 with missing or invalid coordinates; 1 unparseable lines)']
    """
    notes = []
    bad = {col: (n, examples) for col, (n, examples, _) in skips["bad_cells"].items()}
    note = bad_cells_note(bad)
    if note:
        notes.append(note)
    invalid, unparsed = skips["invalid"], skips["unparsed"]
    if invalid or unparsed:
        parts = []
        if invalid:
            parts.append(f"{invalid} with missing or invalid coordinates")
        if unparsed:
            parts.append(f"{unparsed} unparseable lines")
        notes.append(
            f"{skips['reader']}: skipped {invalid + unparsed} of {skips['read']} "
            f"records ({'; '.join(parts)})"
        )
    return notes


def add_skips(
    total: Mapping[str, Any] | None, part: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """What two consecutive parts of a file passed over, as the whole file's read says it.

    Counts add up; a column's example cells are the first three distinct of both parts
    in order (so the first three distinct of the whole: each part's are its first
    three), and the columns stay in the file's order.

    >>> a = {"reader": "csv", "read": 5, "invalid": 1, "unparsed": 0,
    ...      "bad_cells": {"Speed": [2, ["x", "y"], 4]}}
    >>> b = {"reader": "csv", "read": 5, "invalid": 0, "unparsed": 1,
    ...      "bad_cells": {"Flow": [1, ["-"], 3], "Speed": [2, ["y", "z"], 4]}}
    >>> add_skips(a, b)["bad_cells"]
    {'Flow': [1, ['-'], 3], 'Speed': [4, ['x', 'y', 'z'], 4]}
    """
    if total is None or part is None:
        either = part if total is None else total
        return None if either is None else dict(either)
    bad = {col: list(v) for col, v in total["bad_cells"].items()}
    for col, (n, examples, position) in part["bad_cells"].items():
        if col in bad:
            seen = bad[col][1]
            merged = list(dict.fromkeys([*seen, *examples]))[:3]
            bad[col] = [bad[col][0] + n, merged, position]
        else:
            bad[col] = [n, list(examples), position]
    return {
        "reader": total["reader"],
        "read": total["read"] + part["read"],
        "invalid": total["invalid"] + part["invalid"],
        "unparsed": total["unparsed"] + part["unparsed"],
        "bad_cells": dict(sorted(bad.items(), key=lambda kv: kv[1][2])),
    }


def _motion(table: pa.Table, match: ColumnMatch) -> dict[str, np.ndarray]:
    """Logged heading (deg) and distance (m) per record, for the lat/lon order check."""
    out: dict[str, np.ndarray] = {}
    names = set(table.schema.names)  # (``schema.names`` makes a list per call)
    for src, col in match.columns.items():
        if src not in names:
            continue
        if col.property == "heading":
            out["heading"] = numeric_array(table[src])
        elif col.property == "distance" and col.unit:
            try:
                out["distance"] = convert(numeric_array(table[src]), col.unit, "m")
            except Exception:  # a unit pint cannot convert to metres: no evidence
                continue
    return out


@dataclass
class RangeCarry:
    """What one record range of a file hands on to the next (:mod:`leafnb.pipeline.stream`).

    Records that depend on records before them read in ranges as in one piece:
    ``durations``, each dataset's elapsed time (SMS records are timed by the sum of
    the durations before them); ``held``, the last value logged in each column whose
    value holds until the next one (an ISO 11783 time log decoded to CSV).
    """

    durations: dict[str | None, float] = field(default_factory=dict)
    held: dict[str, float] = field(default_factory=dict)


def _date_orders(
    table: pa.Table, match: ColumnMatch, lon_hint: float | None
) -> dict[str, str]:
    """``{column: "day first" | "month first"}`` for the text date columns read (:func:`date_order`).

    Recorded for each record range of a file (:mod:`leafnb.pipeline.stream` compares a
    range's metadata with the first's): a range whose dates are all 12 or under is read
    by the region's custom, which another range's dates may contradict.
    """
    orders = {}
    for kind in ("datetime", "date"):
        name = match.time_sources.get(kind)
        if name is None or name not in table.schema.names:
            continue
        column = table[name]
        value_type = column.type
        if pa.types.is_dictionary(value_type):
            value_type = value_type.value_type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            order = date_order(column, lon_hint=lon_hint)
            if order:
                orders[name] = order
    return orders


def finish_table(
    source: pa.Table,
    lon: np.ndarray,
    lat: np.ndarray,
    match: ColumnMatch,
    *,
    path: Any = None,
    reader: str = "",
    duration_column: str | None = None,
    meta: dict[str, Any] | None = None,
    issues: Sequence[str] = (),
    drop: Iterable[str] = (),
    extra_invalid: np.ndarray | None = None,
    unparsed: int = 0,
    bad_cells: Mapping[str, tuple[int, list[str]]] | None = None,
    load_column: str | None = None,
    check_order: bool = True,
    carry: RangeCarry | None = None,
):
    """Assemble a :class:`~leafnb.formats.base.RawRead` from source columns + coordinates.

    *unparsed* is the number of source lines the caller already dropped as
    unparseable; they count as records read and skipped. *bad_cells* maps a column to
    (count, examples) of cells read as missing. *carry* continues a file read in
    record ranges: its durations (:func:`~leafnb.formats.timeparse.build_timestamp`)
    and its held values (:func:`~leafnb.formats.transforms.apply_transform`).

    Raises
    ------
    CorruptFile
        No record has a usable position.
    """
    from leafnb.formats.base import RawRead

    name = getattr(path, "name", None) or str(path or reader)
    n = source.num_rows
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    all_issues = list(issues)
    if check_order:
        lon, lat, note = check_axis_order(lon, lat, _motion(source, match), name=name)
        if note:
            all_issues.append(note)
    ok = valid_coords(lon, lat)
    if extra_invalid is not None:
        ok &= ~extra_invalid
    skipped = int(n - ok.sum())
    if n and not ok.any():
        finite = np.isfinite(lon) & np.isfinite(lat)
        if not finite.any():
            why = "every position is empty (null geometry or blank coordinates)"
        elif np.all((lon[finite] == 0) & (lat[finite] == 0)):
            why = "every position is 0,0 (a GPS without a fix)"
        else:
            why = (
                "no position is within ±180° longitude and ±90° latitude "
                f"(e.g. {lon[finite][0]:g}, {lat[finite][0]:g})"
            )
        raise CorruptFile(
            f"{reader}: {name}: none of the {n} records has a valid position: {why}",
            path=path,
            reader=reader,
        )
    src = source
    if skipped:
        src = src.filter(pa.array(ok))
        lon, lat = lon[ok], lat[ok]
    # np.nanmedian of the longitudes (it warns when all are NaN: that path kept)
    known = lon[~np.isnan(lon)]
    lon_hint = (
        exact_median(known)
        if known.size
        else (float(np.nanmedian(lon)) if lon.size else None)
    )
    ts, notes, _n_bad_times = build_timestamp(
        src,
        match.time_sources,
        time_kinds=match.time_kinds,
        duration_column=duration_column,
        lon_hint=lon_hint,
        load_column=load_column,
        carry=None if carry is None else carry.durations,
    )
    # a range of a file says how it read its slash dates: the ranges must agree
    orders = {} if carry is None else _date_orders(src, match, lon_hint)
    drop = set(drop) | {"lon", "lat", "timestamp"}
    src = src.select([c for c in src.schema.names if c not in drop])
    for col, how in match.transforms.items():
        if col in src.schema.names:
            i = src.schema.names.index(col)
            held = None if carry is None else carry.held
            src = src.set_column(i, col, apply_transform(src[col], how, held, col))
    columns = dict(match.columns)
    for new, factors in DERIVED.get(match.family or "", ()):
        if new not in src.schema.names and all(f in src.schema.names for f in factors):
            prod = None
            for f in factors:
                v = pa.array(numeric_array(src[f]), pa.float64(), from_pandas=True)
                prod = v if prod is None else pc.multiply(prod, v)
            src = src.append_column(new, prod)
            derived = infer_columns([new], family=match.family)
            columns.update(derived.columns)
            match.details.update(derived.details)
            for d in derived.details.values():
                d.basis.append("derived: " + " × ".join(factors))
    arrays = [pa.array(lon, pa.float64()), pa.array(lat, pa.float64())]
    names = ["lon", "lat"]
    if ts is not None:
        arrays.append(ts)
        names.append("timestamp")
    table = pa.Table.from_arrays(
        arrays + [src[c] for c in src.schema.names], names=names + src.schema.names
    )
    out_meta: dict[str, Any] = {
        "columns": columns,
        "column_mapping": match.record(),
        "record_count": n + unparsed,
        "skipped_records": skipped + unparsed,
        "family": match.family,
    }
    if match.provider:
        out_meta["provider"] = match.provider
    if bad_cells:
        out_meta["bad_cells"] = {k: v[0] for k, v in bad_cells.items()}
    if orders:
        out_meta["date_order"] = orders
    # machines/operators named by columns; the reader's own metadata (meta) wins
    out_meta.update(assets_from_columns(source))
    out_meta.update(meta or {})
    all_issues += list(match.notes) + notes
    if skipped or unparsed or bad_cells:
        position = {name: i for i, name in enumerate(source.schema.names)}
        skips = {
            "reader": reader,
            "read": n + unparsed,
            "invalid": skipped,
            "unparsed": unparsed,
            "bad_cells": {
                col: [count, list(examples), position.get(col, len(position))]
                for col, (count, examples) in (bad_cells or {}).items()
            },
        }
        out_meta["skips"] = skips
        passed = skip_notes(skips)
        all_issues += passed
        if skipped or unparsed:  # the records skipped: the last note
            warnings.warn(passed[-1], SkippedRecordsWarning, stacklevel=3)
    return RawRead(table=table, meta=out_meta, issues=tuple(all_issues))
