"""Positions of a point shapefile's records, read from its ``.shp`` with numpy.

A shapefile (ESRI Shapefile Technical Description, 1998) indexes its records in the
``.shx``: after a 100-byte header, 8 bytes a record — its offset and content length in
16-bit words, big-endian. A record in the ``.shp`` is an 8-byte header, then its shape
type (little-endian int32) and, for a Point (1), PointZ (11) or PointM (21), x and y as
little-endian doubles at bytes 12 and 20 (a Z or M value follows them); a null shape
(type 0) has no position. GDAL reads the same doubles, makes each a WKB point, which
leafnb decodes again: about a fifth of a 1M-point SMS shapefile's read
(docs/performance.md, "Issue 16"). Here GDAL reads the attributes only, with each
feature's FID — a shapefile's FID is its record number, so a record GDAL skips (one
flagged deleted in the ``.dbf``) cannot shift the positions against the attributes —
and the positions are read by FID: a range of records one after another of one size
(the usual file) by :func:`numpy.fromfile` in one read, anything else gathered at each
record's offset from a memory map.

Only files whose every record is a point of the header's type or a null shape, with an
index of one entry a record pointing inside the ``.shp``, are read this way
(:meth:`ShpPoints.open` says None otherwise, and GDAL reads the geometries as before).

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = write_points(folder / "p.shp", [(1.5, -2.0), None, (3.0, 4.25)])
>>> points = ShpPoints.open(folder / "p.shp")
>>> points.records
3
>>> points.xy(np.array([2, 0, 1]))
(array([3. , 1.5, nan]), array([ 4.25, -2.  ,   nan]))
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leafnb.formats.members import find_member

__all__ = ["POINT_TYPES", "ShpPoints", "shape_type", "write_points"]

#: shape types of a single point: Point, PointZ, PointM (their x, y at the same bytes)
POINT_TYPES = (1, 11, 21)

_NULL = 0
_HEADER = 100
#: a point record's content: its type and x, y (4 + 16 bytes = 10 words); Z/M add more
_POINT_WORDS = 10


@dataclass(frozen=True)
class ShpPoints:
    """The point records of a ``.shp``, found through its ``.shx`` (module docstring)."""

    shp: Path
    records: int
    #: byte offset of each record's content (its shape type), record by record; only
    #: the first's when the records are points one after another, *stride* bytes
    #: apart (None: no record)
    starts: np.ndarray | None
    #: bytes from one record to the next (0: records not one after another)
    stride: int
    #: the records that are null shapes (None: none)
    null: np.ndarray | None

    @classmethod
    def open(cls, shp: Path, shx: Path | None = None) -> ShpPoints | None:
        """The records of *shp* (its ``.shx``: *shx* or beside it), or None (module docstring).

        Both files are read in pieces of :data:`CHUNK_RECORDS` records: a 10M-record
        file's index alone is 80 MB.
        """
        shp = Path(shp)
        shx = shx or find_member(shp.parent, f"{shp.stem}.shx", what="shapefile part")
        if shx is None:
            return None
        try:
            kind = shape_type(shp)
            size, index_size = shp.stat().st_size, shx.stat().st_size
        except OSError:
            return None
        if (
            kind not in POINT_TYPES
            or (index_size - _HEADER) % 8
            or index_size < _HEADER
        ):
            return None
        records = (index_size - _HEADER) // 8
        if not records:
            return cls(shp, 0, None, 0, None)
        try:
            uniform = _uniform(shp, shx, records, kind, size)
        except (OSError, ValueError):
            return None
        if uniform is not None:  # the usual file: point after point, one size each
            first, stride = uniform
            return cls(shp, records, np.array([first]), stride, None)
        return cls._any(shp, shx, kind, size)

    @classmethod
    def _any(cls, shp: Path, shx: Path, kind: int, size: int) -> ShpPoints | None:
        """:meth:`open` of a file whose records are not one after another, of one size."""
        try:
            index = np.fromfile(shx, dtype=">i4", offset=_HEADER)
        except (OSError, ValueError):
            return None
        offset = index[0::2].astype(np.int64) * 2
        words = index[1::2].astype(np.int64)
        starts = offset + 8
        if offset.min() < _HEADER or (starts + 4).max() > size:
            return None
        mapped = np.memmap(shp, dtype=np.uint8, mode="r")
        types = _gather(mapped, starts, "<i4")
        null = types == _NULL
        point = types == kind
        if not (null | point).all():
            return None  # another shape among the points: GDAL decides
        if (words[point] < _POINT_WORDS).any() or (starts[point] + 20).max(
            initial=0
        ) > size:
            return None
        return cls(shp, len(starts), starts, 0, null)

    def xy(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of *records* (record numbers: GDAL's FIDs); NaN for a null shape."""
        records = np.asarray(records, dtype=np.int64)
        if not len(records):
            return np.zeros(0), np.zeros(0)
        if records.min() < 0 or records.max() >= self.records:
            raise IndexError("a FID beyond the shapefile's index")
        assert self.starts is not None
        first, n = int(records[0]), len(records)
        if (
            self.stride
            and records[-1] - first == n - 1
            and (np.diff(records) == 1).all()
        ):
            # consecutive records (a range of the file): their bytes, read once
            at = int(self.starts[0]) - 8 + first * self.stride
            rows = _records(self.shp, at, self.stride, n)
            return _field(rows, 12, "<f8"), _field(rows, 20, "<f8")
        mapped = np.memmap(self.shp, dtype=np.uint8, mode="r")
        starts = (
            self.starts[0] + records * self.stride
            if self.stride
            else self.starts[records]
        )
        x = _gather(mapped, starts + 4, "<f8")
        y = _gather(mapped, starts + 12, "<f8")
        if self.null is not None:
            null = self.null[records]
            x[null] = np.nan
            y[null] = np.nan
        return x, y


#: records read at a time by :meth:`ShpPoints.open` (8 MB of index, 28 MB of points)
CHUNK_RECORDS = 2**20


def _uniform(
    shp: Path, shx: Path, records: int, kind: int, size: int
) -> tuple[int, int] | None:
    """Where the records are, when they are points of *kind* one after another, one size each.

    (The first record's content offset, the records' stride), or None.
    """
    first = stride = words = None
    for start in range(0, records, CHUNK_RECORDS):
        m = min(CHUNK_RECORDS, records - start)
        index = np.fromfile(shx, dtype=">i4", count=2 * m, offset=_HEADER + 8 * start)
        if index.size != 2 * m:
            return None
        offset = index[0::2].astype(np.int64) * 2
        if first is None:
            first, words = int(offset[0]) + 8, int(index[1])
            stride = 8 + 2 * words
        expected = first - 8 + stride * np.arange(start, start + m, dtype=np.int64)
        if not (np.array_equal(offset, expected) and (index[1::2] == words).all()):
            return None
    assert first is not None and stride is not None and words is not None
    if (
        first - 8 < _HEADER
        or words < _POINT_WORDS
        or first + stride * records - 8 > size
    ):
        return None
    for start in range(0, records, CHUNK_RECORDS):
        m = min(CHUNK_RECORDS, records - start)
        rows = _records(shp, first - 8 + start * stride, stride, m)
        if not (_field(rows, 8, "<i4") == kind).all():
            return None  # a null shape or another among the points: as any file
    return first, stride


def _records(shp: Path, at: int, stride: int, n: int) -> np.ndarray:
    """*n* records of *stride* bytes (header included) from byte *at* of *shp*, a row each."""
    data = np.fromfile(shp, dtype=np.uint8, count=n * stride, offset=at)
    if data.size != n * stride:
        raise ValueError("the shapefile ends before its records do")
    return data.reshape(n, stride)


def _field(rows: np.ndarray, at: int, dtype: str) -> np.ndarray:
    """The value of *dtype* at byte *at* of each row, as native numbers (a copy)."""
    width = np.dtype(dtype).itemsize
    return (
        np.ascontiguousarray(rows[:, at : at + width])
        .view(dtype)
        .ravel()
        .astype(np.dtype(dtype).newbyteorder("="))
    )


def _gather(mapped: np.ndarray, at: np.ndarray, dtype: str) -> np.ndarray:
    """The value of *dtype* at each byte offset *at* of *mapped*, as native numbers.

    A null record's 4 bytes of type are its last; any value read past them is masked
    by the caller (:meth:`ShpPoints.xy`). Offsets near the end are clipped.
    """
    width = np.dtype(dtype).itemsize
    at = np.minimum(at, max(len(mapped) - width, 0))
    raw = mapped[at[:, None] + np.arange(width)]
    return raw.view(dtype).ravel().astype(np.dtype(dtype).newbyteorder("="))


def shape_type(shp: Path) -> int | None:
    """The shape type a ``.shp`` header declares (None: not a shapefile's header)."""
    with open(shp, "rb") as fh:
        head = fh.read(_HEADER)
    if len(head) < _HEADER or struct.unpack(">i", head[:4])[0] != 9994:
        return None
    return struct.unpack("<i", head[32:36])[0]


def write_points(shp: Path, points: list[tuple[float, float] | None]) -> Path:
    """Write a Point ``.shp`` and ``.shx`` of *points* (None: a null shape), for tests."""
    shp = Path(shp)
    records, index, at = [], [], _HEADER // 2
    for i, p in enumerate(points, start=1):
        content = struct.pack("<i", _NULL) if p is None else struct.pack("<idd", 1, *p)
        records.append(struct.pack(">ii", i, len(content) // 2) + content)
        index.append(struct.pack(">ii", at, len(content) // 2))
        at += 4 + len(content) // 2
    body = b"".join(records)
    xs = [p[0] for p in points if p] or [0.0]
    ys = [p[1] for p in points if p] or [0.0]
    bbox = struct.pack("<4d", min(xs), min(ys), max(xs), max(ys)) + bytes(32)

    def header(length_words: int) -> bytes:
        return (
            struct.pack(">i", 9994)
            + bytes(20)
            + struct.pack(">i", length_words)
            + struct.pack("<ii", 1000, 1)
            + bbox
        )

    shp.write_bytes(header((_HEADER + len(body)) // 2) + body)
    shp.with_suffix(".shx").write_bytes(
        header((_HEADER + 8 * len(points)) // 2) + b"".join(index)
    )
    return shp
