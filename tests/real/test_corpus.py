"""The committed real data sets (tests/data) against facts established without leafnb (issue 13).

Each set's ``facts.json`` (written by ``benchmarks/corpus_facts/independent.py``) lists what
must hold: converted or refused, operation type, record count (isoxml-js / pandas), totals
(the task controller's TIM totals / sums over raw columns), working width. One test per
fact, so a fix flips exactly the facts it repairs. Facts that leafnb gets wrong today are
``xfail(strict=True)``: the suite stays green, and a fix makes the test pass — then
remove its entry from ``KNOWN_WRONG``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def _corpus_module():
    """benchmarks/corpus.py (not a package): the same checks as the benchmark table."""
    spec = importlib.util.spec_from_file_location(
        "corpus_bench", REPO / "benchmarks" / "corpus.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


corpus = _corpus_module()

# What leafnb gets wrong today (issue 13): (set, part, check) -> reason
KNOWN_WRONG: dict[tuple[str, str, str], str] = {}


def _part(exp: dict) -> str:
    return exp["match"].lstrip("*#") or "(all)"


def _cases():
    for manifest in sorted(DATA.glob("*/facts.json")):
        m = json.loads(manifest.read_text())
        for i, exp in enumerate(m["expect"]):
            for check in corpus.check_names(exp):
                key = (m["name"], _part(exp), check)
                marks = (
                    [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[key])]
                    if key in KNOWN_WRONG
                    else []
                )
                yield pytest.param(m["name"], i, check, id="-".join(key), marks=marks)


@cache
def _converted(name: str):
    (ds,) = [d for d in corpus.discover([], shared=None) if d.name == name]
    return ds, corpus.convert_both(ds)


@pytest.mark.parametrize(("name", "index", "check"), list(_cases()))
def test_real_set_fact(name, index, check):
    ds, (batch, default, totals_pass) = _converted(name)
    exp = ds.manifest["expect"][index]
    result = {c.name: c for c in corpus.checks(exp, batch, default, totals_pass)}[check]
    assert result.ok, f"{name} {_part(exp)} {check}: got {result.got}; {result.detail}"


def test_every_committed_set_is_documented():
    """Each tests/data set has a manifest and a SOURCES.md entry with its origin and licence."""
    sources = (DATA / "SOURCES.md").read_text()
    sets = sorted(p.name for p in DATA.iterdir() if p.is_dir())
    assert sets, "no committed real data sets"
    for name in sets:
        m = json.loads((DATA / name / "facts.json").read_text())
        assert m["name"] == name
        assert m["licence"].split()[0] in (
            "Apache-2.0",
            "MIT",
            "BSD-3-Clause",
            "CC-BY-4.0",
            "CC0-1.0",
        )
        assert f"## {name}" in sources and m["origin"]["commit"] in sources


def test_a_crashing_set_is_its_rows_not_the_run(monkeypatch):
    """A set whose conversion raises (e.g. a unit error in an operation merge) gives a
    ``failed`` row per expectation naming the error; the other sets still run."""
    sets = [
        corpus.DataSet(
            n, DATA, {"expect": [{"match": "*", "outcome": "converted"}]}, "x"
        )
        for n in ("boom", "fine")
    ]

    def convert_both(ds):
        if ds.name == "boom":
            raise ValueError(
                "Cannot convert from 'liter / hectare' to 'kilogram / hectare'"
            )
        return {}, [], []

    monkeypatch.setattr(corpus, "convert_both", convert_both)
    rows = corpus.run(sets, log=lambda *a, **k: None)
    assert [(r.dataset, r.verdict) for r in rows] == [
        ("boom", "failed"),
        ("fine", "failed"),
    ]
    assert rows[0].message.startswith("crashed: ValueError: Cannot convert")
    assert "crashed" not in rows[1].message
