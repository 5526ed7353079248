"""The committed corpus manifests are what ``benchmarks/corpus_facts/independent.py`` writes.

The expectations of an ISOXML manifest are a function of its facts (the generic recipe of
``independent.py``, then ``fact_overrides.py``); rebuilding them from the committed facts must
give the committed expectations, so regenerating the manifests never drops a reasoned
override (CNH TSK-8 / TSK-14, the CCI distance). Needs no data: the facts are committed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FACTS = REPO / "benchmarks" / "corpus_facts"


def _independent():
    sys.path.insert(0, str(FACTS))
    spec = importlib.util.spec_from_file_location(
        "corpus_independent", FACTS / "independent.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


independent = _independent()
ISOXML_SHARED = [n for n, s in independent.SHARED.items() if s["kind"] == "isoxml"]


@pytest.mark.parametrize("name", ISOXML_SHARED)
def test_shared_manifest_expectations_regenerate(name):
    committed = json.loads((FACTS / "shared" / f"{name}.json").read_text())
    spec = independent.SHARED[name]
    rebuilt = independent.fact_overrides.apply(
        name, spec["expect"](committed["facts"]), committed["facts"]
    )
    assert (
        json.loads(json.dumps(rebuilt, default=independent._json_default))
        == (committed["expect"])
    )


def test_overrides_name_known_sets_and_match_entries():
    """Every override names a set the generator knows and replaces at least one entry."""
    for name, overrides in independent.fact_overrides.OVERRIDES.items():
        assert name in independent.SHARED or name in independent.SETS, name
        committed = json.loads((FACTS / "shared" / f"{name}.json").read_text())
        for o in overrides:
            hit = [e for e in committed["expect"] if e.get("override") == o.reason]
            assert hit, f"{name}: override {o.match!r} changed no entry"
