"""Time columns of tabular sources: what a time column's values mean, and the timestamp.

Rules:

Encoding of a numeric time column (:func:`classify_numeric_time`)
    - *epoch seconds*: at least 90 % of the values fall between 1990-01-01 and two days
      after now when read as Unix seconds (Ag Leader GPS time, ArcGIS ``Timestamp``);
    - *epoch milliseconds*: the same, read as milliseconds;
    - *seconds of day*: every value in [0, 86 400] (Yield Editor's GPS time of day), or
      increasing values that start within the first day (seconds since the first
      day's midnight, running past 86 400 after midnight);
    - *a date* written as the number YYYYMMDD (Trimble ``UTC_Date``);
    - *relative seconds*: a counter starting at 0, or anything else that mostly
      increases (seconds since an unknown start: logger counters, ``24538654``-style
      values).
    No year before 1990 or after today is a machine record; GPS week seconds and GPS
    epoch seconds cannot be told from Unix seconds by value (Ag Leader writes Unix
    seconds: checked on the ISU files, whose load labels carry the start time).
Strings
    ISO 8601 and ``yyyy/mm/dd`` parse as such; ``d/m/yyyy`` vs ``m/d/yyyy`` is decided
    by a value > 12 in either place, else month-first in the Americas (longitude west
    of 30°W) and day-first elsewhere; dotted ``d.m.yyyy`` is day-first (the European
    form); SMS ``yy/mm/dd-HH:MM:SS``. Times without a zone are
    read as UTC (said in the notes).
Building the timestamp (:func:`build_timestamp`), by preference
    a datetime column that carries times of day; epoch seconds/milliseconds; a date
    column plus a time-of-day column (text ``HH:MM:SS`` or seconds of day); the SMS
    ``Dataset`` start time plus the cumulative ``Duration_s``; a date from an Ag Leader
    load label (``L0:10/10/13-16:33:46``) plus seconds of day; a date alone (plus the
    cumulative duration). Times of day or relative seconds with no date anywhere give
    **no** timestamp — never a made-up date — and a note says so.
Plausibility
    Timestamps before 1990-01-01 or more than two days after now (``1900``, ``2999``,
    a zero date) are set to null, counted and reported; records are kept.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.formats.transforms import numeric_array

__all__ = [
    "EARLIEST_MS",
    "build_timestamp",
    "classify_numeric_time",
    "date_order",
    "latest_ms",
    "looks_like_time_of_day",
]

NAT = np.iinfo(np.int64).min
#: 1990-01-01T00:00:00Z: no yield monitor, planter or sprayer logs before this
EARLIEST_MS = 631_152_000_000
_DAY_MS = 86_400_000


def latest_ms() -> int:
    """Two days after now (ms): clock skew and time zones, never a future season."""
    return int(time.time() * 1000) + 2 * _DAY_MS


def classify_numeric_time(values: np.ndarray) -> str | None:
    """Say what a numeric time column holds: ``epoch_s``, ``epoch_ms``, ``seconds_of_day``, ``relative``.

    >>> classify_numeric_time(np.array([1192018211.0, 1192018214.0]))
    'epoch_s'
    >>> classify_numeric_time(np.array([59242.0, 59243.0]))
    'seconds_of_day'
    >>> classify_numeric_time(np.array([24538654.0, 24538655.0]))
    'relative'
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo_s, hi_s = EARLIEST_MS / 1000, latest_ms() / 1000
    if np.mean((v >= lo_s) & (v <= hi_s)) >= 0.9:
        return "epoch_s"
    if np.mean((v >= lo_s * 1000) & (v <= hi_s * 1000)) >= 0.9:
        return "epoch_ms"
    if _yyyymmdd(v).all():
        return "yyyymmdd"
    increasing = v.size < 2 or np.mean(np.diff(v) >= 0) >= 0.9
    # a counter that starts at 0 is time since the start of work, not a time of day
    if v[0] == 0 and increasing:
        return "relative"
    # seconds since midnight of the first day (may run past 86,400 across midnight)
    if v.min() >= 0 and (v.max() <= 86_400 or (v.min() < 86_400 and increasing)):
        return "seconds_of_day"
    if increasing:
        return "relative"
    return None


# minutes and seconds may be unpadded ("10:0:3", a 2019 TLG-to-CSV decoder)
def _yyyymmdd(v: np.ndarray) -> np.ndarray:
    """Which values are dates written as the number YYYYMMDD (1990-01-01 … 2100-12-31)."""
    with np.errstate(invalid="ignore"):
        whole = v == np.floor(v)
        month = (v // 100) % 100
        day = v % 100
        return (
            whole
            & (v >= 19_900_101)
            & (v <= 21_001_231)
            & (month >= 1)
            & (month <= 12)
            & (day >= 1)
            & (day <= 31)
        )


_TOD = re.compile(r"^\s*\d{1,2}:\d{1,2}(:\d{1,2}(\.\d+)?)?\s*([AaPp][Mm])?\s*$")
#: a time of day's parts (Arrow's ``extract_regex``: anchored at the start only)
_TOD_PARTS = r"^\s*(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2}(?:\.\d+)?))?\s*(?P<ap>[AaPp][Mm])?"
#: up to this many values, :data:`_TOD` and :data:`_TOD_PARTS` are applied in Python:
#: Arrow compiles a regex per kernel call, which costs a small file more than its cells
SMALL_TIMES = 4096


def _python_regex(pattern: str) -> re.Pattern[str]:
    r"""*pattern* (RE2, as Arrow runs it) for Python's ``re``, matching the same text.

    RE2's ``\d`` is ``[0-9]`` and its ``\s`` is ``[\t\n\f\r ]`` (no ``\v``, nothing
    beyond ASCII); RE2's ``$`` is the end of the text only (Python's also matches
    before a final newline), so a ``^…$`` pattern becomes a full match.
    """
    py = pattern.replace(r"\d", "[0-9]").replace(r"\s", r"[\t\n\f\r ]")
    return re.compile(py[:-1] if py.endswith("$") else py)


_TOD_PY = _python_regex(_TOD.pattern)
_TOD_PARTS_PY = _python_regex(_TOD_PARTS)


def looks_like_time_of_day(values: pa.Array | pa.ChunkedArray) -> bool:
    """True when text values are times of day (``8:04:24``, ``16:33``, ``4:05:01 PM``).

    >>> looks_like_time_of_day(pa.array(["8:04:24", None, " 4:05:01 PM"]))
    True
    >>> looks_like_time_of_day(pa.array(["8:04:24", "8.04"]))
    False
    """
    s = pc.cast(values, pa.string())
    # a few values: the same rule in Python (tests/formats/test_small_times.py)
    if len(s) <= SMALL_TIMES:
        cells = [v for v in s.to_pylist() if v is not None][:200]
        return bool(cells) and all(_TOD_PY.fullmatch(v) for v in cells)
    s = pc.drop_null(s)
    if len(s) == 0:
        return False
    sample = s.slice(0, 200)
    ok = pc.match_substring_regex(sample, _TOD.pattern)
    return bool(pc.all(ok).as_py())


def _parse_datetime_strings(
    values: pa.Array | pa.ChunkedArray, *, lon_hint: float | None
) -> np.ndarray:
    """Parse date/datetime strings to int64 ms since epoch (UTC; naive = UTC). NaT → NAT.

    Each distinct string is parsed once and the results are spread back over the rows
    (a date column, or SMS dataset labels, holds a few distinct values over
    thousands of rows; a parse per row would be a Python call per point).
    """
    enc, distinct = _distinct_text(values)
    parsed = _parse_distinct(distinct, lon_hint=lon_hint)
    codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False))
    if parsed.size == 0:
        return np.full(codes.size, NAT)
    return np.where(codes >= 0, parsed[codes], NAT)


def _distinct_text(
    values: pa.Array | pa.ChunkedArray,
) -> tuple[pa.DictionaryArray, list[str | None]]:
    """*values* dictionary-encoded as text, and the distinct strings trimmed.

    Trimmed once per distinct value (two that differ by spaces are parsed twice).
    """
    enc = pc.dictionary_encode(_as_text(values))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return enc, pc.utf8_trim_whitespace(enc.dictionary).to_pylist()


def _present(values: list[Any]) -> Any:
    """The non-blank strings of *values*, stripped, as a pandas Series (in order)."""
    import pandas as pd

    s = pd.Series(values, dtype="object").astype("string").str.strip().dropna()
    return s[s != ""]


def _as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """*values* as Arrow strings; other types as Python's ``str`` writes them."""
    t = values.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return pc.cast(values, pa.string())
    import pandas as pd

    text = pd.Series(values.to_pylist(), dtype="object").astype("string")
    return pa.array(text, pa.string())


def _parse_distinct(values: list[Any], *, lon_hint: float | None) -> np.ndarray:
    """Parse distinct, stripped strings (see :func:`_parse_datetime_strings`).

    A few distinct strings (a date column of a small file) are parsed once per
    process: the files of a batch repeat their dates, and a pandas parse costs
    milliseconds however short the list.
    """
    if len(values) <= 64 and all(v is None or isinstance(v, str) for v in values):
        # the longitude only counts for ambiguous month/day dates
        americas = lon_hint is not None and lon_hint < -30
        return _parse_few(tuple(values), americas)
    return _parse_many(values, lon_hint=lon_hint)


@functools.lru_cache(maxsize=1024)
def _parse_few(values: tuple[str | None, ...], americas: bool) -> np.ndarray:
    out = _parse_many(list(values), lon_hint=-90.0 if americas else None)
    out.flags.writeable = False  # shared by every caller
    return out


def _parse_many(values: list[Any], *, lon_hint: float | None) -> np.ndarray:
    # every value ISO 8601 (then none matches the patterns below: the mixed parse)
    iso = _iso_8601(values)
    if iso is not None:
        return iso
    import pandas as pd

    s = pd.Series(values, dtype="object").astype("string").str.strip()
    sample = _present(values)
    if sample.empty:
        return np.full(len(s), NAT)
    first = str(sample.iloc[0])
    kw: dict[str, Any] = {"errors": "coerce", "utc": True}
    if _SMS_STAMP.match(first):  # SMS 13/09/30-16:45:42
        kw["format"] = "%y/%m/%d-%H:%M:%S"
    elif re.match(
        r"^\d{1,2}\.\d{1,2}\.\d{2,4}", first
    ):  # 16.05.2012: European, day first
        kw["dayfirst"] = True
        kw["format"] = "mixed"
    elif _SLASH_DATE.match(first):
        kw["dayfirst"] = _slash_day_first(sample, lon_hint)
        kw["format"] = "mixed"
    else:
        kw["format"] = "mixed"
    try:
        ts = pd.to_datetime(s, **kw)
    except (ValueError, OverflowError):
        return np.full(len(s), NAT)
    out = ts.astype("datetime64[ms, UTC]").array.asi8
    return np.asarray(out, dtype="int64")


#: a date written d/m/y or m/y/d (which, the values or the region tell)
_SLASH_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}")
#: SMS's fixed ``yy/mm/dd-hh:mm:ss``
_SMS_STAMP = re.compile(r"^\d{2}/\d{2}/\d{2}-\d{2}:\d{2}:\d{2}")


def _slash_day_first(sample: Any, lon_hint: float | None) -> bool:
    """Whether slash dates (*sample*, a pandas Series of stripped strings) are day first.

    A first number above 12 says day first; a second above 12, month first; neither:
    month first in the Americas (*lon_hint* west of 30° W), day first elsewhere.
    """
    import pandas as pd

    parts = sample.str.extract(r"^(\d{1,2})/(\d{1,2})/")
    if (pd.to_numeric(parts[0], errors="coerce") > 12).any():
        return True
    if (pd.to_numeric(parts[1], errors="coerce") > 12).any():
        return False
    return not (lon_hint is not None and lon_hint < -30)


def date_order(
    values: pa.Array | pa.ChunkedArray, *, lon_hint: float | None
) -> str | None:
    """How the slash dates of a text column are read: ``"day first"`` or ``"month first"``.

    None when the column's first date is not a slash date (the order is then not a
    choice). The answer the parse makes (:func:`_parse_datetime_strings`): a file
    read in record ranges records it per range, so that a range without a day above
    12, read by the region's custom, cannot disagree silently with the others
    (:mod:`leafnb.pipeline.stream`).

    >>> date_order(pa.array(["05/03/2023", "13/03/2023"]), lon_hint=-47.9)
    'day first'
    >>> date_order(pa.array(["05/03/2023"]), lon_hint=-47.9)
    'month first'
    >>> date_order(pa.array(["2023-03-05"]), lon_hint=None) is None
    True
    """
    sample = _present(_distinct_text(values)[1])
    if sample.empty:
        return None
    first = str(sample.iloc[0])
    if _SMS_STAMP.match(first) or not _SLASH_DATE.match(first):
        return None
    return "day first" if _slash_day_first(sample, lon_hint) else "month first"


def _iso_8601(values: list[Any]) -> np.ndarray | None:
    """ISO 8601 strings parsed by Arrow, as ``pd.to_datetime(format="mixed", utc=True)`` would.

    pandas' mixed parse takes one string at a time (4 µs each: 0.4 s for the
    ``IsoTime`` column of a 100k-record John Deere shapefile); Arrow's ISO 8601 cast
    takes all at once. Only when every string is ISO 8601 at up to millisecond
    precision, all with a UTC offset or ``Z`` or all without (naive: read as UTC); any
    other list (a space around a value, an empty string, a date with one-digit fields,
    more decimals, a mixture) gives None and is parsed by pandas. Where both parse, they
    agree (``tests/formats/test_timeparse_iso.py``).

    >>> _iso_8601(["2023-06-21T17:00:00.000Z", "2023-06-21T19:00:01+02:00"])
    array([1687366800000, 1687366801000])
    >>> _iso_8601(["2023-06-21T17:00:00Z", "2023-06-21T17:00:01"]) is None
    True
    """
    try:
        head = pa.array(values[:64], pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    for unit in (pa.timestamp("ms", tz="UTC"), pa.timestamp("ms")):
        try:  # a few first: a failing cast makes a message for every failing cell
            pc.cast(head, unit)
            text = pa.array(values, pa.string()) if len(values) > len(head) else head
            ms = pc.cast(pc.cast(text, unit), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            continue
        out = ms.fill_null(NAT).to_numpy(zero_copy_only=False)
        return np.asarray(out, dtype="int64")
    return None


def to_ms(col: pa.ChunkedArray | pa.Array, *, lon_hint: float | None) -> np.ndarray:
    """Any date/datetime column → int64 ms since the Unix epoch (NAT where missing)."""
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            col = pc.assume_timezone(col.cast(pa.timestamp(t.unit)), "UTC")
        arr = col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        return np.asarray(arr.fill_null(NAT).to_numpy(zero_copy_only=False), "int64")
    if pa.types.is_date(t):
        v = col.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
        v = np.asarray(v, dtype="float64")
        return np.where(np.isnan(v), NAT, v * _DAY_MS).astype("int64")
    if pa.types.is_integer(t) or pa.types.is_floating(t):  # YYYYMMDD numbers
        v = numeric_array(col)
        ok = np.isfinite(v) & _yyyymmdd(np.nan_to_num(v))
        days = np.full(v.size, "NaT", dtype="datetime64[D]")
        y, m, d = (v[ok] // 10_000), (v[ok] // 100) % 100, v[ok] % 100
        text = np.char.add(
            np.char.add(y.astype(int).astype(str), "-"),
            np.char.add(
                np.char.add(np.char.zfill(m.astype(int).astype(str), 2), "-"),
                np.char.zfill(d.astype(int).astype(str), 2),
            ),
        )
        days[ok] = np.array(text, dtype="datetime64[D]")
        ms = days.astype("datetime64[ms]").astype("int64")
        return np.where(ok, ms, NAT)
    return _parse_datetime_strings(col, lon_hint=lon_hint)


def _seconds_to_ms(v: np.ndarray, scale: float = 1000.0) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(v), np.round(v * scale), NAT).astype("int64")


def _time_of_day_ms(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Times of day (text ``HH:MM[:SS[.f]] [AM|PM]`` or numeric seconds of day) → ms."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return _seconds_to_ms(numeric_array(col))
    s = pc.cast(col, pa.string())
    if len(s) <= SMALL_TIMES:
        h, m, sec, pm, am = _time_parts_small(s.to_pylist())
    else:
        h, m, sec, pm, am = _time_parts(s)
    h = np.where(pm & (h < 12), h + 12, np.where(am & (h == 12), 0, h))
    return _seconds_to_ms((h * 60 + m) * 60 + sec)


def _time_parts(s: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, ...]:
    """Hours, minutes, seconds (NaN: no time of day) and the PM and AM flags of text *s*."""
    parts = pc.extract_regex(s, _TOD_PARTS)
    # the parts are ASCII digits (RE2's \d), so a plain cast reads them (the numeric-text
    # rules of coerce_numeric cost a small file more than its values); the absent seconds
    # of "16:33" are "": "0" in front reads them as 0 (and "07" as "007"). A row that is
    # no time of day is null in every part.
    h, m, sec = (
        np.asarray(
            pc.cast(part, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64"
        )
        for part in (
            pc.struct_field(parts, "h"),
            pc.struct_field(parts, "m"),
            pc.binary_join_element_wise("0", pc.struct_field(parts, "s"), ""),
        )
    )
    ap = pc.utf8_lower(pc.struct_field(parts, "ap"))
    pm = np.asarray(pc.fill_null(pc.equal(ap, "pm"), False), dtype=bool)
    am = np.asarray(pc.fill_null(pc.equal(ap, "am"), False), dtype=bool)
    return h, m, sec, pm, am


def _time_parts_small(cells: list[str | None]) -> tuple[np.ndarray, ...]:
    """:func:`_time_parts` of a few cells, in Python (``float`` of ASCII digits is Arrow's cast)."""
    n = len(cells)
    h, m, sec = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    pm, am = np.zeros(n, bool), np.zeros(n, bool)
    for i, v in enumerate(cells):
        found = None if v is None else _TOD_PARTS_PY.match(v)
        if found is None:
            continue
        h[i], m[i] = float(found["h"]), float(found["m"])
        sec[i] = float("0" + (found["s"] or ""))
        ap = (found["ap"] or "").lower()
        pm[i], am[i] = ap == "pm", ap == "am"
    return h, m, sec, pm, am


def _load_label_days(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The date (ms at midnight) in Ag Leader load labels ``L0:10/10/13-16:33:46`` (yy/mm/dd)."""
    dates = pc.extract_regex(pc.cast(col, pa.string()), r"(?P<d>\d{2}/\d{2}/\d{2})-\d")
    text = pc.struct_field(dates, "d")
    ms = _parse_datetime_strings(
        pc.binary_join_element_wise(text, pa.scalar("-00:00:00"), ""), lon_hint=None
    )
    return np.where(ms == NAT, NAT, (ms // _DAY_MS) * _DAY_MS)


def _finish(ms: np.ndarray, notes: list[str], label: str) -> tuple[pa.Array, int]:
    """Null implausible years; return the timestamp array and how many were nulled."""
    valid = ms != NAT
    bad = valid & ((ms < EARLIEST_MS) | (ms > latest_ms()))
    n_bad = int(bad.sum())
    if n_bad:
        sample = int(ms[bad][0])
        year = np.datetime64(sample, "ms").astype("datetime64[Y]")
        notes.append(
            f"{n_bad} timestamps in {label} are outside 1990 to today "
            f"(e.g. year {year}); read as missing"
        )
        ms = np.where(bad, NAT, ms)
    mask = ms == NAT
    arr = pa.array(np.where(mask, 0, ms), pa.int64(), mask=mask).cast(
        pa.timestamp("ms", tz="UTC")
    )
    return arr, n_bad


def _cumulative_ms(
    table: pa.Table,
    duration_column: str | None,
    groups=None,
    carry: dict[str | None, float] | None = None,
):
    """Milliseconds each record is after the first of its group (SMS dataset), from durations.

    *carry* continues a file read in record ranges: ``{group: elapsed ms of its last
    record so far}``, read and updated, so a group's later records count on from the
    earlier ranges (whole milliseconds agree with reading the file whole).
    """
    if not duration_column or duration_column not in table.schema.names:
        return None
    dur = np.nan_to_num(numeric_array(table[duration_column])) * 1000.0
    if groups is None:
        offs = np.cumsum(dur)
        offs = offs - (offs[0] if offs.size else 0)
        if carry is not None and offs.size:
            if "" in carry:  # the first record of this range counts its own duration
                offs = offs + (carry[""] + dur[0])
            carry[""] = float(offs[-1])
        return np.round(offs).astype("int64")
    # within each group (SMS dataset): time elapsed since its first record
    codes = (
        groups  # encoded by the caller
        if pa.types.is_dictionary(groups.type)
        else pc.dictionary_encode(pc.cast(groups, pa.string())).combine_chunks()
    )
    idx = np.asarray(codes.indices.fill_null(-1).to_numpy(zero_copy_only=False))
    # records grouped by a stable sort (skipped when the groups come one after the other)
    order = None if np.all(idx[1:] >= idx[:-1]) else np.argsort(idx, kind="stable")
    g = idx if order is None else idx[order]
    c = np.cumsum(dur if order is None else dur[order])
    starts = np.r_[True, g[1:] != g[:-1]] if g.size else np.zeros(0, bool)
    base = np.maximum.accumulate(np.where(starts, np.arange(g.size), 0))
    rel = c - c[base]  # elapsed since the group's first record
    if carry is not None and g.size:
        d = dur if order is None else dur[order]
        names = codes.dictionary.to_pylist()
        first = np.flatnonzero(starts)
        last = np.r_[first[1:] - 1, g.size - 1]
        for a, b in zip(first, last, strict=True):
            key = names[g[a]] if g[a] >= 0 else None
            if key in carry:  # the group began in an earlier range
                rel[a : b + 1] += carry[key] + d[a]
            carry[key] = float(rel[b])
    out = rel
    if order is not None:
        out = np.empty_like(rel)
        out[order] = rel
    return np.round(out).astype("int64")


def build_timestamp(
    table: pa.Table,
    time_sources: Mapping[str, str],
    *,
    time_kinds: Mapping[str, str] | None = None,
    duration_column: str | None = None,
    lon_hint: float | None = None,
    load_column: str | None = None,
    carry: dict[str | None, float] | None = None,
) -> tuple[pa.Array | None, list[str], int]:
    """Build the ``timestamp[ms, UTC]`` column from the matched time sources.

    Parameters
    ----------
    table
        Source records.
    time_sources
        ``{kind: column}`` with kinds ``datetime``, ``epoch``, ``date``, ``time``,
        ``sms_dataset``, ``relative``.
    time_kinds
        ``{column: encoding}`` of numeric time columns (:func:`classify_numeric_time`).
    duration_column
        Per-record duration (s), used to space records within a dataset.
    lon_hint
        Median longitude (day/month order of ambiguous dates).
    load_column
        Ag Leader load label column (a date source for seconds of day).
    carry
        The elapsed durations of earlier record ranges of the same file (read and
        updated; see :func:`_cumulative_ms`).

    Returns
    -------
    (timestamps or None, notes, number of implausible timestamps set to null)
    """
    notes: list[str] = []
    kinds = dict(time_kinds or {})

    def col(kind):
        name = time_sources.get(kind)
        return None if name is None or name not in table.schema.names else table[name]

    def done(ms: np.ndarray, label: str):
        arr, n_bad = _finish(ms, notes, label)
        return arr, notes, n_bad

    dt = col("datetime")
    dt_ms = None
    if dt is not None and not (
        pa.types.is_integer(dt.type) or pa.types.is_floating(dt.type)
    ):
        dt_ms = to_ms(dt, lon_hint=lon_hint)
        valid = dt_ms[dt_ms != NAT]
        if valid.size and bool(np.any(valid % _DAY_MS != 0)):
            if not pa.types.is_timestamp(dt.type) or dt.type.tz is None:
                notes.append(
                    f"timestamps in {time_sources['datetime']!r} have no time zone; read as UTC"
                )
            return done(dt_ms, repr(time_sources["datetime"]))
    ep = col("epoch")
    if ep is not None:
        name = time_sources["epoch"]
        enc = kinds.get(name) or classify_numeric_time(numeric_array(ep))
        if enc in ("epoch_s", "epoch_ms"):
            scale = 1000.0 if enc == "epoch_s" else 1.0
            return done(_seconds_to_ms(numeric_array(ep), scale), repr(name))
    date = col("date")
    date_ms = to_ms(date, lon_hint=lon_hint) if date is not None else dt_ms
    date_label = time_sources.get("date") or time_sources.get("datetime")
    if date is not None and date_ms is not None:
        valid = date_ms[date_ms != NAT]
        if valid.size and np.any(valid % _DAY_MS != 0):  # a date column carrying times
            return done(date_ms, repr(date_label))
    tod_name = time_sources.get("time")
    if tod_name is None and ep is not None:
        enc = kinds.get(time_sources["epoch"]) or classify_numeric_time(
            numeric_array(ep)
        )
        if enc == "seconds_of_day":
            tod_name = time_sources["epoch"]
    tod = table[tod_name] if tod_name and tod_name in table.schema.names else None
    if date_ms is not None and tod is not None:
        t = _time_of_day_ms(tod)
        day = np.where(date_ms == NAT, NAT, (date_ms // _DAY_MS) * _DAY_MS)
        ms = np.where((day == NAT) | (t == NAT), NAT, day + t)
        notes.append("date and time-of-day columns have no time zone; read as UTC")
        return done(ms, f"{date_label!r} + {tod_name!r}")
    ds = col("sms_dataset")
    if ds is not None:
        labels = pc.cast(ds, pa.string())
        # the start time is the label without its "(...)" tail: cut once per label
        enc = pc.dictionary_encode(labels)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        per_label = _parse_datetime_strings(
            pc.replace_substring_regex(enc.dictionary, r"\s*\(.*$", ""),
            lon_hint=lon_hint,
        )
        codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        starts = (
            np.where(codes >= 0, per_label[codes], NAT)
            if per_label.size
            else np.full(codes.size, NAT)
        )
        if np.any(starts != NAT):
            offs = _cumulative_ms(table, duration_column, groups=enc, carry=carry)
            if offs is not None:
                ms = np.where(starts == NAT, NAT, starts + offs)
                notes.append(
                    "timestamps rebuilt from the SMS Dataset start time plus cumulative "
                    "Duration_s; local time read as UTC"
                )
            else:
                ms = starts
                notes.append(
                    "timestamps are the SMS Dataset start time; local time read as UTC"
                )
            return done(ms, repr(time_sources["sms_dataset"]))
    if tod is not None and load_column and load_column in table.schema.names:
        day = _load_label_days(table[load_column])
        if np.any(day != NAT):
            t = _time_of_day_ms(tod)
            ms = np.where((day == NAT) | (t == NAT), NAT, day + t)
            notes.append(
                f"dates from the load labels in {load_column!r} plus the seconds of day "
                f"in {tod_name!r}; read as UTC"
            )
            return done(ms, repr(tod_name))
    if date_ms is not None:
        offs = _cumulative_ms(table, duration_column, carry=carry)
        if offs is not None:
            ms = np.where(date_ms == NAT, NAT, date_ms + offs)
            notes.append(
                "only a date is recorded; records are spaced by the cumulative duration "
                "column from midnight UTC (time of day unknown)"
            )
            return done(ms, repr(date_label))
        notes.append("only a date is recorded; timestamps are midnight UTC")
        return done(date_ms, repr(date_label))
    if tod is not None:
        notes.append(
            f"{tod_name!r} holds times of day (0–86,400 s) and the file records no date: "
            "timestamps left empty"
        )
    elif ep is not None or col("relative") is not None:
        name = time_sources.get("epoch") or time_sources.get("relative")
        notes.append(
            f"{name!r} counts seconds from an unknown start (not Unix time, not a time of "
            "day): timestamps left empty"
        )
    return None, notes, 0
