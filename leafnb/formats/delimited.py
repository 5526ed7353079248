"""Delimited text: SMS-style CSV, generic point CSV/TXT, Ag Leader advanced / Yield Editor text.

CSV
    Encoding is detected (BOM, then strict UTF-8, then cp1252, then Latin-1); the
    delimiter is sniffed among ``, ; TAB |`` (a ``;`` file with decimal commas is a
    European export). Every cell is read as text first and each column is then read as
    numbers when it is numeric (:func:`leafnb.formats.transforms.coerce_numeric`):
    decimal commas in a consistently comma-decimal column are numbers, and a cell that
    is not a number (``-``) becomes missing and is counted — one bad cell never fails
    the file. A line with the wrong number of fields (a 5 MB single-field line
    included) is skipped and counted.
    Coordinates come from columns named Longitude/Latitude (Lon/Lat, Long, Lng,
    Longitud/Latitud, Länge/Breite), X/Y, POINT_X/POINT_Y (ArcGIS), Easting/Northing or a
    WKT geometry column; projected X/Y need ``options={"crs": ...}`` and are checked
    against that CRS (:mod:`leafnb.formats.positions`). Columns are understood by
    :func:`leafnb.formats.inference.infer_columns` (names, units, values); a header
    row of Ag Leader text (``long,lat,massflow,gpstime,cycletime,…``) is the Ag Leader
    family with its documented units.

Ag Leader advanced export / Yield Editor text (no header)
    Comma separated, quoted or unquoted text fields. The first 14 fields are fixed
    (Ag Leader GPS 2000/2100 manual §8-7; Yield Editor's input): longitude, latitude,
    flow (lb/s), GPS time, logging interval (s), distance (in), swath (in), moisture
    (%), header status, pass, serial, field, load, grain type. What follows depends on
    the exporter: 17 fields end GPS status, PDOP, altitude (ft); Yield Editor dialects
    write 15 or 16 (a variety and/or the altitude; ``NA`` for a missing altitude).
    The trailing fields are told apart by content: text is the variety, the last
    numeric (or ``NA``) field the altitude, numeric fields before it GPS status and
    PDOP. GPS time may be Unix seconds, seconds of day (then the date comes from a
    load label ``L0:10/10/13-16:33:46`` if any, else no timestamp) or seconds from an
    unknown start (:mod:`leafnb.formats.timeparse`); the serial may be written as a
    float. Columns are named as in the ISU shapefiles made from these files (``FLOW``,
    ``CYCLES`` …); ``WETMASS`` = flow × interval (lb) is added because the format
    defines it. Header status: bit 0 set (33, 1) = header down = ``On``, clear (32,
    0) = up = ``Off`` (see :mod:`leafnb.formats.transforms`). The grain type is a name
    (``"CORN"``), lower-cased.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from leafnb.errors import CorruptFile
from leafnb.formats.base import RawRead, Reader
from leafnb.formats.columns import dedupe_names, normalise_key, split_header_unit
from leafnb.formats.inference import (
    ColumnMatch,
    exact_median,
    infer_columns,
    match_columns,
)
from leafnb.formats.positions import to_wgs84
from leafnb.formats.tabular import RangeCarry, finish_table
from leafnb.formats.transforms import (
    coerce_numeric_columns,
    distinct_values,
    numeric_array,
)
from leafnb.standard.optype import OperationType

__all__ = ["AGLEADER_TEXT_COLUMNS", "AgLeaderTextReader", "CsvReader", "decode_text"]

#: the 17 fields of the Ag Leader advanced export (the first 14 are always there)
AGLEADER_TEXT_COLUMNS = (
    "LONGITUDE", "LATITUDE", "FLOW", "TIME", "CYCLES", "DISTANCE", "SWATH", "MOISTURE",
    "STATUS", "PASS", "SERIAL", "FIELD", "LOAD", "CROP", "GPS", "PDOP", "ALTITUDE",
)  # fmt: skip
_AGL_FIXED = 14
_AGL_TEXT = (11, 12, 13)

_SNIFF_BYTES = 8192
#: a header line longer than this is not a header
_MAX_HEADER = 1 << 20
_MAX_LINE = 64 << 20


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


#: bytes read at a time when a text file is counted
_COUNT_BLOCK = 16 << 20


def text_record_count(path: Path) -> int | None:
    r"""The lines of a delimited text file (None: not read in ranges).

    A count of line ends (``\n``), one pass over the file in blocks: the pipeline
    reads a file of many records in ranges (:func:`text_ranges`). None for UTF-16 text,
    whose line ends are not single bytes, and for an unreadable file. A header and
    blank lines are counted: the number decides only whether ranges are worth it.
    """
    try:
        with open(path, "rb") as fh:
            if fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                return None
            fh.seek(0)
            lines = sum(
                block.count(b"\n") for block in iter(lambda: fh.read(_COUNT_BLOCK), b"")
            )
    except OSError:
        return None
    return lines


def text_ranges(path: Path, rows: int, *, header: bool = True) -> Iterator[bytes]:
    """A delimited text file in runs of *rows* lines, each with the file's head in front.

    With a *header*, the head is every byte up to the end of the header (the first
    line that is not blank); without, there is none. Each run then reads as a file of
    its own (:meth:`CsvReader.read_ranges`). Runs end at a line end; one that would
    end inside a quoted field (an odd number of ``"`` before it) raises
    ``ValueError``: the file is then read whole.
    """
    with open(path, "rb") as fh:
        head = b""
        for line in fh if header else ():
            head += line
            # the header: the first line with more than a byte-order mark and spaces
            if line.replace(codecs.BOM_UTF8, b"").strip() or len(head) > _MAX_HEADER:
                break
        quotes = head.count(b'"')
        while True:
            lines = list(itertools.islice(fh, rows))
            if not lines:
                return
            data = b"".join(lines)
            del lines
            quotes += data.count(b'"')
            if quotes % 2:
                raise ValueError("a quoted field runs on across record ranges")
            yield head + data
            del data


def _split(line: str, delimiter: str) -> list[str]:
    """One CSV line → fields (quotes honoured); never raises on long fields."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


#: first lines of up to this many characters in all have their delimiter cached
_CACHED_LINES = 2048


def _delimiter(sample: str) -> str:
    """The delimiter of *sample* (a file's head), decided by its first five lines.

    Detection sniffs and describes every file of a batch, then each is read: three
    times the same question, a batch apart. The answer depends only on those lines,
    so it is kept for the batch (:func:`_delimiter_of`), unless they are long.
    """
    lines = tuple(ln for ln in sample.splitlines()[:5] if ln.strip())
    if sum(len(ln) for ln in lines) > _CACHED_LINES:
        return _delimiter_of.__wrapped__(lines)
    return _delimiter_of(lines)


@functools.lru_cache(maxsize=512)
def _delimiter_of(lines: tuple[str, ...]) -> str:
    """The delimiter of a head's first non-empty lines (among its first five)."""
    if not lines:
        return ","
    best, best_score = ",", -1
    for d in (",", ";", "\t", "|"):
        counts = [len(_split(ln[:_MAX_HEADER], d)) for ln in lines]
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


_LON_KEYS = ("longitude", "lon", "long", "lng", "gpslongitude", "lonwgs84", "longitud",
             "longitudine", "laengengrad", "langengrad", "laenge", "lange", "longdeg")  # fmt: skip
_LAT_KEYS = ("latitude", "lat", "gpslatitude", "latwgs84", "latitud", "latitudine",
             "breitengrad", "breite", "latdeg")  # fmt: skip
_XY_KEYS = (("x", "y"), ("pointx", "pointy"), ("easting", "northing"),
            ("xcoord", "ycoord"), ("east", "north"), ("rechtswert", "hochwert"))  # fmt: skip
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


#: NMEA 0183 sentences (GGA, RMC, GLL) write a position as unsigned magnitudes, each
#: followed by its hemisphere: latitude, N|S, longitude, E|W. Loggers that decode the
#: sentences into columns keep that pair, and the letter is the sign.
_HEMISPHERE_LETTERS = {"lat": ("N", "S"), "lon": ("E", "W")}
#: a name that says "hemisphere": N/S, E/W, Hemisphere, or a direction/indicator word
#: with the coordinate it belongs to (LatDir, dir_y, LonHemisphere) — not "Direction"
_HEMISPHERE_NAME = re.compile(
    r"^(ns|ew|nsind(icator)?|ewind(icator)?|hem(isphere)?)$"
    r"|^(hem(isphere)?|dir(ection)?|ind(icator)?)(lat(itude)?|lon(gitude)?|lng|x|y)$"
    r"|^(lat(itude)?|lon(gitude)?|lng|x|y)(hem(isphere)?|dir(ection)?|ind(icator)?)$"
)
#: a position changes hemisphere only next to the equator or the prime meridian: letters
#: that differ on positions farther out are something else (a direction of travel)
_CROSSING_DEGREES = 1.0


def _hemisphere_letters(column: pa.ChunkedArray) -> set[str] | None:
    """The distinct non-blank values of a text *column*, upper-cased (None: too many)."""
    values = pc.unique(pc.utf8_upper(pc.utf8_trim_whitespace(column.cast(pa.string()))))
    if len(values) > 4:
        return None
    return {v for v in values.to_pylist() if v}


def _hemisphere_columns(
    names: list[str], coords: Mapping[str, str], letters: Mapping[str, set[str]]
) -> dict[str, str]:
    """``{"lat"|"lon": column}``: the text column holding each coordinate's hemisphere.

    A column whose every non-blank value is N or S holds a latitude's hemisphere (E or
    W: a longitude's) when it comes right after the coordinate column, the order of the
    NMEA fields, or when its name says so (``LatHemisphere``, ``lat_dir``, ``N/S``)
    and no other column does. A column of letters anywhere else (a one-letter code that
    happens to be S, a ``Direction`` of travel) is not read as a sign.

    >>> _hemisphere_columns(["y", "dir_y", "x", "dir_x"], {"x": "x", "y": "y"},
    ...                     {"dir_y": {"N"}, "dir_x": {"W", "E"}})
    {'lat': 'dir_y', 'lon': 'dir_x'}
    >>> _hemisphere_columns(["Lat", "Lon", "Size"], {"lon": "Lon", "lat": "Lat"},
    ...                     {"Size": {"S"}})
    {}
    """
    found: dict[str, str] = {}
    for kind, (plus, minus) in _HEMISPHERE_LETTERS.items():
        coordinate = coords.get(kind) or coords.get("y" if kind == "lat" else "x")
        fits = [c for c, got in letters.items() if got and got <= {plus, minus}]
        after = names.index(coordinate) + 1 if coordinate in names else -1
        named = [c for c in fits if _HEMISPHERE_NAME.search(normalise_key(c))]
        if 0 < after < len(names) and names[after] in fits:
            found[kind] = names[after]
        elif len(named) == 1:
            found[kind] = named[0]
    return found


def _signed_by_hemisphere(
    table: pa.Table,
    coords: Mapping[str, str],
    x: np.ndarray,
    y: np.ndarray,
    text: Iterable[str],
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """*x*, *y* with the signs their hemisphere columns give, and ``{column: "N/S"|"E/W"}``.

    South and west make a value negative (a value already negative stays so); north,
    east and a blank letter leave it as written.
    """
    names = table.schema.names
    after = {names[i + 1] for i, n in enumerate(names[:-1]) if n in coords.values()}
    letters = {}
    for name in text:  # only where the rule could take it: no pass over other text
        if name in after or _HEMISPHERE_NAME.search(normalise_key(name)):
            got = _hemisphere_letters(table[name])
            if got is not None:
                letters[name] = got
    columns = _hemisphere_columns(names, coords, letters)
    signs: dict[str, str] = {}
    for kind, column in columns.items():
        plus, minus = _HEMISPHERE_LETTERS[kind]
        upper = pc.utf8_upper(pc.utf8_trim_whitespace(table[column].cast(pa.string())))
        negative = pc.fill_null(pc.equal(upper, minus), False).to_numpy(
            zero_copy_only=False
        )
        values = y if kind == "lat" else x
        positive = pc.fill_null(pc.equal(upper, plus), False).to_numpy(
            zero_copy_only=False
        )
        if negative.any() and positive.any():
            lettered = np.abs(values[negative | positive])
            if np.nanmax(lettered, initial=0.0) > _CROSSING_DEGREES:
                continue  # both hemispheres far from 0: not hemisphere letters
        values = np.where(negative, -np.abs(values), values)
        if kind == "lat":
            y = values
        else:
            x = values
        signs[column] = f"{plus}/{minus}"
    return x, y, signs


def _first_lines(text: str, n: int = 2) -> list[str]:
    """The first *n* non-empty lines, each cut at 1 MB (a huge line is not a header)."""
    out: list[str] = []
    pos = 0
    while len(out) < n and pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos : min(end, pos + _MAX_HEADER)].rstrip("\r")
        if line.strip():
            out.append(line)
        pos = end + 1
    return out


def _header_and_first(text: str, delimiter: str) -> tuple[list[str], list[str] | None]:
    lines = _first_lines(text, 2)
    if not lines:
        return [], None
    header = [h.strip() for h in _split(lines[0], delimiter)]
    first = _split(lines[1], delimiter) if len(lines) > 1 else None
    return header, first


def _agleader_layout(rows: list[list[str]]) -> list[str] | None:
    """Column names of headerless Ag Leader / Yield Editor text, or None if it is not one."""
    if not rows:
        return None
    counts = Counter(len(r) for r in rows)
    n, _ = counts.most_common(1)[0]
    if n < _AGL_FIXED or n > 20:
        return None
    body = [r for r in rows if len(r) == n]
    for r in body:
        try:
            lon, lat = float(r[0]), float(r[1])
        except ValueError:
            return None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
            return None
        if not all(
            _is_number(v.strip()) for i, v in enumerate(r[:11]) if i not in _AGL_TEXT
        ):
            return None
        if all(_is_number(r[i].strip()) for i in _AGL_TEXT if r[i].strip()) and all(
            r[i].strip() for i in _AGL_TEXT
        ):
            return None  # three numbers where field, load and grain names belong
    names = list(AGLEADER_TEXT_COLUMNS[:_AGL_FIXED])
    tail = list(range(_AGL_FIXED, n))
    if n == len(AGLEADER_TEXT_COLUMNS):
        return list(AGLEADER_TEXT_COLUMNS)

    def numeric(i: int) -> bool:
        vals = [r[i].strip() for r in body]
        return all(_is_number(v) or v.upper() in ("", "NA", "NAN") for v in vals)

    nums = [i for i in tail if numeric(i)]
    extra = {}
    if nums:
        extra[nums[-1]] = "ALTITUDE"
        for i, name in zip(nums[:-1], ("GPS", "PDOP"), strict=False):
            extra[i] = name
    texts = [i for i in tail if i not in extra]
    for k, i in enumerate(texts):
        extra[i] = "VARIETY" if k == 0 else f"EXTRA{i + 1}"
    return names + [extra.get(i, f"EXTRA{i + 1}") for i in tail]


@functools.lru_cache(maxsize=64)
def _looks_like_agleader_text(text: str) -> bool:
    """Whether *text* (a file's head) is headerless Ag Leader text, once per distinct text.

    Both delimited readers sniff the same head of a small file (see :func:`_delimiter`).
    """
    lines = [ln for ln in text.splitlines() if ln.strip()][:5]
    if not lines:
        return False
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # last line may be cut by the sniff window
    rows = [_split(ln, ",") for ln in lines]
    return _agleader_layout(rows) is not None


def _block_size(data: bytes) -> int:
    """A pyarrow block size that holds the longest line (so a huge line is one bad row)."""
    if 2 * len(data) <= 1 << 20:  # no line is longer than the data: the 1 MiB default
        return 1 << 20
    arr = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    bounds = np.concatenate(([-1], nl, [arr.size]))
    longest = int(np.max(np.diff(bounds))) if bounds.size > 1 else arr.size
    if longest > _MAX_LINE:
        raise ValueError(f"a line is {longest / 1e6:.0f} MB long")
    size = 1 << 20
    while size < 2 * longest:
        size <<= 1
    return size


#: text of up to this many characters may be split in Python (:func:`_split_small`)
_SMALL_TEXT = 1 << 16
#: line ends as pyarrow's CSV parser knows them (not ``str.splitlines``'s dozen)
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
#: cells pyarrow reads as null (``strings_can_be_null``: its default null values)
_NULL_CELLS = frozenset(pacsv.ConvertOptions().null_values)


def _split_small(
    text: str, delimiter: str, names: list[str], *, skip_header: bool
) -> tuple[pa.Table, int] | None:
    r"""What :func:`_read_text_table` gives for small text without quotes, split in Python.

    pyarrow's CSV reader costs a small file more than its cells (its set-up, about
    1 ms a file inside a batch). Text that cannot hold a quoted field (no ``"``) is
    lines and fields, as pyarrow reads them: a line ends at ``\r\n``, ``\r`` or
    ``\n``; an empty line is ignored; a line with another number of fields than
    *names* is skipped and counted; a cell that is one of pyarrow's null values
    (``""``, ``NA``, ``null`` …) is null. None (pyarrow reads it) for anything else:
    bigger text, a quote, a byte-order mark, an empty first line where a header is
    skipped, no record. ``tests/formats/test_small_split.py`` compares both on random
    text.
    """
    if len(text) > _SMALL_TEXT or '"' in text or text.startswith("\ufeff"):
        return None
    lines = _LINE_ENDS.split(text)
    if skip_header:
        if not lines[0]:
            return None  # where pyarrow's skipped row is depends on its lexer
        lines = lines[1:]
    width, bad, rows = len(names), 0, []
    for line in lines:
        if not line:
            continue
        fields = line.split(delimiter)
        if len(fields) == width:
            rows.append(fields)
        else:
            bad += 1
    if not rows:
        return None
    # every cell in one array, column after column; each column a slice of it
    n = len(rows)
    cells = pa.array(
        [
            None if v in _NULL_CELLS else v
            for col in zip(*rows, strict=True)
            for v in col
        ],
        pa.string(),
    )
    columns = [cells.slice(i * n, n) for i in range(width)]
    return pa.Table.from_arrays(columns, names=names), bad


def _read_text_table(
    text: str, delimiter: str, names: list[str], *, skip_header: bool
) -> tuple[pa.Table, int]:
    """Parse delimited *text*, every column as text → (table, bad lines)."""
    small = _split_small(text, delimiter, names, skip_header=skip_header)
    if small is not None:
        return small
    return _arrow_text_table(text, delimiter, names, skip_header=skip_header)


def _arrow_text_table(
    text: str, delimiter: str, names: list[str], *, skip_header: bool
) -> tuple[pa.Table, int]:
    """:func:`_read_text_table` by pyarrow's CSV reader."""
    bad = 0

    def handler(row):
        nonlocal bad
        bad += 1
        return "skip"

    data = text.encode("utf-8")
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1 if skip_header else 0,
            block_size=_block_size(data),
            # a small file parses faster on this thread than on the pool
            use_threads=len(data) > _SNIFF_BYTES * 128,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=handler
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    return table, bad


def _typed(
    table: pa.Table, keep_text: tuple[str, ...] = ()
) -> tuple[pa.Table, dict, list[str]]:
    """Read numeric text columns as float64 → (table, {column: (bad cells, examples)}, text).

    *text* names the columns found not numeric (:func:`infer_columns` need not look again).
    """
    bad: dict[str, tuple[int, list[str]]] = {}
    cols = []
    names = [n for n in table.schema.names if n not in keep_text]
    typed = dict(
        zip(names, coerce_numeric_columns([table[n] for n in names]), strict=True)
    )
    for name in table.schema.names:
        col = table[name]
        res = typed.get(name)
        if res is None:
            cols.append(col)
            continue
        cols.append(res.values)
        if res.unparseable:
            bad[name] = (res.unparseable, res.examples)
    text = [n for n in names if typed[n] is None]
    return pa.Table.from_arrays(cols, names=table.schema.names), bad, text


def _read_file(path: Path, reader: str) -> tuple[str, str]:
    try:
        return decode_text(path.read_bytes())
    except OSError as exc:
        raise CorruptFile(
            f"cannot read {path.name}: {exc}", path=path, reader=reader
        ) from exc


def _parse(
    text: str, delimiter: str, names: list[str], skip_header: bool, path, reader
):
    try:
        return _read_text_table(text, delimiter, names, skip_header=skip_header)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise CorruptFile(
            f"{path.name}: cannot parse as delimited text: {exc}",
            path=path,
            reader=reader,
        ) from exc


def _options(options: Mapping[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    options = dict(options or {})
    optype = (
        str(OperationType(options["operation_type"]))
        if options.get("operation_type")
        else None
    )
    return options, optype


def _hints(lon: np.ndarray, lat: np.ndarray) -> tuple[float | None, float | None]:
    ok = (
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    )
    if not ok.any():
        return None, None
    return exact_median(lon[ok]), exact_median(lat[ok])


@functools.lru_cache(maxsize=256)
def _header_match(header: tuple[str, ...]) -> ColumnMatch:
    """:func:`match_columns` of a header (names only), once per distinct header.

    Detection sniffs and describes every file of a batch, and the files of one
    monitor share their header. Callers only read the result.
    """
    return match_columns(list(header))


def _load_column(names: list[str]) -> str | None:
    for n in names:
        if normalise_key(n) in ("load", "loadid", "loadname"):
            return n
    return None


class _TextReader(Reader):
    """A reader of delimited text: read whole, or in runs of lines (:func:`text_ranges`)."""

    #: whether the text starts with a header line (repeated before each run of lines)
    header: ClassVar[bool] = True
    #: text split in Python, or by Arrow's CSV parser (bad input: an error, not a crash)
    in_process_safe: ClassVar[bool] = True

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        return self._read_text(path, *_read_file(path, self.name), options)

    def record_count(self, path: Path, part: str | None = None) -> int | None:
        return text_record_count(Path(path))

    def read_ranges(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
        rows: int,
    ) -> Iterator[RawRead]:
        path = Path(path)
        carry = RangeCarry()  # durations and held values run on across ranges
        return (
            self._read_text(path, *decode_text(data), options, carry)
            for data in text_ranges(path, rows, header=self.header)
        )

    def _read_text(
        self,
        path: Path,
        text: str,
        encoding: str,
        options: Mapping[str, Any] | None,
        carry: RangeCarry | None = None,
    ) -> RawRead:
        """The :class:`RawRead` of the file's decoded *text* (or of one range of it)."""
        raise NotImplementedError


class CsvReader(_TextReader):
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
            match = _header_match(tuple(header))
            if coords is None:
                return 0.3 if match.columns else 0.05
            if match.family not in (None, "generic") and match.recognised >= 3:
                return 0.85
            return 0.6 if match.columns else 0.4
        except Exception:
            return 0.0

    def explain(self, path: Path) -> str | None:
        try:
            text = _head(Path(path))
            header, first = _header_and_first(text, _delimiter(text))
        except OSError:
            return None
        if _coordinate_columns(header, first) is None:
            return (
                "no coordinate columns (looked for Longitude/Latitude, X/Y, "
                f"POINT_X/POINT_Y, Easting/Northing, WKT); header: {', '.join(header[:12])}"
            )
        return None

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        try:
            text = _head(Path(path))
            header, _ = _header_and_first(text, _delimiter(text))
            return _header_match(tuple(header)).facts(self.file_format)
        except Exception:
            return {"provider": None, "file_format": self.file_format}

    def _read_text(
        self,
        path: Path,
        text: str,
        encoding: str,
        options: Mapping[str, Any] | None,
        carry: RangeCarry | None = None,
    ) -> RawRead:
        """The :class:`RawRead` of the file's decoded *text* (or of one range of it)."""
        options, optype = _options(options)
        delim = _delimiter(text[:_SNIFF_BYTES])
        header, first = _header_and_first(text, delim)
        if not header or not any(header):
            raise CorruptFile(f"{path.name} is empty", path=path, reader=self.name)
        coords = _coordinate_columns(header, first)
        if coords is None:
            understood = match_columns(header).summary()
            raise CorruptFile(
                f"{path.name} has no coordinate columns (looked for Longitude/Latitude, "
                f"Lon/Lat, X/Y, POINT_X/POINT_Y, Easting/Northing or a WKT column); "
                f"found: {', '.join(header)}; columns understood: {understood}",
                path=path,
                reader=self.name,
            )
        names = dedupe_names(header)
        table, bad_lines = _parse(text, delim, names, True, path, self.name)
        keep = tuple(v for k, v in coords.items() if k == "wkt")
        table, bad_cells, text_columns = _typed(table, keep_text=keep)
        issues: list[str] = []
        meta: dict[str, Any] = {"encoding": encoding, "delimiter": delim}
        lon, lat, used = self._coordinates(
            table, coords, options, path, issues, meta, text_columns
        )
        lon_hint, lat_hint = _hints(lon, lat)
        match = infer_columns(
            table.schema.names,
            table=table,
            operation_type=optype,
            exclude=used,
            user_mapping=options.get("columnMapping"),
            lon_hint=lon_hint,
            lat_hint=lat_hint,
            text_columns=text_columns,
        )
        dur = next(
            (s for s, c in match.columns.items() if c.property == "samplingInterval"),
            None,
        ) or next(
            (
                n
                for n in table.schema.names
                if normalise_key(split_header_unit(n)[0]) in ("duration", "durations")
            ),
            None,
        )
        for col in used:
            bad_cells.pop(col, None)
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
            unparsed=bad_lines,
            bad_cells=bad_cells,
            load_column=_load_column(table.schema.names),
            carry=carry,
        )

    def _coordinates(self, table, coords, options, path, issues, meta, text=()):
        if "wkt" in coords:
            import shapely

            col = coords["wkt"]
            vals = table[col].cast(pa.string())
            clean = pc.replace_substring_regex(vals, r"^\s*SRID=\d+;", "")
            geoms = shapely.from_wkt(
                np.asarray(clean.to_numpy(zero_copy_only=False), dtype=object),
                on_invalid="ignore",
            )
            multi = shapely.get_type_id(geoms) == 4
            if multi.any():
                geoms = np.where(multi, shapely.centroid(geoms), geoms)
            x, y = shapely.get_x(geoms), shapely.get_y(geoms)
            used = [col]
        else:
            kx, ky = ("lon", "lat") if "lon" in coords else ("x", "y")
            x, y = numeric_array(table[coords[kx]]), numeric_array(table[coords[ky]])
            used = [coords[kx], coords[ky]]
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        crs = options.get("crs")
        if crs is not None:
            x, y, notes = to_wgs84(
                x, y, crs, name=path.name, reader=self.name, path=path
            )
            issues.extend(notes)
            meta["crs"] = str(crs)
            return x, y, used
        finite = np.isfinite(x) & np.isfinite(y)
        # named Longitude/Latitude: degrees by definition (out-of-range rows are skipped);
        # X/Y or WKT: degrees when most values fall in range
        in_range = (np.abs(x[finite]) <= 180) & (np.abs(y[finite]) <= 90)
        swapped = (np.abs(y[finite]) <= 180) & (np.abs(x[finite]) <= 90)
        degrees = "lon" in coords or (
            bool(finite.any())
            and max(float(in_range.mean()), float(swapped.mean())) >= 0.9
        )
        if not degrees:
            raise CorruptFile(
                f"{path.name}: coordinate columns {', '.join(used)} are not degrees and no "
                "CRS is known; pass options={'crs': 'EPSG:…'}",
                path=path,
                reader=self.name,
            )
        meta["crs"] = "EPSG:4326"
        if "lon" not in coords:
            issues.append(
                f"coordinates {', '.join(used)} look like degrees; read as WGS84"
            )
        if "wkt" not in coords:
            x, y, signs = _signed_by_hemisphere(table, coords, x, y, text)
            if signs:
                used = used + list(signs)
                issues.append(
                    "coordinate signs from the hemisphere letters in "
                    + " and ".join(f"{c} ({k})" for c, k in signs.items())
                )
        return x, y, used


class AgLeaderTextReader(_TextReader):
    """Ag Leader advanced-export text and the Yield Editor dialects (14–17 fields, no header)."""

    name: ClassVar[str] = "agleader_text"
    description: ClassVar[str] = (
        "Ag Leader advanced export / Yield Editor text (yield monitor, no header)"
    )
    url: ClassVar[str] = (
        "https://www.ars.usda.gov/research/software/download/?softwareid=370"
    )
    provider: ClassVar[str | None] = "AgLeader"
    file_format: ClassVar[str] = "AGLEADER_TEXT"
    header: ClassVar[bool] = False
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

    def _read_text(
        self,
        path: Path,
        text: str,
        encoding: str,
        options: Mapping[str, Any] | None,
        carry: RangeCarry | None = None,
    ) -> RawRead:
        """The :class:`RawRead` of the file's decoded *text* (or of one range of it)."""
        options, _ = _options(options)
        rows = [_split(ln, ",") for ln in _first_lines(text, 20)]
        names = _agleader_layout(rows)
        if names is None:
            raise CorruptFile(
                f"{path.name}: not Ag Leader advanced text (expected 14 to 17 comma-"
                "separated fields: longitude, latitude, flow, GPS time, interval, distance, "
                "swath, moisture, header status, pass, serial, field, load, grain …)",
                path=path,
                reader=self.name,
            )
        table, bad_lines = _parse(text, ",", names, False, path, self.name)
        table, bad_cells, text_columns = _typed(
            table, keep_text=("FIELD", "LOAD", "CROP", "VARIETY")
        )
        lon = numeric_array(table["LONGITUDE"])
        lat = numeric_array(table["LATITUDE"])
        lon_hint, lat_hint = _hints(lon, lat)
        match = infer_columns(
            table.schema.names,
            table=table,
            family="agleader",
            operation_type="harvested",
            exclude=("LONGITUDE", "LATITUDE"),
            user_mapping=options.get("columnMapping"),
            lon_hint=lon_hint,
            lat_hint=lat_hint,
            text_columns=text_columns,
        )
        layout = "Ag Leader advanced export" if len(names) == 17 else "Yield Editor"
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
                "layout": f"{layout} text, {len(names)} fields",
            },
            drop=("LONGITUDE", "LATITUDE"),
            unparsed=bad_lines,
            bad_cells=bad_cells,
            load_column="LOAD",
            carry=carry,
        )
        crops = distinct_values(rr.table["CROP"])
        if len(crops) == 1:
            rr.meta["crop"] = crops[0]
        return rr
