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
and the positions are gathered by FID from the memory-mapped files.

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

__all__ = ["POINT_TYPES", "ShpPoints", "write_points"]

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
    #: byte offset of each record's content (its shape type), record by record; None
    #: when the records are points one after another, *stride* bytes apart
    starts: np.ndarray | None
    stride: int
    #: the records that are null shapes (None: none)
    null: np.ndarray | None

    @classmethod
    def open(cls, shp: Path, shx: Path | None = None) -> ShpPoints | None:
        """The records of *shp* (its ``.shx``: *shx* or beside it), or None (module docstring)."""
        shp = Path(shp)
        shx = shx or _beside(shp, ".shx")
        if shx is None:
            return None
        try:
            with open(shp, "rb") as fh:
                head = fh.read(_HEADER)
            size = shp.stat().st_size
            index = np.fromfile(shx, dtype=">i4", offset=_HEADER)
        except (OSError, ValueError):
            return None
        if len(head) < _HEADER or struct.unpack(">i", head[:4])[0] != 9994:
            return None
        if struct.unpack("<i", head[32:36])[0] not in POINT_TYPES:
            return None
        if index.size % 2 or shx.stat().st_size != _HEADER + 4 * index.size:
            return None
        offset = index[0::2].astype(np.int64) * 2
        words = index[1::2].astype(np.int64)
        starts = offset + 8
        if len(starts) and (offset.min() < _HEADER or (starts + 4).max() > size):
            return None
        if not len(starts):
            return cls(shp, 0, None, 0, None)
        mapped = np.memmap(shp, dtype=np.uint8, mode="r")
        steps = np.diff(starts)
        stride = int(steps[0]) if len(steps) else 0
        uniform = stride > 0 and bool((steps == stride).all())
        types = (
            _strided(mapped, int(starts[0]), stride, len(starts), "<i4")
            if uniform
            else _gather(mapped, starts, "<i4")
        )
        header_type = struct.unpack("<i", head[32:36])[0]
        null = types == _NULL
        point = types == header_type
        if not (null | point).all():
            return None  # another shape among the points: GDAL decides
        if (words[point] < _POINT_WORDS).any() or (starts[point] + 20).max(
            initial=0
        ) > size:
            return None
        if null.any() or not (uniform or len(starts) == 1):
            return cls(shp, len(starts), starts, 0, null)
        # the usual file: point after point, one size each (no offsets kept: a 10M
        # record file's would be 80 MB)
        return cls(shp, len(starts), starts[:1], stride or 1, None)

    def xy(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of *records* (record numbers: GDAL's FIDs); NaN for a null shape."""
        records = np.asarray(records, dtype=np.int64)
        if not len(records):
            return np.zeros(0), np.zeros(0)
        if records.min() < 0 or records.max() >= self.records:
            raise IndexError("a FID beyond the shapefile's index")
        assert self.starts is not None
        mapped = np.memmap(self.shp, dtype=np.uint8, mode="r")
        first, n = int(records[0]), len(records)
        if (
            self.stride
            and records[-1] - first == n - 1
            and (np.diff(records) == 1).all()
        ):
            # consecutive records (a range of the file): two strided reads
            at = int(self.starts[0]) + first * self.stride
            x = _strided(mapped, at + 4, self.stride, n, "<f8")
            y = _strided(mapped, at + 12, self.stride, n, "<f8")
        else:
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


def _strided(
    mapped: np.ndarray, at: int, stride: int, n: int, dtype: str
) -> np.ndarray:
    """*n* values of *dtype* from byte *at* of *mapped*, *stride* bytes apart (a copy)."""
    view = np.ndarray((n,), dtype=dtype, buffer=mapped, offset=at, strides=(stride,))
    return view.astype(np.dtype(dtype).newbyteorder("="))


def _gather(mapped: np.ndarray, at: np.ndarray, dtype: str) -> np.ndarray:
    """The value of *dtype* at each byte offset *at* of *mapped*, as native numbers.

    A null record's 4 bytes of type are its last; any value read past them is masked
    by the caller (:meth:`ShpPoints.xy`). Offsets near the end are clipped.
    """
    width = np.dtype(dtype).itemsize
    at = np.minimum(at, max(len(mapped) - width, 0))
    raw = mapped[at[:, None] + np.arange(width)]
    return raw.view(dtype).ravel().astype(np.dtype(dtype).newbyteorder("="))


def _beside(shp: Path, suffix: str) -> Path | None:
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


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
