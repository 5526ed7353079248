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

**Blocks** (:func:`blocked_footprint`): a track of more than :data:`BLOCK_POSITIONS`
positions is cut into blocks of that many positions, each with the next block's first
position at its end (so the segment between two blocks is drawn, by the block before);
each block's footprint is made by the rule above, and the blocks' footprints are
dissolved. A pass that crosses a block boundary is cut into pieces from the boundary
on, and a lone record at a block's start that the block before already drew is not
drawn again (it would add the slivers between a disc and a round cap). This is the rule
for every file, read whole or in record ranges (:mod:`leafnb.pipeline.stream`: the
blocks have the ranges' size), so both give the same geometry, and the work and memory
of a footprint are those of one block however long the track; a track of at most one
block is unchanged. What the blocks change: the simplified vertices near each boundary,
so the area differs from the footprint made in one piece by a few millionths
(``docs/streaming.md`` has the numbers on the 1M- and 4M-point files).

>>> import numpy as np
>>> x = np.arange(0.0, 3000.0, 1.0)
>>> round(swath_footprint(x, np.zeros_like(x), 10.0).area)
30067
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

__all__ = [
    "BLOCK_POSITIONS",
    "PIECE_VERTICES",
    "TOLERANCE",
    "block_bounds",
    "blocked_footprint",
    "pass_breaks",
    "swath_footprint",
]

#: most records in one simplified and buffered piece of a pass
PIECE_VERTICES = 1000
#: positions in one block of a footprint (also the size of the record ranges a big
#: file is converted in, ``leafnb.pipeline.stream.STREAM_ROWS``)
BLOCK_POSITIONS = 262_144
#: simplification tolerance, in swath widths
TOLERANCE = 1 / 16


def pass_breaks(x: np.ndarray, y: np.ndarray, width: float) -> np.ndarray:
    """Indices where a new pass starts: a jump of more than 5 swath widths (or 50 m)."""
    limit = max(5 * width, 50.0)
    dx, dy = np.diff(x), np.diff(y)
    # squared steps pick the candidates (cheap); np.hypot decides on those alone, so
    # the breaks are exactly those of ``np.hypot(dx, dy) > limit`` (the squares' rounding
    # is far inside the 1e-9 margin)
    square = dx * dx
    square += dy * dy
    near = np.flatnonzero(square > limit * limit * (1 - 1e-9))
    return near[np.hypot(dx[near], dy[near]) > limit] + 1


def _piece_ranges(
    starts: np.ndarray, ends: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertex index, piece id, pass of each piece) of the pieces of passes [start, end).

    A pass of L vertices makes ceil((L-1)/(size-1)) pieces (at least one) of at most
    *size* vertices; a piece's last vertex is the next piece's first.
    """
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    count = np.maximum(1, -(-(ends - starts - 1) // (size - 1)))
    pass_of = np.repeat(np.arange(len(starts)), count)
    first_piece = np.cumsum(count) - count
    k = np.arange(int(count.sum())) - first_piece[pass_of]
    lo = starts[pass_of] + k * (size - 1)
    hi = np.minimum(lo + size, ends[pass_of])  # exclusive
    span = hi - lo
    # consecutive indices within a piece: a running sum of steps of 1 that jumps to
    # the piece's first vertex where a piece begins
    step = np.ones(int(span.sum()), np.int64)
    begin = np.cumsum(span) - span
    step[begin[1:]] = lo[1:] - hi[:-1] + 1
    if len(step):
        step[0] = lo[0]
    return np.cumsum(step), np.repeat(np.arange(len(lo)), span), pass_of


def _pieces(n: int, breaks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(vertex index, piece id) of every vertex of every piece of the passes of n records."""
    idx, piece, _ = _piece_ranges(np.r_[0, breaks], np.r_[breaks, n], size)
    return idx, piece


def swath_footprint(
    x: np.ndarray,
    y: np.ndarray,
    width: float,
    *,
    size: int = PIECE_VERTICES,
    at: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    drawn_first: bool = False,
) -> shapely.Geometry:
    """The dissolved swath footprint of a track in projected metres (x, y in metres).

    *width* is the swath width in metres; see the module docstring for the rule. With
    *at*, (x, y) only choose the passes and the records the simplified track keeps
    (e.g. a local frame of lon/lat, cheap to compute for every record): ``at(records)``
    gives the kept records' coordinates in the metres the buffer is made in.
    *drawn_first*: the first record is drawn elsewhere (a block's first, the block
    before's last): alone in its pass, it is left out.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    starts = np.r_[0, pass_breaks(x, y, width)]
    ends = np.r_[starts[1:], len(x)]
    is_line = ends - starts > 1
    single = starts[~is_line]  # a pass of one record: a disc
    if drawn_first:
        single = single[single > 0]
    kept = np.zeros(0, np.int64)
    kept_pass = np.zeros(0, np.int64)
    if is_line.any():
        idx, piece, piece_pass = _piece_ranges(starts[is_line], ends[is_line], size)
        # the record index rides along as z: the simplifier keeps it with each vertex
        # (columns filled one at a time: a million-record track's copies are 24 MB each)
        xyz = np.empty((len(idx), 3))
        xyz[:, 0] = x[idx]
        xyz[:, 1] = y[idx]
        xyz[:, 2] = idx
        del idx
        if at is not None:  # only the kept records' coordinates are asked for below
            x = y = np.zeros(0)
        lines = shapely.linestrings(xyz, indices=piece)
        del xyz
        simple = shapely.simplify(lines, width * TOLERANCE, preserve_topology=False)
        kept = shapely.get_coordinates(simple, include_z=True)[:, 2].astype(np.int64)
        # the simplified pieces of a pass joined again: one buffer a pass (a shared
        # end vertex repeated, which the buffer ignores)
        kept_pass = np.repeat(piece_pass, shapely.get_num_coordinates(simple))
    where = at or (lambda r: (x[r], y[r]))
    sx, sy = where(single)
    kx, ky = where(kept)
    shapes = [shapely.points(sx, sy)]
    if len(kept):
        shapes.append(shapely.linestrings(kx, ky, indices=kept_pass))
    footprint = shapely.buffer(np.concatenate(shapes), width / 2, quad_segs=4)
    return shapely.union_all(footprint)


def block_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) of the blocks of *n* positions: *size* each, and the next's first.

    >>> block_bounds(5, 2)
    [(0, 3), (2, 5)]
    >>> block_bounds(6, 2), block_bounds(3, 2), block_bounds(1, 2)
    ([(0, 3), (2, 5), (4, 6)], [(0, 3)], [(0, 1)])
    """
    return [(s, min(s + size + 1, n)) for s in range(0, max(n - 1, 1), size)]


def blocked_footprint(
    n: int,
    frame: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
    width: float,
    *,
    block: int | None = None,
    size: int = PIECE_VERTICES,
    at: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> shapely.Geometry:
    """The swath footprint of a track of *n* positions, made block by block (module docstring).

    ``frame(start, stop)`` gives positions [start, stop) in metres (x, y), as
    :func:`swath_footprint` takes them; ``at(records)``, when given, the metres the
    buffer is made in for records numbered over the whole track; *block*: positions a
    block (default :data:`BLOCK_POSITIONS`). Only one block's
    positions are in memory at a time (besides what *frame* reads them from).

    >>> x = np.arange(0.0, 3000.0, 1.0)
    >>> track = lambda a, b: (x[a:b], np.zeros(b - a))
    >>> round(blocked_footprint(len(x), track, 10.0, block=1000).area)
    30067
    """
    parts = []
    for start, stop in block_bounds(n, block or BLOCK_POSITIONS):
        x, y = frame(start, stop)
        where = None if at is None else _shifted(at, start)
        parts.append(
            swath_footprint(x, y, width, size=size, at=where, drawn_first=start > 0)
        )
        del x, y
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _shifted(
    at: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], start: int
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """*at* for a block's records numbered from its *start*."""
    return lambda records: at(records + start)
