"""Small delimited text split in Python gives what pyarrow's CSV reader gives."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from leafnb.formats.delimited import (
    _SMALL_TEXT,
    _arrow_text_table,
    _read_text_table,
    _split_small,
)

#: cells chosen to hit pyarrow's null values, near misses, spaces and odd characters
_CELLS = ["1", "-2.5", "", "NA", "na", " NA", "NA ", "null", "NULL", "nan", "NaN",
          "#N/A", "n/a", "-", "Corn", "1,5", "x y", "é", "°C", "\t", " ", "0"]  # fmt: skip
_ENDS = ["\n", "\r\n", "\r"]


def _text(rng: random.Random, delimiter: str, width: int) -> str:
    lines = [delimiter.join(f"c{i}" for i in range(width))]
    for _ in range(rng.randint(0, 12)):
        roll = rng.random()
        if roll < 0.1:
            lines.append("")  # an empty line
        else:
            n = width if roll < 0.8 else rng.choice([1, width - 1, width + 1])
            cells = [rng.choice(_CELLS) for _ in range(max(n, 1))]
            lines.append(delimiter.join(c for c in cells if c != delimiter))
    end = rng.choice(_ENDS)
    text = end.join(lines)
    return text + (end if rng.random() < 0.7 else "")


@pytest.mark.parametrize("skip_header", [True, False])
def test_split_equals_pyarrow_on_random_text(skip_header):
    rng = random.Random(16)
    split = 0
    for _ in range(400):
        delimiter = rng.choice([",", ";", "\t", "|"])
        width = rng.randint(1, 5)
        text = _text(rng, delimiter, width)
        names = [f"c{i}" for i in range(width)]
        got = _split_small(text, delimiter, names, skip_header=skip_header)
        try:
            want = _arrow_text_table(text, delimiter, names, skip_header=skip_header)
        except pa.ArrowInvalid:  # a header and nothing else: pyarrow's error stays
            assert got is None, repr(text)
            continue
        if got is None:  # not for the Python split: no record, an empty first line
            assert want[0].num_rows == 0, repr(text)
            continue
        split += 1
        assert got[1] == want[1], repr(text)
        assert got[0].equals(want[0]), repr(text)
        assert got[0].schema == want[0].schema
    assert split > 200  # most of them took the Python split


def test_what_is_left_to_pyarrow():
    names = ["a", "b"]
    for text in (
        'a,b\n"1,5",2\n',  # quotes
        "\ufeffa,b\n1,2\n",  # a byte-order mark
        "\na,b\n1,2\n",  # an empty first line before the skipped header
        "a,b\n",  # no record
        "a,b\n" + "1,2\n" * (_SMALL_TEXT // 4),  # big
    ):
        assert _split_small(text, ",", names, skip_header=True) is None
        table, bad = _read_text_table(text, ",", names, skip_header=True)
        assert (table, bad) == _arrow_text_table(text, ",", names, skip_header=True)
