"""A task's time log in record ranges, each range exactly the rows of the whole read (issue 16).

:meth:`~leafnb.formats.isoxml.reader.IsoxmlReader.read_ranges` converts a big log
without decoding it whole: the peak is a few ranges of records, not the file.

Rules
-----
* **Which tasks.** A task (or an orphan log) whose time logs are decoded by the C
  kernel and whose records tile each binary (no byte passed over, no impossible
  position: a log with skipped records is read whole, its notes count the file).
  Parallel logs — logs whose times overlap — are joined record by record over the
  whole task (:mod:`.timelogs`): read whole.
* **Logs one after another** (a task stopped and resumed: the Krone baler's and CCI
  harvester's tasks of two and three logs) are read log by log, each in ranges
  (:func:`plan_task`); a range never spans two logs, as values never fill forward from
  one group of logs into the next. What the whole read decides over every record of
  the task is gathered over every log first (:class:`TaskPlan`): a range has every
  channel of the task, in the order the whole read meets them (empty where its log
  does not name one), with the task's counts, extremes, practices and header values
  (:class:`.timelogs.Written`), its own log's first value for the backfill, and the
  PTN fields of every log. Machine totals read each log's first and last values, a
  group each. A lateral offset (DDI 135) that some log neither writes nor gives in its
  header is filled with the task's median by the whole read: read whole.
* **Framing** (:func:`~.tlg.frame_log`): one walk over the file in bounded buffers
  finds where each record starts (one byte a record is kept); a run of records is then
  decoded alone from its bytes (:meth:`~.tlg.LogFraming.decode`).
* **Summary pass** (:func:`plan_ranges`): the ranges are decoded once in order to
  learn what :mod:`.table` decides over the whole log — whether each DLV is written at
  all, its first, last, smallest and largest value, the value at the first record (a
  section's lateral order), the cultural practices logged (:class:`.timelogs.Written`)
  — and, where each window starts, the value of every DLV written last before it: a
  window's channels fill forward from it, and backfill a width or work state that the
  log has not written yet with the log's first value (:meth:`.TaskRecords.filled`).
  Machine totals (:mod:`.totals`) need only each DLV's first and last value:
  :meth:`TaskPlan.summary` holds them, two records for each log.
* **Windows.** A range's table is built from a window of records around it and then
  cut to the range: one record before it (the step distance from the previous
  position), back to the last value of every running total written before the range
  and on to its first value at or after the range's last record, since a running
  total's increase is spread over the records between two of its values
  (:func:`.totals.increments`). Every other column of a record depends on that record
  and the filled-forward state alone. A running total that writes no value for more
  than a range (the window would reach two ranges away) refuses the ranges.
* **Actual rate in another resolution** (:mod:`.properties`): detected on the median
  ratio of actual to setpoint rate over every record. When a planting or application
  maps both, every range's ratios are collected first (one more build of each range,
  8 bytes a record) and the exponent of their median — the whole log's — is used in
  every range.

The pipeline then checks that every range decides as the first
(:mod:`leafnb.pipeline.stream`); tests/formats/isoxml/test_ranges.py compares ranged
and whole reads row for row, and conversions artifact by artifact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leafnb.formats.base import NotRanged
from leafnb.formats.isoxml.devices import OFFSET_Y
from leafnb.formats.isoxml.table import TaskTable, build_table
from leafnb.formats.isoxml.timelogs import (
    Channel,
    TaskRecords,
    Written,
    dlv_key,
    join_logs,
    overlapping,
)
from leafnb.formats.isoxml.tlg import (
    DecodedLog,
    LogFraming,
    TlgHeader,
    frame_log,
)
from leafnb.formats.isoxml.totals import RUNNING_TOTALS

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element as XmlElement

    from leafnb.formats.isoxml.taskdata import Taskdata

__all__ = [
    "RangePlan",
    "TaskPlan",
    "Window",
    "estimate_records",
    "plan_ranges",
    "plan_task",
]

#: Actual Cultural Practice, whose values decide the operation type (:mod:`.practice`)
_PRACTICE = 179
#: bytes framed to estimate a log's records (:func:`estimate_records`)
_ESTIMATE_BYTES = 1 << 20


def estimate_records(bin_path: Path, header: TlgHeader) -> int | None:
    """The records of a log, from the mean size of those in its first MiB (None: no kernel).

    Exact for a log of at most a MiB, or of records of one size; a cheap count for
    deciding whether to read a log in ranges (the ranges themselves frame every record).
    """
    framing = frame_log(bin_path, header, chunk_bytes=_ESTIMATE_BYTES, chunks=1)
    if framing is None or not framing.n_framed:
        return None
    size = bin_path.stat().st_size
    framed = framing.offset(framing.n_framed)
    if framed >= size:
        return framing.n_framed
    return round(framing.n_framed * size / framed)


@dataclass
class Window:
    """The records decoded for range ``[start, end)``: ``[lo, hi)`` around it."""

    lo: int
    start: int
    end: int
    hi: int
    #: raw value of each DLV written last before *lo* (None: not yet written)
    state: list[int | None]


@dataclass
class RangePlan:
    """A log's ranges, their windows and what the log writes in all (:func:`plan_ranges`)."""

    framing: LogFraming
    windows: list[Window]
    written: list[Written]
    #: the first and the last time the log records (Unix ms)
    span: tuple[int, int] = (0, 0)

    def records(self, window: Window) -> TaskRecords:
        """The records of *window*, the log's own channels (cut to its range by the caller).

        What the whole task writes on each channel is :meth:`TaskPlan.records`'s to add.
        """
        log = self.framing.decode(window.lo, window.hi)
        records = self._joined(log, window.state)
        records.core = (window.start - window.lo, window.end - window.lo)
        return records

    def summary_log(self, at: int = 0) -> DecodedLog:
        """Each DLV's first and last value as a log of two records at times *at*, *at* + 1.

        Machine totals (:mod:`.totals`) read no more; positions are not read.
        """
        # record 0: a value's first write, record 1: its last
        header = replace(self.framing.header, logged=(), constants={})
        recs, vals = [], []
        for w in self.written:
            k = 0 if not w.count else 1 if w.first_rec == w.last_rec else 2
            recs.append(np.arange(k, dtype=np.int64))
            vals.append(np.array([w.first, w.last][:k], np.int32))
        return DecodedLog(
            header, 2, 0, np.array([at, at + 1], np.int64), {}, recs, vals
        )

    def _joined(self, log: DecodedLog, state: list[int | None]) -> TaskRecords:
        records = join_logs([log])
        for i, dlv in enumerate(log.header.dlvs):
            ch = records.channels[dlv_key(dlv)]
            if state[i] is not None:
                ch.init = {0: state[i]}
        records.ranged = True
        return records


def plan_ranges(framing: LogFraming, rows: int) -> RangePlan:
    """Decode *framing*'s log range by range once: its windows and what it writes.

    Raises :class:`~leafnb.formats.base.NotRanged` when a window would reach two ranges away.
    """
    header = framing.header
    n, k_dlv = framing.n_framed, len(header.dlvs)
    bounds = [*range(0, n, rows), n]
    totals = [i for i, d in enumerate(header.dlvs) if d.ddi in RUNNING_TOTALS]
    count = np.zeros(k_dlv, np.int64)
    first: list[int | None] = [None] * k_dlv
    first_rec = [-1] * k_dlv
    last: list[int | None] = [None] * k_dlv
    last_rec = [-1] * k_dlv
    vmin, vmax = [0] * k_dlv, [0] * k_dlv
    practice: dict[int, Counter[int]] = {}
    windows: list[Window] = []
    #: (window, DLV) whose next value was not found within the next range
    open_ahead: list[tuple[Window, int]] = []
    before: list[int | None] = [None] * k_dlv  # values before the previous range
    previous: DecodedLog | None = None
    t_lo, t_hi = None, None  # the log's first and last time (its span in its task)
    for r in range(len(bounds) - 1):
        a, b = bounds[r], bounds[r + 1]
        log = framing.decode(a, b)
        if len(log.time_ms):
            lo_t, hi_t = int(log.time_ms.min()), int(log.time_ms.max())
            t_lo = lo_t if t_lo is None else min(t_lo, lo_t)
            t_hi = hi_t if t_hi is None else max(t_hi, hi_t)
        if r == 0:
            window = Window(0, a, b, b, [None] * k_dlv)
        else:
            assert previous is not None
            back = [last_rec[i] for i in totals if last_rec[i] >= 0]
            lo = min([a - 1, *back])
            pa = bounds[r - 1]
            if lo < pa:
                raise NotRanged("a running total writes no value for more than a range")
            state = list(before)
            for i in range(k_dlv):
                rec = previous.dlv_rec[i]
                j = int(np.searchsorted(rec, lo - pa)) - 1
                if j >= 0:
                    state[i] = int(previous.dlv_val[i][j])
            window = Window(lo, a, b, b, state)
            # the previous window reaches on to the first value in this range
            for w, i in [x for x in open_ahead if x[0] is windows[-1]]:
                open_ahead.remove((w, i))
                rec = log.dlv_rec[i]
                if len(rec):
                    w.hi = max(w.hi, a + int(rec[0]) + 1)
                else:
                    open_ahead.append((w, i))  # checked against the log's last value
        windows.append(window)
        for i in totals:
            rec = log.dlv_rec[i]
            if not (len(rec) and int(rec[-1]) == b - a - 1):
                open_ahead.append((window, i))
        # what the log has written up to the end of this range
        before = [last[i] for i in range(k_dlv)]
        for i in range(k_dlv):
            rec, val = log.dlv_rec[i], log.dlv_val[i]
            if not len(rec):
                continue
            lo_v, hi_v = int(val.min()), int(val.max())
            if first[i] is None:
                first[i], first_rec[i] = int(val[0]), a + int(rec[0])
                vmin[i], vmax[i] = lo_v, hi_v
            else:
                vmin[i], vmax[i] = min(vmin[i], lo_v), max(vmax[i], hi_v)
            count[i] += len(rec)
            last[i], last_rec[i] = int(val[-1]), a + int(rec[-1])
            if header.dlvs[i].ddi == _PRACTICE:
                # in the order first written: a tie between practices goes to the
                # first (Counter.most_common, :mod:`.practice`)
                values, at, times = np.unique(
                    val, return_index=True, return_counts=True
                )
                order = np.argsort(at, kind="stable")
                practice.setdefault(i, Counter()).update(
                    dict(
                        zip(values[order].tolist(), times[order].tolist(), strict=True)
                    )
                )
        previous = log
    for w, i in open_ahead:
        if last_rec[i] >= w.end:
            raise NotRanged("a running total writes no value for more than a range")
    written = []
    for i, dlv in enumerate(header.dlvs):
        f = first[i]
        inits = () if dlv.value is None else (dlv.value,)
        if f is None:
            written.append(Written(start=dlv.value, inits=inits))
            continue
        start = f if first_rec[i] == 0 or dlv.value is None else dlv.value
        written.append(
            Written(
                count=int(count[i]),
                first=f,
                last=int(last[i]),  # type: ignore[arg-type]
                first_rec=first_rec[i],
                last_rec=last_rec[i],
                vmin=vmin[i],
                vmax=vmax[i],
                start=start,
                values=tuple(practice.get(i, Counter()).items()),
                inits=inits,
                backfill=f,
            )
        )
    assert t_lo is not None and t_hi is not None  # a clean log of records
    return RangePlan(framing, windows, written, (t_lo, t_hi))


@dataclass
class TaskPlan:
    """A task's time logs, one after another in time, each in ranges (:func:`plan_task`).

    A range's records are one log's (:meth:`RangePlan.records`) with the task's
    channels: every channel of the task, in the order the whole read meets them (a
    channel its log does not name is empty), each with what the task writes on it
    (:attr:`written`) and its own log's first value (what a backfill holds before it).
    """

    plans: list[RangePlan]
    #: per log, every channel key of the task in the whole read's order: what the task
    #: writes on it, with that log's first value as :attr:`~.timelogs.Written.backfill`
    written: list[dict[tuple, Written]]
    #: PTN fields any log records or gives as a constant (NaN in a log without them)
    ptn: tuple[str, ...] = ()

    def windows(self) -> Iterator[tuple[int, Window]]:
        """``(log index, window)`` of every range, in the whole read's order."""
        for k, plan in enumerate(self.plans):
            for window in plan.windows:
                yield k, window

    def records(self, k: int, window: Window) -> TaskRecords:
        """The records of *window* of log *k*, with the task's channels."""
        records = self.plans[k].records(window)
        channels = {}
        for key, whole in self.written[k].items():
            ch = records.channels.get(key)
            if ch is None:  # a channel this log does not name
                ch = Channel(key, np.zeros(0, np.int64), np.zeros(0, np.int64))
            ch.whole = whole
            channels[key] = ch
        records.channels = channels
        for attr in self.ptn:
            if attr not in records.ptn:
                records.ptn[attr] = np.full(records.n, np.nan)
        return records

    def build(
        self,
        td: Taskdata,
        task: XmlElement | None,
        k: int,
        window: Window,
        *,
        resolution: int | None = None,
        ratios: list[np.ndarray] | None = None,
    ) -> TaskTable:
        """:func:`~.table.build_table` of *window* of log *k*.

        *resolution* / *ratios*: the actual rate's resolution rule in a range
        (:class:`~.timelogs.TaskRecords`).
        """
        records = self.records(k, window)
        records.resolution, records.ratios = resolution, ratios
        return build_table(td, task, records)

    def summary(self) -> TaskRecords:
        """Each channel's first and last value in each log, as the task's logs (machine totals)."""
        return join_logs(plan.summary_log(2 * k) for k, plan in enumerate(self.plans))


def plan_task(framings: list[LogFraming], rows: int) -> TaskPlan:
    """Plan a task's logs (task order) in ranges of *rows* records: :class:`TaskPlan`.

    Raises :class:`~leafnb.formats.base.NotRanged` (read whole) for logs that overlap in time —
    parallel logs, joined record by record (:mod:`.timelogs`) — checked on each log's
    first and last record before any range is decoded, then on its whole span; for a
    lateral offset that a log neither writes nor gives in its header (the whole read
    fills it with the task's median); and as :func:`plan_ranges`.
    """
    if len(framings) > 1:
        ends = []
        for f in framings:
            t = [int(f.decode(i, i + 1).time_ms[0]) for i in (0, f.n_framed - 1)]
            ends.append((min(t), max(t)))
        _sequential(ends)
    plans = [plan_ranges(f, rows) for f in framings]
    if len(plans) > 1:
        _sequential([p.span for p in plans])
    # each log's channels (a key named twice: the last DLV, as RangePlan.records)
    owns = [
        {dlv_key(d): w for d, w in zip(p.framing.header.dlvs, p.written, strict=True)}
        for p in plans
    ]
    written: dict[tuple, Written] = {}
    ptn: dict[str, None] = {}
    offset = 0
    for k, (plan, own) in enumerate(zip(plans, owns, strict=True)):
        for key, w in own.items():
            w = _shifted(w, offset)
            if key not in written:
                written[key] = w if k == 0 else replace(w, start=None)
            else:
                written[key] = _merged(written[key], w)
        header = plan.framing.header
        ptn.update(dict.fromkeys(a for a in (*header.logged, *header.constants)))
        offset += plan.framing.n_framed
    for key in written:
        if key[0] != OFFSET_Y or len(plans) == 1:
            continue
        for plan, own in zip(plans, owns, strict=True):
            w = own.get(key)
            if w is None or not (w.count or w.inits):
                raise NotRanged(
                    f"{plan.framing.header.name} gives no lateral offset of {key[1]}: "
                    "the task's is filled in (read whole)"
                )
    per_log = [
        {
            key: replace(w, backfill=own[key].backfill if key in own else None)
            for key, w in written.items()
        }
        for own in owns
    ]
    return TaskPlan(plans, per_log, tuple(a for a in ptn if a not in ("A", "B")))


def _sequential(spans: list[tuple[int, int]]) -> None:
    if any(len(g) > 1 for g in overlapping(spans)):
        raise NotRanged("parallel logs (overlapping in time) are joined: read whole")


def _shifted(w: Written, offset: int) -> Written:
    """*w* of a log whose first record is record *offset* of its task."""
    if not offset or not w.count:
        return w
    return replace(w, first_rec=w.first_rec + offset, last_rec=w.last_rec + offset)


def _merged(a: Written, b: Written) -> Written:
    """What a channel writes over two stretches of a task, *a* before *b*."""
    values = Counter(dict(a.values))
    values.update(dict(b.values))  # a practice first written in *b* comes after
    inits = a.inits + b.inits
    if not b.count:
        return replace(a, inits=inits)
    if not a.count:
        return replace(b, start=a.start, inits=inits, values=tuple(values.items()))
    return replace(
        a,
        count=a.count + b.count,
        last=b.last,
        last_rec=b.last_rec,
        vmin=min(a.vmin, b.vmin),
        vmax=max(a.vmax, b.vmax),
        values=tuple(values.items()),
        inits=inits,
    )
