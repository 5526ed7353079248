"""The worked area of a track: the swath footprint, in three vectorised GEOS calls.

Rule (spec §2.4, ``summaryGeometry: BUFFER``): the track is split into passes where the
machine jumps more than 5 swath widths (or 50 m); every pass is cut into pieces of at
most :data:`PIECE_VERTICES` records that share their end record (the chain stays
connected); each piece is simplified (Douglas-Peucker, tolerance :data:`TOLERANCE` × the
swath width); the simplified pieces of a pass are joined again into one line, buffered by
half the swath width on each side; the buffers are dissolved. A pass of one record is a
disc.

The passes and the records the simplified pieces keep may be chosen in a cheaper frame
than the buffer's: leafnb's summary (:func:`leafnb.standard.summary.coverage_geometry`)
chooses them in metres along the parallel and the meridian of the track's middle
latitude (two multiplications a record) and projects only the kept records to UTM
(a few in a hundred), where they are buffered.

Why this way: the footprint is meant to be the buffer of the track itself; simplifying
first only makes the buffer cheap. Small pieces keep every call linear in the records
(a topology-preserving simplify of one whole pass — a field driven without a jump is
one pass of up to a million records — peels the pass one row at a time: quadratic, and
most of a large file's summary time). One buffer a pass is the same shape as the
dissolved buffers of its pieces (they share their end vertices) at a third of the cost
(areas differ by ~1e-7, rounding). The small tolerance keeps the footprint close to the
exact buffer. On the 92 footprints of the real data sets (``tests/data``,
``../shared/data``, ``/work/corpus-data``) the area is within 0.82 % of the exact
buffer of the unsimplified track; the earlier rule (whole passes, topology-preserving
simplify with a quarter swath width) was up to 3.8 % under it, so areas grew by up to
3.4 % (0.3–1.9 % typically) when this rule replaced it; see ``docs/performance.md``.

>>> import numpy as np
>>> x = np.arange(0.0, 3000.0, 1.0)
>>> round(swath_footprint(x, np.zeros_like(x), 10.0).area)
30067
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

__all__ = ["PIECE_VERTICES", "TOLERANCE", "pass_breaks", "swath_footprint"]

#: most records in one simplified and buffered piece of a pass
PIECE_VERTICES = 1000
#: simplification tolerance, in swath widths
TOLERANCE = 1 / 16


def pass_breaks(x: np.ndarray, y: np.ndarray, width: float) -> np.ndarray:
    """Indices where a new pass starts: a jump of more than 5 swath widths (or 50 m)."""
    step = np.hypot(np.diff(x), np.diff(y))
    return np.flatnonzero(step > max(5 * width, 50.0)) + 1


def _pieces(n: int, breaks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(vertex index, piece id) of every vertex of every piece of every pass."""
    starts = np.r_[0, breaks].astype(np.int64)
    ends = np.r_[breaks, n].astype(np.int64)
    length = ends - starts
    # a pass of L vertices makes ceil((L-1)/(size-1)) pieces (at least one)
    count = np.maximum(1, -(-(length - 1) // (size - 1)))
    pass_of = np.repeat(np.arange(len(starts)), count)
    first_piece = np.cumsum(count) - count
    k = np.arange(count.sum()) - first_piece[pass_of]
    lo = starts[pass_of] + k * (size - 1)
    # exclusive end: a piece's last vertex is the next piece's first
    hi = np.minimum(lo + size, ends[pass_of])
    span = hi - lo
    piece = np.repeat(np.arange(len(lo)), span)
    offs = np.cumsum(span) - span
    idx = np.arange(span.sum()) - np.repeat(offs, span) + np.repeat(lo, span)
    return idx, piece


def swath_footprint(
    x: np.ndarray,
    y: np.ndarray,
    width: float,
    *,
    size: int = PIECE_VERTICES,
    at: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> shapely.Geometry:
    """The dissolved swath footprint of a track in projected metres (x, y in metres).

    *width* is the swath width in metres; see the module docstring for the rule. With
    *at*, (x, y) only choose the passes and the records the simplified track keeps
    (e.g. a local frame of lon/lat, cheap to compute for every record): ``at(records)``
    gives the kept records' coordinates in the metres the buffer is made in.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    starts = np.r_[0, pass_breaks(x, y, width)]
    length = np.diff(np.r_[starts, len(x)])
    pass_of = np.repeat(np.arange(len(length)), length)
    is_line = length > 1
    in_line = is_line[pass_of]
    records = np.arange(len(x))
    single = records[~in_line]  # a pass of one record: a disc
    kept = np.zeros(0, np.int64)
    kept_pass = np.zeros(0, np.int64)
    if is_line.any():
        line_starts = np.r_[0, np.cumsum(length[is_line])[:-1]]
        idx, piece = _pieces(int(in_line.sum()), line_starts[1:], size)
        line_records = (records if is_line.all() else records[in_line])[idx]
        # the record index rides along as z: the simplifier keeps it with each vertex
        xyz = np.column_stack([x[line_records], y[line_records], line_records])
        lines = shapely.linestrings(xyz, indices=piece)
        simple = shapely.simplify(lines, width * TOLERANCE, preserve_topology=False)
        kept = shapely.get_coordinates(simple, include_z=True)[:, 2].astype(np.int64)
        # the simplified pieces of a pass joined again: one buffer a pass (a shared
        # end vertex repeated, which the buffer ignores)
        first = idx[np.r_[0, np.flatnonzero(np.diff(piece)) + 1]]  # of each piece
        piece_pass = np.searchsorted(line_starts, first, side="right") - 1
        kept_pass = np.repeat(piece_pass, shapely.get_num_coordinates(simple))
    where = at or (lambda r: (x[r], y[r]))
    sx, sy = where(single)
    kx, ky = where(kept)
    shapes = [shapely.points(sx, sy)]
    if len(kept):
        shapes.append(shapely.linestrings(kx, ky, indices=kept_pass))
    footprint = shapely.buffer(np.concatenate(shapes), width / 2, quad_segs=4)
    return shapely.union_all(footprint)
