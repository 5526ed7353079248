"""ISO 8601 date-times parsed by Arrow give what pandas' mixed parse gives (timeparse._iso_8601)."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.formats import timeparse

_TRICKY = [
    "2023-06-21T17:00:00.000Z",
    "2023-06-21T17:00:00.5Z",
    "2023-06-21T17:00:00.25+00:00",
    "2023-06-21 17:00:00+02:00",
    "2023-06-21T17:00Z",
    "2023-06-21T17:00:00+0530",
    "2023-06-21T17:00:00-05",
    "1969-12-31T23:59:59.999Z",
    "2000-02-29T00:00:00Z",
]
_NAIVE = [
    "2023-06-21T17:00:00",
    "2023-06-21 17:00",
    "2023-06-21",
    "1995-01-01T00:00:00.125",
]
#: lists Arrow does not take whole: pandas parses them (or not) as before
_REFUSED = [
    ["2023-06-21T17:00:00Z", "2023-06-21T17:00:01"],  # offset and naive mixed
    ["2023-06-21T17:00:00.0005Z"],  # finer than a millisecond
    [" 2023-06-21T17:00:00Z"],
    [""],
    ["2023-6-1T17:00:00Z"],
    ["20230621T170000Z"],
    ["2023-02-29T10:00:00Z"],
    ["2023-06-21T17:00:60Z"],
    ["June 21 2023 5pm"],
]


def _pandas(values: list, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    with monkeypatch.context() as m:
        m.setattr(timeparse, "_iso_8601", lambda values: None)
        return timeparse._parse_many(values, lon_hint=None)


def _random_iso(rng: np.random.Generator, n: int, offsets: bool) -> list[str | None]:
    base = np.datetime64("1990-01-01T00:00:00", "ms")
    ms = rng.integers(0, 40 * 365 * 86_400_000, n)
    out: list[str | None] = []
    for k, v in enumerate(ms):
        text = str(base + np.timedelta64(int(v), "ms"))  # 2001-02-03T04:05:06.789
        text = text[: [16, 19, 21, 22, 23][k % 5]]  # minutes .. milliseconds
        if k % 7 == 3:
            text = text.replace("T", " ")
        if offsets:
            h, m = divmod(int(rng.integers(-12 * 60, 14 * 60)), 60)
            text += ["Z", f"{'+' if h >= 0 else '-'}{abs(h):02d}:{m:02d}"][k % 2]
        out.append(None if k % 97 == 50 else text)
    return out


@pytest.mark.parametrize("values", [_TRICKY, _NAIVE, [*_TRICKY, None]])
def test_tricky_lists_as_pandas(values, monkeypatch):
    fast = timeparse._iso_8601(values)
    assert fast is not None
    np.testing.assert_array_equal(fast, _pandas(values, monkeypatch))


@pytest.mark.parametrize("offsets", [True, False])
def test_random_lists_as_pandas(offsets, monkeypatch):
    values = _random_iso(np.random.default_rng(7), 3000, offsets)
    fast = timeparse._iso_8601(values)
    assert fast is not None
    np.testing.assert_array_equal(fast, _pandas(values, monkeypatch))
    np.testing.assert_array_equal(timeparse._parse_many(values, lon_hint=None), fast)


@pytest.mark.parametrize("values", _REFUSED)
def test_refused_lists_go_to_pandas(values, monkeypatch):
    assert timeparse._iso_8601(values) is None
    np.testing.assert_array_equal(
        timeparse._parse_many(values, lon_hint=None), _pandas(values, monkeypatch)
    )
