"""Running totals per record, and the totals the task controller recorded for the task.

ISO 11783-11 running totals — Yield Total Mass (DDI 90), Yield Total Volume (89), Total
Area (116), Effective / Ineffective Total Distance (117 / 118), Total Fuel Consumption
(148), Application Total Volume / Mass / Count (80 / 81 / 82) ... — are the machine's own
integrals, counted from the start of the task.

Rules
-----
* **Per-record increments** (:func:`increments`): the increase between two written values
  of a running total is spread over the records since the earlier value, in proportion
  to leafnb's model of the same quantity — area, yield mass and yield volume: step
  distance x working width (impossible steps excluded,
  :func:`leafnb.standard.area_yield.position_steps`); effective distance: step distance
  where the machine works; anything else: time. Where the model is 0 over an interval
  the increase is spread over time, and over the records where no time passes either.
  A total written at every record therefore gives each record its own difference, and a
  total written every 30 s no longer puts 30 s of area on one record; the sum is the
  machine's total either way. Up to and including a group's first written value the
  increment is NaN (what the record added is the difference to a value never written;
  the table fills it from the model, :mod:`.table`); a decrease (a counter reset) adds
  nothing.
* **Machine totals** (:func:`machine_totals`): the task's ``TIM`` DLV values, scaled.
  TIMs are snapshots of the running totals (Trimble writes one per logging session): for
  each DDI and element the last TIM that has it wins. Every value appears as
  ``DDIxxxx`` (``_<element>`` when the DDI is on several elements); the summary keys
  (``totalArea``, ``totalWetMass``, ``totalDistance``, ...) take the value of the element a
  property would be read from (:func:`.properties.choose_elements`): the working
  devices' topmost element that has it; several at that level add up when they are
  sections, and otherwise areas and distances take the largest (product bins over the
  same ground) while amounts add up.
* DDIs the logs write but no TIM has are added with ``"source": "TLG"``: for a running
  total (dictionary name with "Total", not "Lifetime") its increase over each group of
  logs, summed; for anything else its last value. The increase is what the controller
  reports as the task total: TLG00002 of the CCI set logs DDI 90 from 20 to 242,481 kg,
  an increase of 242,461 kg = its TIM total.
* **TIM and log disagree** (:func:`log_increases`). The TIM stays the task total (as
  isoxml-dotnet's ``TryGetTotalValue``, which reads the last effective TIM before the
  logs, and ADAPT ISOv4Plugin's ``TaskMapper``: "the last Time contains the
  comprehensive Task totals"), but a TIM is a snapshot: a log may run on after it, or
  start after the task began. When the logs write the same running total on the same
  element and its increase over the logs differs from the TIM by more than one count of
  the dictionary resolution (and rose at all), the increase is added as
  ``<TIM key>_TLG`` with ``"source": "TLG"``, so the difference is visible next to
  leafnb's own totals. The CNH sprayer task TSK-22 has TIM DDI 80 = 635 L, the value its
  log wrote at 692 s; the log runs on to 731 s, its counter rising to 685 L while the
  sprayer stands still (``DDI0050_TLG`` 685 L); its seeding task TSK-8 has TIM area
  175,528 m² since the task began, of which its log covers 19,035 m² (``DDI0074_TLG``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from leafnb.formats.isoxml import ddi as D
from leafnb.formats.isoxml.properties import all_sections, choose_elements

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element as XmlElement

    from leafnb.formats.isoxml.devices import Device, DeviceModel
    from leafnb.formats.isoxml.timelogs import Channel, TaskRecords

__all__ = [
    "AREA_LIKE",
    "GROUND",
    "RUNNING_TOTALS",
    "TOTAL_AREA",
    "increments",
    "is_running_total",
    "log_increases",
    "machine_totals",
]

#: running totals that become per-record increments -> standard property (None: kept
#: as a column to compare with, not mapped)
RUNNING_TOTALS: dict[int, str | None] = {
    89: "wetVolume",
    90: "wetMass",
    116: "area",
    117: None,
    148: "fuelUsed",
}
#: Total Area
TOTAL_AREA = 116
#: totals spread like area (distance x working width)
AREA_LIKE = frozenset({89, 90, TOTAL_AREA})
#: effective total distance: spread like distance where working
EFFECTIVE_DISTANCE = 117
#: totals over ground (several bins report the same ground: the largest counts)
GROUND = frozenset({116, 117, 118})


def _alnum(s: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", s)


def is_running_total(ddi: int) -> bool:
    """True when the dictionary calls *ddi* a total (not a lifetime total)."""
    name = D.ddi_entry(ddi).name.lower()
    return "total" in name and "lifetime" not in name


def increments(
    records: TaskRecords, channel: Channel, scale: float, weights: np.ndarray
) -> np.ndarray:
    """Per-record increments of a running total (module docstring, first rule).

    Examples
    --------
    >>> import numpy as np
    >>> from leafnb.formats.isoxml.timelogs import Channel, TaskRecords
    >>> ch = Channel((116, "DET-1", None, None, None), np.array([0, 4]), np.array([10, 18]))
    >>> recs = TaskRecords(np.arange(5) * 1000, np.zeros(5), np.zeros(5), {},
    ...                    np.array([0]), {ch.key: ch}, [], [])
    >>> increments(recs, ch, 1.0, np.array([0, 1.0, 1.0, 0, 2.0])).tolist()
    [nan, 2.0, 2.0, 0.0, 4.0]
    """
    n = records.n
    out = np.full(n, np.nan)
    rec = channel.rec
    if not len(rec):
        return out
    val = channel.val.astype(np.float64) * scale
    group = records.group_of(rec)
    starts = np.ones(len(rec), bool)
    starts[1:] = group[1:] != group[:-1]
    # after each group's first written value, increments are defined (0 by default)
    first_of_group = rec[starts] + 1
    ends = np.append(records.group_start[1:], n)[group[starts]]
    defined = np.zeros(n + 1, np.int64)
    np.add.at(defined, first_of_group, 1)
    np.add.at(defined, ends, -1)
    out[np.cumsum(defined[:-1]) > 0] = 0.0
    # intervals (rec[k-1], rec[k]] inside one group that carry an increase
    inner = ~starts[1:]
    lo, hi = rec[:-1][inner], rec[1:][inner]
    rise = np.clip(val[1:][inner] - val[:-1][inner], 0.0, None)
    keep = (rise > 0) & (hi > lo)
    lo, hi, rise = lo[keep], hi[keep], rise[keep]
    # an increase over one record (a total written every record) is all that record's
    one = hi - lo == 1
    out[hi[one]] += rise[one]
    lo, hi, rise = lo[~one], hi[~one], rise[~one]
    m = len(lo)
    if not m:
        return out
    lengths = hi - lo
    k = np.repeat(np.arange(m), lengths)
    r = (
        lo[k]
        + 1
        + np.arange(lengths.sum())
        - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    dt = np.zeros(n)
    dt[1:] = np.clip(np.diff(records.time_ms.astype(np.float64)), 0.0, None)
    share = np.zeros(len(r))
    pending = np.ones(m, bool)
    for w in (np.nan_to_num(np.clip(weights, 0.0, None)), dt, np.ones(n)):
        wr = np.where(pending[k], w[r], 0.0)
        total = np.bincount(k, weights=wr, minlength=m)
        now = pending & (total > 0)
        sel = now[k]
        share[sel] = wr[sel] / total[k[sel]]
        pending &= ~now
        if not pending.any():
            break
    out[r] += share * rise[k]
    return out


def _tim_key(ddi: int, det: str | None, several: bool) -> str:
    """``DDIxxxx``, with ``_<element>`` when the TIMs have the DDI on *several* elements."""
    return f"DDI{ddi:04X}" + ("_" + _alnum(det) if several and det else "")


def _unit(unit: str | None) -> str | None:
    return {"m**2": "m2", "m**3": "m3"}.get(unit, unit) if unit else None


def _tim_values(task: XmlElement) -> dict[tuple[int, str | None], float]:
    """(DDI, element) -> scaled value of the task's TIMs (the last TIM with it wins)."""
    out: dict[tuple[int, str | None], float] = {}
    for tim in task.findall("TIM"):
        for dlv in tim.findall("DLV"):
            try:
                ddi = int(dlv.get("A") or "", 16)
                raw = int(dlv.get("B") or "")
            except ValueError:
                continue
            out[(ddi, dlv.get("C"))] = raw * D.ddi_entry(ddi).resolution
    return out


def _summary(
    values: dict[str | None, float], ddi: int, model: DeviceModel, working: list[Device]
) -> float:
    chosen = choose_elements(values, model, working)
    picked = [values[t] for t in chosen]
    if ddi in GROUND and not all_sections(chosen, model):
        return max(picked)
    return float(sum(picked))


def group_increase(records: TaskRecords, channel: Channel, scale: float) -> float:
    """A running total's increase over each group of logs (last - first), summed."""
    if not len(channel.rec):
        return 0.0
    group = records.group_of(channel.rec)
    val = channel.val.astype(np.float64)
    first = np.ones(len(val), bool)
    first[1:] = group[1:] != group[:-1]
    last = np.ones(len(val), bool)
    last[:-1] = group[1:] != group[:-1]
    return float((val[last] - val[first]).sum() * scale)


def summary_key(ddi: int, operation_type: str | None) -> str | None:
    """The summary total a task total DDI is compared with.

    Application totals (80 volume, 81 mass, 82 count) are what was planted in a planting
    (an air cart meters seed by mass) and what was applied otherwise.

    Examples
    --------
    >>> summary_key(81, "planted"), summary_key(81, "applied"), summary_key(116, None)
    ('totalPlanted', 'totalApplied', 'totalArea')
    """
    if ddi in (80, 81, 82):
        return "totalPlanted" if operation_type == "planted" else "totalApplied"
    return D.TOTAL_KEYS.get(ddi)


def log_increases(
    records: TaskRecords,
    tim: dict[tuple[int, str | None], float],
) -> dict[str, dict[str, Any]]:
    """``<TIM key>_TLG`` rows where a logged running total's rise differs from its TIM.

    See the module docstring, rule "TIM and log disagree".

    Examples
    --------
    >>> import numpy as np
    >>> from leafnb.formats.isoxml.timelogs import Channel, TaskRecords
    >>> ch = Channel((80, "DET-1", None, None, None), np.array([0, 2, 4]),
    ...              np.array([0, 635, 685]))
    >>> recs = TaskRecords(np.arange(5) * 1000, np.zeros(5), np.zeros(5), {},
    ...                    np.array([0]), {ch.key: ch}, [], [])
    >>> log_increases(recs, {(80, "DET-1"): 635.0})
    {'DDI0050_TLG': {'value': 685.0, 'unit': 'L', 'source': 'TLG'}}
    """
    per_ddi = Counter(ddi for ddi, _ in tim)
    out: dict[str, dict[str, Any]] = {}
    for (ddi, det), value in tim.items():
        if not is_running_total(ddi):
            continue
        ch = records.channel(ddi, det)
        if ch is None or ch.key[2] is not None or not len(ch.val):
            continue
        entry = D.ddi_entry(ddi)
        increase = group_increase(records, ch, entry.resolution)
        if increase <= 0 or abs(increase - value) <= entry.resolution:
            continue  # agrees, or the log's counter never moved (nothing to add)
        out[_tim_key(ddi, det, per_ddi[ddi] > 1) + "_TLG"] = {
            "value": increase,
            "unit": _unit(entry.unit),
            "source": "TLG",
        }
    return out


def machine_totals(
    task: XmlElement,
    records: TaskRecords,
    names: dict[tuple, str],
    model: DeviceModel,
    working: list[Device],
    operation_type: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The task's machine totals (module docstring: TIM first, then TLG-only DDIs)."""
    totals: dict[str, dict[str, Any]] = {}
    tim = _tim_values(task)
    per_ddi: dict[int, dict[str | None, float]] = {}
    for (ddi, det), value in tim.items():
        per_ddi.setdefault(ddi, {})[det] = value
    # application totals in the order the rates are preferred (properties.RATES): a
    # planting counts seeds when it can, an application reads volume before mass
    first = (82, 81, 80) if operation_type == "planted" else (80, 81, 82)
    order = [d for d in first if d in per_ddi] + [d for d in per_ddi if d not in first]
    for ddi in order:
        values = per_ddi[ddi]
        unit = _unit(D.ddi_entry(ddi).unit)
        for det, value in values.items():
            totals[_tim_key(ddi, det, len(values) > 1)] = {"value": value, "unit": unit}
        summary = summary_key(ddi, operation_type)
        if summary:
            totals.setdefault(
                summary,
                {"value": _summary(values, ddi, model, working), "unit": unit},
            )
    totals.update(log_increases(records, tim))
    # DDIs the logs write that no TIM has
    for key, ch in records.channels.items():
        ddi = key[0]
        if ddi in per_ddi or not len(ch.val):
            continue
        entry = D.ddi_entry(ddi)
        if is_running_total(ddi):
            value = group_increase(records, ch, entry.resolution)
        else:
            value = float(ch.val[-1]) * entry.resolution
        name = f"DDI{ddi:04X}"
        if name in totals:
            name = names[key] if names[key] not in totals else names[key] + "_TLG"
        totals[name] = {"value": value, "unit": _unit(entry.unit), "source": "TLG"}
        summary = summary_key(ddi, operation_type)
        if summary and summary not in totals:
            totals[summary] = dict(totals[name])
    return totals
