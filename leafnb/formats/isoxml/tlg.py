"""ISO 11783-10 binary time logs (``TLGnnnnn.xml`` header + ``TLGnnnnn.bin`` records).

Record layout (little endian), as declared by the header's ``TIM``/``PTN``/``DLV``:

``TimeStart ms (uint32)``, ``days since 1980-01-01 (uint16)``, then for every ``PTN``
attribute given as ``""`` in the header (A north int32 1e-7 deg, B east int32 1e-7 deg,
C up int32 mm, D status uint8, E PDOP uint16 x0.1, F HDOP uint16 x0.1, G satellites
uint8, H GPS UTC time uint32 ms, I GPS UTC date uint16), a ``uint8`` DLV count and that
many ``(uint8 DLV index, int32 value)`` pairs. PTN attributes that carry a value in
the header are constants and are not written per record.

The decoder is vectorised; no Python object is created per record:

1. **Framing** (record start offsets; the only sequential part of the format). The
   chunk is cut into segments of :data:`SEGMENT_BYTES`; one cursor per segment walks
   records *speculatively* from the segment's first byte, all cursors in lock step (one
   numpy op over all segments per step). A speculative walk that starts mid-record
   soon lands on a true record boundary and from there on equals the true walk
   (the walk is a function of the position only). The true chain is then verified
   segment by segment in bulk: segment *k+1* is accepted when the exit of segment *k*
   is one of its speculated positions. Where that fails (a walk that never
   synchronised, or a malformed record) the true walk continues record by record until
   it meets a speculated position again. Malformed records (DLV count larger than the
   header's DLV list, DLV index out of range, time of day >= 24 h, record past the end)
   are passed over by *resynchronising*: the next offset where a plausible record
   (plausible time/day/count/indices/position) is followed by another plausible record.
   The records passed over are counted (:class:`_Skips`: by walking their declared
   lengths, else from their bytes) and the first :data:`MAX_SKIP_NOTES` pass-overs are
   described in the notes.
2. **Gather**: fixed fields through unaligned strided views (one fancy-index per field),
   the DLV pairs through one flat index array built with ``np.repeat``/``cumsum``.
3. **Per DLV**: pairs are split by DLV index with a stable (radix) argsort; a DLV's
   values are kept as (record index, raw value) so a caller can count values *as
   logged* and fill forward cheaply (:meth:`DecodedLog.filled`).

Files are read in chunks of :data:`CHUNK_BYTES` (memory bounded by the output arrays,
not the file); a record split by a chunk boundary is carried to the next chunk.

Records whose position is impossible (|lat| > 90, |lon| > 180, or exactly 0,0) are
framed correctly but are dropped from the output and counted in ``skipped``.

The walk these steps implement is sequential and position-determined: at a record
start it is *accepted* when its head and pairs lie inside the buffer, its DLV count is
at most the header's DLVs, its time of day is below :data:`MS_LIMIT` and every DLV index
is in range (the position is not an acceptance criterion, see above); a cut record at
the end is carried (or, at the end of the file, counted as truncated); anything else is
passed over by resynchronising (day reference: the last accepted record).

**Linear in the input** (issue 14: a 200 kB log with bad DLV indices took 148 s without
the kernel). The speculative walk tests DLV indices too (:meth:`_Framer.bad_index`, O(1)
per record from running counts), so a bad index no longer stops the walk and restarts
it over the rest of the chunk; resynchronisation windows grow from a few bytes; and a
chunk restarts its speculation at most twice (:meth:`_Framer.frame`). Every byte is
then examined a bounded number of times (``tests/formats/isoxml/test_hostile.py``
counts the work). The C kernel is kept optional: it is 20-100x faster, but a user
without a compiler gets a correct, linear decoder rather than a failed install.

**C kernel.** ``leafnb/formats/isoxml/_tlgkernel.c`` (optional extension, built by
``setup.py``) performs exactly this walk sequentially on the same chunk buffers (the
file is memory mapped; chunk *k* is the window ``[base_k, min((k+1)*chunk, size))``),
then scatters the records into exact, caller-allocated outputs; ``filled`` forward fills
in C. It is used when built, unless ``LEAFNB_TLG_KERNEL=0`` (or ``kernel=False``); the
numpy code above is the fallback and the reference (tests/formats/isoxml/test_kernel.py
asserts identical results).

**Record ranges** (issue 16, :mod:`.ranges`): :func:`frame_log` runs the kernel's walk
alone over the file in read buffers and keeps where records start
(:class:`LogFraming`), so a run of records can be decoded alone from its bytes.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from defusedxml import ElementTree as DET
from defusedxml.common import DefusedXmlException

from leafnb.errors import CorruptFile

#: interface version of leafnb/formats/isoxml/_tlgkernel.c this module calls
_KERNEL_ABI = 2

try:  # optional C kernel (setup.py); numpy below is the fallback and the reference
    from leafnb.formats.isoxml import _tlgkernel as _KERNEL

    if getattr(_KERNEL, "ABI", None) != _KERNEL_ABI:  # a stale build
        _KERNEL = None
except ImportError:  # pragma: no cover - depends on the build
    _KERNEL = None

__all__ = [
    "CHUNK_BYTES",
    "PTN_FIELDS",
    "DecodedLog",
    "Dlv",
    "LogFraming",
    "TlgHeader",
    "decode_tlg",
    "frame_log",
    "kernel_available",
    "parse_tlg_header",
]

#: bytes read per chunk of a .bin file
CHUNK_BYTES = 32 * 1024 * 1024
#: bytes per speculative framing segment
SEGMENT_BYTES = 4096
#: milliseconds in a day
MS_PER_DAY = 86_400_000
#: TimeStart must be below this (a day plus a leap second; some loggers write 86,400,000)
MS_LIMIT = MS_PER_DAY + 1001
#: 1980-01-01T00:00Z in Unix milliseconds
EPOCH_1980_MS = 315_532_800_000
#: largest resynchronisation window, bytes (windows grow to it from 256)
RESYNC_WINDOW = 65536
#: positions tried one by one before the windows
RESYNC_SCALAR = 64
#: buffers up to this size are framed by the exact walk alone (speculating over a few
#: segments costs more than it saves)
EXACT_WALK_BYTES = 16 * SEGMENT_BYTES
_U16, _U32, _I32 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<i")
#: why a record is passed over (also the event kinds of the C kernel); TRAILING: bytes
#: left after the last record of the file
MALFORMED, BAD_INDEX, TRUNCATED, TRAILING = 1, 2, 3, 4

#: PTN attribute -> (field name, numpy dtype, scale to physical units)
PTN_FIELDS: dict[str, tuple[str, str, float]] = {
    "A": ("north", "<i4", 1e-7),
    "B": ("east", "<i4", 1e-7),
    "C": ("up", "<i4", 1.0),
    "D": ("status", "u1", 1.0),
    "E": ("pdop", "<u2", 0.1),
    "F": ("hdop", "<u2", 0.1),
    "G": ("satellites", "u1", 1.0),
    "H": ("gps_utc_time", "<u4", 1.0),
    "I": ("gps_utc_date", "<u2", 1.0),
}


@dataclass(frozen=True)
class Dlv:
    """One ``DLV`` of a time-log header."""

    ddi: int
    det: str | None = None
    #: header value (B) when given: used as the value before the first logged one
    value: int | None = None
    pgn: int | None = None
    start_bit: int | None = None
    stop_bit: int | None = None


@dataclass
class TlgHeader:
    """Parsed ``TIM`` element of a TLG header."""

    name: str
    #: PTN attributes written per record, in record order
    logged: tuple[str, ...]
    #: PTN attributes given as constants in the header (physical units, as written)
    constants: dict[str, float]
    dlvs: list[Dlv]
    has_ptn: bool = True

    @property
    def prefix(self) -> int:
        """Bytes before the DLV count byte."""
        return 6 + sum(np.dtype(PTN_FIELDS[a][1]).itemsize for a in self.logged)

    def offsets(self) -> dict[str, int]:
        """Byte offset of each logged PTN field from the record start."""
        out, off = {}, 6
        for a in self.logged:
            out[a] = off
            off += np.dtype(PTN_FIELDS[a][1]).itemsize
        return out


def _int_or_none(text: str | None, base: int = 10) -> int | None:
    if text is None or text.strip() == "":
        return None
    try:
        return int(text.strip(), base)
    except ValueError:
        return None


def parse_tlg_header(path: Path, name: str | None = None) -> TlgHeader:
    """Parse a TLG header XML (entity expansion off).

    Raises
    ------
    CorruptFile
        Malformed XML, entities, or no ``TIM`` root.
    """
    name = name or path.stem
    try:
        root = DET.parse(str(path)).getroot()
    except DefusedXmlException as exc:
        raise CorruptFile(
            f"{path.name}: time-log header declares XML entities/DTD ({type(exc).__name__}); "
            "entity expansion is disabled, the log is not read",
            path=path,
            reader="isoxml",
        ) from exc
    except (DET.ParseError, LookupError, ValueError) as exc:  # + unknown encodings
        raise CorruptFile(
            f"{path.name}: time-log header is not well-formed XML ({exc})",
            path=path,
            reader="isoxml",
        ) from exc
    except OSError as exc:
        raise CorruptFile(
            f"{path.name}: cannot read time-log header ({exc})",
            path=path,
            reader="isoxml",
        ) from exc
    if root.tag != "TIM":
        raise CorruptFile(
            f"{path.name}: time-log header root is <{root.tag}>, expected <TIM>",
            path=path,
            reader="isoxml",
        )
    ptn = root.find("PTN")
    logged: list[str] = []
    constants: dict[str, float] = {}
    if ptn is not None:
        for attr in PTN_FIELDS:
            if attr not in ptn.attrib:
                continue
            val = ptn.attrib[attr].strip()
            if val == "":
                logged.append(attr)
            else:
                try:
                    constants[attr] = float(val)
                except ValueError:
                    raise CorruptFile(
                        f"{path.name}: PTN attribute {attr}={val!r} is not a number",
                        path=path,
                        reader="isoxml",
                    ) from None
    dlvs: list[Dlv] = []
    for el in root.findall("DLV"):
        ddi = _int_or_none(el.get("A"), 16)
        if ddi is None:
            raise CorruptFile(
                f"{path.name}: DLV without a valid DDI (A={el.get('A')!r})",
                path=path,
                reader="isoxml",
            )
        dlvs.append(
            Dlv(
                ddi=ddi,
                det=(el.get("C") or None),
                value=_int_or_none(el.get("B")),
                pgn=_int_or_none(el.get("D")),
                start_bit=_int_or_none(el.get("E")),
                stop_bit=_int_or_none(el.get("F")),
            )
        )
    if len(dlvs) > 256:
        raise CorruptFile(
            f"{path.name}: {len(dlvs)} DLVs (at most 256 can be indexed)",
            path=path,
            reader="isoxml",
        )
    return TlgHeader(
        name=name,
        logged=tuple(logged),
        constants=constants,
        dlvs=dlvs,
        has_ptn=ptn is not None,
    )


@dataclass
class DecodedLog:
    """A decoded time log: per-record arrays plus per-DLV (record, value) pairs.

    ``time_ms``, ``ptn`` and the record indices in ``dlv_rec`` refer to the *kept*
    records (valid positions), in file order.
    """

    header: TlgHeader
    #: records framed in the binary (including those dropped for their position)
    n_framed: int
    #: malformed records passed over + records dropped for an impossible position
    skipped: int
    time_ms: np.ndarray  # int64 Unix ms
    ptn: dict[str, np.ndarray]  # logged PTN fields, raw integers
    dlv_rec: list[np.ndarray]  # per DLV: int64 record indices (sorted, unique)
    dlv_val: list[np.ndarray]  # per DLV: int32 raw values
    #: values counted as logged (before dropping bad positions), per DLV
    dlv_count_all: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: raw min/max over all framed records per DLV (NaN when never logged)
    dlv_min_all: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dlv_max_all: np.ndarray = field(default_factory=lambda: np.zeros(0))
    notes: list[str] = field(default_factory=list)
    #: implementation that decoded the log: "kernel" (C) or "numpy"
    decoder: str = "numpy"

    @property
    def n(self) -> int:
        """Records kept."""
        return len(self.time_ms)

    def lat_lon(self) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 degrees of the kept records (constants from the header broadcast)."""
        return self._coord("A"), self._coord("B")

    def _coord(self, attr: str) -> np.ndarray:
        if attr in self.ptn:  # one float64 output, no int->float temporary
            return np.multiply(self.ptn[attr], 1e-7, dtype=np.float64)
        return np.full(
            self.n, self.header.constants.get(attr, np.nan), dtype=np.float64
        )

    def filled(self, i: int, scale: float = 1.0) -> np.ndarray:
        """DLV *i* as float64 per kept record, forward filled after its first value.

        Before the first logged value the header's constant (DLV B) is used when given,
        otherwise NaN.
        """
        init = self.header.dlvs[i].value
        before = np.nan if init is None else init * scale
        K = _kernel()
        if K is None:
            return self._filled_numpy(i, scale, before)
        out = np.empty(self.n, dtype=np.float64)
        K.fill(
            np.ascontiguousarray(self.dlv_rec[i], dtype=np.int64),
            np.ascontiguousarray(self.dlv_val[i], dtype=np.int32),
            self.n,
            float(before),
            float(scale),
            out,
        )
        return out

    def _filled_numpy(self, i: int, scale: float, before: float) -> np.ndarray:
        n = self.n
        rec, val = self.dlv_rec[i], self.dlv_val[i]
        out = np.empty(n, dtype=np.float64)
        first = int(rec[0]) if len(rec) else n
        out[:first] = before
        if len(rec):
            lengths = np.diff(rec, append=n)
            out[first:] = np.repeat(val.astype(np.float64) * scale, lengths)
        return out


# ---------------------------------------------------------------------------------------
# framing


#: passed-over stretches described in the notes; the rest are counted
MAX_SKIP_NOTES = 20


class _Skips:
    """Records passed over while framing: counted, and the first few described.

    A pass-over runs from a record that cannot be accepted to the resynchronisation
    point (or the end of the buffer). Its records are counted by walking their declared
    lengths (``prefix + 1 + 5 x DLV count``, while the count is one the header allows)
    from its start: every record the walk places counts (a bad DLV index or time of day
    leaves the lengths intact); what it cannot place (a corrupted count, junk, a cut
    tail) counts ``max(1, round(bytes / L))`` records, L being the mean size of the
    log's framed records — or, when fewer than 16 were framed, the size of a record
    with half of the header's DLVs (between the smallest and the largest record it
    declares). A header that declares nine position fields over a three-field binary
    thus reports its 4,716 records as skipped (4,733 estimated), not one
    resynchronisation. Memory is 8
    bytes per pass-over and at most :data:`MAX_SKIP_NOTES` notes, whatever the input.
    """

    #: record lengths walked per pass-over before the rest is estimated from its bytes
    WALK = 64

    def __init__(self, n_dlv: int, prefix: int):
        self.n_dlv = n_dlv
        self.P = prefix
        self.placed = 0
        self.rest = array("q")
        self.events = 0
        self.notes: list[str] = []

    def add(self, kind: int, buf, start: int, end: int, p: int, q: int) -> None:
        """Record a pass-over of ``buf[start:end]``, reported at chunk byte *p* with *q*.

        *q* is the resynchronisation point, or the bytes for TRUNCATED/TRAILING.
        """
        self.events += 1
        x, P, k = start, self.P, 0
        while k < self.WALK and x + P < end:
            c = int(buf[x + P])
            nxt = x + P + 1 + 5 * c
            if c > self.n_dlv or nxt > end:  # a count the header cannot have
                break
            k, x = k + 1, nxt
        self.placed += k
        if x < end:
            self.rest.append(end - x)
        if len(self.notes) >= MAX_SKIP_NOTES:
            return
        if kind == TRUNCATED:
            note = f"truncated record at byte {p} ({q} bytes) passed over"
        elif kind == TRAILING:
            note = f"{q} trailing bytes passed over"
        elif kind == BAD_INDEX:
            note = f"record at byte {p} names a DLV index >= {self.n_dlv}; resynchronised at byte {q}"
        else:
            note = f"malformed record at byte {p}; resynchronised at byte {q} ({q - p} bytes passed over)"
        self.notes.append(note)

    def records(self, record_bytes: float) -> int:
        """Records passed over, for framed records of *record_bytes* on average."""
        rest = np.frombuffer(self.rest, dtype=np.int64) if self.rest else np.zeros(0)
        return self.placed + int(np.maximum(1, np.rint(rest / record_bytes)).sum())

    def all_notes(self) -> list[str]:
        more = self.events - len(self.notes)
        return self.notes + (
            [f"... and {more} more passed-over stretches (not listed)"] if more else []
        )


class _Framer:
    """Record framing of one chunk (see module docstring)."""

    def __init__(
        self, b: np.ndarray, header: TlgHeader, day_ref: int | None, skips: _Skips
    ):
        self.b = b
        self.B = len(b)
        self.P = header.prefix
        self.n_dlv = len(header.dlvs)
        self.header = header
        self.day_ref = day_ref
        offs = header.offsets()
        self.off_north = offs.get("A")
        self.off_east = offs.get("B")
        self.u4 = _view(b, "<u4")
        self.u2 = _view(b, "<u2")
        self.i4 = _view(b, "<i4")
        self.mv = memoryview(b).cast("B")
        #: records passed over (kind, byte position, resync position or bytes)
        self.skips = skips
        self._bad5: np.ndarray | None = None
        #: speculation restarts left before the day range is dropped (bounds the work)
        self.restarts = 1

    def bad_index(self, p: np.ndarray, c: np.ndarray) -> np.ndarray:
        """True where the record at *p* with DLV count *c* names a DLV index out of range.

        Vectorised and O(1) per record: a byte at position x is an out-of-range index
        when ``b[x] >= n_dlv``; the pairs of a record at p are the bytes p + P + 1 + 5j,
        one residue class mod 5, so the number of bad ones is a difference of running
        counts along that class. The counts wrap at 256, which is exact because a
        record has at most 255 pairs.
        """
        if self.n_dlv >= 256 or not len(p):
            return np.zeros(len(p), bool)
        if self._bad5 is None:
            bad = (self.b >= self.n_dlv).astype(np.uint8)
            cum = np.empty(self.B, np.uint8)
            for r in range(5):
                np.cumsum(bad[r::5], dtype=np.uint8, out=cum[r::5])
            self._bad5 = cum
        cum = self._bad5
        first = p + self.P + 1
        last = first + 5 * (c - 1)
        top = self.B - 1
        hi = cum[np.minimum(np.maximum(last, 0), top)]
        lo = cum[np.minimum(np.maximum(first - 5, 0), top)]
        lo[first < 5] = 0
        return (c > 0) & (last <= top) & ((hi - lo) != 0)

    # -- scalar checks (slow path only) ---------------------------------------------
    def _fits_head(self, p: int) -> bool:
        return p + self.P + 1 <= self.B

    def _record_end(self, p: int) -> int:
        return p + self.P + 1 + 5 * int(self.b[p + self.P])

    def reason(self, p: int) -> int:
        """Acceptance of a record at *p* on the walk.

        0 acceptable, :data:`MALFORMED` (head or record past the end, DLV count > header DLVs, time of day >= 24 h),
        :data:`BAD_INDEX` (otherwise sound but a DLV index is out of range).

        The position is *not* an acceptance criterion: records with an impossible
        position are framed and then dropped (counted in ``skipped``).
        """
        if not self._fits_head(p):
            return MALFORMED
        c = int(self.b[p + self.P])
        end = p + self.P + 1 + 5 * c
        if c > self.n_dlv or end > self.B:
            return MALFORMED
        if int(self.u4[p]) >= MS_LIMIT:
            return MALFORMED
        if c and int(self.b[p + self.P + 1 : end : 5].max()) >= self.n_dlv:
            return BAD_INDEX
        return 0

    def _accepted(self, q: np.ndarray) -> np.ndarray:
        """:meth:`reason` == 0 for every position in *q* (vectorised)."""
        B, P = self.B, self.P
        c = self.b[np.minimum(q + P, B - 1)].astype(np.int64)
        ok = (q + P + 1 <= B) & (c <= self.n_dlv) & (q + P + 1 + 5 * c <= B)
        ok &= self.u4[np.minimum(q, len(self.u4) - 1)] < MS_LIMIT
        return ok & ~self.bad_index(q, c)

    def _plausible_vec(self, q: np.ndarray) -> np.ndarray:
        """Acceptance plus a possible position, for every position in *q*."""
        ok = self._accepted(q)
        if self.off_north is not None and self.off_east is not None:
            n4 = len(self.i4) - 1
            lat = self.i4[np.minimum(q + self.off_north, n4)] * 1e-7
            lon = self.i4[np.minimum(q + self.off_east, n4)] * 1e-7
            ok &= ~((np.abs(lat) > 90) | (np.abs(lon) > 180))
        return ok

    def _incomplete(self, p: int) -> bool:
        """True when the bytes from *p* are a record cut by the end of the buffer."""
        if not self._fits_head(p):
            return True
        c = int(self.b[p + self.P])
        return c <= self.n_dlv and self._record_end(p) > self.B

    def _plausible_at(self, q: int) -> bool:
        """:meth:`_plausible_vec` for one position, in plain Python (cheap for one)."""
        B, P, mv = self.B, self.P, self.mv
        if q + P + 1 > B:
            return False
        c = mv[q + P]
        if c > self.n_dlv or q + P + 1 + 5 * c > B:
            return False
        if _U32.unpack_from(mv, q)[0] >= MS_LIMIT:
            return False
        first = q + P + 1
        if any(mv[first + 5 * j] >= self.n_dlv for j in range(c)):
            return False
        if self.off_north is not None and self.off_east is not None:
            lat = _I32.unpack_from(mv, q + self.off_north)[0] * 1e-7
            lon = _I32.unpack_from(mv, q + self.off_east)[0] * 1e-7
            if abs(lat) > 90 or abs(lon) > 180:
                return False
        return True

    def _day_ok(self, days: np.ndarray) -> np.ndarray:
        if self.day_ref is not None:
            return np.abs(days.astype(np.int64) - self.day_ref) <= 1
        return (days > 3650) & (days < 40000)

    def _resync_candidate(self, q: int) -> bool:
        """Resynchronisation test of one position whose day passed (see :meth:`resync`)."""
        if not self._plausible_at(q):
            return False
        end = q + self.P + 1 + 5 * self.mv[q + self.P]
        if end >= self.B or end + self.P + 1 > self.B:
            return True
        return self._plausible_at(end)

    def resync(self, p: int) -> int:
        """Return the next plausible record start after the malformed record at *p*.

        A candidate q (``p < q < B - P - 1``) has a day within +-1 of the last accepted
        record's (or a plausible day without one) and is plausible together with its
        successor (or its successor does not fit). In the first :data:`RESYNC_SCALAR`
        positions (the next record usually starts there) the few whose day passes are
        tried one by one; then windows growing from 256 bytes are tested at once, so
        the work is proportional to the bytes passed over.
        """
        B, P = self.B, self.P
        lim = B - P - 1
        q0 = p + 1
        hi = min(q0 + RESYNC_SCALAR, lim)
        if hi > q0:
            days = self.u2[q0 + 4 : hi + 4]  # the day of every candidate (a view)
            for q in (q0 + np.flatnonzero(self._day_ok(days))).tolist():
                if self._resync_candidate(q):
                    return q
        q0 = max(hi, q0)
        width = 256
        while q0 < lim:
            hi = min(q0 + width, lim)
            width = min(2 * width, RESYNC_WINDOW)
            q = np.arange(q0, hi, dtype=np.int64)
            cand = q[self._day_ok(self.u2[q0 + 4 : hi + 4])]
            cand = cand[self._plausible_vec(cand)]
            if len(cand):
                c = self.b[cand + P].astype(np.int64)
                end = cand + P + 1 + 5 * c
                nxt = (end >= B) | (end + P + 1 > B)
                inside = ~nxt
                if inside.any():
                    nxt[inside] = self._plausible_vec(end[inside])
                if nxt.any():
                    return int(cand[np.argmax(nxt)])
            q0 = hi
        return B

    # -- vectorised speculative walk ---------------------------------------------------
    def speculate(self, p0: int, dlo: int, dhi: int):
        """Walk one cursor per segment in lock step.

        A cursor on an implausible record moves on by one byte (it is scanning for a
        record boundary); those positions are returned as ``fails``. A cursor that scans
        more than one maximal record without finding a plausible one stops (its segment
        is then framed by the exact walk). The walk is a function of the position, so
        once a cursor meets the true chain it follows it. Only active cursors are
        processed at each step.
        """
        b, B, P, n_dlv = self.b, self.B, self.P, self.n_dlv
        seg_start = np.arange(p0, B, SEGMENT_BYTES, dtype=np.int64)
        K = len(seg_start)
        seg_end = np.minimum(seg_start + SEGMENT_BYTES, B)
        max_scan = P + 1 + 5 * n_dlv + 8
        u4, u2 = self.u4, self.u2
        n4, n2 = len(u4) - 1, len(u2) - 1
        cur = np.arange(K, dtype=np.int64)  # active cursor ids
        pos = seg_start.copy()
        end = seg_end.copy()
        scanned = np.zeros(K, dtype=np.int64)
        exits = np.full(K, -1, dtype=np.int64)
        got_cur, got_pos, fail_pos = [], [], []
        while len(cur):
            c = b[np.minimum(pos + P, B - 1)].astype(np.int64)
            nxt = pos + P + 1 + 5 * c
            ok = (
                (pos + P + 1 <= B)
                & (c <= n_dlv)
                & (nxt <= B)
                & (u4[np.minimum(pos, n4)] < MS_LIMIT)
            )
            c2 = b[np.minimum(nxt + P, B - 1)].astype(np.int64)
            ok2 = (
                (nxt + P + 1 <= B)
                & (c2 <= n_dlv)
                & (nxt + P + 1 + 5 * c2 <= B)
                & (u4[np.minimum(nxt, n4)] < MS_LIMIT)
                & (
                    np.abs(
                        u2[np.minimum(pos + 4, n2)].astype(np.int64)
                        - u2[np.minimum(nxt + 4, n2)]
                    )
                    <= 1
                )
            )
            d1 = u2[np.minimum(pos + 4, n2)].astype(np.int64)
            # the day must lie in the chunk's day range (first record .. last record):
            # misaligned cursors in periodic data would otherwise pass the successor test
            ok &= (ok2 | (nxt == B)) & (d1 >= dlo) & (d1 <= dhi)
            ok &= ~self.bad_index(pos, c)  # what reason() calls BAD_INDEX
            if ok.all():
                got_cur.append(cur)
                got_pos.append(pos)
                scanned[:] = 0
                pos = nxt
            else:
                got_cur.append(cur[ok])
                got_pos.append(pos[ok])
                fail_pos.append(pos[~ok])
                scanned = np.where(ok, 0, scanned + 1)
                pos = np.where(ok, nxt, pos + 1)
            done = pos >= end
            gave_up = scanned > max_scan
            if done.any() or gave_up.any():
                exits[cur[done & ~gave_up]] = pos[done & ~gave_up]
                keep = ~(done | gave_up)
                cur, pos, end, scanned = cur[keep], pos[keep], end[keep], scanned[keep]
        if got_cur:
            gc = np.concatenate(got_cur)
            gp = np.concatenate(got_pos)
            order = np.argsort(gc.astype(np.int16) if K < 32768 else gc, kind="stable")
            flat = gp[order]
            counts = np.bincount(gc, minlength=K)
        else:
            flat = np.zeros(0, dtype=np.int64)
            counts = np.zeros(K, dtype=np.int64)
        fails = np.sort(np.concatenate(fail_pos)) if fail_pos else np.zeros(0, np.int64)
        return seg_start, seg_end, flat, np.cumsum(counts), exits, fails

    def frame(self, p0: int, final: bool) -> tuple[np.ndarray, int]:
        """Return (record starts from *p0*, consumed bytes).

        Speculation assumes the day of the record at its start (+-1, following the day as
        the cursors move); when the true chain reaches a record of another day that the
        cursors could not follow, speculation restarts from there — at most twice, the
        second time without a day range (it then never restarts), so a chunk costs at
        most three speculative walks whatever its days: a crafted log with a new day at
        every record stays linear.
        """
        parts: list[np.ndarray] = []
        p = p0
        while True:
            sub, p, restart = self._frame_once(p, final)
            parts.append(sub)
            if not restart:
                break
        starts = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return starts, p

    def _speculation(self, p0: int):
        """Speculate from *p0* over the rest of the chunk.

        With the day range of its first and last records (none after two restarts).
        """
        B = self.B
        d_first = self.day_ref if self.day_ref is not None else 0
        # day of the chunk's last records: first plausible record pair near the end
        saved, self.day_ref = self.day_ref, None
        q = self.resync(max(p0, B - 2 * (self.P + 1 + 5 * self.n_dlv) - 64))
        self.day_ref = saved
        d_last = int(self.u2[q + 4]) if q < B - 6 else d_first
        dlo, dhi = min(d_first, d_last) - 1, max(d_first, d_last) + 1
        if self.restarts < 0:  # restarted twice: no day range (never restarts again)
            dlo, dhi = -1, 1 << 17
        return (*self.speculate(p0, dlo, dhi), dlo, dhi)

    def _frame_once(self, p0: int, final: bool) -> tuple[np.ndarray, int, bool]:
        B = self.B
        if self._plausible_vec(np.array([p0], dtype=np.int64))[0]:
            self.day_ref = int(self.u2[p0 + 4])
        if B - p0 <= EXACT_WALK_BYTES:
            # a few segments: the exact walk below costs less than speculating
            dlo, dhi = -1, 1 << 17
            flat = fails = seg_of = seg_end = seg_hi = exits = bad_segs = entry = (
                np.zeros(0, np.int64)
            )
            K = nf = 0
        else:
            seg_start, seg_end, flat, seg_hi, exits, fails, dlo, dhi = (
                self._speculation(p0)
            )
            K = len(seg_start)
            nf = len(flat)

            def member(x: np.ndarray) -> np.ndarray:
                if nf == 0:
                    return np.zeros(len(x), bool)
                j = np.minimum(np.searchsorted(flat, x), nf - 1)
                return flat[j] == x

            # segment k >= 1 is entered at exits[k-1]; it is "good" when that entry is
            # a speculated position of k and no implausible record follows it inside k
            entry = np.concatenate([[p0], exits[:-1]])
            link_ok = member(entry) | (entry >= B)
            link_ok[0] = True
            if len(fails):
                jf = np.searchsorted(fails, entry)
                nxt_fail = np.where(
                    jf < len(fails), fails[np.minimum(jf, len(fails) - 1)], B + 1
                )
                clean = nxt_fail >= seg_end
            else:
                clean = np.ones(K, bool)
            bad_segs = np.flatnonzero(~(link_ok & clean))
            seg_of = np.repeat(np.arange(K), np.diff(np.concatenate([[0], seg_hi])))

        parts: list[np.ndarray] = []
        p = p0
        while p < B:
            i = int(np.searchsorted(flat, p)) if nf else 0
            if i < nf and flat[i] == p:
                k = int(seg_of[i])
                jf = int(np.searchsorted(fails, p)) if len(fails) else 0
                f = int(fails[jf]) if jf < len(fails) else B + 1
                if f < seg_end[k]:
                    # an implausible record inside this segment: accept up to it
                    hi = int(np.searchsorted(flat, f))
                    parts.append(flat[i:hi])
                    p = f
                else:
                    nb = int(np.searchsorted(bad_segs, k, side="right"))
                    m = int(bad_segs[nb]) if nb < len(bad_segs) else K
                    hi = int(seg_hi[m - 1])
                    sl = flat[i:hi]
                    if m - 1 > k:
                        keep = sl >= entry[seg_of[i:hi]]
                        keep[: int(seg_hi[k]) - i] = True
                        sl = sl[keep]
                    parts.append(sl)
                    p = int(exits[m - 1])
                    if len(sl):
                        self.day_ref = int(self.u2[int(sl[-1]) + 4])
                    continue
                if len(parts[-1]):
                    self.day_ref = int(self.u2[int(parts[-1][-1]) + 4])
            if self._incomplete(p):
                if final:
                    self.skips.add(TRUNCATED, self.b, p, B, p, B - p)
                    p = B
                break
            why = self.reason(p)
            if why == 0:
                parts.append(np.array([p], dtype=np.int64))
                self.day_ref = int(self.u2[p + 4])
                p = self._record_end(p)
                if not dlo <= self.day_ref <= dhi and p < B:
                    self.restarts -= 1
                    starts = np.concatenate(parts)
                    return starts, p, True
                continue
            q = self.resync(p)
            self.skips.add(why, self.b, p, q, p, q)
            p = q
        starts = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return starts, min(p, B), False


def _view(b: np.ndarray, dtype: str) -> np.ndarray:
    """An unaligned view giving the value of *dtype* starting at every byte offset."""
    size = np.dtype(dtype).itemsize
    n = max(len(b) - size + 1, 0)
    if n == 0:
        return np.zeros(1, dtype=dtype)
    return np.ndarray((n,), dtype=dtype, buffer=b, offset=0, strides=(1,))


# ---------------------------------------------------------------------------------------
# decoding


def _gather_pairs(b: np.ndarray, starts: np.ndarray, P: int):
    counts = b[starts + P].astype(np.int64)
    total = int(counts.sum())
    rec = np.repeat(np.arange(len(starts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    j = np.arange(total, dtype=np.int64) - np.repeat(first, counts)
    off = np.repeat(starts + (P + 1), counts) + 5 * j
    idx = b[off]
    val = _view(b, "<i4")[off + 1] if total else np.zeros(0, np.int32)
    return counts, rec, idx, val


def _kernel(use: bool | None = None):
    """The C kernel module to use, or None for the numpy implementation.

    ``use``: True requires the kernel (ImportError when it is not built), False forces
    numpy, None (default) uses the kernel when built unless ``LEAFNB_TLG_KERNEL=0``.
    """
    if use is False:
        return None
    if use is None and os.environ.get("LEAFNB_TLG_KERNEL", "").strip() == "0":
        return None
    if _KERNEL is None and use:
        raise ImportError(
            "leafnb.formats.isoxml._tlgkernel is not built (pip install -e . with a C compiler)"
        )
    return _KERNEL


def kernel_available() -> bool:
    """True when the optional C kernel is built and importable."""
    return _KERNEL is not None


@dataclass
class _Decoded:
    """What both decoder implementations produce (before position-drop bookkeeping)."""

    n_framed: int
    n_kept: int
    #: bytes of the framed records (their mean size counts the records passed over)
    framed_bytes: int
    #: stretches passed over (malformed, truncated, trailing bytes)
    skips: _Skips
    time_ms: np.ndarray
    ptn: dict[str, np.ndarray]
    dlv_rec: list[np.ndarray]
    dlv_val: list[np.ndarray]
    count_all: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray


def _read_chunks(fh, size: int, chunk_bytes: int):
    """Yield ``(buffer, final)`` per chunk.

    ``send(consumed)`` after each chunk carries the unconsumed bytes (a record cut by the chunk boundary) to the next one. Returns
    the bytes left over after the final chunk.
    """
    carry = np.zeros(0, dtype=np.uint8)
    read_total = 0
    while True:
        data = fh.read(chunk_bytes)
        read_total += len(data)
        final = read_total >= size or not data
        b = (
            np.concatenate([carry, np.frombuffer(data, dtype=np.uint8)])
            if len(carry)
            else np.frombuffer(data, dtype=np.uint8)
        )
        if len(b) == 0:
            return 0
        consumed = yield b, final
        carry = b[consumed:].copy() if consumed < len(b) else np.zeros(0, np.uint8)
        if final:
            return len(carry)


def _drive(gen, step) -> int:
    """Run :func:`_read_chunks` with ``step(b, final) -> consumed``; return left-over bytes."""
    try:
        b, final = next(gen)
        while True:
            b, final = gen.send(step(b, final))
    except StopIteration as stop:
        return int(stop.value or 0)


def decode_tlg(
    bin_path: Path,
    header: TlgHeader,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    kernel: bool | None = None,
) -> DecodedLog:
    """Decode the records of *bin_path* described by *header*.

    ``kernel``: None uses the C kernel when built (unless ``LEAFNB_TLG_KERNEL=0``),
    False the numpy implementation, True requires the kernel. Both give identical
    results.

    Raises
    ------
    CorruptFile
        The file cannot be read, has no position definition, or holds no usable record.
    """
    _check_position(header, bin_path)
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    K = _kernel(kernel)
    size, fh = _open_binary(header, bin_path)
    with fh:
        mm = _map_file(fh) if K is not None else None
        if mm is None:  # numpy (also for files that cannot be mapped, e.g. empty)
            d = _decode_numpy(fh, size, header, chunk_bytes)
            decoder = "numpy"
        else:
            try:
                d = _decode_kernel(K, mm, header, chunk_bytes)
            finally:
                _close_map(mm)
            decoder = "kernel"

    return _decoded_log(d, header, decoder, bin_path)


def _decoded_log(
    d: _Decoded, header: TlgHeader, decoder: str, path: Path
) -> DecodedLog:
    """The :class:`DecodedLog` of decoder output *d* (skips counted, notes written)."""
    name = header.name
    if d.n_framed >= 16:  # enough records for their mean size
        mean_size = d.framed_bytes / d.n_framed
    else:  # the header's record with half of its DLVs
        mean_size = header.prefix + 1 + 5 * len(header.dlvs) / 2
    skipped, notes = d.skips.records(mean_size), d.skips.all_notes()
    n_bad_pos = d.n_framed - d.n_kept
    if n_bad_pos:
        skipped += n_bad_pos
        notes.append(
            f"{n_bad_pos} records with an impossible position (0,0 or out of range) dropped"
        )
    if d.n_kept == 0:
        why = "; ".join(notes) if notes else "no records"
        raise CorruptFile(
            f"{name}: no usable record ({d.n_framed} framed, {skipped} skipped: {why})",
            path=path,
            reader="isoxml",
        )
    return DecodedLog(
        header=header,
        n_framed=d.n_framed,
        skipped=skipped,
        time_ms=d.time_ms,
        ptn=d.ptn,
        dlv_rec=d.dlv_rec,
        dlv_val=d.dlv_val,
        dlv_count_all=d.count_all,
        dlv_min_all=d.vmin,
        dlv_max_all=d.vmax,
        notes=notes,
        decoder=decoder,
    )


# -- C kernel path ------------------------------------------------------------------------

#: events buffer of one kernel call (the call returns early when it is full)
_KERNEL_EVENTS = 4096


def _map_file(fh):
    """Read-only memory map of *fh* (None when it cannot be mapped, e.g. empty)."""
    try:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    if hasattr(mm, "madvise") and hasattr(mmap, "MADV_SEQUENTIAL"):
        with contextlib.suppress(OSError):  # advisory only
            mm.madvise(mmap.MADV_SEQUENTIAL)
    return mm


def _close_map(mm: mmap.mmap) -> None:
    """Close *mm* unless a view of it is still referenced elsewhere.

    E.g. a sampling profiler (dask workers run one) holding a frame of the decoder for a moment: the
    map is then released with its last reference instead of failing the read.
    """
    with contextlib.suppress(BufferError):
        mm.close()


def _decode_kernel(K, mm, header: TlgHeader, chunk_bytes: int) -> _Decoded:
    """Frame every chunk, then scatter into exact outputs, in C (``_tlgkernel``).

    The file is memory mapped; chunk *k* of the numpy path (carried bytes + the next
    ``chunk_bytes`` read) is the file window ``[base_k, min((k + 1) * chunk_bytes,
    size))``, so both paths frame the same buffers. Record starts are kept per chunk
    (8 bytes a record) between the two passes; no Python object per record.
    """
    buf = np.frombuffer(mm, dtype=np.uint8)
    try:
        return _decode_kernel_buf(K, buf, header, chunk_bytes)
    finally:
        del buf  # release the export so the map can be closed


def _check_position(header: TlgHeader, bin_path: Path) -> None:
    """Raise :class:`CorruptFile` unless *header* defines both coordinates of a position."""
    if not header.has_ptn or not (
        ("A" in header.logged or "A" in header.constants)
        and ("B" in header.logged or "B" in header.constants)
    ):
        raise CorruptFile(
            f"{header.name}: header has no position (PTN A/B); records cannot be placed",
            path=bin_path,
            reader="isoxml",
        )


def _open_binary(header: TlgHeader, bin_path: Path) -> tuple[int, BinaryIO]:
    """``(size, open binary file)`` of a log's ``.bin``; :class:`CorruptFile` if unreadable."""
    try:
        return os.path.getsize(bin_path), open(bin_path, "rb")
    except OSError as exc:
        raise CorruptFile(
            f"{header.name}: cannot read binary ({exc})", path=bin_path, reader="isoxml"
        ) from exc


@dataclass
class _Framing:
    """A log's record layout as the kernel takes it, and the per-DLV tallies it keeps."""

    #: ``(prefix bytes, DLV count, north offset, east offset, constant lat, lon)``
    layout: tuple[int, int, int, int, float, float]
    #: ``(events, values per DLV, minima, maxima, values kept per DLV)``
    tallies: tuple[np.ndarray, ...]

    @property
    def prefix(self) -> int:
        return self.layout[0]

    @property
    def n_dlv(self) -> int:
        return self.layout[1]

    @classmethod
    def of(cls, header: TlgHeader) -> _Framing:
        n_dlv = len(header.dlvs)
        offs = header.offsets()
        layout = (
            header.prefix,
            n_dlv,
            offs.get("A", -1),
            offs.get("B", -1),
            float(header.constants.get("A", np.nan)),
            float(header.constants.get("B", np.nan)),
        )
        tallies = (
            np.empty(3 * _KERNEL_EVENTS, np.int64),
            np.zeros(n_dlv, np.int64),
            np.full(n_dlv, np.iinfo(np.int64).max, np.int64),
            np.full(n_dlv, np.iinfo(np.int64).min, np.int64),
            np.zeros(n_dlv, np.int64),  # values kept per DLV (one per record)
        )
        return cls(layout, tallies)


def _decode_kernel_buf(
    K, buf: np.ndarray, header: TlgHeader, chunk_bytes: int
) -> _Decoded:
    size = len(buf)
    f = _Framing.of(header)
    P, n_dlv = f.prefix, f.n_dlv
    events, cnt_all, vmin, vmax, kcnt = f.tallies
    skips = _Skips(n_dlv, P)
    windows: list[tuple[int, np.ndarray]] = []  # (window end, absolute record starts)
    n_framed = n_kept = framed_bytes = 0
    day_ref, base, read_end = -1, 0, 0
    # pass 1: framing, per chunk window
    while True:
        read_end = min(read_end + chunk_bytes, size)
        final = read_end >= size
        if read_end - base <= 0:
            break
        view = buf[:read_end]
        starts = np.empty((read_end - base) // (P + 1) + 1, np.int64)
        p, ns = base, 0
        while True:
            status, p, ns, kept, day_ref, nev = K.frame(
                view, *f.layout, day_ref, p, ns, final, starts, *f.tallies
            )
            n_kept += kept
            for kind, ep, eq in events[: 3 * nev].reshape(-1, 3).tolist():
                # byte positions in the chunk, as the numpy path reports them
                end = ep + eq if kind == TRUNCATED else eq
                skips.add(
                    kind,
                    view,
                    ep,
                    end,
                    ep - base,
                    eq if kind == TRUNCATED else eq - base,
                )
            if status == 0:
                break
            if status != 1:  # pragma: no cover - the capacity is an upper bound
                raise RuntimeError(f"TLG kernel: record start buffer full at byte {p}")
        if ns:
            # untouched capacity of np.empty is not resident: no trimming copy
            windows.append((read_end, starts[:ns]))
            n_framed += ns
            framed_bytes += ns * (P + 1) + 5 * int(
                view[starts[:ns] + P].sum(dtype=np.int64)
            )
        del starts, view
        base = p
        if final:
            if read_end > base:
                skips.add(TRAILING, buf, base, read_end, 0, read_end - base)
            break

    # pass 2: scatter into exact outputs
    fields = sorted(header.logged, key=lambda a: -np.dtype(PTN_FIELDS[a][1]).itemsize)
    layout, dst, offs = [], 0, header.offsets()
    for a in fields:
        sz = np.dtype(PTN_FIELDS[a][1]).itemsize
        layout += [offs[a], sz, dst]
        dst += n_kept * sz
    layout_arr = np.array(layout, np.int64)
    ptn_block = np.empty(dst, np.uint8)
    t = np.empty(n_kept, np.int64)
    bounds = np.zeros(n_dlv + 1, np.int64)
    np.cumsum(kcnt, out=bounds[1:])
    cursor = bounds[:-1].copy()
    rec = np.empty(int(bounds[-1]), np.int64)
    val = np.empty(int(bounds[-1]), np.int32)
    done = 0
    for end, starts in windows:
        done += K.extract(
            buf[:end], *f.layout, layout_arr, starts,
            len(starts), n_kept, done, bounds, cursor, t, ptn_block, rec, val,
        )  # fmt: skip
    if done != n_kept or not np.array_equal(cursor, bounds[1:]):  # pragma: no cover
        raise RuntimeError("TLG kernel: framing and extraction disagree")

    ptn = {}
    for a, (_, sz, at) in zip(fields, layout_arr.reshape(-1, 3).tolist(), strict=True):
        ptn[a] = ptn_block[at : at + n_kept * sz].view(PTN_FIELDS[a][1])
    nz = cnt_all > 0
    return _Decoded(
        n_framed=n_framed,
        n_kept=n_kept,
        framed_bytes=framed_bytes,
        skips=skips,
        time_ms=t,
        ptn={a: ptn[a] for a in header.logged},
        dlv_rec=[rec[bounds[i] : bounds[i + 1]] for i in range(n_dlv)],
        dlv_val=[val[bounds[i] : bounds[i + 1]] for i in range(n_dlv)],
        count_all=cnt_all,
        vmin=np.where(nz, vmin, np.nan),
        vmax=np.where(nz, vmax, np.nan),
    )


# -- numpy path (fallback and reference) ----------------------------------------------------


def _decode_numpy(fh, size: int, header: TlgHeader, chunk_bytes: int) -> _Decoded:
    """Vectorised framing/gather/split in numpy (see the module docstring)."""
    P = header.prefix
    n_dlv = len(header.dlvs)
    offs = header.offsets()
    times: list[np.ndarray] = []
    ptn_parts: dict[str, list[np.ndarray]] = {a: [] for a in header.logged}
    keep_parts: list[np.ndarray] = []
    pair_rec: list[np.ndarray] = []
    pair_idx: list[np.ndarray] = []
    pair_val: list[np.ndarray] = []
    skips = _Skips(n_dlv, P)
    state: dict = {"n_framed": 0, "day_ref": None, "framed_bytes": 0, "tail": None}

    def step(b: np.ndarray, final: bool) -> int:
        u2 = _view(b, "<u2")
        framer = _Framer(b, header, state["day_ref"], skips)
        starts, consumed = framer.frame(0, final)
        if final:
            state["tail"] = b
        gathered = None
        if len(starts):
            n0 = state["n_framed"]
            ms = _view(b, "<u4")[starts].astype(np.int64)
            days = u2[starts + 4].astype(np.int64)
            t = EPOCH_1980_MS + days * MS_PER_DAY + ms
            fields = {}
            for a in header.logged:
                fields[a] = _view(b, PTN_FIELDS[a][1])[starts + offs[a]]
            lat = (
                fields["A"] * 1e-7
                if "A" in fields
                else np.full(len(starts), header.constants.get("A", np.nan))
            )
            lon = (
                fields["B"] * 1e-7
                if "B" in fields
                else np.full(len(starts), header.constants.get("B", np.nan))
            )
            keep = (
                (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ~((lat == 0) & (lon == 0))
            )
            counts, rec, idx, val = (
                gathered if gathered is not None else _gather_pairs(b, starts, P)
            )
            state["framed_bytes"] += len(starts) * (P + 1) + 5 * int(counts.sum())
            times.append(t)
            for a in header.logged:
                ptn_parts[a].append(fields[a])
            keep_parts.append(keep)
            pair_rec.append(rec + n0)
            pair_idx.append(idx)
            pair_val.append(val)
            state["n_framed"] += len(starts)
            state["day_ref"] = int(days[-1])
        return consumed

    left = _drive(_read_chunks(fh, size, chunk_bytes), step)
    if left:
        tail = state["tail"][-left:]
        skips.add(TRAILING, tail, 0, left, 0, left)

    t = np.concatenate(times) if times else np.zeros(0, np.int64)
    keep = np.concatenate(keep_parts) if keep_parts else np.zeros(0, bool)
    rec = np.concatenate(pair_rec) if pair_rec else np.zeros(0, np.int64)
    idx = np.concatenate(pair_idx) if pair_idx else np.zeros(0, np.uint8)
    val = np.concatenate(pair_val) if pair_val else np.zeros(0, np.int32)

    # statistics over every framed record (what an independent decoder reports)
    count_all = (
        np.bincount(idx, minlength=n_dlv).astype(np.int64)[:n_dlv]
        if n_dlv
        else np.zeros(0, np.int64)
    )
    order = np.argsort(idx, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(count_all)])
    vmin = np.full(n_dlv, np.nan)
    vmax = np.full(n_dlv, np.nan)
    if len(val) and n_dlv:
        sval = val[order]
        nz = count_all > 0
        vmin[nz] = np.minimum.reduceat(sval, bounds[:-1][nz])
        vmax[nz] = np.maximum.reduceat(sval, bounds[:-1][nz])

    n_bad_pos = int((~keep).sum())
    if not keep.all():
        new_index = np.cumsum(keep) - 1
        pk = keep[rec]
        rec, idx, val = new_index[rec[pk]], idx[pk], val[pk]
        t = t[keep]
        ptn = {a: np.concatenate(ptn_parts[a])[keep] for a in header.logged}
    else:
        ptn = {
            a: (np.concatenate(ptn_parts[a]) if ptn_parts[a] else np.zeros(0))
            for a in header.logged
        }

    if n_bad_pos:
        order = np.argsort(idx, kind="stable")
    cnt = np.bincount(idx, minlength=n_dlv)[:n_dlv] if n_dlv else np.zeros(0, np.int64)
    bounds = np.concatenate([[0], np.cumsum(cnt)]).astype(np.int64)
    srec, sval = rec[order], val[order]
    dlv_rec, dlv_val = [], []
    for i in range(n_dlv):
        r = srec[bounds[i] : bounds[i + 1]]
        v = sval[bounds[i] : bounds[i + 1]]
        if len(r) > 1:
            last = np.empty(len(r), bool)  # one value per record: the last one written
            last[:-1] = r[1:] != r[:-1]
            last[-1] = True
            if not last.all():
                r, v = r[last], v[last]
        dlv_rec.append(r)
        dlv_val.append(v)

    return _Decoded(
        n_framed=state["n_framed"],
        n_kept=len(t),
        framed_bytes=state["framed_bytes"],
        skips=skips,
        time_ms=t,
        ptn=ptn,
        dlv_rec=dlv_rec,
        dlv_val=dlv_val,
        count_all=count_all,
        vmin=vmin,
        vmax=vmax,
    )


# -- record ranges (issue 16) -------------------------------------------------------------

#: records between two byte offsets a :class:`LogFraming` keeps (the rest are summed
#: from the records' DLV counts)
FRAMING_MARK = 4096


@dataclass
class LogFraming:
    """Where every record of a time log starts, found without decoding any value.

    Made by :func:`frame_log`: the kernel's framing walk over the file read in
    :data:`CHUNK_BYTES` buffers (no memory map: mapped pages count in a process's
    resident memory). Kept: each record's DLV count (one byte a record) and the byte
    offset of every :data:`FRAMING_MARK`-th record, so :meth:`offset` finds any record
    and :meth:`decode` decodes any run of records alone. Only for a *clean* log (no
    byte passed over, every position possible), whose records follow each other.
    """

    header: TlgHeader
    bin_path: Path
    n_framed: int
    n_kept: int
    #: no malformed, truncated or trailing bytes: the records tile the file
    clean: bool
    counts: np.ndarray  # uint8 DLV count per record
    marks: np.ndarray  # int64 byte offset of record k * FRAMING_MARK

    def offset(self, i: int) -> int:
        """Byte offset of record *i* (``n_framed``: the end of the last record)."""
        k = min(i // FRAMING_MARK, len(self.marks) - 1)
        lo = k * FRAMING_MARK
        run = self.counts[lo:i]
        return (
            int(self.marks[k])
            + (i - lo) * (self.header.prefix + 1)
            + 5 * int(run.sum(dtype=np.int64))
        )

    def decode(self, lo: int, hi: int) -> DecodedLog:
        """Records ``[lo, hi)`` decoded alone (their indices start at 0).

        Raises ``ValueError`` when they do not decode to exactly those records.
        """
        start, end = self.offset(lo), self.offset(hi)
        with open(self.bin_path, "rb") as fh:
            fh.seek(start)
            buf = np.frombuffer(fh.read(end - start), dtype=np.uint8)
        K = _kernel()
        if K is None or len(buf) != end - start:
            raise ValueError(f"{self.header.name}: records {lo}-{hi} cannot be read")
        d = _decode_kernel_buf(K, buf, self.header, max(len(buf), 1))
        if d.n_framed != hi - lo or d.n_kept != hi - lo or d.skips.events:
            raise ValueError(f"{self.header.name}: records {lo}-{hi} frame otherwise")
        return _decoded_log(d, self.header, "kernel", self.bin_path)


def frame_log(
    bin_path: Path,
    header: TlgHeader,
    *,
    chunk_bytes: int | None = None,
    chunks: int | None = None,
) -> LogFraming | None:
    """Frame the records of *bin_path* (:class:`LogFraming`); None without the C kernel.

    The walk is :func:`decode_tlg`'s on the same chunk buffers (a record cut by a
    chunk's end is carried to the next), so it frames the same records. Memory: one
    chunk (*chunk_bytes*, default :data:`CHUNK_BYTES` as it is when called), plus one
    byte a record. With *chunks*, only the records of the first *chunks* chunks
    (``clean`` is then False: the rest is not looked at).

    Raises
    ------
    CorruptFile
        The header has no position or the file cannot be read.
    """
    K = _kernel()
    if K is None:
        return None
    _check_position(header, bin_path)
    if chunk_bytes is None:
        chunk_bytes = CHUNK_BYTES
    f = _Framing.of(header)
    P = f.prefix
    counts: list[np.ndarray] = []
    marks: list[np.ndarray] = []
    n_framed = n_kept = n_events = 0
    day_ref, at = -1, 0  # ``at``: the file offset of the buffer's first byte
    size, fh = _open_binary(header, bin_path)
    with fh:
        carry, read = b"", 0
        while True:
            if chunks is not None and read >= chunks * chunk_bytes:
                n_events += 1  # not framed to the end
                break
            data = fh.read(chunk_bytes)
            read += len(data)
            final = read >= size or not data
            buf = np.frombuffer(carry + data if carry else data, dtype=np.uint8)
            del data
            if not len(buf):
                break
            starts = np.empty(len(buf) // (P + 1) + 1, np.int64)
            p = ns = 0
            while True:
                status, p, ns, kept, day_ref, nev = K.frame(
                    buf, *f.layout, day_ref, p, ns, final, starts, *f.tallies
                )
                n_kept += kept
                n_events += nev
                if status == 0:
                    break
                if status != 1:  # pragma: no cover - the capacity is an upper bound
                    raise RuntimeError(f"TLG kernel: record start buffer full at {p}")
            mine = starts[:ns]
            c = buf[mine + P]
            # records tile the buffer when each starts where the one before ends (the
            # sizes in int64: 5 * a uint8 count of 52 DLVs or more wraps around)
            # (not named ``size``: that is the file's, asked again for the next buffer)
            sizes = P + 1 + 5 * c[:-1].astype(np.int64)
            if ns and (mine[0] != 0 or (np.diff(mine) != sizes).any()):
                n_events += 1
            del sizes
            first = -n_framed % FRAMING_MARK
            marks.append(mine[first::FRAMING_MARK] + at)
            counts.append(c.copy())
            n_framed += ns
            carry = bytes(buf[p:])
            at += p
            del buf, starts
            if final:
                n_events += bool(carry)  # trailing bytes
                break
    return LogFraming(
        header=header,
        bin_path=bin_path,
        n_framed=n_framed,
        n_kept=n_kept,
        clean=n_events == 0 and n_kept == n_framed,
        counts=np.concatenate(counts) if counts else np.zeros(0, np.uint8),
        marks=np.concatenate(marks) if marks else np.zeros(0, np.int64),
    )
