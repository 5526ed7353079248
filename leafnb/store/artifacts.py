"""Artifact files (GeoParquet, JSON, GeoJSON) written atomically under the workspace."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "POINT_TYPE",
    "geoparquet_metadata",
    "point_column",
    "read_json",
    "read_points_table",
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
    return write_bytes(path, json.dumps(doc, indent=1, default=str).encode("utf-8"))


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
    col = {"encoding": "point", "geometry_types": ["Point"], "crs": _crs84_projjson()}
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


def write_geoparquet(
    path: str | Path, table: pa.Table, extra_metadata: dict[str, Any] | None = None
) -> Path:
    """Write a points table (``lon``/``lat`` columns) as GeoParquet 1.1 with a native point ``geometry``.

    The ``geometry`` column is GeoArrow's native point encoding (``struct<x, y>``,
    ``"encoding": "point"``): geopandas (≥ 1.0), GDAL (≥ 3.8, the Parquet driver QGIS
    uses) and duckdb read it; writing it costs no shapely object and no WKB. ``lon``/
    ``lat`` stay as plain columns too: every leafnb reader (filters, rasterising,
    summaries) uses them and skips ``geometry``.
    """
    out = table.append_column(
        "geometry", point_column(table.column("lon"), table.column("lat"))
    )
    meta = dict(out.schema.metadata or {})
    meta[b"geo"] = json.dumps(geoparquet_metadata(table)).encode()
    for key, value in (extra_metadata or {}).items():
        meta[f"leafnb.{key}".encode()] = json.dumps(value).encode()
    out = out.replace_schema_metadata(meta)
    return _atomic(Path(path), lambda tmp: pq.write_table(out, tmp, compression="zstd"))


def read_points_table(path: str | Path) -> tuple[pa.Table, dict[str, Any]]:
    """Read a GeoParquet points artifact: (table without the geometry column, leafnb metadata)."""
    table = pq.read_table(path)
    meta = {
        k.decode()[len("leafnb.") :]: json.loads(v)
        for k, v in (table.schema.metadata or {}).items()
        if k.startswith(b"leafnb.")
    }
    if "geometry" in table.column_names:
        table = table.drop_columns(["geometry"])
    return table.replace_schema_metadata(None), meta


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
