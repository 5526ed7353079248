"""Artifact files (GeoParquet, JSON, GeoJSON) written atomically under the workspace.

Rules of what is stored (issue 18: a workspace ≤ ~1.5× its upload; measured in
docs/performance.md, "Workspace size"):

* points (:func:`write_geoparquet`) are stored losslessly: every value
  :func:`read_points_table` gives back is bit-identical to the one written. Left out
  and rebuilt on read: ``lon``/``lat`` (the geometry holds them), derived columns
  (:mod:`leafnb.store.derived`), copies of another column (:func:`copied_columns`) and
  columns with one value (:mod:`leafnb.store.constants`).
  Encodings are chosen for size only (:func:`float_encodings`);
* JSON (:func:`write_json`) is compact; the coordinates of GeoJSON geometries — computed
  shapes such as coverage, not measurements — are written to 1e-7°
  (:func:`rounded_geometries`), every other number as it is.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leafnb.store import derived
from leafnb.store.collector import collector_paused
from leafnb.store.constants import (
    constant_columns,
    float_bits,
    pack,
    rebuild,
    take_rows,
)
from leafnb.store.geojson_text import COORDINATE_DECIMALS, json_text, rounded_geometries
from leafnb.store.layout import STANDARD, UNITS

__all__ = [
    "COORDINATE_DECIMALS",
    "DICTIONARY_PAGE_BYTES",
    "POINT_TYPE",
    "UNCOMPRESSED_BELOW_ROWS",
    "UNITS_KEY",
    "ZSTD_LEVEL",
    "PointsWriter",
    "copied_columns",
    "export_points",
    "float_encodings",
    "footer_entry",
    "geoparquet_metadata",
    "iter_points_tables",
    "leafnb_metadata",
    "point_column",
    "points_recipe",
    "read_json",
    "read_points_table",
    "restore_points",
    "rounded_geometries",
    "stored_units",
    "units_entry",
    "write_bytes",
    "write_geojson",
    "write_geoparquet",
    "write_json",
    "write_parquet",
]


#: numbers the temporary files of this process; with its pid and a random token (another
#: host writing to a shared workspace) the names are unique without an exclusive create
_TMP_COUNTER = itertools.count()
_TMP_TOKEN = os.urandom(4).hex()


def _atomic(path: Path, write) -> Path:
    """Call ``write(tmp)`` for a temporary file beside *path*, then rename it to *path*.

    Readers see the old file or the new one, never a part. The temporary name is unique
    to this host, process and call, so *write* creates it directly — no
    ``tempfile.mkstemp`` (an exclusive create, close and reopen: a second file open per
    artifact, a measurable share of a small file's conversion); the file gets the
    process's umask like every other workspace file (mkstemp made it 0600). No fsync:
    an artifact is derived from the stored original and rebuilt by reprocessing, and
    the catalog (SQLite WAL, synchronous=NORMAL) is not synced per commit either.
    """
    if not path.parent.is_dir():  # a stat: cheaper than mkdir(exist_ok=True) each time
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(
        path.parent / f".{path.name}.{_TMP_TOKEN}{os.getpid()}.{next(_TMP_COUNTER)}.tmp"
    )
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write *data* to *path* atomically (temp file + rename)."""
    return _atomic(Path(path), lambda tmp: Path(tmp).write_bytes(data))


#: bytes a Parquet file's writes are gathered into before they reach the file
_WRITE_BUFFER = 1 << 20

#: tables of fewer rows are written uncompressed (:func:`write_parquet`)
UNCOMPRESSED_BELOW_ROWS = 256


def write_parquet(
    path: str | Path,
    table: pa.Table,
    *,
    footer: dict[str, str] | None = None,
    **options: Any,
) -> Path:
    """Write *table* to *path* as Parquet (``pq.write_table`` *options*), atomically.

    *footer*: key-value entries added to the file's footer beside the schema's
    (:func:`footer_entry` reads one).

    Through a buffered stream: given a path, Arrow writes the file unbuffered, dozens
    of small writes for a small table's pages and footer (a third of the time of a
    10-row file here); the bytes are the same.

    A table of fewer than :data:`UNCOMPRESSED_BELOW_ROWS` rows is written without
    compression whatever *options* ask: its bytes are mostly the footer's (schema,
    metadata, statistics), which Parquet never compresses, and its pages are too
    short for a codec to find much. A 10-point file's ``standard.parquet`` was 1 %
    *bigger* with zstd (15.5 instead of 15.3 kB), a 100-point one 2 % smaller, and
    zstd's per-column work cost 0.4 ms of its 0.6 ms write; a small file's two
    writes (points, filter mask), 10 % of its whole conversion (docs/performance.md,
    "Issue 16"). Values are the same either way.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_parquet(path, pa.table({"a": [1.0, 2.0]}), compression="zstd")
    >>> pq.read_table(path).column("a").to_pylist()
    [1.0, 2.0]
    >>> pq.read_metadata(path).row_group(0).column(0).compression
    'UNCOMPRESSED'
    >>> table = pa.table({"a": np.arange(UNCOMPRESSED_BELOW_ROWS, dtype=float)})
    >>> _ = write_parquet(path, table, compression="zstd", compression_level=3)
    >>> pq.read_metadata(path).row_group(0).column(0).compression
    'ZSTD'
    """
    if table.num_rows < UNCOMPRESSED_BELOW_ROWS:
        options = {**options, "compression": "none"}
        options.pop("compression_level", None)

    def write(tmp: str) -> None:
        with pa.output_stream(tmp, compression=None, buffer_size=_WRITE_BUFFER) as sink:
            if not footer:
                pq.write_table(table, sink, **options)
                return
            with pq.ParquetWriter(sink, table.schema, **options) as writer:
                writer.write_table(table)
                writer.add_key_value_metadata(footer)

    return _atomic(Path(path), write)


#: the footer key of standard points' ``{property: unit}`` map (``GET /files/{id}/units``)
UNITS_KEY = "leafnb.propertyUnits"


def units_entry(units: dict[str, str]) -> dict[str, str]:
    """*units* (``{property: unit}``) as the footer entry :func:`stored_units` reads."""
    return {UNITS_KEY: json.dumps(units, separators=(",", ":"))}


def stored_units(folder: str | Path) -> dict[str, str]:
    """``{property: unit}`` of the standard points in *folder* (a file's or operation's).

    The map is in the footer of ``standard.parquet`` (:func:`units_entry`), written with
    the points: one file, not two, for what creating a small file costs
    (docs/performance.md). A folder of an earlier leafnb has it in ``units.json``.
    ``FileNotFoundError`` when there is neither.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> table = pa.table({"lon": [1.0], "lat": [2.0], "speed": [3.0]})
    >>> _ = write_geoparquet(folder / STANDARD, table, footer=units_entry({"speed": "m/s"}))
    >>> stored_units(folder)
    {'speed': 'm/s'}
    """
    folder = Path(folder)
    with contextlib.suppress(FileNotFoundError):
        value = footer_entry(folder / STANDARD, UNITS_KEY)
        if value is not None:
            return json.loads(value)
    return read_json(folder / UNITS)


def footer_entry(path: str | Path, key: str) -> str | None:
    """The value of *key* among a Parquet file's footer key-value entries (None: absent).

    The footer's entries are the schema's metadata and what the writer added at the end
    (*footer* of :func:`write_parquet`, :meth:`PointsWriter.close`); Arrow's schema
    (``pq.read_schema``) holds only the former.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_parquet(path, pa.table({"a": [1]}), footer={"k": "v"})
    >>> footer_entry(path, "k"), footer_entry(path, "other")
    ('v', None)
    """
    value = (pq.read_metadata(path).metadata or {}).get(key.encode())
    return None if value is None else value.decode()


def write_json(path: str | Path, doc: Any) -> Path:
    """Write *doc* as compact JSON atomically, GeoJSON coordinates to 1e-7° (:func:`rounded_geometries`)."""
    # compact: a summary's coverage polygon has thousands of coordinates (rounded into
    # as many new lists: the collector paused meanwhile, leafnb.store.collector)
    with collector_paused():
        text = json_text(doc)
    return write_bytes(path, text.encode("utf-8"))


def read_json(path: str | Path) -> Any:
    """Read a JSON artifact."""
    return json.loads(Path(path).read_text("utf-8"))


@functools.cache
def _crs84_projjson() -> dict[str, Any]:
    """The PROJJSON of OGC:CRS84 (WGS84 longitude/latitude), as pyproj 3.7 writes it.

    Read from ``crs84.json`` beside this module rather than made by pyproj: importing
    pyproj cost every worker process 30 ms. ``tests/store/test_artifacts.py`` checks
    that pyproj reads it as OGC:CRS84.
    """
    text = importlib.resources.files("leafnb.store").joinpath("crs84.json").read_text()
    return json.loads(text)


#: stands for the CRS in the text of ``geo`` metadata (:func:`_geo_text`); no JSON
#: string value of that metadata holds a NUL
_CRS_MARK = "\0crs"


@functools.cache
def _crs84_text() -> str:
    return json.dumps(_crs84_projjson())


def _geo_text(geo: dict[str, Any]) -> str:
    """``json.dumps(geo)`` of :func:`geoparquet_metadata`, its CRS encoded once a process.

    The PROJJSON of OGC:CRS84 is most of the text and the same in every file.

    >>> geo = geoparquet_metadata(pa.table({"lon": [1.0], "lat": [2.0]}))
    >>> _geo_text(geo) == json.dumps(geo)
    True
    """
    column = geo["columns"]["geometry"]
    if column.get("crs") is not _crs84_projjson():
        return json.dumps(geo)
    columns = {**geo["columns"], "geometry": {**column, "crs": _CRS_MARK}}
    marked = {**geo, "columns": columns}
    return json.dumps(marked).replace(json.dumps(_CRS_MARK), _crs84_text(), 1)


def geoparquet_metadata(table: pa.Table, bbox: bool = True) -> dict[str, Any]:
    """GeoParquet 1.1 ``geo`` metadata for a native (GeoArrow) point column in WGS84.

    *bbox* False: without the (optional) bounding box, for a file written before its
    last point is seen (:class:`PointsWriter`).
    """
    box: list[float] = []
    if bbox and table.num_rows:
        lon = table.column("lon").to_numpy(zero_copy_only=False)
        lat = table.column("lat").to_numpy(zero_copy_only=False)
        box = [
            float(np.nanmin(lon)),
            float(np.nanmin(lat)),
            float(np.nanmax(lon)),
            float(np.nanmax(lat)),
        ]
    # GeoParquet: an explicit ``"crs": null`` means "unknown CRS" (geopandas then gives
    # crs=None); the coordinates are longitude/latitude on WGS84, so say so in PROJJSON.
    col: dict[str, Any] = {
        "encoding": "point",
        "geometry_types": ["Point"],
        "crs": _crs84_projjson(),
    }
    if box:
        col["bbox"] = box
    return {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": col},
    }


#: GeoArrow native point (GeoParquet 1.1 ``"encoding": "point"``): x, y never null
POINT_TYPE = pa.struct(
    [
        pa.field("x", pa.float64(), nullable=False),
        pa.field("y", pa.float64(), nullable=False),
    ]
)


def point_column(lon: pa.ChunkedArray, lat: pa.ChunkedArray) -> pa.ChunkedArray:
    """The GeoArrow native point column of *lon*/*lat* (no shapely object, no WKB).

    >>> point_column(pa.chunked_array([[1.5]]), pa.chunked_array([[-2.0]])).to_pylist()
    [{'x': 1.5, 'y': -2.0}]
    """
    xy = []
    for values in (lon, lat):
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if values.type != pa.float64():  # (a no-op cast is still a compute call)
            values = values.cast(pa.float64())
        # a missing coordinate is NaN, as in WKB's POINT (NaN NaN): children are not null
        if values.null_count:
            values = pc.fill_null(values, float("nan"))
        xy.append(values)
    arr = pa.StructArray.from_arrays(xy, fields=list(POINT_TYPE))
    return pa.chunked_array([arr], POINT_TYPE)


def _bits(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A float column's values as raw bit patterns (nulls as NaN) and its null mask."""
    bits = float_bits(column)
    if column.null_count:
        mask = column.is_null().to_numpy(zero_copy_only=False)
    else:  # (no kernel call for the usual column without nulls)
        mask = np.zeros(len(bits), dtype=bool)
    return bits, mask


def copied_columns(table: pa.Table, skip: Iterable[str] = ()) -> dict[str, str]:
    """``{column: earlier column}`` for float columns bit-identical to an earlier one.

    Same type, same nulls, same bits (NaN payloads, ``-0.0`` included): storing the
    column once loses nothing. A harvest log at one record a second has ``wetMass``
    equal to ``cropFlow``. Columns in *skip* are not considered. Only columns that
    agree on 64 sampled rows are compared whole.

    >>> t = pa.table({"a": [1.0, -0.0], "b": [1.0, -0.0], "c": [1.0, 0.0]})
    >>> copied_columns(t)
    {'b': 'a'}
    """
    skip = set(skip)
    rows = np.unique(np.linspace(0, max(table.num_rows - 1, 0), 64).astype(np.int64))
    # a table of up to 64 rows is its own sample: equal keys are equal columns
    whole = table.num_rows <= len(rows)
    first: dict[tuple, list[str]] = {}
    copies: dict[str, str] = {}
    # by position: a Field object per column (``for field in table.schema``) costs more
    # than a small column's bits
    for i, field_name in enumerate(table.schema.names):
        if field_name in skip:
            continue
        column = table.column(i)
        if not pa.types.is_floating(column.type):
            continue
        sample = column if whole else take_rows(column, rows)
        key = (column.type, column.null_count, *map(bytes, _bits(sample)))
        if whole and key in first:
            copies[field_name] = first[key][0]
            continue
        bits = None
        for name in first.get(key, ()):
            bits = bits or _bits(column)
            other = _bits(table.column(name))
            if all(np.array_equal(a, b) for a, b in zip(bits, other, strict=True)):
                copies[field_name] = name
                break
        else:
            first.setdefault(key, []).append(field_name)
    return copies


def _storable(
    table: pa.Table,
    metadata: dict[str, Any],
    compact: bool = True,
    whole: bool = True,
) -> tuple[pa.Table, dict[str, Any]]:
    """The columns a points artifact stores, and the metadata that rebuilds the rest.

    ``lon``/``lat`` are not stored twice: the native ``geometry`` column holds them
    exactly (when they are float64 without nulls — a reader's raw table may hold
    anything). Derived columns of a ``derived`` recipe are rebuilt on read
    (:mod:`leafnb.store.derived`) — those its steps reproduce bit for bit; the others
    are stored. A float column bit-identical to an earlier stored one is stored once
    (``copies``: :func:`copied_columns`), a column with one value in every row once in
    the metadata (``constants``: :mod:`leafnb.store.constants`). ``columns`` keeps the
    table's column order. Not *compact* (an export for other tools): every column but
    ``lon``/``lat`` stored; not *whole* (one range of a file, :class:`PointsWriter`):
    copies and constants stored too — equal or constant in a range is not in the file.
    """
    drop = [
        c
        for c in ("lon", "lat")
        if pa.types.is_float64(table.schema.field(c).type)
        and table.column(c).null_count == 0
    ]
    if len(drop) < 2:
        drop = []
    recipe = derived.verified(table, metadata.get("derived")) if compact else None
    metadata = {k: v for k, v in metadata.items() if k != "derived"}
    if recipe:
        drop += [s["column"] for s in recipe["steps"]]
        metadata["derived"] = recipe
    metadata.pop("copies", None)
    metadata.pop("constants", None)
    copied = (
        copied_columns(table, skip=[*drop, "lon", "lat"]) if compact and whole else {}
    )
    if copied:
        drop += list(copied)
        metadata["copies"] = copied
    fixed = (
        constant_columns(table, skip=[*drop, "lon", "lat"]) if compact and whole else []
    )
    if fixed:
        drop += fixed
        metadata["constants"] = pack(table.select(fixed))
    if not drop:
        return table, metadata
    return table.drop_columns(drop), {**metadata, "columns": table.schema.names}


#: zstd level of points artifacts (zstd's own default; pyarrow's is 1)
ZSTD_LEVEL = 3

#: Dictionary page limit of points artifacts (2,048 float64 values): a column whose
#: values rarely repeat falls back to plain after its first 2,048 distinct values instead
#: of after pyarrow's 1 MiB (131,072 values), a dictionary that costs more than it saves.
DICTIONARY_PAGE_BYTES = 16 * 1024

#: the sample a float column's encoding is chosen on: blocks of consecutive rows
#: (neighbours stay neighbours, as on the pages), spread over the table
_SAMPLE_BLOCKS, _SAMPLE_ROWS = 4, 4096

#: zstd level of the trial writes: the sizes rank the encodings as at ZSTD_LEVEL (on
#: the corpus's 134 float columns of ≥ 4,096 rows the chosen files were 0.01 % smaller
#: than with trials at 3 and 8 blocks) for about half the time
_TRIAL_LEVEL = 1

#: the encodings tried besides the dictionary, in order of preference on ties
_FLOAT_ENCODINGS = ("PLAIN", "BYTE_STREAM_SPLIT")


def _sample(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    n = len(column)
    if n <= _SAMPLE_BLOCKS * _SAMPLE_ROWS:
        blocks = [column]
    else:
        starts = np.linspace(0, n - _SAMPLE_ROWS, _SAMPLE_BLOCKS).astype(np.int64)
        blocks = [column.slice(int(s), _SAMPLE_ROWS) for s in starts]
    return pa.concat_arrays([c for b in blocks for c in getattr(b, "chunks", [b])])


def _float_columns(table: pa.Table) -> list[tuple[str, Any]]:
    """``(Parquet column path, values)`` of every float leaf column of *table*."""
    columns: list[tuple[str, Any]] = []
    for field in table.schema:
        if pa.types.is_floating(field.type):
            columns.append((field.name, table.column(field.name)))
        elif pa.types.is_struct(field.type):
            for i, child in enumerate(field.type):
                if pa.types.is_floating(child.type):
                    values = pc.struct_field(table.column(field.name), [i])
                    columns.append((f"{field.name}.{child.name}", values))
    return columns


def float_encodings(table: pa.Table) -> dict[str, str]:
    """``{Parquet column path: encoding}`` for the float columns better without a dictionary.

    Each float column — the point's ``x``/``y`` (``geometry.x``) included — is written
    on a sample (:data:`_SAMPLE_BLOCKS` runs of :data:`_SAMPLE_ROWS` rows) with a
    dictionary (up to :data:`DICTIONARY_PAGE_BYTES`, then plain), ``PLAIN`` and
    ``BYTE_STREAM_SPLIT``, zstd-compressed (at :data:`_TRIAL_LEVEL`), all in one trial
    file; the smallest column chunk wins, the dictionary on ties. Every encoding is
    lossless: the choice changes bytes, not values. Few distinct values (speeds,
    moistures, widths a monitor rounds) keep the dictionary; values that rarely repeat
    (positions, flows, per-area yields) go plain or byte-stream-split.

    >>> r = np.random.default_rng(0)
    >>> float_encodings(pa.table({
    ...     "speed": r.choice([1.5, 1.75, 2.0], 10_000),
    ...     "lat": 42 + np.cumsum(r.uniform(0, 1e-5, 10_000)),
    ...     "flow": r.normal(20, 3, 10_000),
    ... }))
    {'lat': 'BYTE_STREAM_SPLIT', 'flow': 'BYTE_STREAM_SPLIT'}
    """
    # a table of a few thousand rows is a few kB whatever the encoding (every column,
    # a point's x/y too, has the table's rows: none is looked at in a smaller table)
    if table.num_rows < _SAMPLE_ROWS:
        return {}
    columns = [(p, v) for p, v in _float_columns(table) if len(v) >= _SAMPLE_ROWS]
    if not columns:
        return {}
    trial: dict[str, pa.Array] = {}
    encodings: dict[str, str] = {}
    for i, (_, values) in enumerate(columns):
        sample = _sample(values)
        trial[f"{i}"] = sample  # the dictionary
        for encoding in _FLOAT_ENCODINGS:
            trial[f"{i}{encoding}"] = sample
            encodings[f"{i}{encoding}"] = encoding
    sink = pa.BufferOutputStream()
    pq.write_table(
        pa.table(trial),
        sink,
        compression="zstd",
        compression_level=_TRIAL_LEVEL,
        dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
        use_dictionary=[n for n in trial if n not in encodings],
        column_encoding=encodings,
        write_statistics=False,
    )
    group = pq.read_metadata(pa.BufferReader(sink.getvalue())).row_group(0)
    size = {
        group.column(k).path_in_schema: group.column(k).total_compressed_size
        for k in range(group.num_columns)
    }
    chosen: dict[str, str] = {}
    for i, (path, _) in enumerate(columns):
        best = min(_FLOAT_ENCODINGS, key=lambda e: size[f"{i}{e}"])
        if size[f"{i}{best}"] < size[f"{i}"]:
            chosen[path] = best
    return chosen


def _write_options(table: pa.Table) -> dict[str, Any]:
    """Parquet options of a points artifact: which encoding each column gets."""
    encodings = {
        f.name: "DELTA_BINARY_PACKED"
        for f in table.schema
        if pa.types.is_timestamp(f.type)
    }
    encodings.update(float_encodings(table))
    # dictionary for every other leaf column (``use_dictionary`` names leaf paths)
    leaves = [
        f"{f.name}.{c.name}" if pa.types.is_struct(f.type) else f.name
        for f in table.schema
        for c in (f.type if pa.types.is_struct(f.type) else [f])
    ]
    return {
        "compression": "zstd",
        "compression_level": ZSTD_LEVEL,
        "dictionary_pagesize_limit": DICTIONARY_PAGE_BYTES,
        "use_dictionary": [n for n in leaves if n not in encodings],
        "column_encoding": encodings,
    }


def write_geoparquet(
    path: str | Path,
    table: pa.Table,
    extra_metadata: dict[str, Any] | None = None,
    *,
    compact: bool = True,
    footer: dict[str, str] | None = None,
) -> Path:
    """Write a points table (``lon``/``lat`` columns) as GeoParquet 1.1 with a native point ``geometry``.

    The ``geometry`` column is GeoArrow's native point encoding (``struct<x, y>``,
    ``"encoding": "point"``): geopandas (≥ 1.0), GDAL (≥ 3.8, the Parquet driver QGIS
    uses) and duckdb read it; writing it costs no shapely object and no WKB. The file
    does not repeat ``lon``/``lat``, a column equal to another, a column with one value
    in every row (stored once, :mod:`leafnb.store.constants`), nor the derived columns
    of a ``derived`` recipe in *extra_metadata*: :func:`read_points_table` gives them
    back, exactly. Encodings (all lossless; measured in docs/performance.md,
    "Workspace size"): timestamps delta-encoded (a log's times grow by one interval a
    record), float columns as :func:`float_encodings` finds smallest, other columns
    with a dictionary of up to :data:`DICTIONARY_PAGE_BYTES`; zstd at :data:`ZSTD_LEVEL`
    (a table of fewer than :data:`UNCOMPRESSED_BELOW_ROWS` points: uncompressed,
    :func:`write_parquet`). ``compact=False`` writes an export for other tools
    (geopandas, GDAL, duckdb): every property stored as a column, nothing to rebuild.
    *footer*: entries for the file's footer (:func:`write_parquet`).
    """
    out, _ = _artifact(table, extra_metadata, compact)
    return write_parquet(path, out, footer=footer, **_write_options(out))


def _artifact(
    table: pa.Table,
    extra_metadata: dict[str, Any] | None,
    compact: bool = True,
    ranged: bool = False,
) -> tuple[pa.Table, dict[str, Any]]:
    """The table a points artifact stores (with its schema metadata), and the storage decisions.

    *ranged*: one of the ranges :class:`PointsWriter` writes (no copies, no constants,
    no bbox).
    """
    geometry = point_column(table.column("lon"), table.column("lat"))
    stored, extra = _storable(
        table, dict(extra_metadata or {}), compact, whole=not ranged
    )
    out = stored.append_column("geometry", geometry)
    meta = dict(out.schema.metadata or {})
    geo = geoparquet_metadata(table, bbox=not ranged)
    meta[b"geo"] = _geo_text(geo).encode()
    for key, value in extra.items():
        meta[f"leafnb.{key}".encode()] = json.dumps(value).encode()
    return out.replace_schema_metadata(meta), extra


class PointsWriter:
    """Write a points artifact range by range, as :func:`write_geoparquet` writes it whole.

    The first range decides the storage (the derived recipe, the column encodings);
    every later range must store the same way (its types the same and the recipe
    verified on its rows, so the file reads back exactly as the joined ranges), or
    :meth:`write` raises ``ValueError`` and nothing is written (:meth:`abort`).
    Three differences from a file written whole, none in any value:

    - a column equal to another is stored again (``copies``): equal in one range
      is not equal in the file (a boom offset that is 0 until the operator sets it);
    - the encodings are chosen on the first range's sample;
    - the GeoParquet ``geo`` metadata has no ``bbox`` (optional in GeoParquet): the
      schema is written before the last point is seen, and Parquet readers take the
      schema's metadata, not footer keys added at the end.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "points.parquet"
    >>> table = pa.table({"lon": [1.0, 2.0, 3.0], "lat": [4.0, 5.0, 6.0], "v": [7.0, 8.0, 9.0]})
    >>> with PointsWriter(path, {"units": {"v": "m"}}) as writer:
    ...     writer.write(table.slice(0, 2))
    ...     writer.write(table.slice(2))
    >>> read_points_table(path)[0].equals(table)
    True
    """

    def __init__(self, path: str | Path, metadata: dict[str, Any]):
        self.path = Path(path)
        self.metadata = metadata
        self.rows = 0
        self._tmp = self.path.with_name(f".{self.path.name}.ranges.tmp")
        self._writer: pq.ParquetWriter | None = None
        self._storage: tuple[pa.Schema, dict[str, Any]] | None = None

    def __enter__(self) -> PointsWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, table: pa.Table) -> None:
        """Append the points of *table* (``ValueError`` when they would be stored differently)."""
        out, extra = _artifact(table, self.metadata, ranged=True)
        if self._storage is None:
            self._storage = (out.schema, extra)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self._tmp, out.schema, **_write_options(out)
            )
        elif extra != self._storage[1] or not out.schema.equals(
            self._storage[0], check_metadata=True
        ):
            raise ValueError("a range of points would be stored differently")
        assert self._writer is not None
        self._writer.write_table(out)
        self.rows += table.num_rows

    def close(self, footer: dict[str, str] | None = None) -> Path:
        """Finish the file (at :attr:`path`), with *footer* entries (:func:`write_parquet`)."""
        if self._writer is None:
            raise ValueError("no points were written")
        if footer:
            self._writer.add_key_value_metadata(footer)
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Leave no file."""
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


def leafnb_metadata(schema: pa.Schema) -> dict[str, Any]:
    """The ``leafnb.*`` entries of an artifact's schema metadata, decoded."""
    return {
        k.decode()[len("leafnb.") :]: json.loads(v)
        for k, v in (schema.metadata or {}).items()
        if k.startswith(b"leafnb.")
    }


#: metadata entries that only describe the storage (not handed to readers)
_STORAGE_KEYS = ("columns", "constants", "copies", "derived")


def _needed(meta: dict[str, Any], columns: list[str] | None) -> set[str] | None:
    """The columns, stored or not, that give *columns* back (None: all)."""
    if columns is None:
        return None
    need = {*columns, *derived.needed_columns(meta.get("derived"), list(columns))}
    copies = meta.get("copies") or {}
    return need | {copies[c] for c in need if c in copies}


def _stored_columns(
    names: list[str], meta: dict[str, Any], columns: list[str] | None
) -> list[str] | None:
    """Which stored columns to read for *columns* (None: all)."""
    need = _needed(meta, columns)
    if need is None:
        return None
    if {"lon", "lat"} & need and "lon" not in names:
        need.add("geometry")
    return [n for n in names if n in need]


def restore_points(
    table: pa.Table, meta: dict[str, Any], columns: list[str] | None = None
) -> pa.Table:
    """A table as read from a points artifact, completed.

    ``lon``/``lat``, copied and derived columns are rebuilt (*meta*:
    :func:`leafnb_metadata` of the file), ``geometry`` dropped, columns put in the
    order they were written (or *columns*).
    """
    order = meta.get("columns")
    names = table.schema.names
    if order and "lon" in order and "lon" not in names and "geometry" in names:
        geometry = table.column("geometry")
        table = table.append_column(
            "lon", pc.struct_field(geometry, "x")
        ).append_column("lat", pc.struct_field(geometry, "y"))
    if "geometry" in table.schema.names:
        table = table.drop_columns(["geometry"])
    copies = meta.get("copies") or {}
    if meta.get("constants"):
        # constants first: a copy or a derived column may be made from one
        need = _needed(meta, columns)
        rows = table.num_rows
        for name, values in rebuild(meta["constants"], rows).items():
            if name not in table.schema.names and (need is None or name in need):
                table = table.append_column(name, values)
    for name, source in copies.items():
        if name not in table.schema.names and source in table.schema.names:
            field = table.schema.field(source).with_name(name)
            table = table.append_column(field, table.column(source))
    table = derived.apply(table, meta.get("derived"), columns)
    names = table.schema.names
    wanted = columns if columns is not None else (order or names)
    return table.select(
        [c for c in dict.fromkeys(wanted) if c in names]
    ).replace_schema_metadata(None)


def points_recipe(path: str | Path) -> dict[str, Any] | None:
    """The derived-column recipe of a points artifact (None when all columns are stored)."""
    return leafnb_metadata(pq.read_schema(path)).get("derived")


def read_points_table(
    path: str | Path, columns: list[str] | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """Read a GeoParquet points artifact: (table without the geometry column, leafnb metadata).

    ``lon``/``lat`` and derived columns come back as they were written
    (:func:`write_geoparquet`); *columns* reads only those (and what rebuilds them).
    """
    pf, schema, meta = _points_file(path)
    table = pf.read(columns=_stored_columns(schema.names, meta, columns))
    table = _as_written(restore_points(table, meta, columns), schema)
    return table, {k: v for k, v in meta.items() if k not in _STORAGE_KEYS}


def iter_points_tables(
    path: str | Path, columns: list[str] | None = None, batch_size: int = 262_144
) -> Iterator[pa.Table]:
    """Read a points artifact in tables of at most *batch_size* rows (as :func:`read_points_table`)."""
    pf, schema, meta = _points_file(path)
    read = _stored_columns(schema.names, meta, columns)
    for batch in pf.iter_batches(batch_size=batch_size, columns=read):
        table = restore_points(pa.Table.from_batches([batch]), meta, columns)
        yield _as_written(table, schema)


def _points_file(
    path: str | Path,
) -> tuple[pq.ParquetFile, pa.Schema, dict[str, Any]]:
    """A points artifact opened for reading, its schema as written, its leafnb metadata.

    The text column a derived-column recipe looks crops up in is read as a dictionary
    (:func:`_as_written` decodes it again): Parquet stores such a column as a dictionary
    of its few names, so this skips making a string per row, and the recipe's lookup
    (:func:`leafnb.store.derived.distinct`) then works on the dictionary's indices.
    Read back in record ranges, a 1M-point file's crop column is read once for each
    derived column asked for: 13 ms a 262k-row range as strings, 2 ms as a dictionary.
    """
    pf = pq.ParquetFile(path)
    meta = leafnb_metadata(pf.schema_arrow)
    schema = pf.schema_arrow
    text = [
        name
        for name in derived.lookup_columns(meta.get("derived"))
        if name in schema.names and pa.types.is_string(schema.field(name).type)
    ]
    if text:
        pf = pq.ParquetFile(path, read_dictionary=text)
    return pf, schema, meta


def _as_written(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """*table* with the columns read as dictionaries (:func:`_points_file`) decoded."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type) and field.name in schema.names:
            written = schema.field(field.name).type
            if not pa.types.is_dictionary(written):
                table = table.set_column(
                    i, field.with_type(written), pc.cast(table.column(i), written)
                )
    return table


def export_points(source: str | Path, path: str | Path) -> Path:
    """Write the points artifact *source* to *path* as a complete GeoParquet.

    Every property is a column (nothing left to rebuild: ``compact=False`` of
    :func:`write_geoparquet`), for tools that read the file themselves.
    """
    table, meta = read_points_table(source)
    return write_geoparquet(path, table, meta, compact=False)


def write_geojson(path: str | Path, table: pa.Table) -> Path:
    """Write a points table as a GeoJSON FeatureCollection (export on request only)."""
    import pandas as pd

    df = table.drop_columns(["lon", "lat"]).to_pandas()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    records = json.loads(
        df.to_json(orient="records", date_format="iso", default_handler=str)
    )
    lon = table.column("lon").to_pylist()
    lat = table.column("lat").to_pylist()
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": props,
        }
        for x, y, props in zip(lon, lat, records, strict=True)
    ]
    doc = {"type": "FeatureCollection", "features": features}
    return write_bytes(path, json.dumps(doc, separators=(",", ":")).encode("utf-8"))
