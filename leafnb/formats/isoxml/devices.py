"""The device model of a TASKDATA (DVC/DET trees) and the working width built on it.

ISO 11783-10 device descriptions
--------------------------------
A ``DVC`` describes one machine as its task controller client declared it: ``D`` is its
ISO NAME (64 bits as 16 hex digits; bits 49-55 are the *device class*: 1 tractor,
2/3 tillage, 4 planters/seeders, 5 fertilizers, 6 sprayers, 7 harvesters, 8 root
harvesters, 9 forage harvesters ...), and its ``DET`` children form a tree of *device
elements*: ``A`` id (what a time log's ``DLV C`` names), ``B`` object id, ``C`` type
(1 device, 2 function, 3 bin, 4 section, 5 unit, 6 connector, 7 navigation reference),
``D`` designator, ``E`` element number (sections are numbered left to right) and ``F`` the
object id of the parent element (0, or the element's own id, for the root). An element's
``DOR`` children list object ids of the device's ``DPD`` (process data: the DDIs it can log)
and ``DPT`` (device properties: fixed values, e.g. a width or an offset).

Working devices
---------------
The devices of a task are the ones its device allocations (``DAN C``) name plus those
owning an element that a time log of the task writes. The *working* devices are those
whose device class is an operation (2-9, see :data:`CLASS_OPERATION`); when none is, the
devices other than tractors that log work (a work state, a width, a rate or a yield) —
some controllers (CCI, GPS-only loggers) send device class 0. A tractor, a console, a
trip computer or a GPS receiver never carries the working width.

Working width (issue 13)
------------------------
1. **Sources.** An element of type device, function, section or unit carries a width when
   it logs Actual Working Width (DDI 67), else has it as a DPT, else Default Working Width
   (68), else Maximum Working Width (70) — logged before DPT, as ADAPT's ISOv4Plugin
   reads DPTs and falls back to the time log. A source that is never positive in the task
   carries no width (exporters write 0 as a placeholder).
2. **Carriers.** The width carriers of a device are its width-bearing elements at the
   deepest level of the tree (row units below sections below booms, as ISOv4Plugin's
   ``GetLowestLevelSectionWidth``): never a sum across levels, because a console, a boom
   and its sections describe the same swath. When sections carry no width the level
   above them (a boom, a section group) carries it.
3. **Per record** a carrier counts where it works (:mod:`.worktime`); a logged width
   holds from its first value in a group of logs (:mod:`.timelogs`) — a log that never
   writes it has no width. When every carrier
   has a lateral position (Device Element Offset Y, DDI 135, logged or DPT) the working
   width is the length of the union of the intervals ``[y - w/2, y + w/2]`` of the
   working carriers — product booms over the same rows (seed and fertiliser units at the
   same offsets) count once; otherwise it is the sum of their widths.
4. **Several working devices** (an air cart and its drill, a front tank and a seeder)
   cover the same swath: the widest wins.

Widths are in mm (the DDI unit) until :mod:`.reader` hands them to the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element as XmlElement

    from leafnb.formats.isoxml.taskdata import Taskdata
    from leafnb.formats.isoxml.timelogs import Channel, TaskRecords

__all__ = [
    "CLASS_NAMES",
    "CLASS_OPERATION",
    "DET_TYPES",
    "Device",
    "DeviceModel",
    "Element",
    "WidthSource",
    "offset_values",
    "width_carriers",
    "width_source",
    "width_values",
    "working_devices",
    "working_width",
]

DEVICE, FUNCTION, BIN, SECTION, UNIT, CONNECTOR, NAVIGATION = 1, 2, 3, 4, 5, 6, 7
DET_TYPES = {
    DEVICE: "device",
    FUNCTION: "function",
    BIN: "bin",
    SECTION: "section",
    UNIT: "unit",
    CONNECTOR: "connector",
    NAVIGATION: "navigation reference",
}
#: element types that can carry the working width
WIDTH_TYPES = frozenset({DEVICE, FUNCTION, SECTION, UNIT})
#: width DDIs in order of preference: actual, default, maximum working width
WIDTH_DDIS = (67, 68, 70)
#: Device Element Offset Y (lateral position), mm
OFFSET_Y = 135

#: ISO 11783-1 NAME device classes (industry group 2), for messages
CLASS_NAMES = {
    0: "Non-specific system",
    1: "Tractor",
    2: "Primary soil tillage",
    3: "Secondary soil tillage",
    4: "Planters/Seeders",
    5: "Fertilizers",
    6: "Sprayers",
    7: "Harvesters",
    8: "Root harvesters",
    9: "Forage harvesters",
    10: "Irrigation",
    11: "Transport/Trailers",
    12: "Farmstead operations",
    13: "Powered auxiliary devices",
    14: "Special crops",
    15: "Municipal work",
    17: "Sensor systems",
    24: "Utility vehicles",
}
#: device class -> Leaf operation type (ADAPT ISOv4Plugin ``DeviceOperationTypes``,
#: isoxml-dotnet ``DeviceClassConversion``)
CLASS_OPERATION = {
    2: "tillage",
    3: "tillage",
    4: "planted",
    5: "applied",
    6: "applied",
    7: "harvested",
    8: "harvested",
    9: "harvested",
}
TRACTOR = 1


def _int(text: str | None, base: int = 10) -> int | None:
    try:
        return int((text or "").strip(), base)
    except ValueError:
        return None


@dataclass(eq=False)
class Element:
    """One device element (``DET``)."""

    id: str
    device: Device
    object_id: int | None
    type: int | None
    designator: str
    number: int | None
    parent_object: int | None
    #: DPT values by DDI (raw integers)
    properties: dict[int, int] = field(default_factory=dict)
    #: DDIs of the element's DPDs (what it can log)
    process_data: frozenset[int] = frozenset()
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    depth: int = 0

    @property
    def type_name(self) -> str:
        """The DET type's name (ISO 11783-10 ``DET@B``: device, function, bin, section, ...)."""
        return DET_TYPES.get(self.type or 0, f"type {self.type}")

    def ancestors(self) -> list[Element]:
        """Parent, grandparent, ... (nearest first)."""
        out, e, seen = [], self.parent, {id(self)}
        while e is not None and id(e) not in seen:
            out.append(e)
            seen.add(id(e))
            e = e.parent
        return out

    def descendants(self) -> list[Element]:
        """Every element below this one (depth first)."""
        out, stack, seen = [], list(reversed(self.children)), {id(self)}
        while stack:
            e = stack.pop()
            if id(e) in seen:
                continue
            seen.add(id(e))
            out.append(e)
            stack.extend(reversed(e.children))
        return out

    def label(self) -> str:
        """``DET-id 'designator' (type)`` for messages and the file's column mapping."""
        name = self.designator.strip() or self.id
        return f"{self.id} {name!r} ({self.type_name})"


@dataclass(eq=False)
class Device:
    """One device (``DVC``) and its elements."""

    id: str
    designator: str
    name: str
    serial: str
    device_class: int | None
    elements: list[Element] = field(default_factory=list)

    @property
    def operation_type(self) -> str | None:
        """The operation its device class stands for (None: tractor, unknown...)."""
        return CLASS_OPERATION.get(self.device_class)  # type: ignore[arg-type]

    def label(self) -> str:
        """``DVC-id 'designator' (device class)`` for messages and the file's column mapping."""
        cls = self.device_class
        what = (
            CLASS_NAMES.get(cls, f"class {cls}") if cls is not None else "no ISO NAME"
        )
        return f"{self.id} {(self.designator.strip() or self.id)!r} ({what})"


def device_class(name: str | None) -> int | None:
    """Device class (bits 49-55) of an ISO NAME given as 16 hex digits, or None.

    Examples
    --------
    >>> device_class("A00884000BC8AA52")  # a Case IH planter
    4
    >>> device_class("") is None
    True
    """
    value = (
        _int(name, 16) if name and re.fullmatch(r"[0-9A-Fa-f]{1,16}", name) else None
    )
    return None if value is None else (value >> 49) & 0x7F


@dataclass
class DeviceModel:
    """Every device of a TASKDATA with its element tree."""

    devices: dict[str, Device] = field(default_factory=dict)
    elements: dict[str, Element] = field(default_factory=dict)

    @classmethod
    def from_taskdata(cls, td: Taskdata) -> DeviceModel:
        """Build the model from the ``DVC`` elements of *td*."""
        model = cls()
        for dvc in td.all("DVC"):
            device = _device(dvc)
            if device.id in model.devices:
                continue
            model.devices[device.id] = device
            for e in device.elements:
                model.elements.setdefault(e.id, e)
        return model

    def element(self, det: str | None) -> Element | None:
        """The device element with XML id *det*, or None."""
        return self.elements.get(det) if det else None

    def device_of(self, det: str | None) -> Device | None:
        """The device that element *det* belongs to, or None."""
        e = self.element(det)
        return e.device if e is not None else None


def _device(dvc: XmlElement) -> Device:
    device = Device(
        id=dvc.get("A") or "",
        designator=dvc.get("B") or "",
        name=(dvc.get("D") or "").strip(),
        serial=(dvc.get("E") or "").strip(),
        device_class=device_class((dvc.get("D") or "").strip()),
    )
    objects: dict[int, XmlElement] = {}
    for child in dvc:
        if child.tag in ("DPD", "DPT"):
            oid = _int(child.get("A"))
            if oid is not None:
                objects[oid] = child
    by_object: dict[int, Element] = {}
    for det in dvc.findall("DET"):
        props: dict[int, int] = {}
        process: set[int] = set()
        for dor in det.findall("DOR"):
            obj = objects.get(_int(dor.get("A")) or -1)
            if obj is None:
                continue
            ddi = _int(obj.get("B"), 16)
            if ddi is None:
                continue
            if obj.tag == "DPT":
                value = _int(obj.get("C"))
                if value is not None:
                    props.setdefault(ddi, value)
            else:
                process.add(ddi)
        e = Element(
            id=det.get("A") or "",
            device=device,
            object_id=_int(det.get("B")),
            type=_int(det.get("C")),
            designator=det.get("D") or "",
            number=_int(det.get("E")),
            parent_object=_int(det.get("F")),
            properties=props,
            process_data=frozenset(process),
        )
        device.elements.append(e)
        if e.object_id is not None:
            by_object.setdefault(e.object_id, e)
    for e in device.elements:
        parent = by_object.get(e.parent_object) if e.parent_object else None
        if parent is not None and parent is not e:
            e.parent = parent
            parent.children.append(e)
    for e in device.elements:  # depth; a crafted cycle ends at the first repeat
        e.depth = len(e.ancestors())
    return device


# -- working devices ------------------------------------------------------------------


def task_devices(
    td: Taskdata, task: XmlElement | None, dets: Iterable[str | None]
) -> list[Device]:
    """Devices allocated to *task* (``DAN``) and devices owning the elements *dets*."""
    model = td.devices
    out: dict[str, Device] = {}
    if task is not None:
        for dan in task.iter("DAN"):
            d = model.devices.get(dan.get("C") or "")
            if d is not None:
                out.setdefault(d.id, d)
    for det in dets:
        d = model.device_of(det)
        if d is not None:
            out.setdefault(d.id, d)
    return list(out.values())


def working_devices(
    devices: Iterable[Device], working_dets: Iterable[str | None]
) -> list[Device]:
    """The devices that do the task's work (see the module docstring).

    *working_dets* are the elements the logs show working: those that write a work
    state, a width, a rate or a yield.
    """
    devices = list(devices)
    by_class = [d for d in devices if d.operation_type is not None]
    if by_class:
        return by_class
    logged = set(working_dets)
    return [
        d
        for d in devices
        if d.device_class != TRACTOR and any(e.id in logged for e in d.elements)
    ]


# -- width ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WidthSource:
    """Where an element's width comes from: a logged channel or a DPT value (mm)."""

    ddi: int
    channel: Channel | None = None
    value: int | None = None


def width_source(element: Element, records: TaskRecords) -> WidthSource | None:
    """The width source of *element* (module docstring, rule 1), or None."""
    for ddi in WIDTH_DDIS:
        ch = records.channel(ddi, element.id)
        if ch is not None and (
            ch.any_positive() or any(v > 0 for v in ch.header_values())
        ):
            return WidthSource(ddi, channel=ch)
        value = element.properties.get(ddi)
        if value is not None and value > 0:
            return WidthSource(ddi, value=value)
    return None


def width_carriers(
    device: Device, records: TaskRecords
) -> list[tuple[Element, WidthSource]]:
    """The width carriers of *device* with their sources (rule 2), in element order."""
    found = [
        (e, s)
        for e in device.elements
        if e.type in WIDTH_TYPES and (s := width_source(e, records)) is not None
    ]
    if not found:
        return []
    deepest = max(e.depth for e, _ in found)
    return [(e, s) for e, s in found if e.depth == deepest]


def width_values(source: WidthSource, records: TaskRecords) -> np.ndarray:
    """Width in mm per record: a logged width filled forward.

    Its first value also holds in a group of logs before it; NaN in a group of logs that
    never writes it.
    """
    if source.channel is None:
        return np.full(records.n, float(source.value), dtype=np.float64)
    filled = records.filled(source.channel, backfill=True)
    return np.where(np.isnan(filled), np.nan, np.maximum(filled, 0.0))


def offset_values(element: Element, records: TaskRecords) -> np.ndarray | None:
    """Lateral offset (DDI 135, mm) of *element* per record, or None when unknown."""
    value = element.properties.get(OFFSET_Y)
    ch = records.channel(OFFSET_Y, element.id)
    if ch is not None and (ch.written() or ch.header_values()):
        offsets = records.filled(ch, backfill=True)
        if value is not None:
            offsets = np.where(np.isnan(offsets), float(value), offsets)
        elif np.isnan(offsets).any():  # a group of logs that never writes it
            offsets = np.where(np.isnan(offsets), np.nanmedian(offsets), offsets)
        return offsets
    return None if value is None else np.full(records.n, float(value))


def working_width(
    widths: np.ndarray, on: np.ndarray, offsets: np.ndarray | None = None
) -> np.ndarray:
    """Working width per record from carriers' widths (k x n, mm) and work (k x n bool).

    With *offsets* (k x n lateral positions, mm) the union of the working carriers'
    intervals, else the sum of their widths (module docstring, rule 3).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[3.0, 3.0], [3.0, 3.0]])
    >>> on = np.array([[True, True], [True, False]])
    >>> working_width(w, on).tolist()
    [6.0, 3.0]
    >>> working_width(w, on, offsets=np.zeros((2, 2))).tolist()  # same rows: once
    [3.0, 3.0]
    """
    if widths.shape[0] == 0:
        return np.zeros(widths.shape[1])
    eff = np.where(on, np.nan_to_num(widths), 0.0)
    if offsets is None or np.isnan(offsets).any():
        return eff.sum(axis=0)
    n = widths.shape[1]
    # the union only changes where a carrier's width, work or offset changes
    state = np.vstack([eff, offsets])
    change = np.ones(n, bool)
    change[1:] = (state[:, 1:] != state[:, :-1]).any(axis=0)
    starts = np.flatnonzero(change)
    left = offsets[:, starts] - eff[:, starts] / 2
    right = offsets[:, starts] + eff[:, starts] / 2
    order = np.argsort(left, axis=0, kind="stable")
    left = np.take_along_axis(left, order, axis=0)
    right = np.take_along_axis(right, order, axis=0)
    reach = np.maximum.accumulate(right, axis=0)
    before = np.vstack([np.full((1, len(starts)), -np.inf), reach[:-1]])
    union = np.clip(right - np.maximum(left, before), 0.0, None).sum(axis=0)
    return np.repeat(union, np.diff(starts, append=n))
