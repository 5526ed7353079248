"""Times of day in a few cells read in Python = Arrow's reading (issue 16, small files).

:func:`leafnb.formats.timeparse.looks_like_time_of_day` and ``_time_of_day_ms`` apply
their RE2 patterns in Python to small inputs (``SMALL_TIMES`` values); the decision and
every millisecond must be what Arrow's regex kernels give — RE2's ``\\s`` has no
``\\v``, its ``\\d`` no digit beyond ASCII, its ``$`` no final newline.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from leafnb.formats import timeparse

PIECES = ["0", "1", "7", "12", "23", "59", "007", "123", ":", ":", ":", ".", ".5", "05",
          " ", "\t", "\n", "\v", "\f", "\r", "\x1c", "AM", "pm", "Pm", "aM", "p", "m", "x",
          "٣", "é", "", "  ", "\n"]  # fmt: skip
VALID = ["8:04:24", "16:33", "4:05:01 PM", "12:00 am", " 07:5:9.25\t", "23:59:59.999",
         "0:00", "12:30:00PM", "1:2:3 AM ", "9:15:30.5 pm"]  # fmt: skip


def _cell(rng: random.Random) -> str | None:
    if rng.random() < 0.08:
        return None
    if rng.random() < 0.5:
        return rng.choice(VALID) + rng.choice(["", "", " ", "\n", "\v", "x", " PM"])
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 7)))


def _both(monkeypatch, fn, values):
    small = fn(values)
    with monkeypatch.context() as m:
        m.setattr(timeparse, "SMALL_TIMES", -1)  # Arrow's kernels
        arrow = fn(values)
    return small, arrow


def test_time_of_day_in_python_equals_arrow_on_random_cells(monkeypatch):
    rng = random.Random(16)
    decided = {True: 0, False: 0}
    for _ in range(600):
        cells = [_cell(rng) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.3:  # columns that are all times, as real ones
            cells = [rng.choice(VALID) if c is not None else None for c in cells]
        values = pa.array(cells, pa.string())
        small, arrow = _both(monkeypatch, timeparse.looks_like_time_of_day, values)
        assert small == arrow, cells
        decided[arrow] += 1
        small, arrow = _both(monkeypatch, timeparse._time_of_day_ms, values)
        assert small.dtype == arrow.dtype and np.array_equal(small, arrow), cells
    assert min(decided.values()) > 50  # both answers were exercised


@pytest.mark.parametrize(
    "cell",
    ["8:04:24\n", "8:04:24\v", "\v8:04", "8:04\nx", "٣:04", "8:04:24 PMx", "8:04 P M"],
)
def test_edges_of_the_two_regex_dialects(monkeypatch, cell):
    """Where Python's ``re`` and RE2 differ unless translated: ``\\v``, ``$``, digits."""
    values = pa.array([cell, "8:04"])
    for fn in (timeparse.looks_like_time_of_day, timeparse._time_of_day_ms):
        small, arrow = _both(monkeypatch, fn, values)
        assert np.array_equal(small, arrow), (cell, small, arrow)


def test_real_times_of_day_read_alike(monkeypatch, shared_data):
    """A real yield export's TimeStamp (CSIRO pyprecag, 14,756 rows), in the slices of a
    small file: Python's and Arrow's readings agree on every cell."""
    import pyarrow.csv as pacsv

    path = shared_data / "csv" / "csiro_pyprecag" / "area1_yield_ascii_wgs84.csv"
    times = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(column_types={"TimeStamp": pa.string()}),
    )["TimeStamp"]
    for start in range(0, len(times), timeparse.SMALL_TIMES):
        values = times.slice(start, timeparse.SMALL_TIMES)
        small, arrow = _both(monkeypatch, timeparse.looks_like_time_of_day, values)
        assert small is arrow is True
        small, arrow = _both(monkeypatch, timeparse._time_of_day_ms, values)
        assert np.array_equal(small, arrow) and (arrow >= 0).all()
