"""Point shapefiles: Ag Leader SMS, John Deere Operations Center, Trimble AgGPS, generic.

Columns are mapped with the one table in :mod:`leafnb.formats.columns`. Attributes are
read Arrow-first with :func:`pyogrio.read_arrow`; the positions of a point shapefile's
records straight from its ``.shp`` (:mod:`leafnb.formats.shp_points`, by GDAL's FIDs),
of anything else by GDAL; all are reprojected to WGS84 with pyproj.

John Deere metadata JSON
    Operations Center exports a shapefile with ``<stem>-Deere-Metadata.json`` beside
    it (read when present; else a ``<stem>.json``). Its keys, as exports write them
    (case-insensitive, all optional): ``Operation`` (``Harvest``, ``Seeding``,
    ``Application``, ...), ``CropToken`` (``WHEAT_HRD_RD_SPR``: the crop, its qualifiers
    the display name's parentheses, "Wheat (Hrd Rd Spr)"), ``ClientName``/
    ``FarmName``/``FieldName``, and ``DataAttributes``: per column its ``Name`` and
    ``Unit`` as an ADAPT ``unitId`` (``lb1ac-1``, :func:`leafnb.standard.units.adapt_unit`).
    A column's name in the DBF may be shorter than its ``Name`` (a DBF name holds 10
    characters; a shapefile written again by another tool may abbreviate further,
    ``AppldRt`` for ``AppliedRate``): it is named by the attribute it abbreviates
    (:func:`jd_column_names`), and its unit wins over the JD defaults. The keys an
    earlier leafnb test writer used (``OperationType``, ``Crop``, ``Variety``,
    ``Units``, ``Machines``, ``Client``/``Farm``/``Field``) are read too. In a seeding
    export ``AppliedRate``/``TargetRate`` are the seed rate and its target (by count or
    by mass), in an application the product's rate.
"""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from leafnb.errors import CorruptFile, UnsupportedFormat
from leafnb.formats.base import RawRead, Reader
from leafnb.formats.columns import FAMILY_PROVIDER, dedupe_names, normalise_key
from leafnb.formats.inference import infer_columns, match_columns
from leafnb.formats.members import find_member
from leafnb.formats.positions import to_wgs84, unreadable_prj_note
from leafnb.formats.shp_points import ShpPoints, shape_type
from leafnb.formats.tabular import RangeCarry, finish_table
from leafnb.formats.transforms import distinct_values, normalise_crop
from leafnb.standard.crops import get_crop
from leafnb.standard.optype import OperationType
from leafnb.standard.units import adapt_unit, parse_unit

__all__ = ["ShapefileReader"]

_SIDECAR_SUFFIXES = (
    ".dbf",
    ".shx",
    ".prj",
    ".cpg",
    ".sbn",
    ".sbx",
    ".qpj",
    ".shp.xml",
    "-Deere-Metadata.json",
    ".json",
)
# shapefile shape types: point, pointZ, pointM, multipoint(Z/M)
_POINT_TYPES = {1, 11, 21, 8, 18, 28}
# shapely geometry type ids
_GEOM_NAMES = {1: "LineString", 2: "LinearRing", 3: "Polygon", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}  # fmt: skip
_SHAPE_NAMES = {3: "line", 13: "line", 23: "line", 5: "polygon", 15: "polygon",
                25: "polygon", 31: "multipatch"}  # fmt: skip


def _sibling(path: Path, suffix: str) -> Path | None:
    """Find the regular file ``<stem><suffix>`` next to *path*, ignoring case."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return find_member(path.parent, stem + suffix, what="shapefile part")


def dbf_field_names(path: Path, limit: int = 255) -> list[str]:
    """Read the field names of a DBF header (cheap: header only)."""
    names = []
    with open(path, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return names
        header_len = struct.unpack("<H", head[8:10])[0]
        body = fh.read(max(0, min(header_len, 32 * (limit + 1)) - 32))
    for i in range(0, len(body) - 31, 32):
        rec = body[i : i + 32]
        if rec[0] == 0x0D:
            break
        names.append(rec[:11].split(b"\x00")[0].decode("latin-1").strip())
    return names


def _jd_metadata(path: Path) -> dict[str, Any] | None:
    js = _sibling(path, "-Deere-Metadata.json") or _sibling(path, ".json")
    if js is None:
        return None
    try:
        data = json.loads(js.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _ci(d: Mapping[str, Any], *keys: str) -> Any:
    low = {str(k).lower(): v for k, v in d.items()}
    for k in keys:
        if k.lower() in low:
            return low[k.lower()]
    return None


def jd_meta_to_leaf(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn a JD metadata JSON into (RawRead meta entries, unit overrides)."""
    meta: dict[str, Any] = {"provider": "JohnDeere"}
    op = _ci(data, "OperationType", "operation_type", "operation")
    if isinstance(op, str):
        meta["original_operation_type"] = op
        with contextlib.suppress(ValueError):
            meta["operation_type"] = str(OperationType(op))
    crop = _ci(data, "Crop", "CropName")
    token = _ci(data, "CropToken")
    if isinstance(crop, str) and normalise_crop(crop):
        meta["crop"] = normalise_crop(crop)
    elif isinstance(token, str) and token.strip():
        meta["crop"] = jd_crop(token)
    variety = _ci(data, "Variety")
    if isinstance(variety, str):
        meta["variety"] = variety
    machines = _ci(data, "Machines", "Machinery") or []
    if isinstance(machines, list):
        mach = []
        for m in machines:
            if isinstance(m, Mapping) and _ci(m, "Name"):
                item = {
                    "name": str(_ci(m, "Name")),
                    "type": "implement"
                    if str(_ci(m, "Type") or "").lower() == "implement"
                    else "machine",
                    "brand": _ci(m, "Brand") or "John Deere",
                }
                if _ci(m, "SerialNumber"):
                    item["serialNumber"] = str(_ci(m, "SerialNumber"))
                mach.append(item)
        if mach:
            meta["machinery"] = mach
    ood = {}
    for key, leaf in (
        ("Client", "originalOperationClient"),
        ("Farm", "originalOperationFarm"),
        ("Field", "originalOperationField"),
    ):
        v = _ci(data, key, key + "Name")
        if isinstance(v, str):
            ood[leaf] = v
    if ood:
        meta["original_operation_data"] = ood
    units: dict[str, str] = {}
    raw_units = _ci(data, "Units") or {}
    if isinstance(raw_units, Mapping):
        for col, unit in raw_units.items():
            try:
                parse_unit(str(unit))
            except ValueError:
                continue
            units[str(col)] = str(unit)
    for attribute in jd_attributes(data):
        unit_id = _ci(attribute, "Unit")
        unit = adapt_unit(unit_id) if isinstance(unit_id, str) else None
        if unit is not None:
            units[str(_ci(attribute, "Name"))] = unit
    return meta, units


def jd_attributes(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``DataAttributes`` of a JD metadata JSON that name a column."""
    attributes = _ci(data, "DataAttributes")
    if not isinstance(attributes, list):
        return []
    return [
        a
        for a in attributes
        if isinstance(a, Mapping) and isinstance(_ci(a, "Name"), str)
    ]


def jd_crop(token: str) -> str:
    """The crop of a JD ``CropToken``: its display name when Leaf's crop table has it.

    A token's first word is the crop and the others qualify it, as the display name
    writes them in parentheses ("Wheat (Hrd Rd Spr)"). The display name when the crop
    table knows it, else the crop word when the table knows that, else the words.

    >>> jd_crop("WHEAT_HRD_RD_SPR"), jd_crop("SOYBEANS"), jd_crop("CORN_WET")
    ('wheat (hrd rd spr)', 'soybeans', 'corn')
    >>> jd_crop("FOO_BAR")
    'foo bar'
    """
    words = [w for w in token.strip().lower().split("_") if w]
    display = words[0] + (f" ({' '.join(words[1:])})" if len(words) > 1 else "")
    for name in (display, words[0]):
        if get_crop(name) is not None:
            return name
    return " ".join(words)


def jd_column_names(names: Iterable[str], attributes: Iterable[str]) -> dict[str, str]:
    """``{DBF column: metadata attribute}`` for the columns named shorter than their attribute.

    A DBF field name holds at most 10 characters, and a shapefile written again by
    another tool may abbreviate further (R's ``abbreviate``: ``AppldRt``, ``SWATHWI``).
    A column is an attribute's abbreviation when its letters appear in the attribute's
    name in order, starting with its first (case-insensitive), and that attribute is
    the only one it fits and fits no other column. A column named as an attribute is
    left as it is.

    >>> jd_column_names(["AppldRt", "CntrlRt", "TargtRt", "SWATHWI", "Heading"],
    ...                 ["AppliedRate", "TargetRate", "ControlRate", "SWATHWIDTH", "Heading"])
    {'AppldRt': 'AppliedRate', 'CntrlRt': 'ControlRate', 'TargtRt': 'TargetRate', 'SWATHWI': 'SWATHWIDTH'}
    """
    names, attributes = list(names), list(attributes)
    exact = {a.lower() for a in attributes} & {n.lower() for n in names}
    free = [a for a in attributes if a.lower() not in exact]
    fits = {
        n: [a for a in free if _abbreviates(n, a)]
        for n in names
        if n.lower() not in exact
    }
    claimed: dict[str, int] = {}
    for found in fits.values():
        for a in found:
            claimed[a] = claimed.get(a, 0) + 1
    return {
        n: found[0]
        for n, found in fits.items()
        if len(found) == 1 and claimed[found[0]] == 1
    }


def _abbreviates(short: str, name: str) -> bool:
    """Whether *short*'s letters are in *name* in order, its first letter first."""
    short, name = short.lower(), name.lower()
    if not short or not name or short[0] != name[0] or len(short) >= len(name):
        return False
    rest = iter(name[1:])
    return all(c in rest for c in short[1:])


def _geometry_column(table: pa.Table) -> str:
    for f in table.schema:
        md = f.metadata or {}
        if md.get(b"ARROW:extension:name", b"").startswith(b"geoarrow"):
            return f.name
    for name in ("wkb_geometry", "geometry", "geom"):
        if name in table.column_names:
            return name
    raise CorruptFile("no geometry column found")


def read_ogr_points(
    path: Path, *, layer: str | None, reader: str, prj: Path | None = None
) -> tuple[pa.Table, np.ndarray, np.ndarray, dict[str, Any], list[str]]:
    """Read a point layer with pyogrio → (attribute table, lon, lat, pyogrio meta, issues).

    Multi-points become their centroid; other geometries in a mixed layer (lines,
    polygons) and empty geometries get no position (their records are skipped and
    counted). Coordinates are brought to WGS84 and checked against the declared CRS
    by :func:`leafnb.formats.positions.to_wgs84`.
    """
    import pyogrio

    points = _shp_points(path, layer)
    try:
        if points is not None:  # GDAL reads the attributes, numpy the positions
            meta, table = pyogrio.read_arrow(
                path, layer=layer, read_geometry=False, return_fids=True
            )
            found = _positions_by_fid(table, meta, points)
            if found is not None:
                attributes, xy = found
                return _ogr_points(
                    attributes, meta, path=path, reader=reader, prj=prj, xy=xy
                )
        meta, table = pyogrio.read_arrow(path, layer=layer)
    except Exception as exc:  # pyogrio/GDAL raise several types
        if prj is None or _prj_parses(prj):
            raise CorruptFile(
                f"{reader}: cannot read {path.name}: {exc}", path=path, reader=reader
            ) from exc
        # GDAL refuses a malformed .prj outright: read the parts without it
        meta, table = _read_without_prj(path, reader)
    return _ogr_points(table, meta, path=path, reader=reader, prj=prj)


def ogr_point_ranges(
    path: Path,
    *,
    layer: str | None,
    reader: str,
    rows: int,
    prj: Path | None = None,
    batches: int = 1,
) -> Iterator[tuple[pa.Table, np.ndarray, np.ndarray, dict[str, Any], list[str]]]:
    """:func:`read_ogr_points` of each run of *rows* records, in one pass over the layer.

    Each range is what :func:`read_ogr_points` gives for those records alone
    (``pyogrio.open_arrow``: one reader, batches of *rows* records, or of a
    *batches*-th of them joined into ranges of *rows*: :func:`_runs_of`).
    """
    import pyogrio

    batch_size = max(1, -(-rows // batches))
    points = _shp_points(path, layer)
    with pyogrio.open_arrow(
        path,
        layer=layer,
        batch_size=batch_size,
        use_pyarrow=True,
        read_geometry=points is None,
        return_fids=points is not None,
    ) as (meta, stream):
        for table in _runs_of(stream, rows):
            if points is None:
                yield _ogr_points(table, meta, path=path, reader=reader, prj=prj)
                continue
            found = _positions_by_fid(table, meta, points)
            if found is None:
                raise CorruptFile(
                    f"{reader}: {path.name}: GDAL's features are not the shapefile's "
                    "records",
                    path=path,
                    reader=reader,
                )
            attributes, xy = found
            yield _ogr_points(
                attributes, meta, path=path, reader=reader, prj=prj, xy=xy
            )


def _shp_points(path: Path, layer: str | None) -> ShpPoints | None:
    """The point records of a shapefile, when numpy can read its positions (else None)."""
    if layer is not None or Path(path).suffix.lower() != ".shp":
        return None
    return ShpPoints.open(Path(path), _sibling(Path(path), ".shx"))


def _positions_by_fid(
    table: pa.Table, meta: dict[str, Any], points: ShpPoints
) -> tuple[pa.Table, tuple[np.ndarray, np.ndarray]] | None:
    """*table* without its FIDs (its first column: record numbers), and their x, y.

    None when the table has no FID column of integers within the shapefile's records.
    """
    fid = meta.get("fid_column")
    if not fid or not table.num_columns or table.column_names[0] != fid:
        return None
    column = table.column(0)
    if not pa.types.is_integer(column.type) or column.null_count:
        return None
    records = column.to_numpy()
    if len(records) and (records.min() < 0 or records.max() >= points.records):
        return None
    return table.drop_columns([fid]), points.xy(records)


#: GDAL batches a shapefile's record range is read in (:func:`ogr_point_ranges`).
#: GDAL fills a batch of a DBF in buffers of its fields' declared widths: an SMS
#: export's 254-character text fields took about 1 kB a record, 261 MB for a batch of
#: 262,144 records whose Arrow table is 53 MB. The 4M-point SMS shapefile's whole
#: conversion peaked at 587 MB with one batch a range, 553 with 2, 541 with 4 and
#: 534–537 MB with 8 (docs/performance.md, "Issue 16").
DBF_BATCHES = 8


def _runs_of(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly *rows* records (the last: what is left) from record *batches*.

    Each table's columns are one chunk each, as a batch of *rows* records gave them
    (the steps after take a chunked column's values with a copy; a table of one batch
    is that batch, not a copy); a batch cut by a range's end goes on into the next.

    >>> batches = [pa.record_batch({"a": range(i, i + 3)}) for i in (0, 3, 6)]
    >>> [t["a"].to_pylist() for t in _runs_of(batches, 4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    >>> {t["a"].num_chunks for t in _runs_of(batches, 4)}
    {1}
    """
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while count + batch.num_rows >= rows:
            cut = rows - count
            pending.append(batch.slice(0, cut))
            yield pa.Table.from_batches(pending).combine_chunks()
            batch, pending, count = batch.slice(cut), [], 0
        if batch.num_rows:
            pending.append(batch)
            count += batch.num_rows
    if count:
        yield pa.Table.from_batches(pending).combine_chunks()


def ogr_record_count(path: Path, layer: str | None) -> int | None:
    """The number of features of a layer, as its driver counts them cheaply (None: unknown)."""
    import pyogrio

    try:
        count = pyogrio.read_info(path, layer=layer)["features"]
    except Exception:  # unreadable here: the full read says why
        return None
    return int(count) if count is not None and count >= 0 else None


def _ogr_points(
    table: pa.Table,
    meta: dict[str, Any],
    *,
    path: Path,
    reader: str,
    prj: Path | None,
    xy: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[pa.Table, np.ndarray, np.ndarray, dict[str, Any], list[str]]:
    """Positions of an OGR point table (see :func:`read_ogr_points`).

    *xy*: the records' positions, read already (the table has no geometry column).
    """
    issues: list[str] = []
    gtype = str(meta.get("geometry_type") or "")
    if gtype and "point" not in gtype.lower() and gtype.lower() != "unknown":
        raise UnsupportedFormat(
            f"{path.name} holds {gtype} geometries (a boundary or guidance line), not machine points",
            path=path,
            reader=reader,
        )
    if xy is None:
        gcol = _geometry_column(table)
        wkb = table[gcol]
        table = table.drop_columns([gcol])
        xy = wkb_point_xy(wkb)
        if xy is None:  # multi-points or other geometries among the points: GEOS
            xy = _decode_mixed(wkb, path, issues)
    x, y = xy
    crs = meta.get("crs")
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        raise CorruptFile(
            f"{reader}: {path.name}: none of the {len(x)} records has a position "
            "(every geometry is empty or not a point)",
            path=path,
            reader=reader,
        )
    prj_note = unreadable_prj_note(prj) if crs is None else None
    lon, lat, notes = to_wgs84(
        x, y, crs, name=path.name, reader=reader, path=path, prj_note=prj_note
    )
    issues += notes
    # de-duplicate names deterministically (the data of every column is kept)
    names = dedupe_names(table.column_names)
    if names != table.column_names:
        table = table.rename_columns(names)
    meta = dict(meta)
    meta["crs"] = crs
    return table, lon, lat, meta, issues


# ISO/EWKB type codes of a single point (2-D, Z, M, ZM); x and y follow at bytes 5 and 13
_WKB_POINT_TYPES = (1, 1001, 2001, 3001, 0x80000001, 0x40000001, 0xC0000001)


def wkb_point_xy(
    wkb: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """x, y of little-endian WKB points read straight from the Arrow buffers.

    Null geometries and empty points (``POINT EMPTY``, written as NaN NaN) give NaN.
    Returns None when any geometry is something else (multi-point, line, big-endian
    WKB): then the caller decodes with GEOS. No shapely object is made per point.

    >>> wkb = bytes.fromhex("0101000000" "000000000000f83f" "00000000000000c0")
    >>> wkb_point_xy(pa.array([wkb, None]))
    (array([1.5, nan]), array([-2., nan]))
    """
    chunks = wkb.chunks if isinstance(wkb, pa.ChunkedArray) else [wkb]
    parts = []
    for chunk in chunks:
        xy = _chunk_point_xy(chunk)
        if xy is None:
            return None
        parts.append(xy)
    if not parts:
        return np.zeros(0), np.zeros(0)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _chunk_point_xy(wkb: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`wkb_point_xy` of one Arrow array."""
    if isinstance(wkb.type, pa.ExtensionType):
        wkb = wkb.storage
    if pa.types.is_large_binary(wkb.type):
        off_type = np.int64
    elif pa.types.is_binary(wkb.type):
        off_type = np.int32
    else:
        return None
    n = len(wkb)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    _, off_buf, data_buf = wkb.buffers()
    offsets = np.frombuffer(off_buf, off_type)[wkb.offset : wkb.offset + n + 1]
    if data_buf is not None and wkb.null_count == 0:
        size = int(offsets[1] - offsets[0])
        if size >= 21 and np.all(np.diff(offsets) == size):
            return _fixed_point_xy(data_buf, int(offsets[0]), size, n)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    data = (
        np.frombuffer(data_buf, np.uint8)
        if data_buf is not None
        else np.zeros(0, np.uint8)
    )
    valid = np.asarray(wkb.is_valid())
    starts = offsets[:-1][valid].astype(np.int64)
    lengths = np.diff(offsets)[valid]
    if starts.size == 0:
        return x, y
    if lengths.min() < 21:
        return None
    if not np.all(data[starts] == 1):  # big-endian WKB: rare, leave it to GEOS
        return None
    # every 4- and 8-byte window of the buffer as a row; gathering rows copies 4/8 bytes
    words = np.lib.stride_tricks.sliding_window_view(data, 4)
    gtype = words[starts + 1].copy().view("<u4")[:, 0]
    if not np.isin(gtype, _WKB_POINT_TYPES).all():
        return None
    doubles = np.lib.stride_tricks.sliding_window_view(data, 8)
    x[valid] = doubles[starts + 5].copy().view("<f8")[:, 0]
    y[valid] = doubles[starts + 13].copy().view("<f8")[:, 0]
    return x, y


def _fixed_point_xy(
    data: pa.Buffer, start: int, size: int, n: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """x, y of *n* WKB points of *size* bytes each, back to back from byte *start*.

    Every record of a point layer written by one writer has the same layout (21 bytes
    in 2-D, 29 with Z or M, 37 with both): the fields are strided views of the buffer,
    and only x and y are copied out. None when one is not a little-endian point.
    """

    def field(dtype: str, at: int) -> np.ndarray:
        return np.ndarray((n,), dtype, buffer=data, offset=start + at, strides=(size,))

    if not np.all(field("u1", 0) == 1):  # big-endian WKB: rare, leave it to GEOS
        return None
    if not np.isin(field("<u4", 1), _WKB_POINT_TYPES).all():
        return None
    return field("<f8", 5).copy(), field("<f8", 13).copy()


def _decode_mixed(
    wkb: pa.Array | pa.ChunkedArray, path: Path, issues: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a layer that mixes points with other geometries (through shapely/GEOS).

    Multi-points become their centroid; lines and polygons get no position (NaN) and
    are counted in *issues*.
    """
    import shapely

    geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
    types = shapely.get_type_id(geoms)
    multi = types == 4
    if multi.any():
        geoms = np.where(multi, shapely.centroid(geoms), geoms)
    other = (types != 0) & (types != 4) & (types >= 0)
    if other.any():
        kinds = sorted(
            {_GEOM_NAMES.get(int(t), str(t)) for t in np.unique(types[other])}
        )
        issues.append(
            f"{path.name}: {int(other.sum())} {'/'.join(kinds)} features among the points "
            "have no position and are skipped"
        )
        geoms = np.where(other, None, geoms)
    return shapely.get_x(geoms).astype("float64"), shapely.get_y(geoms).astype(
        "float64"
    )


def _prj_parses(prj: Path) -> bool:
    from pyproj import CRS

    try:
        CRS.from_user_input(prj.read_text(encoding="latin-1"))
    except Exception:  # pyproj raises CRSError; unreadable text likewise
        return False
    return True


def _read_without_prj(path: Path, reader: str):
    """Read a shapefile whose ``.prj`` GDAL cannot parse, from links to its other parts."""
    import os
    import shutil
    import tempfile

    import pyogrio

    with tempfile.TemporaryDirectory(prefix="leafnb-shp-") as tmp:
        for suffix in (".shp", ".shx", ".dbf", ".cpg"):
            part = path if suffix == ".shp" else _sibling(path, suffix)
            if part is None:
                continue
            target = Path(tmp) / f"data{suffix}"
            try:
                os.link(part, target)
            except OSError:
                shutil.copyfile(part, target)
        try:
            return pyogrio.read_arrow(Path(tmp) / "data.shp")
        except Exception as exc:  # pyogrio/GDAL raise several types
            raise CorruptFile(
                f"{reader}: cannot read {path.name}: {exc}", path=path, reader=reader
            ) from exc


def region_hints(lon: np.ndarray, lat: np.ndarray) -> tuple[float | None, float | None]:
    """Median position of the records (picks the regional unit convention)."""
    ok = (
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    )
    if not ok.any():
        return None, None
    return float(np.median(lon[ok])), float(np.median(lat[ok]))


def duration_column(names: list[str]) -> str | None:
    """The SMS per-record duration column (``Duration_s``/``Duration(s)``) if any."""
    for n in names:
        if normalise_key(n) in ("durations", "duration"):
            return n
    return None


class ShapefileReader(Reader):
    """Point shapefiles from SMS, John Deere, Trimble AgGPS and any tool using spec §4.4 names."""

    name: ClassVar[str] = "shapefile"
    description: ClassVar[str] = (
        "Point shapefile (Ag Leader SMS, John Deere, Trimble AgGPS, generic)"
    )
    url: ClassVar[str] = (
        "https://www.esri.com/content/dam/esrisites/sitecore-archive/Files/Pdfs/library/whitepapers/pdfs/shapefile.pdf"
    )
    provider: ClassVar[str | None] = None
    file_format: ClassVar[str] = "SHAPEFILE"
    extensions: ClassVar[tuple[str, ...]] = (".shp",)

    def sniff(self, path: Path) -> float:
        try:
            path = Path(path)
            if path.suffix.lower() != ".shp" or not path.is_file():
                return 0.0
            stype = shape_type(path)
            if stype is None or stype not in _POINT_TYPES:
                return 0.0
            dbf = _sibling(path, ".dbf")
            if dbf is None or _sibling(path, ".shx") is None:
                return 0.2  # claim it, so reading reports the missing part
            match = match_columns(dbf_field_names(dbf))
            if match.family not in (None, "generic") and match.recognised >= 3:
                return 0.9
            if match.columns:
                return 0.6
            return 0.3
        except Exception:
            return 0.0

    def explain(self, path: Path) -> str | None:
        path = Path(path)
        if path.suffix.lower() != ".shp":
            return None
        stype = shape_type(path)
        if stype is None:
            return "not a shapefile (bad .shp header)"
        if stype == 0:
            return "the shapefile holds only null shapes (shape type 0): no positions"
        if stype not in _POINT_TYPES:
            kind = _SHAPE_NAMES.get(stype, f"shape type {stype}")
            return f"{kind} shapefile: a boundary or guidance line, not machine points"
        return None

    def sidecars(self, path: Path) -> list[Path]:
        path = Path(path)
        out = []
        for suf in _SIDECAR_SUFFIXES:
            p = _sibling(path, suf)
            if p is not None:
                out.append(p)
        return out

    def _provider(
        self, path: Path, family: str | None, metadata: Mapping[str, Any] | None
    ) -> str | None:
        """The provider of *path*; *metadata*: its JD metadata JSON (:func:`_jd_metadata`)."""
        if any(part.lower() == "aggps" for part in path.parts):
            return "Trimble"
        if family in ("jd", "generic", None) and metadata is not None:
            return "JohnDeere"
        return FAMILY_PROVIDER.get(family or "generic")

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        path = Path(path)
        out: dict[str, Any] = {"provider": None, "file_format": self.file_format}
        try:
            if shape_type(path) not in _POINT_TYPES:
                return out
            dbf = _sibling(path, ".dbf")
            match = match_columns(dbf_field_names(dbf)) if dbf else None
            js = _jd_metadata(path)
            out["provider"] = self._provider(path, match.family if match else None, js)
            if js:
                jm, _ = jd_meta_to_leaf(js)
                if "operation_type" in jm:
                    out["operation_type"] = jm["operation_type"]
            elif match and match.operation_type:
                out["operation_type"] = match.operation_type
        except Exception:
            pass
        return out

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        for suf in (".dbf", ".shx"):
            if _sibling(path, suf) is None:
                raise CorruptFile(
                    f"shapefile {path.name} is missing its {suf} part ({path.stem}{suf}); "
                    "a shapefile needs .shp, .shx and .dbf together",
                    path=path,
                    reader=self.name,
                )
        return self._finish(
            path,
            *read_ogr_points(
                path, layer=None, reader=self.name, prj=_sibling(path, ".prj")
            ),
            options,
        )

    def record_count(self, path: Path, part: str | None = None) -> int | None:
        path = Path(path)
        shx = _sibling(path, ".shx")
        if shx is None or _sibling(path, ".dbf") is None:
            return None
        # the index holds 8 bytes a record after its 100-byte header: a count for free
        return max((shx.stat().st_size - 100) // 8, 0)

    def read_ranges(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
        rows: int,
    ) -> Iterator[RawRead]:
        path = Path(path)
        ranges = ogr_point_ranges(
            path,
            layer=None,
            reader=self.name,
            rows=rows,
            prj=_sibling(path, ".prj"),
            batches=DBF_BATCHES,
        )
        carry = RangeCarry()  # durations and held values run on across ranges
        return (self._finish(path, *r, options, carry) for r in ranges)

    def _finish(
        self,
        path: Path,
        table: pa.Table,
        lon: np.ndarray,
        lat: np.ndarray,
        ogr_meta: dict[str, Any],
        issues: list[str],
        options: Mapping[str, Any] | None,
        carry: RangeCarry | None = None,
    ) -> RawRead:
        """The :class:`RawRead` of an OGR point table of this shapefile."""
        meta: dict[str, Any] = {"crs": ogr_meta.get("crs")}
        units: dict[str, str] = {}
        optype = None
        family = None
        js = _jd_metadata(path)
        if js is not None:
            jm, units = jd_meta_to_leaf(js)
            meta.update(jm)
            optype = jm.get("operation_type")
            family = "jd"
            meta["jd_metadata"] = js
            named = jd_column_names(
                table.column_names, [str(_ci(a, "Name")) for a in jd_attributes(js)]
            )
            if named:  # the columns by the names their metadata gives them
                table = table.rename_columns(
                    [named.get(n, n) for n in table.column_names]
                )
                issues = [
                    *issues,
                    "columns named by the John Deere metadata: "
                    + ", ".join(f"{n} → {a}" for n, a in named.items()),
                ]
        if options and options.get("operation_type"):
            optype = str(OperationType(options["operation_type"]))
        lon_hint, lat_hint = region_hints(lon, lat)
        match = infer_columns(
            table.column_names,
            table=table,
            family=family,
            operation_type=optype,
            unit_overrides=units,
            # the metadata names the export's crop; its Crop column holds JD's number
            exclude=("Crop",) if js is not None and meta.get("crop") else (),
            user_mapping=(options or {}).get("columnMapping"),
            lon_hint=lon_hint,
            lat_hint=lat_hint,
        )
        if js is None and match.family == "sms":
            meta.update(_sms_file_facts(table))
        provider = self._provider(path, match.family, js)
        meta["provider"] = provider
        return finish_table(
            table,
            lon,
            lat,
            match,
            path=path,
            reader=self.name,
            duration_column=duration_column(table.column_names),
            meta=meta,
            issues=issues,
            carry=carry,
        )


def _sms_file_facts(table: pa.Table) -> dict[str, Any]:
    """File-wide facts of an SMS export: the field name when one value fills the column."""
    out: dict[str, Any] = {}
    for name in table.column_names:
        if normalise_key(name) == "field":
            vals = distinct_values(table[name])
            if len(vals) == 1:
                out["original_operation_data"] = {"originalOperationField": vals[0]}
    return out
