"""Delimited text: SMS-style CSV (units in headers), generic point CSV, Ag Leader advanced text.

CSV
    Encoding is detected (BOM, then strict UTF-8, then cp1252, then Latin-1); the
    delimiter is sniffed among ``, ; TAB |``. Coordinates come from columns named
    Longitude/Latitude (Lon/Lat, Long, Lng), X/Y, Easting/Northing or a WKT geometry
    column. Projected X/Y need ``options={"crs": ...}``; degrees are read as WGS84.
    Units in headers (``Yld Mass(Dry)(tonne/ha)``) win over the family defaults of
    :mod:`leafnb.formats.columns`. Dates ``d/mm/yyyy`` are day-first unless a value
    proves month-first (ambiguous files west of 30°W are read month-first). Times
    without a zone are read as UTC (noted in ``issues``).

Ag Leader advanced export text
    Comma separated, no header, 17 fields: lon, lat, flow (lb/s), GPS time (Unix s),
    cycle (s), distance (in), swath (in), moisture (%), header status, pass, serial,
    field, load, crop, GPS status, PDOP, altitude (ft). Columns are named as in the ISU
    shapefiles made from these files (``FLOW``, ``CYCLES`` …); ``WETMASS`` = flow × cycle
    (lb) is added because the format defines it. Header status 33 (bit 0x20 set) =
    header down = ``On``, 1 = up = ``Off``. The crop field holds a name (``"CORN"``);
    it is lower-cased. Numeric crop codes are kept as text (no public Ag Leader code
    table was found).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from leafnb.errors import CorruptFile
from leafnb.formats.base import RawRead, Reader
from leafnb.formats.columns import (
    dedupe_names,
    finish_table,
    match_columns,
    normalise_key,
    split_header_unit,
)
from leafnb.standard.optype import OperationType

__all__ = ["AGLEADER_TEXT_COLUMNS", "AgLeaderTextReader", "CsvReader", "decode_text"]

AGLEADER_TEXT_COLUMNS = (
    "LONGITUDE", "LATITUDE", "FLOW", "TIME", "CYCLES", "DISTANCE", "SWATH", "MOISTURE",
    "STATUS", "PASS", "SERIAL", "FIELD", "LOAD", "CROP", "GPS", "PDOP", "ALTITUDE",
)  # fmt: skip

_SNIFF_BYTES = 8192


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode file bytes → (text, encoding): BOM, strict UTF-8, cp1252, Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode(
            "utf-8", errors="replace"
        ), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by a sniff window is still UTF-8
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8"), "utf-8"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _head(path: Path, n: int = _SNIFF_BYTES) -> str:
    with open(path, "rb") as fh:
        data = fh.read(n)
    return decode_text(data)[0]


def _delimiter(sample: str) -> str:
    lines = [ln for ln in sample.splitlines()[:5] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1
    for d in (",", ";", "\t", "|"):
        counts = [len(next(csv.reader([ln], delimiter=d))) for ln in lines]
        if min(counts) > 1 and len(set(counts[: len(lines) - 1] or counts)) == 1:
            score = min(counts)
            if score > best_score:
                best, best_score = d, score
    return best


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


_LON_KEYS = ("longitude", "lon", "long", "lng", "gpslongitude", "lonwgs84")
_LAT_KEYS = ("latitude", "lat", "gpslatitude", "latwgs84")
_XY_KEYS = (("x", "y"), ("easting", "northing"), ("pointx", "pointy"))
_WKT_KEYS = ("wkt", "geometry", "geom", "thegeom", "shape", "wktgeom")
_WKT_VALUE = re.compile(r"^\s*(SRID=\d+;\s*)?(MULTI)?POINT\s*(Z|M|ZM)?\s*\(", re.I)


def _coordinate_columns(
    header: list[str], first_row: list[str] | None
) -> dict[str, Any] | None:
    """Find the coordinate columns: {"lon", "lat"} or {"x", "y"} or {"wkt"}."""
    keys = [normalise_key(split_header_unit(h)[0]) for h in header]

    def find(cands):
        for c in cands:
            if c in keys:
                return header[keys.index(c)]
        return None

    lon, lat = find(_LON_KEYS), find(_LAT_KEYS)
    if lon and lat:
        return {"lon": lon, "lat": lat}
    for kx, ky in _XY_KEYS:
        if kx in keys and ky in keys:
            return {"x": header[keys.index(kx)], "y": header[keys.index(ky)]}
    w = find(_WKT_KEYS)
    if w:
        return {"wkt": w}
    if first_row:
        for h, v in zip(header, first_row, strict=False):
            if _WKT_VALUE.match(v or ""):
                return {"wkt": h}
    return None


def _header_and_first(text: str, delimiter: str) -> tuple[list[str], list[str] | None]:
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows, [])
    first = next(rows, None)
    return [h.strip() for h in header], first


def _looks_like_agleader_text(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()][:5]
    if len(lines) < 1:
        return False
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # last line may be cut by the sniff window
    for row in csv.reader(lines):
        if len(row) != 17:
            return False
        try:
            lon, lat = float(row[0]), float(row[1])
        except ValueError:
            return False
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
            return False
        if not all(
            _is_number(v.strip()) for i, v in enumerate(row) if i not in (11, 12, 13)
        ):
            return False
    return True


def _float_column(arr: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    s = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    out = np.full(len(s), np.nan)
    for i, v in enumerate(s.to_pylist()):
        if v:
            with contextlib.suppress(ValueError):
                out[i] = float(v.replace(",", "."))
    return out


def _read_text_table(
    text: str, delimiter: str, names: list[str], *, skip_header: bool, column_types=None
) -> tuple[pa.Table, int]:
    """Parse delimited *text* with pyarrow; returns (table, malformed rows skipped)."""
    bad = 0

    def handler(row):
        nonlocal bad
        bad += 1
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(text.encode("utf-8")),
        read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=1 if skip_header else 0
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=handler
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=column_types or {},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    return table, bad


class CsvReader(Reader):
    """Point CSV: SMS-style (units in headers), generic lon/lat, X/Y or WKT columns."""

    name: ClassVar[str] = "csv"
    description: ClassVar[str] = (
        "Delimited text with coordinate columns (SMS-style CSV, loggers, WKT)"
    )
    url: ClassVar[str] = "https://www.rfc-editor.org/rfc/rfc4180"
    provider: ClassVar[str | None] = None
    file_format: ClassVar[str] = "CSV"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".txt", ".tsv")

    def sniff(self, path: Path) -> float:
        try:
            path = Path(path)
            if path.suffix.lower() not in self.extensions or not path.is_file():
                return 0.0
            text = _head(path)
            if not text.strip() or "\x00" in text:
                return 0.0
            if _looks_like_agleader_text(text):
                return 0.05
            delim = _delimiter(text)
            header, first = _header_and_first(text, delim)
            if len(header) < 2 or all(_is_number(h) for h in header if h):
                return 0.05
            coords = _coordinate_columns(header, first)
            match = match_columns(header, header_units=True)
            if coords is None:
                return 0.3 if match.columns else 0.05
            if match.family not in (None, "generic") and match.recognised >= 3:
                return 0.85
            return 0.6 if match.columns else 0.4
        except Exception:
            return 0.0

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        try:
            text = _head(Path(path))
            header, _ = _header_and_first(text, _delimiter(text))
            return match_columns(header, header_units=True).facts(self.file_format)
        except Exception:
            return {"provider": None, "file_format": self.file_format}

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        options = dict(options or {})
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CorruptFile(
                f"cannot read {path.name}: {exc}", path=path, reader=self.name
            ) from exc
        text, encoding = decode_text(raw)
        delim = _delimiter(text[:_SNIFF_BYTES])
        header, first = _header_and_first(text, delim)
        if not header:
            raise CorruptFile(f"{path.name} is empty", path=path, reader=self.name)
        coords = _coordinate_columns(header, first)
        if coords is None:
            raise CorruptFile(
                f"{path.name} has no coordinate columns (looked for Longitude/Latitude, "
                f"Lon/Lat, X/Y, Easting/Northing or a WKT column); found: {', '.join(header)}",
                path=path,
                reader=self.name,
            )
        names = dedupe_names(header)
        ctypes = {
            n: pa.string() for n in names if n in coords.values() and "wkt" in coords
        }
        try:
            table, bad = _read_text_table(
                text, delim, names, skip_header=True, column_types=ctypes
            )
        except pa.ArrowInvalid as exc:
            raise CorruptFile(
                f"{path.name}: cannot parse as CSV: {exc}", path=path, reader=self.name
            ) from exc
        issues: list[str] = []
        meta: dict[str, Any] = {"encoding": encoding, "delimiter": delim}
        lon, lat, used = self._coordinates(table, coords, options, path, issues, meta)
        optype = (
            str(OperationType(options["operation_type"]))
            if options.get("operation_type")
            else None
        )
        match = match_columns(
            table.column_names, header_units=True, operation_type=optype, exclude=used
        )
        dur = next(
            (
                n
                for n in table.column_names
                if normalise_key(split_header_unit(n)[0]) in ("duration", "durations")
            ),
            None,
        )
        return finish_table(
            table,
            lon,
            lat,
            match,
            path=path,
            reader=self.name,
            duration_column=dur,
            meta=meta,
            issues=issues,
            drop=used,
            unparsed=bad,
        )

    def _coordinates(self, table, coords, options, path, issues, meta):
        if "wkt" in coords:
            import shapely

            col = coords["wkt"]
            vals = table[col].cast(pa.string()).to_pylist()
            clean = [re.sub(r"^\s*SRID=\d+;", "", v) if v else None for v in vals]
            geoms = shapely.from_wkt(np.array(clean, dtype=object), on_invalid="ignore")
            x, y = shapely.get_x(geoms), shapely.get_y(geoms)
            used = [col]
        else:
            kx, ky = ("lon", "lat") if "lon" in coords else ("x", "y")
            x, y = _float_column(table[coords[kx]]), _float_column(table[coords[ky]])
            used = [coords[kx], coords[ky]]
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        crs = options.get("crs")
        finite = np.isfinite(x) & np.isfinite(y)
        # named Longitude/Latitude: degrees by definition (out-of-range rows are skipped);
        # X/Y or WKT: degrees when most values fall in range
        in_range = (np.abs(x[finite]) <= 180) & (np.abs(y[finite]) <= 90)
        degrees = "lon" in coords or (
            bool(finite.any()) and float(in_range.mean()) >= 0.9
        )
        if crs is not None:
            from pyproj import CRS, Transformer

            src = CRS.from_user_input(crs)
            if not src.equals(CRS.from_epsg(4326), ignore_axis_order=True):
                x, y = Transformer.from_crs(src, 4326, always_xy=True).transform(x, y)
                x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
            meta["crs"] = str(crs)
        elif not degrees:
            raise CorruptFile(
                f"{path.name}: coordinate columns {', '.join(used)} are not degrees and no CRS "
                "is known; pass options={'crs': 'EPSG:…'}",
                path=path,
                reader=self.name,
            )
        else:
            meta["crs"] = "EPSG:4326"
            if "lon" not in coords:
                issues.append(
                    f"coordinates {', '.join(used)} look like degrees; read as WGS84"
                )
        return x, y, used


class AgLeaderTextReader(Reader):
    """Ag Leader advanced-export text (17 comma-separated fields, no header)."""

    name: ClassVar[str] = "agleader_text"
    description: ClassVar[str] = (
        "Ag Leader advanced export text (yield monitor, 17 fields)"
    )
    url: ClassVar[str] = "https://www.agleader.com/"
    provider: ClassVar[str | None] = "AgLeader"
    file_format: ClassVar[str] = "AGLEADER_TEXT"
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".csv")

    def sniff(self, path: Path) -> float:
        try:
            path = Path(path)
            if path.suffix.lower() not in self.extensions or not path.is_file():
                return 0.0
            return 0.9 if _looks_like_agleader_text(_head(path, 4096)) else 0.0
        except Exception:
            return 0.0

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "file_format": self.file_format,
            "operation_type": "harvested",
        }

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        try:
            text, encoding = decode_text(path.read_bytes())
        except OSError as exc:
            raise CorruptFile(
                f"cannot read {path.name}: {exc}", path=path, reader=self.name
            ) from exc
        names = list(AGLEADER_TEXT_COLUMNS)
        ctypes = {n: pa.float64() for n in names}
        ctypes.update({n: pa.string() for n in ("FIELD", "LOAD", "CROP")})
        ctypes.update({n: pa.int64() for n in ("TIME", "SERIAL")})
        bad_values = 0
        try:
            table, bad = _read_text_table(
                text, ",", names, skip_header=False, column_types=ctypes
            )
        except pa.ArrowInvalid:
            # a non-numeric value somewhere: read as text, coerce per value
            table, bad = _read_text_table(
                text,
                ",",
                names,
                skip_header=False,
                column_types={n: pa.string() for n in names},
            )
            cols = []
            for n in names:
                if n in ("FIELD", "LOAD", "CROP"):
                    cols.append(table[n])
                    continue
                v = _float_column(table[n])
                bad_values += int(np.isnan(v).sum() - table[n].null_count)
                cols.append(pa.array(v, pa.float64(), from_pandas=True))
            table = pa.Table.from_arrays(cols, names=names)
        lon = table["LONGITUDE"].cast(pa.float64()).to_numpy(zero_copy_only=False)
        lat = table["LATITUDE"].cast(pa.float64()).to_numpy(zero_copy_only=False)
        issues: list[str] = []
        if bad_values:
            issues.append(f"{bad_values} non-numeric values read as missing")
        match = match_columns(
            table.column_names,
            family="agleader",
            operation_type="harvested",
            exclude=("LONGITUDE", "LATITUDE"),
        )
        rr = finish_table(
            table,
            lon,
            lat,
            match,
            path=path,
            reader=self.name,
            meta={
                "operation_type": "harvested",
                "encoding": encoding,
                "crs": "EPSG:4326",
            },
            issues=issues,
            drop=("LONGITUDE", "LATITUDE"),
            unparsed=bad,
        )
        crops = {c for c in rr.table["CROP"].to_pylist() if c}
        if len(crops) == 1:
            rr.meta["crop"] = next(iter(crops))
        return rr
