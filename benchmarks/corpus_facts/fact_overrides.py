"""Expectations that the generic recipes of ``independent.py`` get wrong, and why.

The generic ISOXML recipe expects each task's totals to equal the controller's own
``TIM`` figures and a task that worked to convert. For a few tasks the controller's
figure contradicts its own log, or the log cannot support the expectation; those
expectations are replaced here, each with the reason, so that regenerating the manifests
(``python benchmarks/corpus_facts/independent.py``) gives the same facts. Every value an
override states is still computed from the files (isoxml-js records and paths, TIM rows),
never from leafnb; the reason is written into the manifest entry (``"override"``).

Add an override only with a reason that names what in the file contradicts the generic
expectation, with numbers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Entry = dict[str, Any]


@dataclass(frozen=True)
class Override:
    """Replace the expectation of the entries whose ``match`` fits *match*."""

    match: str
    reason: str
    fix: Callable[[Entry, dict[str, Any]], Entry]


def _task(taskdata: dict[str, Any], entry: Entry) -> dict[str, Any]:
    task_id = entry["match"].split("#", 1)[1]
    return next(t for t in taskdata["tasks"] if t["id"] == task_id)


def _tim_mm(task: dict[str, Any], ddi: str) -> float:
    """The latest effective TIM value of *ddi* (mm) on the task's first carrier."""
    rows = [
        r for r in task["timTotals"] if r["ddi"] == ddi and r["type"] in (None, "4")
    ]
    rows.sort(key=lambda r: (r["start"] or "", r["tim"]))
    return float(rows[-1]["value"])


def _distance_is_path(entry: Entry, taskdata: dict[str, Any]) -> Entry:
    totals = entry.get("totals") or {}
    if "totalDistance" not in totals:
        return entry
    task = _task(taskdata, entry)
    path = round(sum(log["positions"]["pathKm"] for log in task["logs"]) * 1000)
    tim = totals["totalDistance"]["value"]
    det = totals["totalDistance"]["source"].split(" on ", 1)[1].split(" ")[0]
    effective = _tim_mm(task, "0075") / 1000
    totals["totalDistance"] = {
        "value": float(path),
        "unit": "m",
        "source": f"{task['id']}: isoxml-js path between positions over all records; "
        f"the controller's TIM DDI 117+118 on {det} (wheel/radar distance) is {tim:,.0f} m "
        f"(the path differs by {(path - tim) / tim:+.1%}), 117 effective alone {effective:,.0f} m",
    }
    return entry


def _planted_mass_from_flow(entry: Entry, taskdata: dict[str, Any]) -> Entry:
    task = _task(taskdata, entry)
    flows = [
        (log["name"], det.split("_", 1)[1], f)
        for log in task["logs"]
        for det, f in log["massFlowIntegralKg"].items()
        if det.startswith("applied_")
    ]
    (name, det, f), *_ = flows
    entry["totals"] = {
        "totalPlanted": {
            "value": round(f["forward"], 3),
            "unit": "kg",
            "tolerance": 0.02,
            "source": f"{task['id']}: Σ DDI 42 Actual Mass Per Time Application Rate [mg/s] "
            f"× Δt between isoxml-js records on {det} ({name}): {f['forward']:,.3f} kg "
            f"holding each value forward, {f['backward']:,.3f} kg backward",
        }
    }
    entry["note"] += (
        "; the controller's TIM DDI 81 (3 kg on DET-644) and the bin's Actual Mass Content "
        "DDI 75 (4,960 -> 4,956 kg) disagree with its own logged flow (DDI 42) and rate "
        "(DDI 7 x area, 18.3 kg): a bench test whose totals were not metered; the planted "
        "mass of a seeding by mass is totalPlanted in kg (Leaf's seedRate may be kg/ha)"
    )
    return entry


def _refuse_no_actual_seed_rate(entry: Entry, taskdata: dict[str, Any]) -> Entry:
    return {
        "match": entry["match"],
        "outcome": "refused",
        "refusal": ["ddi 12 is not logged"],
        "note": "bench task '20220919 Aussaat 25.77ha' on the Valoterra planter (device "
        "class 4): its log (TLG00003, 1,114 records) holds only setpoints — DDI 11 count "
        "per area (10 seeds/m2) and DDI 6 mass per area — and running totals: DDI 82 "
        "Application Total Count on the seed bin stays 404,686,267 at every record (the "
        "same value the TIMs of 3 tasks hold: a device counter), DDI 81 on the fertiliser "
        "bins rises; no actual seed rate and no seed counted, so a planting cannot be "
        "asserted (isoxml-js keys 000B/0006/0052 count,min,max). The TIM area 175,528 m2 "
        "is the task since its start: DDI 116 rises 156,493 -> 175,528 over this log "
        "(19,035 m2). The refusal must say which actual rate is missing",
    }


#: set name -> overrides of its expectations
OVERRIDES: dict[str, list[Override]] = {
    "shared_cci_forage_harvester_yield": [
        Override(
            "*#TSK*",
            "distance: the controller's Effective + Ineffective Total Distance (117 + 118) "
            "is its wheel/radar distance, not the positions: it differs from the isoxml-js "
            "path between the logged positions by -3.3 % to +5.0 % with both signs (TSK13 "
            "+5.0 %, TSK11 -3.3 %), so a converter's distance over all records is checked "
            "against the path and 117 + 118 stays in the source text",
            _distance_is_path,
        )
    ],
    "shared_cnh_pro1200_spreader_benchtest": [
        Override(
            "*#TSK-8",
            "the task worked by the generic test (rates and TIM area above 0), but its log "
            "holds no actual seed rate (DDI 12) and its only seed counter never moves: the "
            "right outcome is a refusal naming the missing actual rate",
            _refuse_no_actual_seed_rate,
        ),
        Override(
            "*#TSK-14",
            "the TIM's Application Total Mass (DDI 81, 3 kg) and the bin's mass content "
            "(DDI 75, -4 kg) contradict the logged mass flow DDI 42 and rate DDI 7 x area "
            "(both ~18 kg) on this bench test: the planted mass is checked against the "
            "integral of the logged flow (isoxml-js records)",
            _planted_mass_from_flow,
        ),
    ],
}


def apply(name: str, expect: list[Entry], facts: dict[str, Any]) -> list[Entry]:
    """*expect* of set *name* with its overrides applied (ISOXML sets: the first TASKDATA).

    Examples
    --------
    >>> apply("no such set", [{"match": "*#TSK1"}], {})
    [{'match': '*#TSK1'}]
    """
    overrides = OVERRIDES.get(name, [])
    if not overrides:
        return expect
    taskdata = facts["taskdata"][0]
    out = []
    for entry in expect:
        for o in overrides:
            if fnmatch.fnmatchcase(entry["match"], o.match):
                entry = o.fix(entry, taskdata) | {"override": o.reason}
        out.append(entry)
    return out
