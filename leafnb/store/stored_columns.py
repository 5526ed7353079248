"""A points artifact's columns, read from the file when a step asks for one (issue 16).

A big file is converted in record ranges and its standard points are written range by
range (:class:`~leafnb.store.artifacts.PointsWriter`): they are never one table in
memory. The steps after — the filter's track, the summary's statistics and coverage,
the units map — read a point set one column at a time, so they get a
:class:`StoredColumns` in place of the ``pa.Table``: the same names, types and values
(a points artifact reads back exactly), read when first asked for. Memory holds the few
columns in use, not 23 columns of every point.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.store.artifacts import iter_points_tables

__all__ = ["StoredColumns"]


class StoredColumns:
    """The table of a points artifact, column by column: what steps use of ``pa.Table``.

    ``num_rows``, ``schema``, ``column_names``, ``column(name or index)`` and
    ``filter(mask)`` (the rows where *mask* holds, also read on demand); a column is
    read from *path* when asked for, and the last *cache* columns read are kept (a
    step asks whether a column has values, then for its values). One is enough: three
    cost 0.1 GB more in the filter step at 4M points and saved no reading. *schema* is the table's as it was
    written; a column read back with another type raises ``TypeError``.

    >>> import tempfile
    >>> from leafnb.store.artifacts import write_geoparquet
    >>> path = Path(tempfile.mkdtemp()) / "points.parquet"
    >>> table = pa.table({"lon": [1.0, 2.0], "lat": [3.0, 4.0], "v": [5.0, None]})
    >>> _ = write_geoparquet(path, table, {})
    >>> stored = StoredColumns(path, table.schema, table.num_rows)
    >>> stored.column("v").to_pylist(), stored.column(1).null_count, stored.num_rows
    ([5.0, None], 0, 2)
    >>> stored.filter(pa.array([False, True])).column("lon").to_pylist()
    [2.0]
    """

    def __init__(
        self,
        path: str | Path,
        schema: pa.Schema,
        num_rows: int,
        cache: int = 1,
        rows: pa.BooleanArray | None = None,
    ):
        self.path = Path(path)
        self.schema = schema
        self._rows = rows  # the rows of the file this table holds (None: all)
        self.num_rows = num_rows if rows is None else int(pc.sum(rows).as_py() or 0)
        self._cache: OrderedDict[str, pa.ChunkedArray] = OrderedDict()
        self._size = cache

    @property
    def column_names(self) -> list[str]:
        """The names of the columns, in table order."""
        return list(self.schema.names)

    @property
    def num_columns(self) -> int:
        """How many columns there are."""
        return len(self.schema)

    def column(self, i: int | str) -> pa.ChunkedArray:
        """Column *i* (a name or a position), as it was written."""
        name = self.schema.field(i).name
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        # row group by row group: a column rebuilt from others (``lon`` from the
        # point struct, a derived column from its inputs) holds one group's inputs at a
        # time, not the whole file's (the same values: the rebuilding is row by row)
        want = self.schema.field(name).type
        chunks = [
            chunk
            for table in iter_points_tables(self.path, columns=[name])
            for chunk in table.column(name).chunks
        ]
        for chunk in chunks:
            if chunk.type != want:
                raise TypeError(
                    f"{self.path.name}: column {name} reads back as {chunk.type}, "
                    f"was written as {want}"
                )
        column = pa.chunked_array(chunks, want)
        if self._rows is not None:
            column = column.filter(self._rows)
        self._cache[name] = column
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return column

    def filter(self, mask: pa.BooleanArray) -> StoredColumns:
        """The rows where *mask* (one value a row) is true, read when asked for."""
        if (
            self._rows is not None
        ):  # mask is over this table's rows: place it in the file's
            rows = np.zeros(len(self._rows), dtype=bool)
            rows[self._rows.to_numpy(zero_copy_only=False)] = mask.to_numpy(
                zero_copy_only=False
            )
            mask = pa.array(rows)
        return StoredColumns(
            self.path, self.schema, len(mask), cache=self._size, rows=mask
        )

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"StoredColumns({self.path.name}: {self.num_rows} rows, {self.num_columns} columns)"
