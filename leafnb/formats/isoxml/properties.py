"""Which logged DDI becomes which standard property, per operation type, and from which element.

Rules
-----
* **Rates follow the operation type.** planted: ``seedRate``/``seedRateTarget`` from
  the first family the task logs (actual or setpoint) of count per area (DDIs 12/11),
  mass per area (7/6) — an air cart seeding by mass; Leaf's seed rate may be kg/ha — and
  volume per area (2/1); a setpoint never stands in for a missing actual value.
  applied: ``appliedRate``/``appliedRateTarget`` from volume (2/1), else mass (7/6) per
  area. harvested: 84 ``wetMassPerArea``, 83 ``wetVolumePerArea``, 87 mass flow, else 86
  volume flow, as ``cropFlow`` (integrated over time by
  :mod:`leafnb.standard.area_yield`), 99 ``harvestMoisture``, 406
  ``proteinPercentage``. tillage: 52/51 tillage depth. Any type: 57 ``seedDepth``, 397
  ``speed``.
* **Actual rate in another resolution.** An actual rate and its setpoint are the same
  quantity in the same dictionary unit, so over the records where both are above 0
  their ratio is near 1 (a sprayer may over- or under-apply a few times the setpoint,
  e.g. the AGCO/JD set: median 3.2). A median ratio within a factor 2 of 10**k for
  |k| >= 2 is not an application but a device that writes the actual value in another
  resolution than ISO 11783-11's (the CNH ECU-1224 of the Pro-1200 set writes DDI 2 in
  mm³/m², as its own DVP says — 0.01 L/ha per count — not in 0.01 mm³/m², while its
  setpoint DDI 1 follows the dictionary: 343.7 L/ha applied against 374 L/ha set,
  read 100x too small). The actual values are then divided by 10**k
  (:func:`resolution_exponent`) and the reader notes it; the setpoint, the rate the
  task controller commanded, is the reference.
* **No actual rate.** A planting or application whose logs hold a setpoint but not its
  actual value gets no rate (a setpoint is what was asked, not what was done); the
  reader records what the logs hold instead — the setpoints, and the application
  running totals (80/81/82) with whether they moved over the log — as the file's
  ``columnMapping``, so "missing required properties: seedRate" says why (the CNH
  Valoterra bench task logs DDI 11 only and a seed counter fixed at 404,686,267).
* **Element.** A property comes from the elements of the working devices that log it (of
  any device when none does, e.g. the tractor's speed), and among those from the topmost
  level of the tree — a boom's rate rather than its rows' — preferring other elements to
  bins. Several elements at that level: flows are summed; everything else is the mean
  over the elements that work at the record (all of them where none does), weighted by
  their widths when each has one.
* **Running totals** (:mod:`.totals`) are read from the elements chosen the same way.
* Proprietary DDIs (``>= 0xDFFF``) are never mapped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from leafnb.formats.isoxml import ddi as D
from leafnb.formats.isoxml.devices import BIN, SECTION, UNIT, width_source, width_values

if TYPE_CHECKING:
    from leafnb.formats.isoxml.devices import Device, DeviceModel, Element
    from leafnb.formats.isoxml.timelogs import Channel, TaskRecords
    from leafnb.formats.isoxml.worktime import WorkStates

__all__ = [
    "EVIDENCE",
    "SUMMED",
    "all_sections",
    "choose_channels",
    "choose_elements",
    "combine",
    "dictionary_unit",
    "property_ddis",
    "rate_ratios",
    "ratio_exponent",
    "resolution_exponent",
]

#: rate families per operation type: (actual property, setpoint property, families of
#: (actual DDI, setpoint DDI) in order of preference)
RATES: dict[str, tuple[str, str, tuple[tuple[int, int], ...]]] = {
    "planted": ("seedRate", "seedRateTarget", ((12, 11), (7, 6), (2, 1))),
    "applied": ("appliedRate", "appliedRateTarget", ((2, 1), (7, 6))),
}
#: other properties: property -> DDIs in order of preference (the first logged wins)
OTHERS: dict[str, dict[str, tuple[int, ...]]] = {
    "harvested": {
        "wetMassPerArea": (84,),
        "wetVolumePerArea": (83,),
        "cropFlow": (87, 86),
        "harvestMoisture": (99,),
        "proteinPercentage": (406,),
    },
    "tillage": {"tillageDepthActual": (52,), "tillageDepthTarget": (51,)},
    "planted": {"seedDepth": (57,)},
    "*": {"speed": (397,)},
}
#: DDIs whose values add up over elements (flows)
SUMMED = frozenset({86, 87})
#: what each DDI is evidence of when the operation type comes from the logged values
#: (the properties the DDIs mean on their own; ``detect_operation_type`` weighs them)
EVIDENCE: dict[int, str] = {
    ddi: prop
    for ddi, prop in {
        **D.POINT_PROPERTIES,
        **D.DELTA_PROPERTIES,
        86: "cropFlow",
    }.items()
    if prop not in ("equipmentWidth", "speed", "area", "distance", "fuelUsed")
}


def property_ddis(operation_type: str, logged: Iterable[int]) -> dict[str, int]:
    """Property -> the DDI it is read from, for the DDIs *logged* in the task.

    Examples
    --------
    >>> property_ddis("planted", [7, 6, 141])
    {'seedRate': 7, 'seedRateTarget': 6}
    >>> property_ddis("applied", [7, 6, 2])
    {'appliedRate': 2, 'appliedRateTarget': 6}
    """
    logged = set(logged)
    out: dict[str, int] = {}
    if operation_type in RATES:
        actual, setpoint, families = RATES[operation_type]
        if operation_type == "planted":
            family = next((f for f in families if set(f) & logged), None)
            if family is not None:
                if family[0] in logged:
                    out[actual] = family[0]
                if family[1] in logged:
                    out[setpoint] = family[1]
        else:
            for prop, pos in ((actual, 0), (setpoint, 1)):
                ddi = next((f[pos] for f in families if f[pos] in logged), None)
                if ddi is not None:
                    out[prop] = ddi
    for table in (OTHERS.get(operation_type, {}), OTHERS["*"]):
        for prop, ddis in table.items():
            ddi = next((d for d in ddis if d in logged), None)
            if ddi is not None:
                out[prop] = ddi
    return out


def choose_elements(
    dets: Iterable[str | None], model: DeviceModel, working: list[Device]
) -> list[str | None]:
    """The element ids a value is read from, among the *dets* that have it (rule "Element")."""
    dets = list(dict.fromkeys(dets))
    if not dets:
        return []
    ids = {d.id for d in working}
    on_working = [t for t in dets if (d := model.device_of(t)) and d.id in ids]
    pool = on_working or dets

    def depth(det: str | None) -> int:
        e = model.element(det)
        return e.depth if e is not None else 0

    top = min(depth(t) for t in pool)
    level = [t for t in pool if depth(t) == top]
    not_bins = [t for t in level if (e := model.element(t)) is None or e.type != BIN]
    return not_bins or level


def choose_channels(
    channels: list[Channel], model: DeviceModel, working: list[Device]
) -> list[Channel]:
    """The channels a property is read from (plain DLVs: PGN-packed values stay raw)."""
    channels = [c for c in channels if c.key[2] is None]
    chosen = set(choose_elements((c.det for c in channels), model, working))
    return [c for c in channels if c.det in chosen]


def all_sections(dets: Iterable[str | None], model: DeviceModel) -> bool:
    """True when every element is a section or unit (their areas add up)."""
    return all(
        (e := model.element(t)) is not None and e.type in (SECTION, UNIT) for t in dets
    )


def combine(
    values: list[np.ndarray],
    elements: list[Element | None],
    states: WorkStates,
    records: TaskRecords,
    *,
    summed: bool,
) -> np.ndarray:
    """One column from several elements' values (module docstring, rule "Element")."""
    stack = np.vstack(values)
    if summed:
        return np.where(np.isnan(stack).all(axis=0), np.nan, np.nansum(stack, axis=0))
    n = records.n
    works = np.vstack(
        [
            (states.work(e) == 1) if e is not None else np.zeros(n, bool)
            for e in elements
        ]
    )
    works &= ~np.isnan(stack)
    any_works = works.any(axis=0)
    use = np.where(any_works, works, ~np.isnan(stack))
    sources = [width_source(e, records) if e is not None else None for e in elements]
    if all(s is not None for s in sources):
        weight = np.vstack([width_values(s, records) for s in sources])  # type: ignore[arg-type]
    else:
        weight = np.ones_like(stack)
    weight = np.where(use, np.nan_to_num(weight), 0.0)
    total = weight.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(np.where(use, stack, 0.0) * weight, axis=0) / total
    count = use.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = np.where(use, stack, 0.0).sum(axis=0) / count
    return np.where(total > 0, mean, np.where(count > 0, plain, np.nan))


def resolution_exponent(actual: np.ndarray, setpoint: np.ndarray) -> int:
    """The exponent k when *actual* is *setpoint* x 10**k for |k| >= 2, else 0.

    The rule "Actual rate in another resolution".

    Examples
    --------
    >>> import numpy as np
    >>> resolution_exponent(np.array([3.4, 3.6, 0.0]), np.array([370.0, 370.0, 370.0]))
    -2
    >>> resolution_exponent(np.array([900.0, 1200.0]), np.array([370.0, 370.0]))
    0
    """
    return ratio_exponent(rate_ratios(actual, setpoint))


def rate_ratios(actual: np.ndarray, setpoint: np.ndarray) -> np.ndarray:
    """*actual* / *setpoint* where both are positive (what :func:`ratio_exponent` reads)."""
    both = (actual > 0) & (setpoint > 0)
    return actual[both] / setpoint[both]


def ratio_exponent(ratios: np.ndarray) -> int:
    """The exponent k of :func:`resolution_exponent` from the records' *ratios*.

    >>> ratio_exponent(np.array([0.0092, 0.0097, 0.0095]))
    -2
    """
    if not len(ratios):
        return 0
    ratio = float(np.median(ratios))
    k = int(np.round(np.log10(ratio)))
    if abs(k) >= 2 and abs(np.log10(ratio) - k) <= np.log10(2.0):
        return k
    return 0


def dictionary_unit(ddi: int, prop: str) -> str | None:
    """The dictionary unit of *ddi* as the unit of *prop* (count rates are seeds)."""
    unit = D.ddi_entry(ddi).unit
    if prop in ("seedRate", "seedRateTarget") and unit == "1/m**2":
        return "seeds/m**2"
    return unit
