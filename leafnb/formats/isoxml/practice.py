"""Operation type of an ISOXML task: what the machine and the task say first, the DDIs second.

Rules, the first that decides wins (issue 13; ADAPT ISOv4Plugin
``TimeLogMapper.GetOperationType``, isoxml-dotnet ``ISOTaskAnalysis``):

1. **Cultural practice** (DDI 179, Actual Cultural Practice) of a working device's
   elements: the controller's own statement, as a DPT or logged (read first by
   isoxml-dotnet). Codes as isoxml-dotnet's ``CulturalPracticesType``: 1 fertilizing,
   3 crop protection and 12 slurry/manure application -> applied; 2 sowing and planting
   -> planted; 4 tillage -> tillage; 8 harvesting and 9 forage harvesting -> harvested.
   Other codes (unknown, baling, mowing, transport, ...) decide nothing. Elements may
   state different practices — a planter's seed bin says sowing, its fertiliser and
   micro-granulate bins fertilizing and crop protection —: planting then wins (the pass
   places seed), then harvesting, then the practice most elements state.
2. **Products** of the task (``PAN``, and ``PDV`` in treatment zones), as ADAPT reads a
   product's category before anything else: a crop variety (a ``CVT`` names the product,
   its product group is a crop type ``PGP C=2``, or CNH's extension
   ``P094_Product_Usage=7`` seed/plant or ``P094_Product_Form`` 4/5 seed) means planting —
   unless the working device is a harvester (a harvested commodity is also a variety);
   only fertiliser or crop-protection products (``P094_Product_Usage`` 2-6) mean
   application.
3. **Device class** of the working devices (ISO NAME, see :mod:`.devices`). When they
   disagree, the device whose elements the task's logs write most often decides.
4. **Task designator** words in the languages task controllers use (seeding, Aussaat,
   semis, ...; spraying, Düngung, épandage, ...; harvest, Ernte, ...; tillage, Grubbern,
   ...).
5. **Logged values**: the standard properties the DDIs map to vote
   (:func:`leafnb.standard.optype.detect_operation_type`).

An air cart seeding by mass per area (device class 4, task "Seeding ...") is therefore
``planted`` even though a mass rate alone would vote for ``applied``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leafnb.formats.isoxml.devices import CLASS_NAMES, Device
from leafnb.standard.optype import detect_operation_type

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element as XmlElement

    from leafnb.formats.isoxml.taskdata import Taskdata

__all__ = ["CULTURAL_PRACTICE", "Decision", "decide_operation_type"]

#: DDI 179 code -> operation type (codes that decide nothing are absent)
CULTURAL_PRACTICE = {
    1: "applied",
    2: "planted",
    3: "applied",
    4: "tillage",
    8: "harvested",
    9: "harvested",
    12: "applied",
}
ACTUAL_CULTURAL_PRACTICE = 179

#: task designator words (lower case, accents kept), per operation type
_TASK_WORDS: dict[str, tuple[str, ...]] = {
    "planted": (
        r"seed(ing)?",
        r"sow(ing)?",
        r"plant(ing)?",
        r"drill(ing)?",
        r"aussaat",
        r"saat",
        r"s[äa]en",
        r"drillen",
        r"legen",
        r"semis",
        r"siembra",
        r"semina",
        r"zaaien",
        r"poten",
    ),
    "applied": (
        r"spray(ing)?",
        r"spread(ing)?",
        r"fertili[sz](er|ing|ation)?",
        r"application",
        r"manure",
        r"slurry",
        r"d[üu]ng\w*",
        r"spritz\w*",
        r"pflanzenschutz",
        r"g[üu]lle",
        r"[ée]pandage",
        r"pulv[ée]ris\w*",
        r"fertilisation",
        r"traitement",
    ),
    "harvested": (
        r"harvest(ing)?",
        r"yield",
        r"ernte",
        r"dresch\w*",
        r"h[äa]cksel\w*",
        r"r[ée]colte",
        r"moisson",
        r"cosecha",
    ),
    "tillage": (
        r"till(age|ing)?",
        r"cultivat(e|ion|ing|or)",
        r"plou?gh(ing)?",
        r"plow(ing)?",
        r"disc(ing)?",
        r"disk(ing)?",
        r"grubb\w*",
        r"pfl[üu]g\w*",
        r"bodenbearbeitung",
        r"labour",
        r"d[ée]chaumage",
    ),
}
_TASK_RE = {
    optype: re.compile(r"(?<![a-zäöüéè])(" + "|".join(words) + r")(?![a-zäöüéè])")
    for optype, words in _TASK_WORDS.items()
}

#: CNH ``P094_Product_Usage`` codes (as ADAPT's CNH manufacturer mapping)
_CNH_USAGE = {
    2: "applied",
    3: "applied",
    4: "applied",
    5: "applied",
    6: "applied",
    7: "planted",
}
_CNH_SEED_FORMS = {4, 5}


@dataclass(frozen=True)
class Decision:
    """An operation type and the rule that chose it (for the file's metadata)."""

    operation_type: str | None
    reason: str = ""


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def task_products(td: Taskdata, task: XmlElement | None) -> list[XmlElement]:
    """Products the task allocates (``PAN``) or prescribes (``TZN/PDV C``), in order."""
    if task is None:
        return []
    ids = [pan.get("A") for pan in task.iter("PAN")]
    ids += [pdv.get("C") for pdv in task.iter("PDV")]
    out = []
    for pid in dict.fromkeys(i for i in ids if i):
        pdt = td.get(pid)
        if pdt is not None and pdt.tag == "PDT":
            out.append(pdt)
    return out


def product_kind(td: Taskdata, pdt: XmlElement) -> str | None:
    """``"planted"`` for a crop variety, ``"applied"`` for fertiliser/chemicals, else None."""
    pid = pdt.get("A")
    if any(cvt.get("C") == pid for ctp in td.all("CTP") for cvt in ctp.findall("CVT")):
        return "planted"
    group = td.get(pdt.get("C"))
    if group is not None and group.tag == "PGP" and group.get("C") == "2":
        return "planted"
    usage = _int(pdt.get("P094_Product_Usage"))
    if usage in _CNH_USAGE:
        return _CNH_USAGE[usage]
    if _int(pdt.get("P094_Product_Form")) in _CNH_SEED_FORMS:
        return "planted"
    return None


def decide_operation_type(
    td: Taskdata,
    task: XmlElement | None,
    working: list[Device],
    *,
    practice_values: Mapping[str, Iterable[int]] | None = None,
    channel_counts: Mapping[str, int] | None = None,
    properties: Iterable[str] = (),
) -> Decision:
    """Apply the module's rules in order.

    Parameters
    ----------
    working : list of Device
        The task's working devices (:func:`.devices.working_devices`).
    practice_values : mapping, optional
        Logged DDI 179 values per element id (omit at detection time: DPTs only).
    channel_counts : mapping, optional
        Values the task's logs write per device id (tie-break of rule 3).
    properties : iterable of str
        Standard properties the logged DDIs map to (rule 5).

    Examples
    --------
    >>> from leafnb.formats.isoxml.taskdata import Taskdata
    >>> from pathlib import Path
    >>> decide_operation_type(Taskdata(Path("TASKDATA.XML"), {}), None, [],
    ...                       properties=["seedRate"]).operation_type
    'planted'
    """
    # 1. cultural practice
    codes: Counter[int] = Counter()
    for device in working:
        for e in device.elements:
            value = e.properties.get(ACTUAL_CULTURAL_PRACTICE)
            if value:
                codes[value] += 1
            for v in (practice_values or {}).get(e.id, ()):
                if v:
                    codes[int(v)] += 1
    stated = [(c, k) for c, k in codes.most_common() if c in CULTURAL_PRACTICE]
    for preferred in ("planted", "harvested", None):
        for code, _ in stated:
            if preferred in (None, CULTURAL_PRACTICE[code]):
                return Decision(
                    CULTURAL_PRACTICE[code],
                    f"Actual Cultural Practice (DDI 179) = {code}",
                )
    harvester = any(d.operation_type == "harvested" for d in working)
    # 2. products
    kinds = {
        (product_kind(td, p), p.get("B") or p.get("A")) for p in task_products(td, task)
    }
    for kind in ("planted", "applied"):
        names = sorted(str(n) for k, n in kinds if k == kind)
        if names and not (kind == "planted" and harvester):
            what = "crop variety" if kind == "planted" else "fertiliser/crop protection"
            return Decision(kind, f"task product {', '.join(names)} is a {what}")
    # 3. device class
    votes: Counter[str] = Counter()
    for d in working:
        if d.operation_type:
            votes[d.operation_type] += 1 + (channel_counts or {}).get(d.id, 0)
    if votes:
        optype = votes.most_common(1)[0][0]
        d = next(d for d in working if d.operation_type == optype)
        return Decision(
            optype,
            f"device class {d.device_class} ({CLASS_NAMES.get(d.device_class)}) of "
            f"{d.label()}",
        )
    # 4. task designator
    name = (task.get("B") or "").lower() if task is not None else ""
    for optype, pattern in _TASK_RE.items():
        if name and pattern.search(name):
            return Decision(optype, f"task designator {task.get('B')!r}")  # type: ignore[union-attr]
    # 5. logged values
    optype = detect_operation_type(properties)
    if optype is not None:
        return Decision(optype.value, "logged values")
    return Decision(None, "")
