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


def test_exact_median_is_numpys_bit_for_bit():
    from leafnb.formats.inference import exact_median

    rng = np.random.default_rng(7)
    special = np.array([np.inf, -np.inf, -0.0, 0.0, 1e308, -1e308, 5e-324])
    for n in [*range(1, 40), 4096, 4097]:
        for _ in range(5):
            v = rng.normal(0, 10.0 ** rng.integers(-3, 6), n)
            if rng.random() < 0.3:  # repeated, signed zeros, infinities
                v[rng.integers(0, n, max(1, n // 3))] = rng.choice(special)
            if rng.random() < 0.1:
                v[rng.integers(0, n)] = np.nan
            with np.errstate(over="ignore"):  # 1e308 as float32: inf
                v32 = v.astype(np.float32)
            for a in (v, v32):  # a Python sort (float64), and the partition
                with np.errstate(invalid="ignore", over="ignore"):
                    want = float(np.median(a))
                    got = exact_median(a)
                assert np.isnan(got) if np.isnan(want) else got == want, (n, a)
                assert np.signbit(got) == np.signbit(want) or np.isnan(want)
    for v in ([-0.0], [-0.0, -0.0], [1.0, -0.0, -0.0], [-np.inf, np.inf]):
        a = np.array(v)
        with np.errstate(invalid="ignore"):
            want, got = float(np.median(a)), exact_median(a)
        assert (np.isnan(got) and np.isnan(want)) or (
            got == want and np.signbit(got) == np.signbit(want)
        )


def test_head_sniffs_are_cached_per_text_and_not_shared(tmp_path):
    """A head's delimiter and Ag Leader verdict are its own: another text asks again."""
    from leafnb.formats.delimited import (
        AgLeaderTextReader,
        CsvReader,
        _delimiter,
        _delimiter_of,
        _looks_like_agleader_text,
    )

    heads = {
        "comma.csv": "Longitude,Latitude,Speed(mph)\n-93.6,42.0,3.1\n-93.6,42.0,3.2\n",
        "semi.csv": "Longitude;Latitude;Speed(km/h)\n10,5;52,1;5,0\n10,5;52,1;5,1\n",
        "tab.txt": "Longitude\tLatitude\tSpeed(mph)\n-93.6\t42.0\t3.1\n",
        "agl.txt": "".join(
            f"-93.6{i},42.0{i},20.1,1066573500,1,48,360,17.5,33,1,123,F1,L1,Corn\n"
            for i in range(4)
        ),
    }
    want = {"comma.csv": ",", "semi.csv": ";", "tab.txt": "\t", "agl.txt": ","}
    for _ in range(2):  # the second round from the cache
        for name, text in heads.items():
            lines = tuple(ln for ln in text.splitlines()[:5] if ln.strip())
            assert _delimiter(text) == _delimiter_of.__wrapped__(lines) == want[name]
            agl = _looks_like_agleader_text.__wrapped__(text)
            assert _looks_like_agleader_text(text) is agl is (name == "agl.txt")
    for name, text in heads.items():
        (tmp_path / name).write_text(text)
    # long first lines are not kept, and still read right
    wide = (
        ";".join(f"column{i}" for i in range(400)) + "\n" + ";".join("1" * 400) + "\n"
    )
    before = _delimiter_of.cache_info().currsize
    assert _delimiter(wide) == ";" and _delimiter_of.cache_info().currsize == before
    csv_reader, agl_reader = CsvReader(), AgLeaderTextReader()
    scores = {
        n: (csv_reader.sniff(tmp_path / n), agl_reader.sniff(tmp_path / n))
        for n in heads
    }
    assert scores["agl.txt"] == (0.05, 0.9)
    assert all(c >= 0.6 and a == 0.0 for n, (c, a) in scores.items() if n != "agl.txt")
    semi = csv_reader.read(tmp_path / "semi.csv")
    assert semi.meta["delimiter"] == ";"
    assert semi.table["lon"].to_pylist() == [10.5, 10.5]


#: caches whose keys are not what an upload holds (none, names of built-in readers or
#: filters, UTM zones): they cannot grow with what users send
_FIXED_KEYS = {
    "leafnb.clean.profiles._parameters",
    "leafnb.formats.columns.common_words",
    "leafnb.formats.isoxml.ddi.load_dictionary",
    "leafnb.formats.registry._builtin",
    "leafnb.formats.registry._plugins",
    "leafnb.formats.registry.list_readers",
    "leafnb.pages._hugepage_setter",
    "leafnb.standard.crops.list_crop_codes",
    "leafnb.standard.crops.list_crops",
    "leafnb.standard.summary._utm_transformers",
    "leafnb.store.artifacts._crs84_projjson",
    "leafnb.store.artifacts._crs84_text",
    "leafnb.store.runs.host_id",
}


def test_caches_keyed_by_what_uploads_hold_are_bounded():
    """A long-running process (the server, a notebook) meets every column name, unit
    and file ending its users send: a cache keyed by them keeps at most a bound."""
    import importlib
    import pkgutil

    import leafnb

    unbounded = set()
    for info in pkgutil.walk_packages(leafnb.__path__, "leafnb."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra's module
            continue
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if hasattr(value, "cache_parameters") and (
                value.cache_parameters()["maxsize"] is None
            ):
                unbounded.add(f"{module.__name__}.{name}")
    assert unbounded <= _FIXED_KEYS, unbounded - _FIXED_KEYS
