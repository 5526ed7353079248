"""Artifact files (GeoParquet, JSON, GeoJSON) written atomically under the workspace."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leafnb.store import derived

__all__ = [
    "POINT_TYPE",
    "geoparquet_metadata",
    "iter_points_tables",
    "leafnb_metadata",
    "point_column",
    "points_recipe",
    "read_json",
    "read_points_table",
    "restore_points",
    "write_bytes",
    "write_geojson",
    "write_geoparquet",
    "write_json",
]


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
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


def write_json(path: str | Path, doc: Any) -> Path:
    """Write *doc* as JSON atomically."""
    # compact: a summary's coverage polygon has thousands of coordinates
    text = json.dumps(doc, separators=(",", ":"), default=str)
    return write_bytes(path, text.encode("utf-8"))


def read_json(path: str | Path) -> Any:
    """Read a JSON artifact."""
    return json.loads(Path(path).read_text("utf-8"))


@functools.cache
def _crs84_projjson() -> dict[str, Any]:
    from pyproj import CRS

    return CRS("OGC:CRS84").to_json_dict()


def geoparquet_metadata(table: pa.Table) -> dict[str, Any]:
    """GeoParquet 1.1 ``geo`` metadata for a native (GeoArrow) point column in WGS84."""
    lon = (
        table.column("lon").to_numpy(zero_copy_only=False)
        if table.num_rows
        else np.array([])
    )
    lat = (
        table.column("lat").to_numpy(zero_copy_only=False)
        if table.num_rows
        else np.array([])
    )
    bbox = (
        [
            float(np.nanmin(lon)),
            float(np.nanmin(lat)),
            float(np.nanmax(lon)),
            float(np.nanmax(lat)),
        ]
        if len(lon)
        else []
    )
    # GeoParquet: an explicit ``"crs": null`` means "unknown CRS" (geopandas then gives
    # crs=None); the coordinates are longitude/latitude on WGS84, so say so in PROJJSON.
    col: dict[str, Any] = {
        "encoding": "point",
        "geometry_types": ["Point"],
        "crs": _crs84_projjson(),
    }
    if bbox:
        col["bbox"] = bbox
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
        # a missing coordinate is NaN, as in WKB's POINT (NaN NaN): children are not null
        xy.append(pc.fill_null(values.cast(pa.float64()), float("nan")))
    arr = pa.StructArray.from_arrays(xy, fields=list(POINT_TYPE))
    return pa.chunked_array([arr], POINT_TYPE)


def _storable(
    table: pa.Table, metadata: dict[str, Any]
) -> tuple[pa.Table, dict[str, Any]]:
    """The columns a points artifact stores, and the metadata that rebuilds the rest.

    ``lon``/``lat`` are not stored twice: the native ``geometry`` column holds them
    exactly (when they are float64 without nulls — a reader's raw table may hold
    anything). Derived columns of a ``derived`` recipe are rebuilt on read
    (:mod:`leafnb.store.derived`) — those its steps reproduce bit for bit; the others
    are stored. ``columns`` keeps the table's column order.
    """
    drop = [
        c
        for c in ("lon", "lat")
        if pa.types.is_float64(table.schema.field(c).type)
        and table.column(c).null_count == 0
    ]
    if len(drop) < 2:
        drop = []
    recipe = derived.verified(table, metadata.get("derived"))
    metadata = {k: v for k, v in metadata.items() if k != "derived"}
    if recipe:
        drop += [s["column"] for s in recipe["steps"]]
        metadata["derived"] = recipe
    if not drop:
        return table, metadata
    return table.drop_columns(drop), {**metadata, "columns": table.column_names}


def write_geoparquet(
    path: str | Path, table: pa.Table, extra_metadata: dict[str, Any] | None = None
) -> Path:
    """Write a points table (``lon``/``lat`` columns) as GeoParquet 1.1 with a native point ``geometry``.

    The ``geometry`` column is GeoArrow's native point encoding (``struct<x, y>``,
    ``"encoding": "point"``): geopandas (≥ 1.0), GDAL (≥ 3.8, the Parquet driver QGIS
    uses) and duckdb read it; writing it costs no shapely object and no WKB. The file
    does not repeat ``lon``/``lat`` nor store the derived columns of a ``derived``
    recipe in *extra_metadata*: :func:`read_points_table` gives them back, exactly.
    Timestamps are delta-encoded (a log's times grow by one interval a record).
    """
    geometry = point_column(table.column("lon"), table.column("lat"))
    stored, extra = _storable(table, dict(extra_metadata or {}))
    out = stored.append_column("geometry", geometry)
    meta = dict(out.schema.metadata or {})
    meta[b"geo"] = json.dumps(geoparquet_metadata(table)).encode()
    for key, value in extra.items():
        meta[f"leafnb.{key}".encode()] = json.dumps(value).encode()
    out = out.replace_schema_metadata(meta)
    times = [f.name for f in out.schema if pa.types.is_timestamp(f.type)]
    options: dict[str, Any] = {"compression": "zstd"}
    if times:
        options["use_dictionary"] = [n for n in out.column_names if n not in times]
        options["column_encoding"] = dict.fromkeys(times, "DELTA_BINARY_PACKED")
    return _atomic(Path(path), lambda tmp: pq.write_table(out, tmp, **options))


def leafnb_metadata(schema: pa.Schema) -> dict[str, Any]:
    """The ``leafnb.*`` entries of an artifact's schema metadata, decoded."""
    return {
        k.decode()[len("leafnb.") :]: json.loads(v)
        for k, v in (schema.metadata or {}).items()
        if k.startswith(b"leafnb.")
    }


#: metadata entries that only describe the storage (not handed to readers)
_STORAGE_KEYS = ("columns", "derived")


def _stored_columns(
    names: list[str], meta: dict[str, Any], columns: list[str] | None
) -> list[str] | None:
    """Which stored columns to read for *columns* (None: all)."""
    if columns is None:
        return None
    need = {c for c in columns if c in names}
    if {"lon", "lat"} & set(columns) and "lon" not in names:
        need.add("geometry")
    need |= derived.needed_columns(meta.get("derived"), list(columns))
    return [n for n in names if n in need]


def restore_points(
    table: pa.Table, meta: dict[str, Any], columns: list[str] | None = None
) -> pa.Table:
    """A table as read from a points artifact, completed.

    ``lon``/``lat`` and derived columns are rebuilt (*meta*: :func:`leafnb_metadata` of
    the file), ``geometry`` dropped, columns put in the order they were written (or
    *columns*).
    """
    order = meta.get("columns")
    names = table.column_names
    if order and "lon" in order and "lon" not in names and "geometry" in names:
        geometry = table.column("geometry")
        table = table.append_column(
            "lon", pc.struct_field(geometry, "x")
        ).append_column("lat", pc.struct_field(geometry, "y"))
    if "geometry" in table.column_names:
        table = table.drop_columns(["geometry"])
    table = derived.apply(table, meta.get("derived"))
    names = table.column_names
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
    pf = pq.ParquetFile(path)
    meta = leafnb_metadata(pf.schema_arrow)
    table = pf.read(columns=_stored_columns(pf.schema_arrow.names, meta, columns))
    table = restore_points(table, meta, columns)
    return table, {k: v for k, v in meta.items() if k not in _STORAGE_KEYS}


def iter_points_tables(
    path: str | Path, columns: list[str] | None = None, batch_size: int = 262_144
) -> Iterator[pa.Table]:
    """Read a points artifact in tables of at most *batch_size* rows (as :func:`read_points_table`)."""
    pf = pq.ParquetFile(path)
    meta = leafnb_metadata(pf.schema_arrow)
    read = _stored_columns(pf.schema_arrow.names, meta, columns)
    for batch in pf.iter_batches(batch_size=batch_size, columns=read):
        yield restore_points(pa.Table.from_batches([batch]), meta, columns)


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
