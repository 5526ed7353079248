"""The swath footprint built from pieces of passes (leafnb.standard.coverage).

The reference is the exact buffer of the unsimplified track (shapely on whole passes),
which the rule approximates.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
import shapely
import shapely.geometry

from leafnb.standard.coverage import (
    _pieces,
    block_bounds,
    blocked_footprint,
    pass_breaks,
    swath_footprint,
)


def _serpentine(rows: int = 40, length: float = 400.0, width: float = 9.0):
    """A field driven in back-and-forth rows one swath apart, one record a metre."""
    xs, ys = [], []
    for r in range(rows):
        x = np.arange(0.0, length, 1.0)
        xs.append(x if r % 2 == 0 else x[::-1])
        ys.append(np.full(x.size, r * width))
    return np.concatenate(xs), np.concatenate(ys)


def _serpentine_points(rows: int):
    """A serpentine in UTM 15N metres and as a harvest point set of 9 m swaths."""
    from pyproj import Transformer

    from leafnb.standard.points import PointSet

    x, y = _serpentine(rows=rows)
    utm = Transformer.from_crs("EPSG:32615", "EPSG:4326", always_xy=True)
    lon, lat = utm.transform(x + 500_000.0, y + 4_650_000.0)
    points = PointSet(
        pa.table({"lon": lon, "lat": lat, "equipmentWidth": np.full(x.size, 9.0)}),
        "harvested",
        units={"equipmentWidth": "m"},
    )
    return x, y, points


def _exact_footprint(x, y, w):
    """The buffer of every whole pass, unsimplified (what the rule approximates)."""
    parts = np.split(np.column_stack([x, y]), pass_breaks(x, y, w))
    geoms = [
        shapely.points(p[0]) if len(p) == 1 else shapely.linestrings(p) for p in parts
    ]
    return shapely.union_all(shapely.buffer(np.array(geoms), w / 2, quad_segs=4))


def test_pieces_share_end_vertices_and_cover_every_record():
    idx, piece = _pieces(2500, np.array([1000, 1001]), size=400)
    # pass 0: 1000 records -> 3 pieces of <= 400 vertices; pass 1: one record; pass 2: 1499
    spans = np.bincount(piece)
    assert spans.max() <= 400 and spans[3] == 1
    assert set(idx) == set(range(2500))
    starts = np.r_[0, np.cumsum(spans)[:-1]]
    ends = starts + spans - 1
    # consecutive pieces of one pass share a vertex; pieces of different passes do not
    assert (
        idx[ends[0]] == idx[starts[1]]
        and idx[ends[2]] == 999
        and idx[starts[3]] == 1000
    )


def test_footprint_in_pieces_matches_whole_passes():
    w = 9.0
    x, y = _serpentine(width=w)
    x = np.r_[x, 5000.0, np.arange(6000.0, 6200.0)]  # one lone record, one short pass
    y = np.r_[y, 0.0, np.zeros(200)]
    whole = _exact_footprint(x, y, w)
    pieces = swath_footprint(x, y, w, size=100)
    assert abs(pieces.area - whole.area) / whole.area < 1e-4
    # no seams: the serpentine is one polygon, plus the lone disc and the short pass
    assert len(shapely.get_parts(pieces)) == 3
    assert shapely.symmetric_difference(pieces, whole).area / whole.area < 1e-4


def test_straight_track_cut_into_pieces_is_one_strip():
    x = np.arange(0.0, 3000.0)
    strip = swath_footprint(x, np.zeros_like(x), 10.0, size=250)
    assert strip.geom_type == "Polygon"
    assert strip.bounds == (-5.0, -5.0, 3004.0, 5.0)


def test_noisy_track_with_round_turns_stays_within_one_percent_of_its_exact_buffer():
    """GPS noise and headland turns: what simplifying changes (the earlier rule, a
    quarter swath width on whole passes, lost 1-4 % of the area on real logs)."""
    w, rows, length = 9.0, 30, 300.0
    rng = np.random.default_rng(5)
    xs, ys = [], []
    for r in range(rows):
        x = np.arange(0.0, length, 1.5)
        xs.append(x if r % 2 == 0 else x[::-1])
        ys.append(np.full(x.size, r * w))
        # a half-circle turn to the next row, one record every 1.5 m
        a = np.linspace(0, np.pi, 10)[1:-1]
        cx = length + 2.0 if r % 2 == 0 else -2.0
        side = 1 if r % 2 == 0 else -1
        xs.append(cx + side * (w / 2) * np.sin(a))
        ys.append(r * w + w / 2 - (w / 2) * np.cos(a))
    x = np.concatenate(xs) + rng.normal(0, 0.3, sum(map(len, xs)))
    y = np.concatenate(ys) + rng.normal(0, 0.3, sum(map(len, ys)))
    exact = _exact_footprint(x, y, w)
    got = swath_footprint(x, y, w, size=300)
    assert abs(got.area - exact.area) / exact.area < 0.01
    assert shapely.symmetric_difference(got, exact).area / exact.area < 0.02


def test_utm_forward_pipeline_is_bit_identical_to_epsg():
    from pyproj import CRS, Transformer

    from leafnb.standard.summary import _utm_transformers

    rng = np.random.default_rng(3)
    for zone, south in [(1, False), (15, False), (33, True), (60, True)]:
        lon = (zone - 1) * 6 - 177 + rng.uniform(-4, 4, 5000)
        lat = rng.uniform(-80, 0, 5000) if south else rng.uniform(0, 84, 5000)
        epsg = CRS.from_epsg((32700 if south else 32600) + zone)
        want = Transformer.from_crs("EPSG:4326", epsg, always_xy=True).transform(
            lon, lat
        )
        got = _utm_transformers(zone, south)[0].transform(lon, lat)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_records_chosen_in_one_frame_are_buffered_in_another():
    x, y = _serpentine(rows=6)
    plain = swath_footprint(x, y, 9.0)
    moved = swath_footprint(x, y, 9.0, at=lambda r: (x[r] + 1000.0, y[r]))
    assert moved.area == pytest.approx(plain.area, rel=1e-9)
    assert moved.bounds[0] == pytest.approx(plain.bounds[0] + 1000.0)


def test_summary_footprint_chosen_in_lon_lat_matches_the_utm_rule():
    from pyproj import Transformer

    from leafnb.standard.summary import coverage_geometry

    x, y, points = _serpentine_points(rows=20)
    got = shapely.geometry.shape(coverage_geometry(points))
    back = Transformer.from_crs("EPSG:4326", "EPSG:32615", always_xy=True)
    got = shapely.transform(got, lambda c: np.column_stack(back.transform(*c.T)))
    want = swath_footprint(x + 500_000.0, y + 4_650_000.0, 9.0)
    assert got.area == pytest.approx(want.area, rel=1e-4)
    assert shapely.symmetric_difference(got, want).area < 1e-4 * want.area


def _blocks(x, y, w, block, **kw):
    return blocked_footprint(
        len(x), lambda a, b: (x[a:b], y[a:b]), w, block=block, **kw
    )


def test_blocks_overlap_by_one_position():
    # every segment (i, i + 1) lies in one block
    for n, size in [(10, 3), (7, 3), (3, 2), (2, 5), (1, 5)]:
        bounds = block_bounds(n, size)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(b[0] == a[1] - 1 for a, b in itertools.pairwise(bounds))
        assert all(stop - start <= size + 1 for start, stop in bounds)


def test_a_block_boundary_loses_no_segment():
    """A 40 m step (a pass, not a jump: the limit is 50 m) between two blocks is drawn."""
    w = 9.0
    x = np.r_[np.arange(0.0, 299.0), np.arange(340.0, 641.0)]  # the step: 298 -> 340
    y = np.zeros_like(x)
    # blocks of 299: the step's end (position 299) starts block 1, and ends block 0
    assert block_bounds(len(x), 299)[:2] == [(0, 300), (299, 599)]
    got = _blocks(x, y, w, block=299)
    assert got.geom_type == "Polygon"  # one strip: the step's swath is there
    swath = shapely.buffer(
        shapely.linestrings(np.c_[x, y]), w / 2 * 0.99, cap_style="flat"
    )
    assert got.contains(swath)
    whole = swath_footprint(x, y, w)
    assert got.area == pytest.approx(whole.area, rel=1e-9)


def test_a_track_crossing_block_boundaries_keeps_its_footprint():
    w = 9.0
    x, y = _serpentine(rows=12, width=w)  # 4,800 positions, passes of 400
    x = np.r_[x, 5000.0, np.arange(6000.0, 6200.0)]  # a lone record, a short pass
    y = np.r_[y, 0.0, np.zeros(200)]
    whole = swath_footprint(x, y, w, size=100)
    exact = _exact_footprint(x, y, w)
    for block in (250, 333, 1000):  # boundaries inside passes and at pass ends
        got = _blocks(x, y, w, block, size=100)
        assert abs(got.area - whole.area) / whole.area < 1e-4
        assert abs(got.area - exact.area) / exact.area < 1e-3
        # no seam at a block boundary: the serpentine, the disc, the short pass
        assert len(shapely.get_parts(got)) == 3
    # one block: the footprint made in one piece, exactly
    assert shapely.equals_exact(_blocks(x, y, w, len(x), size=100), whole, 0.0)


def test_a_lone_first_record_of_a_block_is_not_drawn_again():
    """The block's first position ends the block before's pass; a jump follows it."""
    w = 9.0
    s = np.r_[np.arange(0.0, 100.0), np.arange(500.0, 600.0)]  # jump after 99
    # driven at an angle: a disc's vertices are not the round cap's (slivers: +1e-4)
    x, y = s * np.cos(0.5), s * np.sin(0.5)
    got = _blocks(x, y, w, block=99)  # block 1 = positions 99 ... 198: 99 alone
    whole = swath_footprint(x, y, w)
    assert got.area == pytest.approx(whole.area, rel=1e-12)
    assert shapely.symmetric_difference(got, whole).area < 1e-9 * whole.area


def test_summary_coverage_is_made_block_by_block(monkeypatch):
    import leafnb.standard.coverage as coverage
    from leafnb.standard.summary import coverage_geometry

    _, _, points = _serpentine_points(rows=10)
    one = shapely.geometry.shape(coverage_geometry(points))
    monkeypatch.setattr(coverage, "BLOCK_POSITIONS", 700)
    blocks = shapely.geometry.shape(coverage_geometry(points))
    assert not shapely.equals_exact(blocks, one, 0.0)  # the blocks are used
    assert blocks.area == pytest.approx(one.area, rel=1e-4)
