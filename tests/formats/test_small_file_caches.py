"""Per-process caches that make a batch of small files cheap give what the uncached code gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from leafnb.formats import timeparse
from leafnb.formats.columns import split_header_unit
from leafnb.formats.delimited import _header_match
from leafnb.formats.inference import match_columns


def test_cached_date_parses_equal_uncached_ones_and_are_read_only():
    dates = ["03/04/2023", "03/05/2023", None]
    for lon in (-93.6, 10.0, None):
        cached = timeparse._parse_distinct(dates, lon_hint=lon)
        again = timeparse._parse_distinct(list(dates), lon_hint=lon)
        plain = timeparse._parse_many(dates, lon_hint=lon)
        assert np.array_equal(cached, plain) and np.array_equal(again, plain)
        assert not cached.flags.writeable
    # month first in the Americas, day first elsewhere (the cache keeps them apart)
    us = timeparse._parse_distinct(dates[:1], lon_hint=-93.6)[0]
    eu = timeparse._parse_distinct(dates[:1], lon_hint=10.0)[0]
    assert np.datetime64(int(us), "ms") == np.datetime64("2023-03-04")
    assert np.datetime64(int(eu), "ms") == np.datetime64("2023-04-03")
    # spread back over rows: the shared array is only read
    ms = timeparse._parse_datetime_strings(
        pa.array(["03/04/2023", "03/04/2023"]), lon_hint=-93.6
    )
    ms[0] = 0
    assert timeparse._parse_distinct(dates[:1], lon_hint=-93.6)[0] == us


def test_header_names_cached_with_unknown_units():
    assert split_header_unit("Flow(zorkles)") == ("Flow(zorkles)", None)
    assert split_header_unit("Flow(zorkles)") == ("Flow(zorkles)", None)
    assert split_header_unit("Speed(km/h)") == ("Speed", "km/h")


def test_header_match_is_match_columns():
    header = ("Longitude", "Latitude", "Yld Vol(Dry)(bu/ac)", "Moisture(%)", "Product")
    cached = _header_match(header)
    plain = match_columns(list(header))
    assert cached.record() == plain.record()
    assert cached.facts("CSV") == plain.facts("CSV")
    assert _header_match(header) is cached
