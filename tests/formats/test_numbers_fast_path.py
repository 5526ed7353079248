"""A text column of numbers only is cast at once; the result is the cell-by-cell rules' (issue 16).

:func:`leafnb.formats.transforms._read_text` first tries Arrow's cast of the whole
column (:func:`~leafnb.formats.transforms._all_numbers`); whatever that accepts must
come out exactly as the cell-by-cell rules read it, and whatever the rules read
differently (missing tokens, ``nan``/``inf`` spellings, decimal commas, words) must
make the cast refuse.
"""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pytest

from leafnb.formats import transforms

TRICKY = ["1.5", "+4", "-.5", ".5", "7.", "1e3", "1E+05", "-2.5e-3", "0", "-0", "007",
          "1e999", "-1e999", "1e-400", "nan", "NaN", "inf", "-inf", "Infinity", "",
          "NA", "null", "1,5", "12..5", "0x10", "1_000", "e5", "1.5e", "٣", "1d",
          None]  # fmt: skip


def _rules(arrays, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(transforms, "_all_numbers", lambda s: None)
        return transforms._read_text(arrays)


def _bits(values: pa.Array) -> list:
    return [None if v is None else struct.pack("<d", v) for v in values.to_pylist()]


def _same(fast, slow) -> None:
    assert (fast is None) == (slow is None)
    if fast is None:
        return
    assert _bits(fast.values) == _bits(slow.values)  # -0.0 and every bit
    assert (fast.unparseable, fast.examples, fast.decimal_comma) == (
        slow.unparseable,
        slow.examples,
        slow.decimal_comma,
    )


@pytest.mark.parametrize("cell", TRICKY)
def test_each_cell_among_numbers_reads_as_the_rules_read_it(cell, monkeypatch):
    column = pa.array(["1.25", cell, "3", " 4.5 ", None, "6"] * 3)
    _same(transforms._read_text([column])[0], _rules([column], monkeypatch)[0])


def test_random_number_columns_and_mixtures(monkeypatch):
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        values = rng.normal(0, 10.0 ** rng.integers(-5, 8), n)
        cells = [
            f"{v:.{int(rng.integers(0, 9))}{rng.choice(['f', 'e', 'g'])}}"
            for v in values
        ]
        for i in rng.integers(0, n, int(rng.integers(0, 3))):
            cells[i] = rng.choice(TRICKY)
        arrays = [pa.array(cells), pa.array(cells[::-1])]
        fast, slow = transforms._read_text(arrays), _rules(arrays, monkeypatch)
        for f, s in zip(fast, slow, strict=True):
            _same(f, s)


def test_a_column_of_numbers_takes_the_cast(monkeypatch):
    called = []
    real = transforms._all_numbers
    monkeypatch.setattr(
        transforms, "_all_numbers", lambda s: called.append(1) or real(s)
    )
    out = transforms._read_text([pa.array(["1", "2.5", None]), pa.array(["3"])])
    assert called and [o.values.to_pylist() for o in out] == [[1.0, 2.5, None], [3.0]]
    assert transforms._all_numbers(pa.array(["1", "NA"])) is None
    assert transforms._all_numbers(pa.array(["1", "inf"])) is None
    assert transforms._all_numbers(pa.array([None, None], pa.string())) is not None
