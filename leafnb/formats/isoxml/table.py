"""The raw table of one task: every logged value as a column, plus the modelled columns.

Columns
-------
* ``lon``, ``lat``, ``timestamp`` and, per PTN field of the logs, ``PTN_up`` (mm, mapped
  to elevation), ``PTN_status``, ``PTN_pdop``, ``PTN_hdop``, ``PTN_satellites``,
  ``PTN_gps_utc_time``, ``PTN_gps_utc_date``.
* One column per logged value (:mod:`.timelogs` channel), named ``DDI`` + the 4 hex
  digits of the DDI (``DDI0054`` is DDI 84); when a task logs a DDI on several device
  elements every such column gets the element id (``DDI0043_DET2``, non-alphanumerics
  removed), and PGN-based DLVs get ``_PGN<n>_<start>_<stop>``. Values are ``raw x
  resolution`` in the dictionary unit (``ddi.json``), filled forward; proprietary DDIs
  (>= 0xDFFF) stay raw and unmapped.
* ``delta_<column>``: per-record increments of running totals (:mod:`.totals`).
* ``agg_equipmentWidth``: the implement's width per record in mm — every width carrier
  of the working devices, working or not (Leaf's ``equipmentWidth`` is the implement
  width); ``agg_workingWidth``: the width of the carriers that work (:mod:`.devices`);
  ``recordingStatus``: ``On``/``Off``/null from the work of the width carriers
  (:mod:`.worktime`); ``agg_<property>``: a property read from several elements
  (:mod:`.properties`).
* ``area``: the increments of Total Area (DDI 116) when the task logs it, spread by the
  model (before its first written value: the model's area, ``agg_area``); else ``agg_area`` = step distance x working width (impossible steps excluded,
  :func:`leafnb.standard.area_yield.position_steps`), since only the device model knows
  which part of the implement works — the pipeline's ``distance x equipmentWidth``
  would count switched-off sections and rows.

The operation type (:mod:`.practice`) is decided before the mapping, because the rate
DDIs map to seed or application rates by operation type.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.formats.base import Column, NotRanged
from leafnb.formats.isoxml import ddi as D
from leafnb.formats.isoxml.devices import (
    WIDTH_DDIS,
    WIDTH_TYPES,
    offset_values,
    task_devices,
    width_carriers,
    width_values,
    working_devices,
    working_width,
)
from leafnb.formats.isoxml.practice import (
    ACTUAL_CULTURAL_PRACTICE,
    decide_operation_type,
)
from leafnb.formats.isoxml.properties import (
    EVIDENCE,
    RATES,
    SUMMED,
    all_sections,
    choose_channels,
    combine,
    dictionary_unit,
    property_ddis,
    rate_ratios,
    resolution_exponent,
)
from leafnb.formats.isoxml.totals import (
    AREA_LIKE,
    EFFECTIVE_DISTANCE,
    GROUND,
    RUNNING_TOTALS,
    TOTAL_AREA,
    increments,
)
from leafnb.formats.isoxml.worktime import (
    CONDENSED_WORK_STATES,
    OFF,
    ON,
    UNKNOWN,
    WORK_STATE,
    WorkStates,
    carrier_work,
)
from leafnb.standard.area_yield import MAX_SPEED, position_steps

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element as XmlElement

    from leafnb.formats.isoxml.devices import Device
    from leafnb.formats.isoxml.taskdata import Taskdata
    from leafnb.formats.isoxml.timelogs import Channel, TaskRecords

__all__ = ["AREA_MODEL", "WORK_DDIS", "TaskTable", "build_table", "column_names"]

#: PTN attribute -> (column, mapping)
PTN_COLUMNS = {
    "C": ("PTN_up", Column("elevation", "mm")),
    "D": ("PTN_status", None),
    "E": ("PTN_pdop", None),
    "F": ("PTN_hdop", None),
    "G": ("PTN_satellites", None),
    "H": ("PTN_gps_utc_time", None),
    "I": ("PTN_gps_utc_date", None),
}
#: ``facts["area"]`` when the area is the model's alone (no Total Area logged)
AREA_MODEL = "model: step distance x working width"
#: DDIs that show an element working: work states, widths, rates, yields
WORK_DDIS = frozenset({WORK_STATE, *CONDENSED_WORK_STATES, *WIDTH_DDIS, *EVIDENCE})


def _alnum(s: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", s)


def column_names(keys: list[tuple]) -> dict[tuple, str]:
    """Column name of each channel key (module docstring)."""
    per_ddi = Counter(k[0] for k in keys)
    names: dict[tuple, str] = {}
    used: set[str] = set()
    for key in keys:
        ddi, det, pgn, sb, eb = key
        name = f"DDI{ddi:04X}"
        if per_ddi[ddi] > 1 and det:
            name += "_" + _alnum(det)
        if pgn is not None:
            name += f"_PGN{pgn}_{sb}_{eb}"
        base, i = name, 2
        while name in used:
            name = f"{base}_{i}"
            i += 1
        used.add(name)
        names[key] = name
    return names


@dataclass
class TaskTable:
    """What :func:`build_table` produces."""

    table: pa.Table
    columns: dict[str, Column]
    operation_type: str | None
    #: metadata about how the model was applied (operation type source, width, devices)
    facts: dict[str, Any] = field(default_factory=dict)
    names: dict[tuple, str] = field(default_factory=dict)
    devices: list[Device] = field(default_factory=list)
    working: list[Device] = field(default_factory=list)


def build_table(
    td: Taskdata, task: XmlElement | None, records: TaskRecords
) -> TaskTable:
    """Build the raw table of *task* from its joined *records*."""
    names = column_names(list(records.channels))
    data: dict[str, Any] = {
        "lon": records.lon,
        "lat": records.lat,
        "timestamp": pa.array(records.time_ms, type=pa.int64()).cast(
            pa.timestamp("ms", tz="UTC")
        ),
    }
    columns: dict[str, Column] = {}
    for attr, (col, mapping) in PTN_COLUMNS.items():
        if attr in records.ptn:
            data[col] = records.ptn[attr]
            if mapping is not None:
                columns[col] = mapping
    for key, ch in records.channels.items():
        data[names[key]] = records.filled(ch, D.ddi_entry(key[0]).resolution)

    devices = task_devices(td, task, (ch.det for ch in records.channels.values()))
    working = working_devices(
        devices,
        (
            ch.det
            for ch in records.channels.values()
            if ch.ddi in WORK_DDIS and ch.written()
        ),
    )
    logged = {
        k[0] for k, ch in records.channels.items() if ch.written() or ch.header_values()
    }
    decision = _decide(td, task, records, working, logged)
    facts: dict[str, Any] = {
        "operation_type_source": decision.reason,
        "working_devices": [d.label() for d in working],
    }
    if len(records.groups) < len(records.logs):
        facts["parallel_logs"] = [g for g in records.groups if len(g) > 1]
    states = WorkStates(records)
    implement, width, status = _work_and_width(records, working, states, facts)
    if width is not None:
        data["agg_equipmentWidth"] = implement
        columns["agg_equipmentWidth"] = Column("equipmentWidth", "mm")
        data["agg_workingWidth"] = width
    if status is not None and (status != UNKNOWN).any():
        # On/Off taken from two strings: no Python string per record
        codes = pa.array(
            np.where(status == ON, 0, 1), pa.int32(), mask=status == UNKNOWN
        )
        data["recordingStatus"] = pc.take(pa.array(["On", "Off"], pa.string()), codes)
        columns["recordingStatus"] = Column("recordingStatus", None)
    _running_totals(
        td,
        records,
        working,
        decision.operation_type,
        width,
        status,
        names,
        data,
        columns,
        facts,
    )
    if decision.operation_type is not None:
        for prop, ddi in property_ddis(decision.operation_type, logged).items():
            chosen = choose_channels(records.by_ddi(ddi), td.devices, working)
            if not chosen:
                continue
            src = names[chosen[0].key]
            if len(chosen) > 1:
                src = f"agg_{prop}"
                data[src] = combine(
                    [data[names[c.key]] for c in chosen],
                    [td.devices.element(c.det) for c in chosen],
                    states,
                    records,
                    summed=ddi in SUMMED,
                )
            columns[src] = Column(prop, dictionary_unit(ddi, prop))
        _rescale_actual_rate(decision.operation_type, data, columns, facts, records)
        gaps = _missing_rate(decision.operation_type, logged, records, td, columns)
        if gaps:
            facts["column_mapping"] = {
                "family": "isoxml",
                "provider": None,
                "columns": {
                    src: {"property": c.property, "unit": c.unit}
                    for src, c in columns.items()
                    if src.startswith(("DDI", "agg_"))
                },
                "unused": gaps,
            }
    table = pa.table(
        {k: (v if isinstance(v, pa.Array) else pa.array(v)) for k, v in data.items()}
    )
    return TaskTable(
        table=table,
        columns=columns,
        operation_type=decision.operation_type,
        facts=facts,
        names=names,
        devices=devices,
        working=working,
    )


#: application running totals (ISO 11783-11: 80 volume, 81 mass, 82 count)
APPLICATION_TOTALS = (80, 81, 82)


def _missing_rate(optype, logged, records, td, columns) -> dict[str, str]:
    """Why a planting or application has no actual rate: what its logs hold instead.

    For the file's ``columnMapping`` and the failure message.
    """
    if optype not in RATES:
        return {}
    actual, _, families = RATES[optype]
    if any(c.property == actual for c in columns.values()):
        return {}
    out: dict[str, str] = {}
    for a, sp in families:
        if sp in logged and a not in logged:
            out[f"DDI {sp} ({D.ddi_entry(sp).name})"] = (
                f"a setpoint; its actual value DDI {a} is not logged"
            )
    for ddi in APPLICATION_TOTALS:
        for ch in records.by_ddi(ddi):
            if not ch.written():
                continue
            lo, hi = ch.value_range()
            out[channel_label(ch, td)] = (
                f"a running total that stays {lo:,.0f} over the log: nothing counted"
                if lo == hi
                else f"a running total ({lo:,.0f} to {hi:,.0f}), no per-area rate"
            )
    return out


def _rescale_actual_rate(optype, data, columns, facts, records) -> None:
    """Divide an actual rate written in another resolution than its setpoint's.

    See :mod:`.properties`, rule "Actual rate in another resolution".
    """
    if optype not in RATES:
        return
    actual, setpoint = RATES[optype][:2]
    src = {c.property: k for k, c in columns.items()}
    if actual not in src or setpoint not in src:
        return
    values = np.asarray(data[src[actual]], dtype=float)
    targets = np.asarray(data[src[setpoint]], dtype=float)
    if not records.ranged:
        k = resolution_exponent(values, targets)
    elif records.resolution is not None:  # the whole log's (:mod:`.ranges`)
        k = records.resolution
    elif records.ratios is not None:  # collecting the range's ratios for it
        lo, hi = records.core
        records.ratios.append(rate_ratios(values[lo:hi], targets[lo:hi]))
        return
    else:
        raise NotRanged(f"{actual} and {setpoint}: the resolution is the whole log's")
    if k == 0:
        return
    fixed = f"agg_{actual}" if not src[actual].startswith("agg_") else src[actual]
    data[fixed] = values / 10.0**k
    columns[fixed] = columns.pop(src[actual])
    facts["rate_resolution"] = (
        f"{actual} ({src[actual]}) is 10^{k} x {setpoint} ({src[setpoint]}): the "
        f"device writes it in another resolution; divided by 10^{k}"
    )


def _decide(td, task, records: TaskRecords, working, logged: set[int]):
    """The operation type (:mod:`.practice`) from the task and its logged values."""
    practice: dict[str, list[int]] = {}
    for ch in records.by_ddi(ACTUAL_CULTURAL_PRACTICE):
        if ch.det:
            practice.setdefault(ch.det, []).extend(int(v) for v in ch.all_values())
    counts: Counter[str] = Counter()
    for ch in records.channels.values():
        d = td.devices.device_of(ch.det)
        if d is not None:
            counts[d.id] += 1
    return decide_operation_type(
        td,
        task,
        working,
        practice_values=practice,
        channel_counts=counts,
        properties=[EVIDENCE[d] for d in logged if d in EVIDENCE],
    )


def _work_and_width(
    records: TaskRecords, working: list[Device], states: WorkStates, facts: dict
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Implement width and working width (mm), and the record status (ON/OFF/UNKNOWN).

    Over the working devices: the widest device's widths; On where any device works
    (:mod:`.devices`, :mod:`.worktime`). A device without width carriers gives its
    status from its root elements.
    """
    implements, widths, statuses, described = [], [], [], []
    for device in working:
        carriers = width_carriers(device, records)
        elements = [e for e, _ in carriers] or [
            e for e in device.elements if e.type in WIDTH_TYPES and e.depth == 0
        ]
        if not elements:
            continue
        on, status = carrier_work(np.vstack([states.work(e) for e in elements]))
        statuses.append(status)
        if not carriers:
            continue
        w = np.vstack([width_values(s, records) for _, s in carriers])
        offsets = [offset_values(e, records) for e, _ in carriers]
        union = all(o is not None for o in offsets)
        lateral = np.vstack(offsets) if union else None  # type: ignore[arg-type]
        widths.append(working_width(w, on, lateral))
        implements.append(working_width(w, np.ones_like(on), lateral))
        kinds = Counter(e.type_name for e, _ in carriers)
        sources = Counter(
            f"DDI {s.ddi} {'logged' if s.channel is not None else 'DPT'}"
            for _, s in carriers
        )
        described.append(
            f"{device.label()}: {', '.join(f'{v} {k}' for k, v in kinds.items())} at "
            f"depth {carriers[0][0].depth} ({', '.join(sources)}), "
            + ("union of lateral offsets" if union else "sum")
        )
    if described:
        facts["width"] = described
    width = np.maximum.reduce(widths) if widths else None
    implement = np.maximum.reduce(implements) if implements else None
    if not statuses:
        return implement, width, None
    stack = np.vstack(statuses)
    status = np.where(
        (stack == ON).any(axis=0),
        ON,
        np.where((stack != UNKNOWN).any(axis=0), OFF, UNKNOWN),
    ).astype(np.int8)
    return implement, width, status


def _running_totals(
    td, records, working, optype, width, status, names, data, columns, facts
) -> None:
    """``delta_`` columns of the running totals (:mod:`.totals`), spread by the model."""
    n = records.n
    step, bad = position_steps(
        records.lon,
        records.lat,
        records.time_ms / 1000.0,
        MAX_SPEED.get(optype) if optype else None,  # type: ignore[arg-type]
    )
    step = np.where(bad | ~records.steps_in_group() | np.isnan(step), 0.0, step)
    working_now = status != OFF if status is not None else np.ones(n, bool)
    weights = {
        "area": step * (width / 1000.0 if width is not None else 1.0) * working_now,
        "distance": step * working_now,
        "time": np.zeros(n),  # increments.py falls back to time
    }
    if width is not None and not choose_channels(
        records.by_ddi(TOTAL_AREA), td.devices, working
    ):
        data["agg_area"] = weights["area"]  # no Total Area logged: the model's own
        columns["agg_area"] = Column("area", "m**2")
        facts["area"] = AREA_MODEL
    for ddi, prop in RUNNING_TOTALS.items():
        chosen = choose_channels(records.by_ddi(ddi), td.devices, working)
        if not chosen:
            continue
        kind = (
            "area"
            if ddi in AREA_LIKE
            else "distance"
            if ddi == EFFECTIVE_DISTANCE
            else "time"
        )
        scale = D.ddi_entry(ddi).resolution
        cols = []
        for ch in chosen:
            cols.append("delta_" + names[ch.key])
            data[cols[-1]] = increments(records, ch, scale, weights[kind])
        if prop is None:
            continue
        src = cols[0]
        if len(cols) > 1:
            src = f"agg_{prop}"
            stack = np.vstack([data[c] for c in cols])
            if ddi in GROUND and not all_sections([c.det for c in chosen], td.devices):
                data[src] = np.fmax.reduce(stack)  # several bins over the same ground
            else:
                data[src] = np.where(
                    np.isnan(stack).all(axis=0), np.nan, np.nansum(stack, axis=0)
                )
        if ddi == TOTAL_AREA and width is not None and np.isnan(data[src]).any():
            # before the first written value: the model's area, not the pipeline's
            # distance x implement width (it would count switched-off sections)
            data["agg_area"] = np.where(np.isnan(data[src]), weights["area"], data[src])
            src = "agg_area"
            facts["area"] = "DDI 116, the model before its first value"
        elif ddi == TOTAL_AREA:
            facts["area"] = "DDI 116"
        columns[src] = Column(prop, D.ddi_entry(ddi).unit)


def channel_label(ch: Channel, td: Taskdata) -> str:
    """``DDI 397 (Actual Speed) on DET-1 'Tractor'`` for messages."""
    e = td.devices.element(ch.det)
    where = e.label() if e is not None else (ch.det or "no element")
    return f"DDI {ch.ddi} ({D.ddi_entry(ch.ddi).name}) on {where}"
