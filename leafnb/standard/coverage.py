"""The worked area of a track: the swath footprint, in a few vectorised GEOS calls.

Rule (spec §2.4, ``summaryGeometry: BUFFER``): the track is split into passes where the
machine jumps more than 5 swath widths (or 50 m); each pass is simplified with a
tolerance of a quarter swath width and buffered by half the swath width on each side;
the buffers are dissolved.

How, cheaply: the passes are simplified whole, in one vectorised call (GEOS's
topology-preserving simplifier, as before), then cut into pieces of at most
:data:`PIECE_VERTICES` vertices; consecutive pieces share their end vertex, so the
chain stays connected. Buffering one long pass that crosses itself hundreds of times (a
whole field driven without a jump is one pass) makes GEOS node every crossing inside
one buffer — superlinear in the vertices; many small buffers (one vectorised call) and
one cascaded union are not. The union of the pieces' buffers is the buffer of the pass
up to the polygonal approximation of the round joins at the cuts: on the real data
sets every footprint is identical (no simplified pass there has more than 1,000
vertices); see ``docs/performance.md``.

Rejected: Douglas-Peucker without topology preservation (3× faster on the simplify)
changes which vertices are kept at narrow turns (up to 1.3 % of the area on a real
spreader log); simplifying each piece on its own changes them near the cuts (0.7 %).

>>> import numpy as np
>>> x = np.arange(0.0, 3000.0, 1.0)
>>> round(swath_footprint(x, np.zeros_like(x), 10.0).area)
30067
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["PIECE_VERTICES", "pass_breaks", "swath_footprint"]

#: most vertices in one buffered piece of a pass
PIECE_VERTICES = 1000


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
    x: np.ndarray, y: np.ndarray, width: float, *, size: int = PIECE_VERTICES
) -> shapely.Geometry:
    """The dissolved swath footprint of a track in projected metres (x, y in metres).

    *width* is the swath width in metres; see the module docstring for the rule.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    coords = np.column_stack([x, y])
    starts = np.r_[0, pass_breaks(x, y, width)]
    length = np.diff(np.r_[starts, len(x)])
    pass_of = np.repeat(np.arange(len(length)), length)
    is_line = length > 1
    in_line = is_line[pass_of]
    shapes = [shapely.points(coords[~in_line])]  # a pass of one record: a disc
    if is_line.any():
        line_no = np.cumsum(is_line) - 1
        lines = shapely.linestrings(coords[in_line], indices=line_no[pass_of[in_line]])
        simple = shapely.simplify(lines, width / 4)
        vertices, owner = shapely.get_coordinates(simple, return_index=True)
        cuts = np.flatnonzero(np.diff(owner)) + 1
        idx, piece = _pieces(len(vertices), cuts, size)
        shapes.append(shapely.linestrings(vertices[idx], indices=piece))
    footprint = shapely.buffer(np.concatenate(shapes), width / 2, quad_segs=4)
    return shapely.union_all(footprint)
