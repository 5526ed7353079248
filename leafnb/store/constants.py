"""Columns with one value in every row, stored once in a points artifact's metadata.

A machine log repeats many values on every record: the operation type, the crop, the
variety, the machine's name, often the implement width or the logging interval. Written
as Parquet columns they cost nothing on disk but a hash of every row on write (a
million-record log spent 0.24 of its 0.8 s Parquet write on four such string columns
and a list of machine names) and a decode of every row on read. A column is
*constant* when every row holds the same value — bit for bit for floats (NaN payloads
and ``-0.0`` included), equal for other types, or every row null; the artifact then
stores its one value, with its exact Arrow type, as a one-row Arrow IPC stream in the
schema metadata, and reading rebuilds the column (:func:`rebuild`).

Lists are constant only when their items are of a flat type (strings, numbers…); a
struct, a nested list or a dictionary column is always stored.

>>> t = pa.table({"crop": ["corn"] * 3, "v": [1.0, 2.0, 3.0], "w": [None, None, None]})
>>> constant_columns(t)
['crop', 'w']
>>> columns = rebuild(pack(t.select(["crop", "w"])), 3)
>>> columns["crop"].to_pylist(), columns["w"].type
(['corn', 'corn', 'corn'], DataType(null))
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["constant_columns", "float_bits", "pack", "rebuild", "take_rows"]

#: rows compared first: a column that varies is told apart without a pass over it
_PROBES = 64


def take_rows(column: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``column.take(rows)`` for sorted, distinct *rows*, without joining its chunks first.

    Arrow's ``take`` of a chunked column concatenates every chunk before it takes
    (a million-row column read in 16 GDAL batches: an 8 MB copy to look at 64 rows);
    here each chunk gives its own rows.

    >>> column = pa.chunked_array([[1.0, 2.0], [3.0], [4.0, 5.0]])
    >>> take_rows(column, np.array([0, 2, 4])).to_pylist()
    [1.0, 3.0, 5.0]
    """
    if isinstance(column, pa.Array):
        return column.take(rows)
    if column.num_chunks == 1:
        return column.chunk(0).take(rows)
    lengths = [len(c) for c in column.chunks]
    starts = np.cumsum([0, *lengths])
    # the chunk of each row: rows sorted, so each chunk's rows are one run
    bounds = np.searchsorted(rows, starts)
    parts = [
        chunk.take(rows[a:b] - start)
        for chunk, start, a, b in zip(
            column.chunks, starts[:-1], bounds[:-1], bounds[1:], strict=True
        )
        if b > a
    ]
    if not parts:
        return pa.array([], column.type)
    return pa.concat_arrays(parts)


def _flat(type_: pa.DataType) -> bool:
    return not (
        pa.types.is_nested(type_)
        or pa.types.is_dictionary(type_)
        or isinstance(type_, pa.ExtensionType)
    )


def _all_equal(values: pa.Array, first: pa.Array) -> bool:
    """True when every row of *values* (no nulls) equals the one row of *first*.

    Floats bit for bit (a NaN payload, ``-0.0``), other types by Arrow's equality.
    """
    if values.null_count or first.null_count:
        return False
    if pa.types.is_floating(values.type):
        return bool(np.all(float_bits(values) == float_bits(first)[0]))
    return pc.all(pc.equal(values, first[0])).as_py() is True


def float_bits(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Float values (nulls as NaN) as unsigned integers of their width: equal bit for bit.

    >>> float_bits(pa.array([0.0, -0.0])).tolist()
    [0, 9223372036854775808]
    """
    floats = values.to_numpy(zero_copy_only=False)
    return floats.view(f"u{floats.dtype.itemsize}")


def _constant(column: pa.ChunkedArray) -> bool:
    n = len(column)
    if n == 0 or column.null_count == n:
        return n > 0
    if column.null_count:
        return False
    if n <= _PROBES and pa.types.is_floating(column.type):
        # what _all_equal does for a small float column (no probes: compared whole at
        # once), without its slices and type checks (a small file has a dozen of these)
        bits = float_bits(column)
        return bool((bits == bits[0]).all())
    if n > _PROBES and _flat(column.type):
        # the probed rows first, from the chunks as they are: a column that varies
        # (nearly every one) is told apart without joining them
        probed = take_rows(column, _probe_rows(n))
        if not _all_equal(probed, probed.slice(0, 1)):
            return False
    values = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    first = values.slice(0, 1)
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        if not _flat(values.type.value_type):
            return False
        lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
        if lengths.min() != lengths.max():
            return False
        head = pc.list_flatten(first)
        # item j of every list against item j of the first (no n x width index), on
        # the probed rows first
        return all(
            _all_equal(pc.list_element(rows, j), head.slice(j, 1))
            for rows in (*_probed(values), values)
            for j in range(len(head))
        )
    if not _flat(values.type):
        return False
    return _all_equal(values, first)  # (its probed rows agreed above)


def _probed(values: pa.Array) -> tuple[pa.Array, ...]:
    """:data:`_PROBES` rows of *values* spread over it (none for a small array)."""
    n = len(values)
    if n <= _PROBES:  # (a small table is compared whole at once)
        return ()
    return (values.take(_probe_rows(n)),)


def _probe_rows(n: int) -> np.ndarray:
    """:data:`_PROBES` distinct rows spread over *n* (sorted)."""
    return np.unique(np.linspace(0, n - 1, _PROBES).astype(np.int64))


def constant_columns(table: pa.Table, skip: Iterable[str] = ()) -> list[str]:
    """Names of the columns of *table* (not in *skip*) that hold one value in every row."""
    skip = set(skip)
    # by position: a Field object per column (``for f in table.schema``) costs more
    # than a small column's check
    return [
        name
        for i, name in enumerate(table.schema.names)
        if name not in skip and _constant(table.column(i))
    ]


def pack(table: pa.Table) -> str:
    """The first row of *table* (its constant columns), as text for the schema metadata."""
    sink = pa.BufferOutputStream()
    first = table.slice(0, 1).replace_schema_metadata(None)
    with pa.ipc.new_stream(sink, first.schema) as writer:
        writer.write_table(first)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def rebuild(packed: str, num_rows: int) -> dict[str, pa.Array]:
    """The columns :func:`pack` stored, *num_rows* long, their types exactly as written."""
    data = base64.b64decode(packed)
    row = pa.ipc.open_stream(pa.BufferReader(data)).read_all().combine_chunks()
    columns: dict[str, pa.Array] = {}
    for field, column in zip(row.schema, row.columns, strict=True):
        value = column.chunk(0) if column.num_chunks else pa.nulls(1, field.type)
        columns[field.name] = _repeat(value, num_rows)
    return columns


def _repeat(value: pa.Array, n: int) -> pa.Array:
    list_type = pa.types.is_list(value.type) or pa.types.is_large_list(value.type)
    if not list_type or value.null_count:
        return pa.repeat(value[0], n).cast(value.type)
    # pa.repeat builds a list scalar per row (0.9 s a million rows): offsets instead
    items = pc.list_flatten(value)
    width = len(items)
    offsets = np.arange(n + 1, dtype=np.int64) * width
    if pa.types.is_list(value.type):
        if offsets[-1] > np.iinfo(np.int32).max:
            return pa.repeat(value[0], n).cast(value.type)
        offsets = offsets.astype(np.int32)
    tiled = items.take(np.tile(np.arange(width), n))
    cls = pa.ListArray if pa.types.is_list(value.type) else pa.LargeListArray
    return cls.from_arrays(pa.array(offsets), tiled, type=value.type)
