"""A read's warnings are its own thread's (leafnb.pipeline.warned)."""

from __future__ import annotations

import threading
import warnings

import pytest

from leafnb.formats.registry import get_reader
from leafnb.pipeline.warned import warnings_of_this_thread
from leafnb.testing import make_points, write_as
from tests.pipeline.test_stream import assert_same_conversion, convert_in_ranges


def _warn_in_another_thread(message: str) -> None:
    t = threading.Thread(target=warnings.warn, args=(message, ResourceWarning))
    t.start()
    t.join()


def test_only_this_threads_warnings_are_recorded_the_others_shown():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with warnings_of_this_thread() as mine:
            warnings.warn("a bad cell", stacklevel=1)
            _warn_in_another_thread("unclosed file")
    assert mine == ["a bad cell"]
    assert [str(w.message) for w in shown] == ["unclosed file"]


def test_a_warning_seen_before_is_recorded_again_and_the_state_restored():
    filters, show = warnings.filters, warnings.showwarning

    def read() -> None:
        warnings.warn("3 records skipped", stacklevel=1)  # the same place each time

    got = []
    for _ in range(2):
        with warnings_of_this_thread() as mine:
            read()
        got.append(mine)
    assert got == [["3 records skipped"], ["3 records skipped"]]
    assert warnings.filters is filters and warnings.showwarning is show


def test_two_threads_record_at_once():
    """Thread A starts recording, B starts, A stops, B goes on: each has its own."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    got: dict[str, list[str]] = {}

    def a() -> None:
        with warnings_of_this_thread() as mine:
            warnings.warn("A1", stacklevel=1)
            a_in.set()
            b_in.wait()
            warnings.warn("A2", stacklevel=1)
        got["A"] = mine
        a_out.set()

    def b() -> None:
        a_in.wait()
        with warnings_of_this_thread() as mine:
            warnings.warn("B1", stacklevel=1)
            b_in.set()
            a_out.wait()
            warnings.warn("B2", stacklevel=1)  # after A's block: still recorded
        got["B"] = mine

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {"A": ["A1", "A2"], "B": ["B1", "B2"]}


def test_another_threads_warning_does_not_stop_a_ranged_conversion(
    tmp_path, monkeypatch
):
    """It was recorded with the range's warnings: the ranges "warned differently" and a
    big file was converted whole (10M records: 3.6 instead of 1.1 GB)."""
    path = write_as(make_points("harvested", 3000, seed=3), "geopackage", tmp_path)
    cls = type(get_reader("geopackage"))
    read_ranges = cls.read_ranges

    def noisy(self, *args, **kwargs):
        for k, raw in enumerate(read_ranges(self, *args, **kwargs)):
            if k % 2:
                _warn_in_another_thread(f"unclosed file {k}")
            yield raw

    whole = convert_in_ranges(
        path, "geopackage", tmp_path / "whole", 10**9, monkeypatch
    )
    monkeypatch.setattr(cls, "read_ranges", noisy)
    with pytest.warns(ResourceWarning):  # shown, as without the conversion
        ranged = convert_in_ranges(
            path, "geopackage", tmp_path / "ranged", 700, monkeypatch
        )
    assert ranged[2], "converted whole"
    assert not any("unclosed" in n for n in ranged[0].facts.get("notes", []))
    assert_same_conversion(ranged, whole)
