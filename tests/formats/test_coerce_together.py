"""Text columns of a small table read as numbers in one pass = column by column (issue 16).

:func:`leafnb.formats.transforms.coerce_numeric_columns` concatenates the text columns
of a small table and runs :func:`~leafnb.formats.transforms.coerce_numeric`'s rules once;
every per-column decision (numeric share, decimal comma, unparseable cells and their
examples) must come out as if each column had been read alone.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from leafnb.formats import transforms
from leafnb.formats.transforms import coerce_numeric, coerce_numeric_columns

CELLS = ["1.5", "2", "-3.25", "1e3", ".5", "7.", "+4", "1,5", "2,25", ",5", "-", "x",
         "12..5", "NA", "n/a", "", "  ", None, " 3.5 ", "NaN", "null", "1,5,6", "abc"]  # fmt: skip


def _same(a, b) -> None:
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.values.to_pylist() == b.values.to_pylist()
    assert a.values.type == b.values.type
    assert (a.unparseable, a.examples, a.decimal_comma) == (
        b.unparseable,
        b.examples,
        b.decimal_comma,
    )


def _columns(rng: np.random.Generator) -> list[pa.Array]:
    cols: list[pa.Array] = []
    for _ in range(int(rng.integers(2, 9))):
        n = int(rng.integers(0, 14))
        kind = rng.integers(0, 5)
        if kind == 0:  # numbers with a few bad or missing cells
            pool = ["1.5", "2", "-3.25", "4.75", "-", "NA", None, "x"]
            p = [0.3, 0.2, 0.2, 0.2, 0.03, 0.03, 0.02, 0.02]
        elif kind == 1:  # decimal commas
            pool, p = (
                ["1,5", "2,25", "3", "", None, "-"],
                [0.3, 0.3, 0.2, 0.1, 0.05, 0.05],
            )
        else:  # anything
            pool, p = CELLS, None
        cells = list(rng.choice(np.array(pool, dtype=object), size=n, p=p))
        arr = pa.array(cells, pa.string())
        cols.append(arr if rng.random() < 0.8 else pa.chunked_array([arr[:1], arr[1:]]))
        if rng.random() < 0.15:
            cols.append(pa.array(rng.random(n)))  # an already numeric column
    return cols


@pytest.mark.parametrize("seed", range(60))
def test_together_equals_column_by_column(seed):
    cols = _columns(np.random.default_rng(seed))
    together = coerce_numeric_columns(cols)
    assert len(together) == len(cols)
    for col, got in zip(cols, together, strict=True):
        _same(got, coerce_numeric(col))


def test_big_tables_go_column_by_column(monkeypatch):
    calls = []
    real = transforms.coerce_numeric
    monkeypatch.setattr(
        transforms, "coerce_numeric", lambda a: calls.append(len(a)) or real(a)
    )
    monkeypatch.setattr(transforms, "TOGETHER_CELLS", 10)
    cols = [pa.array(["1.5"] * 6), pa.array(["x"] * 6)]
    out = coerce_numeric_columns(cols)
    assert calls == [6, 6]
    assert out[0].values.to_pylist() == [1.5] * 6 and out[1] is None


def test_a_comma_column_next_to_a_dot_column_keeps_its_own_decimal_mark():
    dots = pa.array(["1.5", "2", "3", "4", "2,5"])  # a mixed column: the comma is bad
    commas = pa.array(["1,5", "2,5"])
    a, b = coerce_numeric_columns([dots, commas])
    assert a.values.to_pylist() == [1.5, 2.0, 3.0, 4.0, None] and a.examples == ["2,5"]
    assert b.values.to_pylist() == [1.5, 2.5] and b.decimal_comma
    _same(a, coerce_numeric(dots))
    _same(b, coerce_numeric(commas))
