"""Cell-level normalisation of tabular sources: numbers from text, crops, status codes.

Rules (each vectorised over the whole column; a few ASCII cells — a small file's —
are read by the same rules in Python, :func:`_read_small`, which Arrow's kernels
would cost more than the cells):

Numbers from text (:func:`coerce_numeric`)
    A text column is numeric when at least 80 % of its non-empty cells are numbers.
    Cells ``""``, ``NA``, ``N/A``, ``NaN``, ``null``, ``None`` are *missing* (null, not
    an error); any other cell that is not a number (``-``, ``n/a?``, ``12..5``) is
    *unparseable*: it becomes null and is counted, with examples, so the reader can say
    so. A column whose numbers all use a decimal comma (``1,5``) and none a decimal
    point is *comma-decimal* (European exports) and read as numbers; in a column
    that mixes both, the comma cells are unparseable.
Crops (:func:`normalise_crop`)
    Quotes and surrounding space stripped, lower-cased, spaces collapsed; a numeric
    crop (``174``, ``174.0``) becomes its integer text (``"174"``), kept as a code.
Header status (``agleader_status``)
    Ag Leader header status ("Marker data" of the advanced format): **bit 0** set =
    header down / logging = ``On``, clear = ``Off``. Exporters write 33/32, 1/0 or
    only 1 or 33; on the yieldcleanr Yield Editor samples the records with bit 0
    clear carry less than half the mean grain flow of the others (32: 3.2 vs 33:
    7.3 lb/s; 0: 2.6 vs 1: 13.3 lb/s), so bit 0, not bit 0x20, is the header.
On/Off (``on_off``)
    ``on/true/1/yes/in/down/recording`` → ``On``; ``off/false/0/no/out/up`` → ``Off``;
    other text kept.
Time-log columns (``fill``, ``increments``, ``work_state``; DDI-named CSV columns)
    A logged value holds until the next one (ISO 11783-10 time logs write a value
    only when it changes): gaps are filled forward. A running total becomes the
    per-record increment (first record 0; a decrease — a counter reset — counts 0).
    Work state (DDI 141): 1 = ``On``, 0 = ``Off``, 2 (error) and 3 (n/a) missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "MISSING_TOKENS",
    "NumericColumn",
    "apply_transform",
    "coerce_numeric",
    "coerce_numeric_columns",
    "distinct_values",
    "normalise_crop",
    "numeric_array",
]

#: cells that mean "no value" (null, not an error)
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "#n/a", "nil")

_DOT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_COMMA = r"^[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?$"
_DOT_FRACTION = r"^[+-]?\d*\.\d"
NUMERIC_SHARE = 0.8


@dataclass
class NumericColumn:
    """Result of :func:`coerce_numeric` for one text column."""

    values: pa.Array
    unparseable: int = 0
    examples: list[str] = field(default_factory=list)
    decimal_comma: bool = False


def coerce_numeric(arr: pa.Array | pa.ChunkedArray) -> NumericColumn | None:
    """Read a text column as float64, or return None when it is not a numeric column.

    >>> r = coerce_numeric(pa.array(["1.5", "-", "2", "3", "4", None, "NA"]))
    >>> r.values.to_pylist(), r.unparseable, r.examples
    ([1.5, None, 2.0, 3.0, 4.0, None, None], 1, ['-'])
    >>> coerce_numeric(pa.array(["1.5", "-", "x"])) is None  # under 80 % numbers: text
    True
    >>> coerce_numeric(pa.array(["1,5", "2,25", "3"])).values.to_pylist()
    [1.5, 2.25, 3.0]
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return NumericColumn(arr.cast(pa.float64()))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return _read_texts([arr])[0]


#: columns of up to this many cells in all are read together by
#: :func:`coerce_numeric_columns` (one pass of kernels instead of one per column)
TOGETHER_CELLS = 1 << 16


def coerce_numeric_columns(
    arrays: list[pa.Array | pa.ChunkedArray],
) -> list[NumericColumn | None]:
    """:func:`coerce_numeric` of several columns, the same result for each.

    A small file's per-column kernel calls cost more than its cells: the text
    columns of a small table (up to 65,536 cells in all) are read as one
    (:func:`_read_text`). Larger tables go column by column.

    >>> rs = coerce_numeric_columns([pa.array(["1,5", "2"]), pa.array(["a", "1.5"]),
    ...                              pa.array(["1.5", "-", "2", "3", "4"])])
    >>> [r.values.to_pylist() if r else None for r in rs]
    [[1.5, 2.0], None, [1.5, None, 2.0, 3.0, 4.0]]
    >>> rs[2].unparseable, rs[2].examples
    (1, ['-'])
    """
    arrays = [
        a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays
    ]
    text = [
        i
        for i, a in enumerate(arrays)
        if pa.types.is_string(a.type) or pa.types.is_large_string(a.type)
    ]
    cells = sum(len(arrays[i]) for i in text)
    if len(text) < 2 or cells > TOGETHER_CELLS:
        return [coerce_numeric(a) for a in arrays]
    out: list[NumericColumn | None] = [
        None if i in text else coerce_numeric(a) for i, a in enumerate(arrays)
    ]
    for i, read in zip(text, _read_texts([arrays[i] for i in text]), strict=True):
        out[i] = read
    return out


#: text columns of up to this many cells in all may be read in Python (:func:`_read_small`)
SMALL_CELLS = 4096
_MISSING = frozenset(MISSING_TOKENS)
#: :data:`_DOT`, :data:`_COMMA`, :data:`_DOT_FRACTION` for Python's ``re`` (``\d`` is
#: ASCII as in RE2; the first two are matched against the whole cell)
_DOT_RE = re.compile(_DOT[1:-1], re.ASCII)
_COMMA_RE = re.compile(_COMMA[1:-1], re.ASCII)
_DOT_FRACTION_RE = re.compile(_DOT_FRACTION[1:], re.ASCII)
#: a number Python's ``float`` and Arrow's cast read alike has no exponent and at most
#: this many characters (neither overflows nor underflows; both round correctly)
_PLAIN_LENGTH = 30


def _read_texts(arrays: list[pa.Array]) -> list[NumericColumn | None]:
    """:func:`_read_text`, in Python for a few cells (:func:`_read_small`)."""
    if sum(len(a) for a in arrays) <= SMALL_CELLS:
        small = _read_small(arrays)
        if small is not None:
            return small
    return _read_text(arrays)


def _read_small(arrays: list[pa.Array]) -> list[NumericColumn | None] | None:
    r""":func:`_read_text`'s result for a few ASCII cells, by the same rules in Python.

    A small file's text columns cost :func:`_read_text` two dozen Arrow kernel calls
    (20–70 µs each, a regex compiled per call) for a few hundred cells. For ASCII
    text the rules read the same in Python: Arrow's whitespace trim is ``str.strip``,
    ``utf8_lower`` is ``str.lower``, RE2's ``\d`` is ``re.ASCII``'s, and a number
    without an exponent is correctly rounded by both ``float`` and Arrow's cast. None
    (Arrow reads them) when a cell is not ASCII or a number has an exponent or more
    than :data:`_PLAIN_LENGTH` characters. ``tests/formats/test_small_numbers.py``
    compares both.
    """
    columns: list[list[str | None]] = []
    comma_anywhere = False
    for arr in arrays:
        cells = arr.to_pylist()
        for i, v in enumerate(cells):
            if v is not None:
                if not v.isascii():
                    return None
                cells[i] = v = v.strip()
                comma_anywhere = comma_anywhere or "," in v
        columns.append(cells)
    out: list[NumericColumn | None] = []
    for cells in columns:
        # as _read_text: the comma rules only when some cell holds a comma
        decimal_comma = comma_anywhere and _writes_decimal_comma(cells)
        numbers: list[str | None] = []  # a number's text, None for the other cells
        bad: list[str] = []
        n_present = 0
        for v in cells:
            m = None
            if v is not None:
                m = _DOT_RE.fullmatch(v) or (
                    _COMMA_RE.fullmatch(v) if decimal_comma else None
                )
            if m is not None:
                if m.group(2) is not None or len(v) > _PLAIN_LENGTH:  # type: ignore[arg-type]
                    return None  # Arrow's cast decides (an exponent, a long number)
                n_present += 1
            elif v is not None and v.lower() not in _MISSING:
                n_present += 1
                bad.append(v)
            numbers.append(None if m is None else v)
        n_ok = n_present - len(bad)
        if not (n_present > 0 and n_ok >= NUMERIC_SHARE * n_present):
            out.append(None)
            continue
        values = [
            None if t is None else float(t.replace(",", ".") if decimal_comma else t)
            for t in numbers
        ]
        out.append(
            NumericColumn(
                pa.array(values, pa.float64()),
                len(bad),
                list(dict.fromkeys(bad))[:3],  # first seen first, as pc.unique
                decimal_comma,
            )
        )
    return out


def _writes_decimal_comma(cells: list[str | None]) -> bool:
    """A column with a decimal-comma number and no decimal-point fraction (trimmed cells)."""
    return any(
        v is not None and _COMMA_RE.fullmatch(v) is not None for v in cells
    ) and not any(v is not None and _DOT_FRACTION_RE.match(v) for v in cells)


def _read_text(arrays: list[pa.Array]) -> list[NumericColumn | None]:
    """The rules of :func:`coerce_numeric` over text *arrays*, in one pass of kernels.

    The columns are read as one (concatenated when several); the counts that decide a
    column — its numeric share, whether it writes decimal commas — are taken per column.
    """
    joined = (
        arrays[0]
        if len(arrays) == 1
        else pa.concat_arrays(
            [a if a.type == pa.string() else a.cast(pa.string()) for a in arrays]
        )
    )
    s = pc.utf8_trim_whitespace(joined.cast(pa.string()))
    lengths = np.array([len(a) for a in arrays], dtype="int64")
    ends = np.cumsum(lengths)
    starts = ends - lengths
    if (plain := _all_numbers(s)) is not None:
        # every cell a number or null: a column is numeric when it has a value
        valid = plain.is_valid().to_numpy(zero_copy_only=False)
        c = np.concatenate(([0], np.cumsum(valid)))
        return [
            NumericColumn(plain.slice(int(start), int(n)))
            if c[end] > c[start]
            else None
            for start, n, end in zip(starts, lengths, ends, strict=True)
        ]

    def per_column(mask: pa.Array) -> np.ndarray:
        if len(arrays) == 1:  # one column: a sum, no per-cell array
            return np.array([pc.sum(mask).as_py() or 0], dtype="int64")
        c = np.concatenate(([0], np.cumsum(mask.to_numpy(zero_copy_only=False))))
        return c[ends] - c[starts]

    out: list[NumericColumn | None] = [None] * len(arrays)
    missing = pc.fill_null(
        pc.or_kleene(
            pc.is_null(s), pc.is_in(pc.utf8_lower(s), pa.array(MISSING_TOKENS))
        ),
        True,
    )
    present = pc.invert(missing)
    dot = pc.fill_null(pc.match_substring_regex(s, _DOT), False)
    n_present = per_column(present)
    # the comma rules only where a cell holds a comma (a regex costs a small file more
    # than its cells; a plain substring search does not)
    decimal_comma = np.zeros(len(arrays), dtype=bool)
    use_comma = None  # per cell: a decimal comma in a column that writes them
    if pc.any(pc.match_substring(s, ",")).as_py():
        comma = pc.fill_null(pc.match_substring_regex(s, _COMMA), False)
        dot_fraction = pc.fill_null(pc.match_substring_regex(s, _DOT_FRACTION), False)
        decimal_comma = (per_column(comma) > 0) & (per_column(dot_fraction) == 0)
        if decimal_comma.any():
            comma_col = (  # per cell: its column reads decimal commas
                pa.scalar(bool(decimal_comma[0]))
                if len(arrays) == 1
                else pa.array(np.repeat(decimal_comma, lengths))
            )
            use_comma = pc.and_(comma, comma_col)
    ok = dot if use_comma is None else pc.or_(dot, use_comma)
    n_ok = per_column(ok)
    numeric = (n_present > 0) & (n_ok >= NUMERIC_SHARE * n_present)
    if not numeric.any():
        return out
    text_values = (
        s
        if use_comma is None
        else pc.if_else(use_comma, pc.replace_substring(s, ",", "."), s)
    )
    values = pc.cast(
        pc.if_else(ok, text_values, pa.scalar(None, pa.string())), pa.float64()
    )
    bad = pc.and_(present, pc.invert(ok))
    n_bad = per_column(bad)
    for k in np.flatnonzero(numeric):
        start, n = int(starts[k]), int(lengths[k])
        examples: list[str] = []
        if n_bad[k]:
            examples = pc.unique(
                pc.filter(s.slice(start, n), bad.slice(start, n))
            ).to_pylist()[:3]
        out[k] = NumericColumn(
            values.slice(start, n), int(n_bad[k]), examples, bool(decimal_comma[k])
        )
    return out


#: cells :func:`_all_numbers` casts before the whole column
_PROBE = 64


def _all_numbers(s: pa.Array) -> pa.Array | None:
    """*s* (trimmed text) as float64 when every cell is a finite number or null, else None.

    Arrow's cast reads a cell as :data:`_DOT` does, but refuses the whole column at
    its first cell that is not a number (a missing token, a decimal comma, a word) —
    and accepts ``nan``/``inf`` spellings, which are missing or unparseable here: a
    column with such a cell, or one that fails, takes the cell-by-cell rules. The
    values are the cast the rules apply to the same cells, bit for bit.

    The first :data:`_PROBE` cells are cast first: Arrow's cast goes on through a
    column after a cell fails, making an error message for every failing cell (1 µs a
    cell: 0.1 s for a text column of 87k rows), so a column of words is refused on
    its first cells.
    """
    try:
        if len(s) > _PROBE:
            pc.cast(s.slice(0, _PROBE), pa.float64())
        values = pc.cast(s, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.all(pc.is_finite(values)).as_py() is False:
        return None
    return values


def normalise_crop(value: Any) -> str | None:
    """Normalise a crop value: strip quotes/space, lower-case; numeric codes as integer text.

    >>> normalise_crop('"SOYBEANS"'), normalise_crop(174.0), normalise_crop("  ")
    ('soybeans', '174', None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip().strip('"').strip("'").strip().lower()
    s = re.sub(r"\s+", " ", s)
    if re.fullmatch(r"[+-]?\d+\.0+", s):
        s = s.split(".")[0]
    return s or None


_ON = ("on", "true", "1", "1.0", "yes", "y", "in", "down", "recording", "logging")
_OFF = ("off", "false", "0", "0.0", "no", "n", "out", "up")


def _by_unique(arr: pa.Array, fn) -> pa.Array:
    """Apply a Python *fn* once per distinct value (vectorised by dictionary encoding)."""
    enc = (
        pc.dictionary_encode(arr).combine_chunks()
        if isinstance(arr, pa.ChunkedArray)
        else pc.dictionary_encode(arr)
    )
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, enc.indices)


#: transforms of logged values that hold until the next one (ISO 11783 time logs)
HELD = frozenset(("fill", "increments", "work_state"))


def apply_transform(
    arr: pa.Array | pa.ChunkedArray,
    how: str,
    held: dict[str, float] | None = None,
    key: str = "",
) -> pa.Array:
    """Apply a column-table transform (``crop``, ``agleader_status``, ``on_off``, ...).

    *held* (a file read in record ranges): ``held[key]`` is the value the records
    before *arr* left held (NaN: none yet; absent: *arr* starts the file), and is set
    to the value *arr* leaves held. A :data:`HELD` transform then gives what it gives
    for these records in the whole file.

    >>> held = {}
    >>> [apply_transform(pa.array(v), "increments", held, "t").to_pylist()
    ...  for v in ([5.0, None], [None, 9.0])]
    [[0.0, 0.0], [0.0, 4.0]]
    >>> apply_transform(pa.array([None, 9.0]), "fill", {"t": 5.0}, "t").to_pylist()
    [5.0, 9.0]
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if how in HELD and held is not None:
        logged = numeric_array(arr)
        before = held.get(key)
        finite = logged[np.isfinite(logged)]
        held[key] = (
            float(finite[-1]) if len(finite) else (np.nan if before is None else before)
        )
        if before is not None:  # the held value in front, as the record before
            out = apply_transform(pa.array(np.r_[before, logged]), how)
            return out.slice(1)
    if how == "crop":
        return _by_unique(arr, normalise_crop)
    if how == "agleader_status":
        v = coerce_numeric(arr.cast(pa.string()))
        if v is None:
            return pa.nulls(len(arr), pa.string())
        num = v.values.to_numpy(zero_copy_only=False)
        valid = np.isfinite(num)
        on = (np.where(valid, num, 0).astype("int64") & 1) != 0
        out = np.where(on, "On", "Off").astype(object)
        return pa.array(out, pa.string(), mask=~valid)
    if how in ("fill", "increments", "work_state"):
        logged = pa.array(numeric_array(arr), pa.float64(), from_pandas=True)
        filled = pc.fill_null_forward(logged)
        if how == "fill":
            return filled
        num = np.asarray(filled.to_numpy(zero_copy_only=False), dtype="float64")
        if how == "increments":
            inc = np.diff(num, prepend=num[0] if num.size else 0.0)
            return pa.array(np.where(np.isfinite(inc) & (inc > 0), inc, 0.0))
        state = np.where(num == 1, "On", np.where(num == 0, "Off", None))
        return pa.array(state.astype(object), pa.string())
    if how == "on_off":

        def on_off(v):
            s = str(v).strip().lower()
            if s in _ON:
                return "On"
            if s in _OFF:
                return "Off"
            return str(v)

        return _by_unique(arr.cast(pa.string()), on_off)
    raise ValueError(f"unknown transform {how!r}")


def numeric_array(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column as float64 numpy (text read with :func:`coerce_numeric`; other → NaN)."""
    res = coerce_numeric(arr)
    if res is None:
        return np.full(len(arr), np.nan)
    return np.asarray(res.values.to_numpy(zero_copy_only=False), dtype="float64")


def distinct_values(arr: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The distinct values of a column that are not null or empty, first seen first.

    One pass in Arrow (:func:`pyarrow.compute.unique`); only the distinct values become
    Python objects.

    >>> distinct_values(pa.array(["corn", None, "", "corn", "soybeans"]))
    ['corn', 'soybeans']
    """
    return [v for v in pc.unique(arr).drop_null().to_pylist() if v]
