"""Work state: which device elements work at each record, and the recording status.

ISO 11783-11 defines the work state of an element as Actual Work State (DDI 141: 0 off,
1 on, 2 error, 3 not available) and, for the sections below an element, Actual Condensed
Work State (DDIs 161-176: two bits per section with the same codes, section 1 in the
lowest bits, sections 1-16 in DDI 161, 17-32 in 162 ... 241-256 in 176). The sections are
the element's descendant sections from left to right: ISO 11783-10 numbers elements left
to right, but where every section has a lateral offset (DDI 135; negative is left) the
offsets order them — a Topcon planter numbers rows 19-32 (65-78) below rows 1-18
(321-338).

Rules (issue 13: work state comes from the working elements)
------------------------------------------------------------
* **Explicit state** of an element at a record: its own DDI 141, else its two bits of a
  condensed work state written on its nearest ancestor that has one. 1 is on; 0 and 2
  (error) are off; 3 (not available) is unknown. A state holds from the start of a group
  of logs (:mod:`.timelogs`) until it changes — the first written value, or the header's
  DLV value, before the first write —; in a group that never writes it it is unknown. A condensed work
  state that is 0 at every record of the task (no section ever on, in error or not
  installed) is a placeholder some exporters write and carries no state.
* **Work** of an element: its own explicit state combined with its ancestors' — off when
  any of them is off (a boom or a master switch that is off stops its sections), on when
  none is off and one is on, unknown when none is known — and, for an element above
  sections or units that have explicit states, with theirs: it works when one of them
  works. An element that is always on therefore never overrides the sections below it
  (a seeder whose top element logged "on" for the whole task while its rows switched
  had start and end 20 s off), and sections that are on do not work while their master
  switch is off (a Kverneland seeder's sections stayed "on" before and after the task).
* **Working carriers** (:func:`carrier_work`): at a record where the work of any width
  carrier (:mod:`.devices`) is known, the carriers known to be on work and the others do
  not; where none is known, all count as working (nothing says otherwise).
* **Recording status** of a record: ``On`` when a carrier works, ``Off`` when the work of
  some carrier is known and none works, null when nothing is known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from leafnb.formats.isoxml.devices import (
    CONNECTOR,
    NAVIGATION,
    OFFSET_Y,
    SECTION,
    UNIT,
    offset_values,
)

if TYPE_CHECKING:
    from leafnb.formats.isoxml.devices import Element
    from leafnb.formats.isoxml.timelogs import TaskRecords

__all__ = [
    "CONDENSED_WORK_STATES",
    "WORK_STATE",
    "WorkStates",
    "carrier_work",
]

WORK_STATE = 141
#: DDIs 161-176: condensed work state of sections 1-16, 17-32, ..., 241-256
CONDENSED_WORK_STATES = tuple(range(161, 177))

ON, OFF, UNKNOWN = 1, 0, -1


def _codes(values: np.ndarray) -> np.ndarray:
    """ISO work-state codes (float, NaN = not written) -> ON/OFF/UNKNOWN (int8)."""
    out = np.full(len(values), UNKNOWN, dtype=np.int8)
    out[values == 1] = ON
    out[(values == 0) | (values == 2)] = OFF
    return out


class WorkStates:
    """Explicit state and work of the elements of one task (see the module docstring)."""

    def __init__(self, records: TaskRecords):
        self.records = records
        self._explicit: dict[str, np.ndarray | None] = {}
        self._work: dict[str, np.ndarray] = {}
        self._condensed: dict[str, dict[str, np.ndarray]] = {}

    def _sections_of(self, element: Element) -> dict[str, np.ndarray]:
        """ISO codes of *element*'s sections from its condensed work states.

        ``{section id: codes}``; codes are floats, NaN where not written.
        """
        if element.id in self._condensed:
            return self._condensed[element.id]
        out: dict[str, np.ndarray] = {}
        self._condensed[element.id] = out
        blocks = [
            (block, ch)
            for block, ddi in enumerate(CONDENSED_WORK_STATES)
            if (ch := self.records.channel(ddi, element.id)) is not None
            and ch.any_nonzero()  # absent, or the all-zero placeholder
        ]
        if not blocks:
            return out
        sections = [e for e in element.descendants() if e.type == SECTION] or [
            e for e in element.children if e.type not in (CONNECTOR, NAVIGATION)
        ]
        offsets = [offset_values(e, self.records) for e in sections]
        if sections and all(o is not None for o in offsets):
            lateral = {
                e.id: _first_offset(e, o, self.records)
                for e, o in zip(sections, offsets, strict=True)
            }  # type: ignore[index]
            sections.sort(key=lambda e: (lateral[e.id], e.number or 0))
        else:
            sections.sort(key=lambda e: (e.number is None, e.number or 0))
        for block, ch in blocks:
            values = self.records.filled(ch, backfill=True)
            raw = np.where(np.isnan(values), 0, values).astype(np.int64) & 0xFFFFFFFF
            for j, section in enumerate(sections[16 * block : 16 * block + 16]):
                codes = ((raw >> (2 * j)) & 3).astype(np.float64)
                codes[np.isnan(values)] = np.nan
                out.setdefault(section.id, codes)
        return out

    def explicit(self, element: Element) -> np.ndarray | None:
        """ON/OFF/UNKNOWN of *element* per record from its own or a condensed state."""
        if element.id in self._explicit:
            return self._explicit[element.id]
        result = None
        ch = self.records.channel(WORK_STATE, element.id)
        if ch is not None and (ch.written() or ch.header_values()):
            result = _codes(self.records.filled(ch, backfill=True))
        else:
            for ancestor in element.ancestors():
                codes = self._sections_of(ancestor).get(element.id)
                if codes is not None:
                    result = _codes(codes)
                    break
        self._explicit[element.id] = result
        return result

    def work(self, element: Element) -> np.ndarray:
        """ON/OFF/UNKNOWN work of *element*: its and its ancestors' explicit states."""
        if element.id in self._work:
            return self._work[element.id]
        n = self.records.n
        any_off = np.zeros(n, bool)
        any_on = np.zeros(n, bool)
        for e in (element, *element.ancestors()):
            state = self.explicit(e)
            if state is not None:
                any_off |= state == OFF
                any_on |= state == ON
        below = [
            s
            for d in element.descendants()
            if d.type in (SECTION, UNIT) and (s := self.explicit(d)) is not None
        ]
        if below:
            stack = np.vstack(below)
            down_on = (stack == ON).any(axis=0)
            any_off |= ~down_on & (stack == OFF).any(axis=0)
            any_on |= down_on
        out = np.where(any_off, OFF, np.where(any_on, ON, UNKNOWN)).astype(np.int8)
        self._work[element.id] = out
        return out


def _first_offset(element: Element, offsets: np.ndarray, records: TaskRecords) -> float:
    """The lateral offset of *element* at the log's first record (also in a range of it)."""
    ch = records.channel(OFFSET_Y, element.id)
    if ch is not None and ch.whole is not None and ch.whole.start is not None:
        return float(ch.whole.start)
    return float(offsets[0])


def carrier_work(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which carriers work (k x n bool) and the record status (n: ON/OFF/UNKNOWN).

    *states* is the k x n ON/OFF/UNKNOWN work of the width carriers.

    Examples
    --------
    >>> import numpy as np
    >>> on, status = carrier_work(np.array([[1, 0, -1], [-1, 0, -1]], dtype=np.int8))
    >>> on.tolist(), status.tolist()
    ([[True, False, True], [False, False, True]], [1, 0, -1])
    """
    known = states != UNKNOWN
    any_known = known.any(axis=0)
    on = np.where(any_known, states == ON, True)
    status = np.where(
        (states == ON).any(axis=0), ON, np.where(any_known, OFF, UNKNOWN)
    ).astype(np.int8)
    return on, status
