"""A few ASCII text cells read as numbers in Python = Arrow's reading (issue 16, small files).

:func:`leafnb.formats.transforms._read_small` applies :func:`coerce_numeric`'s rules
in Python to small inputs; every decision (numeric or not, decimal comma, values to the
bit, unparseable count and examples in order) must be what Arrow's
:func:`~leafnb.formats.transforms._read_text` gives, and anything it cannot promise
(non-ASCII, exponents, long numbers) must be left to Arrow.
"""

from __future__ import annotations

import random
import struct

import pyarrow as pa

from leafnb.formats import transforms
from leafnb.formats.transforms import coerce_numeric_columns

CELLS = ["1", "-2.5", "+3", ".5", "5.", "-0", "-.0", "00012", "1,5", "-1,25", ",5",
         "3,", "1.234,5", "1,234.5", "", " ", "NA", "na", "N/A", "nan", "NaN", "null",
         "None", "#N/A", "nil", "-", "x", "12..5", "1 2", " 7 ", "\t8\n", "\x1c9\x1f",
         "Corn", "10/14/2023", "15:00:01", None, "inf", "-Infinity", "0x10", "1_000",
         "e5", "1.5e", "1d", "+.5", "-5."]  # fmt: skip
NUMBERS = ["1", "-2.5", "0.1", "7", "-7.25", "3.14159", "1,5", "2,75", "-0", None, ""]
LEFT_TO_ARROW = [
    "1e5",
    "2E-3",
    "1e999",
    "1e-400",
    "é",
    "٣",
    "1" * 31,
    "0." + "0" * 40 + "1",
]


def _bits(values: pa.Array) -> list:
    return [None if v is None else struct.pack("<d", v) for v in values.to_pylist()]


def _same(got, want) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g is None) == (w is None), (g, w)
        if g is None:
            continue
        assert g.values.type == w.values.type == pa.float64()
        assert _bits(g.values) == _bits(w.values)  # -0.0 and every bit
        assert (g.unparseable, g.examples, g.decimal_comma) == (
            w.unparseable,
            w.examples,
            w.decimal_comma,
        )


def test_python_rules_equal_arrow_on_random_columns():
    rng = random.Random(16)
    by_python = 0
    for _ in range(1500):
        arrays = []
        for _ in range(rng.randint(1, 5)):
            n = rng.randint(0, 12)
            pool = NUMBERS if rng.random() < 0.6 else CELLS
            cells = [rng.choice(pool) for _ in range(n)]
            if n and rng.random() < 0.3:
                cells[rng.randrange(n)] = rng.choice(CELLS)
            arrays.append(pa.array(cells, pa.string()))
        got = transforms._read_small(arrays)
        if got is None:
            continue
        by_python += 1
        _same(got, transforms._read_text(arrays))
    assert by_python > 1000


def test_what_python_cannot_promise_is_left_to_arrow():
    for cell in LEFT_TO_ARROW:
        column = pa.array(["1.25", cell, "3"])
        assert transforms._read_small([column]) is None, cell
        _same(transforms._read_texts([column]), transforms._read_text([column]))
    big = [pa.array(["1.5"] * (transforms.SMALL_CELLS + 1))]
    assert transforms._read_texts(big)[0].values.to_pylist() == [1.5] * len(big[0])


def test_a_small_files_columns_are_read_in_python(monkeypatch):
    called = []
    monkeypatch.setattr(transforms, "_read_text", lambda a: called.append(a))
    product = pa.array(["Corn"] * 10)
    speed = pa.array([f"{7 + i / 10:.1f}" for i in range(10)])
    moisture = pa.array(["16,8", "16,9", "-"] + ["17,0"] * 7)  # a decimal-comma export
    out = coerce_numeric_columns([product, speed, moisture])
    assert not called
    assert out[0] is None
    assert out[1].values.to_pylist()[:2] == [7.0, 7.1]
    assert out[2].decimal_comma and out[2].unparseable == 1 and out[2].examples == ["-"]
    assert out[2].values.to_pylist()[:3] == [16.8, 16.9, None]


def test_non_blank_text_in_python_equals_arrow():
    """Inference's text evidence: the cells without nulls and blanks, as Arrow keeps them."""
    import pyarrow.compute as pc

    from leafnb.formats.inference import _non_blank

    rng = random.Random(3)
    pool = [
        "Corn",
        " Corn ",
        "",
        " ",
        "\t",
        "\x1c",
        "\x1f\n",
        None,
        "15:00:01",
        "a b",
        "é",
        "\u3000",
    ]
    for _ in range(300):
        s = pa.array([rng.choice(pool) for _ in range(rng.randint(0, 8))], pa.string())
        arrow = pc.drop_null(s)
        want = arrow.filter(pc.not_equal(pc.utf8_trim_whitespace(arrow), ""))
        got = _non_blank(s)
        assert got.type == pa.string() and got.to_pylist() == want.to_pylist(), s
