"""The records of one task: its time logs decoded, parallel logs joined by time.

A task (``TSK``) lists its time logs (``TLG``); each is a header ``TLGnnnnn.xml`` naming
the logged values (``DLV``: DDI + device element) and a binary ``TLGnnnnn.bin`` of records
(:mod:`leafnb.formats.isoxml.tlg`). This module turns a task's logs into one record
sequence, :class:`TaskRecords`, with every logged value as a :class:`Channel` (the
records where it was written and the raw values).

Rules
-----
* **Parallel logs.** A time log indexes its DLVs with one byte, so a controller with more
  process data splits it over several TLGs written at the same instants (a Topcon planter
  wrote 3 logs x 3,633 records, each with a third of the values). Logs of a task whose
  time ranges overlap form a *group*; a group's records are joined into one record per
  instant: the key of a record is (timestamp, occurrence), occurrence numbering the records
  of one log that share a timestamp (so a log that writes several records in the same
  millisecond keeps them), and the group's records are the union of its logs' keys, in time
  order. Each value is placed at its record's key; the position (PTN) of a joined record
  comes from the first log, in task order, that has that key. Logs that do not overlap are
  groups of their own and follow each other in task order (a single log keeps its file
  order).
* **Fill forward.** A DLV is written when it changes, so a channel's value holds until its
  next record (:meth:`TaskRecords.filled`), within a group only: before the first value of
  a group the header's DLV value (``B``) is used when given, else nothing (NaN). Values are
  never carried from one group into the next.
* **Same value in several logs of a group** (the same DDI on the same element): the
  channels merge; at an instant written by both, the later log in task order wins.
* **Duplicate references**: a log named twice in a task is decoded once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from leafnb.formats.isoxml.tlg import PTN_FIELDS, DecodedLog, Dlv

__all__ = [
    "Channel",
    "TaskRecords",
    "Written",
    "dlv_key",
    "join_logs",
    "overlapping",
]

#: occurrences per timestamp kept apart in a join key (more records in one ms merge)
_OCC_BITS = 20


@dataclass(frozen=True)
class Written:
    """What a channel wrote over its whole log, for records that are a range of it.

    The decisions :mod:`.table`, :mod:`.devices` and :mod:`.worktime` take over a
    channel's values (is it logged, is a width ever positive, which value holds before
    the first one, which cultural practice) are the whole log's (:mod:`.ranges`).
    """

    #: values written (0: never)
    count: int = 0
    #: first and last raw value, and their record indices in the log
    first: int = 0
    last: int = 0
    first_rec: int = -1
    last_rec: int = -1
    vmin: int = 0
    vmax: int = 0
    #: raw value at the log's first record (filled forward, else the first written)
    start: int | None = None
    #: (value, times written) of a cultural practice (DDI 179), in the order first
    #: written (empty for other DDIs)
    values: tuple[tuple[int, int], ...] = ()
    #: the header DLV values (``B``) of the task's logs that name the channel, in task
    #: order (what :attr:`Channel.init` holds when the task is read whole)
    inits: tuple[int, ...] = ()
    #: the first value written in the range's own log (None: the log writes none): what
    #: holds before it with ``backfill`` (:meth:`TaskRecords.filled`)
    backfill: int | None = None


@dataclass
class Channel:
    """One logged value of a task: a DDI on a device element (plus PGN bits if any)."""

    key: tuple
    #: joined record indices where a value was written (sorted, unique)
    rec: np.ndarray
    #: raw values at those records (int64)
    val: np.ndarray
    #: header DLV value (``B``) per group, used before the group's first written value
    #: (in a record range: the value written last before it)
    init: dict[int, int] = field(default_factory=dict)
    #: the whole log's values when *rec* is a record range of it (:mod:`.ranges`)
    whole: Written | None = None

    def written(self) -> bool:
        """True when the log writes the channel at all."""
        return self.whole.count > 0 if self.whole else len(self.val) > 0

    def any_positive(self) -> bool:
        """True when a written value is above 0."""
        if self.whole:
            return self.whole.count > 0 and self.whole.vmax > 0
        return bool((self.val > 0).any())

    def any_nonzero(self) -> bool:
        """True when a written value is not 0."""
        if self.whole:
            return self.whole.count > 0 and (self.whole.vmin, self.whole.vmax) != (0, 0)
        return bool((self.val != 0).any())

    def value_range(self) -> tuple[float, float]:
        """The smallest and the largest raw value written (the channel is written)."""
        if self.whole:
            return float(self.whole.vmin), float(self.whole.vmax)
        return float(np.min(self.val)), float(np.max(self.val))

    def header_values(self) -> tuple[int, ...]:
        """The header DLV values (``B``) the task's logs give the channel.

        Read whole, what :attr:`init` holds (one a group of logs); in a record range,
        every log's (:attr:`Written.inits`), not the value before the range.
        """
        if self.whole:
            return self.whole.inits
        return tuple(self.init.values())

    def all_values(self) -> np.ndarray:
        """Every raw value written, to count cultural practices.

        In a range (:class:`Written`, DDI 179 only) each value's writes are grouped, in
        the order values were first written (what a tie between counts goes by).
        """
        if self.whole:
            values = np.array([v for v, _ in self.whole.values], np.int64)
            return np.repeat(values, [c for _, c in self.whole.values])
        return self.val

    @property
    def ddi(self) -> int:
        """The channel's DDI (data dictionary identifier)."""
        return self.key[0]

    @property
    def det(self) -> str | None:
        """The XML id of the device element that logged the channel, or None."""
        return self.key[1]


@dataclass
class TaskRecords:
    """A task's records after joining (see the module docstring)."""

    time_ms: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    #: PTN fields other than A/B in physical units (``tlg.PTN_FIELDS`` scale applied;
    #: header constants as written), NaN where a record's log has no such field
    ptn: dict[str, np.ndarray]
    #: first record of each group (ascending, starts with 0)
    group_start: np.ndarray
    channels: dict[tuple, Channel]
    logs: list[DecodedLog]
    #: names of the logs of each group, in task order
    groups: list[list[str]]
    #: the records are a window of one log (:mod:`.ranges`) around the range *core*
    #: (``[lo, hi)`` of these records); the actual rate's resolution exponent is the
    #: whole log's *resolution*, or, while it is looked for, each range's rate ratios
    #: go to *ratios*; without either that rule raises
    #: :class:`~leafnb.formats.base.NotRanged`
    ranged: bool = False
    core: tuple[int, int] = (0, 0)
    resolution: int | None = None
    ratios: list[np.ndarray] | None = None

    @property
    def n(self) -> int:
        """Number of joined records."""
        return len(self.time_ms)

    def group_of(self, rec: np.ndarray) -> np.ndarray:
        """Group index of each record index in *rec*."""
        return np.searchsorted(self.group_start, rec, side="right") - 1

    def channel(self, ddi: int, det: str | None) -> Channel | None:
        """The channel of *ddi* on element *det* (plain DLV, no PGN), or None."""
        return self.channels.get((ddi, det, None, None, None))

    def by_ddi(self, ddi: int) -> list[Channel]:
        """Every channel of *ddi*, in order of first appearance."""
        return [c for k, c in self.channels.items() if k[0] == ddi]

    def filled(
        self, channel: Channel, scale: float = 1.0, *, backfill: bool = False
    ) -> np.ndarray:
        """*channel* as float64 per record, forward filled within each group.

        Before a group's first written value: the header's DLV value, else NaN — or,
        with *backfill*, that first value (for configuration and states that hold from
        the start: widths, offsets, work states).

        Examples
        --------
        >>> import numpy as np
        >>> ch = Channel((99, "DET-1", None, None, None), np.array([1, 3]), np.array([5, 7]))
        >>> recs = TaskRecords(np.zeros(5), np.zeros(5), np.zeros(5), {}, np.array([0]),
        ...                    {ch.key: ch}, [], [])
        >>> recs.filled(ch).tolist()
        [nan, 5.0, 5.0, 7.0, 7.0]
        """
        n = self.n
        starts = self.group_start
        init = np.array(
            [
                channel.init[g] * scale if g in channel.init else np.nan
                for g in range(len(starts))
            ],
            dtype=np.float64,
        )
        rec = channel.rec
        ascending = len(rec) > 0 and bool(np.all(rec[1:] > rec[:-1]))
        if (
            backfill
            and channel.whole
            and channel.whole.backfill is not None
            and 0 not in channel.init
        ):
            # a range of a log (one group) before the log's first value: that value
            init[0] = channel.whole.backfill * scale
        if backfill and len(rec):
            group = self.group_of(rec)
            if ascending:  # groups ascend too: each group's first is where it changes
                first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
                groups = group[first]
            else:
                groups, first = np.unique(group, return_index=True)
            missing = np.isnan(init[groups])
            init[groups[missing]] = channel.val[first[missing]] * scale
        if ascending:
            # one value a record at most (as joined): merge the group starts in, in order
            at = np.searchsorted(rec, starts)
            own = rec[np.minimum(at, len(rec) - 1)] == starts  # a written value wins
            values = np.multiply(channel.val, scale, dtype=np.float64)  # one pass
            points = rec
            if not own.all():
                points = np.insert(rec, at[~own], starts[~own])
                values = np.insert(values, at[~own], init[~own])
            if len(points) == n:  # a value at every record (points ascend from 0)
                return values
            return np.repeat(values, np.diff(points, append=n))
        points = np.concatenate([starts, rec])
        values = np.concatenate([init, channel.val.astype(np.float64) * scale])
        written = np.concatenate(
            [np.zeros(len(starts), np.int8), np.ones(len(channel.rec), np.int8)]
        )
        order = np.lexsort((written, points))  # a value written at a group start wins
        points, values = points[order], values[order]
        last = np.ones(len(points), bool)
        last[:-1] = points[1:] != points[:-1]
        points, values = points[last], values[last]
        return np.repeat(values, np.diff(points, append=n))

    def steps_in_group(self) -> np.ndarray:
        """True for records that follow another record of the same group."""
        out = np.ones(self.n, bool)
        out[self.group_start] = False
        return out


def _occurrence(t: np.ndarray) -> np.ndarray:
    """Rank of each record among the records of the same log with the same timestamp."""
    order = np.argsort(t, kind="stable")
    ts = t[order]
    run_start = np.ones(len(ts), bool)
    run_start[1:] = ts[1:] != ts[:-1]
    first = np.maximum.accumulate(np.where(run_start, np.arange(len(ts)), 0))
    occ = np.empty(len(t), np.int64)
    occ[order] = np.arange(len(ts)) - first
    return np.minimum(occ, (1 << _OCC_BITS) - 1)


def _groups(logs: list[DecodedLog]) -> list[list[int]]:
    """Indices of logs whose time ranges overlap (transitively), in task order."""
    return overlapping(
        [(int(log.time_ms.min()), int(log.time_ms.max())) for log in logs]
    )


def overlapping(spans: list[tuple[int, int]]) -> list[list[int]]:
    """Groups of the indices of *spans* (first, last time) that overlap, transitively.

    >>> overlapping([(0, 10), (20, 30), (5, 21), (40, 50)])
    [[0, 1, 2], [3]]
    """
    groups: list[list[int]] = []
    bounds: list[list[int]] = []
    for i, (lo, hi) in enumerate(spans):
        hits = [g for g, (glo, ghi) in enumerate(bounds) if lo <= ghi and hi >= glo]
        if not hits:
            groups.append([i])
            bounds.append([lo, hi])
            continue
        keep = hits[0]
        for g in reversed(hits[1:]):  # this log bridges several groups: merge them
            groups[keep].extend(groups.pop(g))
            blo, bhi = bounds.pop(g)
            bounds[keep] = [min(bounds[keep][0], blo), max(bounds[keep][1], bhi)]
        groups[keep].append(i)
        bounds[keep] = [min(bounds[keep][0], lo), max(bounds[keep][1], hi)]
    return [sorted(g) for g in groups]


def dlv_key(dlv: Dlv) -> tuple:
    """The key of the channel a DLV writes: DDI, element, PGN and its bits."""
    return (dlv.ddi, dlv.det, dlv.pgn, dlv.start_bit, dlv.stop_bit)


def join_logs(logs: Iterable[DecodedLog]) -> TaskRecords:
    """Join a task's decoded *logs* (task order) into :class:`TaskRecords`."""
    logs = list(logs)
    groups = _groups(logs) if logs else []
    times, lats, lons, starts = [], [], [], []
    ptn_attrs = sorted(
        {
            a
            for log in logs
            for a in (*log.header.logged, *log.header.constants)
            if a not in ("A", "B")
        }
    )
    ptn_parts: dict[str, list[np.ndarray]] = {a: [] for a in ptn_attrs}
    channels: dict[tuple, Channel] = {}
    parts: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
    offset = 0
    for g, members in enumerate(groups):
        starts.append(offset)
        if len(members) == 1:
            log = logs[members[0]]
            index = [None]  # the log's own records, in order
            t = log.time_ms
            lat, lon = log.lat_lon()
            ptn = {a: _ptn(log, a) for a in ptn_attrs}
        else:
            keys = [
                (logs[m].time_ms.astype(np.int64) << _OCC_BITS)
                | _occurrence(logs[m].time_ms)
                for m in members
            ]
            joined = np.unique(np.concatenate(keys))
            index = [np.searchsorted(joined, k) for k in keys]
            t = joined >> _OCC_BITS
            lat = np.full(len(joined), np.nan)
            lon = np.full(len(joined), np.nan)
            ptn = {a: np.full(len(joined), np.nan) for a in ptn_attrs}
            for m, idx in reversed(list(zip(members, index, strict=True))):
                la, lo = logs[m].lat_lon()
                lat[idx], lon[idx] = la, lo
                for a in ptn_attrs:
                    ptn[a][idx] = _ptn(logs[m], a)
        for m, idx in zip(members, index, strict=True):
            log = logs[m]
            for i, dlv in enumerate(log.header.dlvs):
                key = dlv_key(dlv)
                ch = channels.get(key)
                if ch is None:
                    ch = channels[key] = Channel(
                        key, np.zeros(0, np.int64), np.zeros(0, np.int64)
                    )
                if dlv.value is not None and g not in ch.init:
                    ch.init[g] = dlv.value
                rec = log.dlv_rec[i]
                if len(rec):
                    rec = rec if idx is None else idx[rec]
                    parts.setdefault(key, []).append(
                        (
                            rec + offset if offset else rec,
                            log.dlv_val[i].astype(np.int64),
                        )
                    )
        times.append(np.asarray(t, dtype=np.int64))
        lats.append(lat)
        lons.append(lon)
        for a in ptn_attrs:
            ptn_parts[a].append(ptn[a])
        offset += len(t)
    for key, chunks in parts.items():
        if len(chunks) == 1 and bool(np.all(np.diff(chunks[0][0]) > 0)):
            # one log's records in order, one value each (the usual case): as they are
            channels[key].rec, channels[key].val = chunks[0]
            continue
        rec = np.concatenate([c[0] for c in chunks])
        val = np.concatenate([c[1] for c in chunks])
        order = np.argsort(rec, kind="stable")
        rec, val = rec[order], val[order]
        last = np.ones(len(rec), bool)  # the later log wins at a shared instant
        last[:-1] = rec[1:] != rec[:-1]
        channels[key].rec, channels[key].val = rec[last], val[last]
    cat = lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt)  # noqa: E731
    return TaskRecords(
        time_ms=cat(times, np.int64),
        lat=cat(lats, np.float64),
        lon=cat(lons, np.float64),
        ptn={a: cat(ptn_parts[a], np.float64) for a in ptn_attrs},
        group_start=np.array(starts, dtype=np.int64),
        channels=channels,
        logs=logs,
        groups=[[logs[m].header.name for m in members] for members in groups],
    )


def _ptn(log: DecodedLog, attr: str) -> np.ndarray:
    """PTN field *attr* of *log* in physical units (header constant, or NaN when absent)."""
    if attr in log.ptn:
        return log.ptn[attr].astype(np.float64) * PTN_FIELDS[attr][2]
    return np.full(log.n, log.header.constants.get(attr, np.nan), dtype=np.float64)
