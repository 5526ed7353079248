"""Each filter on small synthetic tracks with a known answer."""

import json

import numpy as np
import pyarrow as pa
import pytest
import shapely

from leafnb.clean.filters import FILTERS, estimate_delay, shift_along_track
from leafnb.clean.passes import GridIndex, Track, detect_passes
from leafnb.clean.profiles import FilterPipeline, filter_pointset, resolve_pipeline
from leafnb.errors import InvalidRequest
from leafnb.standard.points import PointSet
from leafnb.testing import make_points, point_units

LON0, LAT0, R = -93.6, 42.0, 6_371_008.8


def pointset(x, y, t=None, op="harvested", units=None, **cols):
    """Standard points from local metres (x east, y north) and seconds."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    t = np.arange(n, dtype=float) if t is None else np.asarray(t, float)
    lat = LAT0 + np.degrees(y / R)
    lon = LON0 + np.degrees(x / (R * np.cos(np.radians(LAT0))))
    arrays = {
        "lon": lon,
        "lat": lat,
        "timestamp": pa.array((1_700_000_000_000 + t * 1000).astype("int64")).cast(
            pa.timestamp("ms", tz="UTC")
        ),
    }
    arrays.update({k: pa.array(v) for k, v in cols.items()})
    return PointSet(pa.table(arrays), op, units=units or {})


def serpentine(n_passes=6, length=100, speed=2.0, width=9.0):
    """Straight passes north/south, one point per second, no turns; returns x, y, t, pass id."""
    steps = int(length / speed)
    xs, ys, ps = [], [], []
    for p in range(n_passes):
        yy = np.arange(steps) * speed
        ys.append(yy if p % 2 == 0 else yy[::-1])
        xs.append(np.full(steps, p * width))
        ps.append(np.full(steps, p))
    t = np.arange(n_passes * steps, dtype=float)
    t += np.repeat(
        np.arange(n_passes) * 10.0, steps
    )  # a 10 s gap between passes (turns not logged)
    return np.concatenate(xs), np.concatenate(ys), t, np.concatenate(ps)


def run(ps, name, **params):
    return filter_pointset(ps, FilterPipeline().add(name, **params))


# ------------------------------------------------------------------ passes and grid


def test_passes_split_on_time_gaps_and_turns():
    x, y, t, p = serpentine(4)
    heading = np.where(p % 2 == 0, 0.0, 180.0)
    passes, segments = detect_passes(x, y, t, heading)
    assert np.array_equal(passes, p) and np.array_equal(segments, p)
    # same track logged through the turns without gaps: segments merge, passes still split by heading
    passes, segments = detect_passes(x, y, np.arange(len(x), dtype=float), heading)
    assert passes.max() == 3 and segments.max() == 0


def test_grid_block_stats_other_passes():
    x = np.array([0.0, 0.5, 1.0, 50.0])
    y = np.zeros(4)
    g = GridIndex(x, y, 2.0, groups=np.array([0, 0, 1, 1]))
    cnt, mean, _ = g.block_stats(
        np.array([1.0, 3.0, 10.0, 99.0]), np.ones(4, bool), other_groups=True
    )
    assert cnt.tolist() == [1, 1, 2, 0] and mean[:3].tolist() == [10.0, 10.0, 2.0]


# ------------------------------------------------------------------ delays


def test_planted_flow_delay_is_estimated_and_undone():
    x, y, t, _ = serpentine(8, length=200)
    true = 10 + 3 * np.sin(y / 15.0) + np.random.default_rng(0).normal(0, 0.3, len(x))
    recorded = np.r_[
        np.full(4, true[0]), true[:-4]
    ]  # the sensor sees grain 4 s after it was cut
    ps = pointset(x, y, t, wetMassPerArea=recorded, wetMass=recorded / 1000)
    kept, removed, rep = run(ps, "flowDelay")
    assert rep["flowDelay"] == {"seconds": 4.0, "automatic": True}
    assert abs(rep["filters"][0]["parameters"]["resolved"] - 4) <= 1
    # each kept point got back the value cut there; points without a later value are removed
    k = kept.array("wetMassPerArea")
    assert np.allclose(
        k,
        true[~np.isin(np.arange(len(x)), np.flatnonzero(~_mask(ps, kept)))],
        atol=1e-9,
    )
    assert set(removed.table.column("filterReason").to_pylist()) == {"flowDelay"}
    assert len(removed) == 8 * 4  # last 4 s of each (gap-separated) pass


def _mask(ps, kept):
    keys = set(zip(kept.array("lon").round(9), kept.array("lat").round(9), strict=True))
    return np.array(
        [
            (a, b) in keys
            for a, b in zip(
                ps.array("lon").round(9), ps.array("lat").round(9), strict=True
            )
        ]
    )


def test_flow_delay_on_generated_harvest():
    t = make_points("harvested", 4000, seed=2)
    ps = PointSet(t, "harvested", units=point_units(t))
    y = ps.array("wetMassPerArea")
    ps = ps.with_column("wetMassPerArea", np.r_[np.full(6, y[0]), y[:-6]])
    track = Track.from_points(ps)
    delay, scores = estimate_delay(
        track, track.strings("recordingStatus") == "On", "wetMassPerArea", 15
    )
    assert abs(delay - 6) <= 1 and scores["6"] < scores["0"]


def test_fixed_delay_and_shift_respects_segments():
    x, y, t, _ = serpentine(2, length=20)  # 10 points per pass, 10 s gap
    ps = pointset(x, y, t, wetMassPerArea=np.arange(20.0))
    track = Track.from_points(ps)
    v, ok = shift_along_track(track, track.col("wetMassPerArea"), 2)
    assert v[:8].tolist() == list(range(2, 10)) and not ok[8:10].any() and v[10] == 12


def test_moisture_delay_rescales_dry_values():
    x, y, t, _ = serpentine(2, length=20)
    m = np.r_[np.full(10, 20.0), np.full(10, 20.0)]
    m[5] = 30.0
    ps = pointset(
        x,
        y,
        t,
        harvestMoisture=m,
        dryMassPerArea=np.full(20, 80.0),
        wetMassPerArea=np.full(20, 100.0),
    )
    kept, _, rep = run(ps, "moistureDelay", seconds=1)
    assert rep["moistureDelay"] == {"seconds": 1.0, "automatic": False}
    km, kd = kept.array("harvestMoisture"), kept.array("dryMassPerArea")
    assert km[4] == 30.0 and kd[4] == pytest.approx(80.0 * 70 / 80)


# ------------------------------------------------------------------ position, duplicates, status


def test_gps_jump_removed_by_position():
    x, y, t, _ = serpentine(3)
    x[30] += 300.0
    ps = pointset(x, y, t, wetMassPerArea=np.full(len(x), 10.0))
    _, removed, rep = run(ps, "position")
    assert rep["filters"][0]["removed"] == 1
    assert removed.array("lon")[0] == pytest.approx(ps.array("lon")[30])


def test_generated_gps_jump_removed():
    t = make_points("harvested", 1000, seed=3)
    ps = PointSet(t, "harvested", units=point_units(t))
    _, removed, _ = run(ps, "position")
    assert 1000 // 3 in np.flatnonzero(_mask(ps, removed))


def test_duplicates_removed_keep_first():
    x = np.array([0.0, 1.0, 1.0, 2.0, 1.0, 3.0])
    ps = pointset(x, np.zeros(6), wetMassPerArea=np.arange(6.0))
    kept, removed, _ = run(ps, "duplicatePosition")
    assert kept.array("wetMassPerArea").tolist() == [0, 1, 3, 5]
    assert removed.array("wetMassPerArea").tolist() == [2, 4]


def test_recording_status_and_gps_quality():
    ps = pointset(
        np.arange(5.0),
        np.zeros(5),
        recordingStatus=["On", "Off", "On", "On", "On"],
        gpsQuality=[4, 4, 0, 1, 5],
        pdop=[1.0, 1, 1, 1, 9],
    )
    kept, removed, rep = filter_pointset(
        ps,
        FilterPipeline()
        .add("recordingStatus")
        .add("gpsQuality", min_quality=1, max_pdop=5),
    )
    assert (
        kept.array("lon").round(12).tolist()
        == ps.array("lon")[[0, 3]].round(12).tolist()
    )
    assert removed.table.column("filterReason").to_pylist() == [
        "recordingStatus",
        "gpsQuality",
        "gpsQuality",
    ]
    assert [f["removed"] for f in rep["filters"]] == [1, 2]
    _, _, rep = run(pointset([0.0, 1], [0.0, 0]), "gpsQuality")
    assert rep["filters"] == [] and rep["notApplied"][0]["name"] == "gpsQuality"


def test_boundary_edge_buffer():
    x, y = np.arange(0.0, 100, 5), np.full(20, 10.0)
    ps = pointset(x, y)
    box = shapely.box(
        LON0 - 1e-6,
        LAT0 - 1e-3,
        LON0 + np.degrees(50.0 / (R * np.cos(np.radians(LAT0)))),
        LAT0 + 1e-3,
    )
    kept, _, _ = filter_pointset(ps, FilterPipeline().with_boundary(box))
    assert len(kept) == 10  # x 0..45 inside; 50 sits on the edge
    kept, _, rep = filter_pointset(
        ps, FilterPipeline().with_boundary(box.wkt, buffer_m=12)
    )
    assert len(kept) == 5 and rep["filters"][0]["parameters"]["buffer_m"] == 12


# ------------------------------------------------------------------ velocity, swath, passes


def test_leaf_speed_rule_converts_mph():
    # 1.0 mi/hr = 0.447 m/s < 0.5 (removed); 1.2 mi/hr = 0.536 m/s (kept); unconverted both would pass
    ps = pointset(
        np.arange(4.0),
        np.zeros(4),
        op="planted",
        units={"speed": "mi/hr"},
        speed=[1.0, 1.2, 0.2, 5.0],
        seedRate=[1.0, 1, 1, 1],
    )
    kept, removed, rep = resolve_pipeline("leaf").run(ps)
    assert kept.array("speed").tolist() == [1.2, 5.0]
    assert removed.table.column("filterReason").to_pylist() == [
        "minVelocity",
        "minVelocity",
    ]
    assert rep["profile"] == "leaf" and rep["filters"][0]["parameters"] == {
        "threshold": 0.5,
        "unit": "m/s",
    }
    assert rep["notApplied"] == [{"name": "globalSD", "reason": "not a harvest"}]


def test_leaf_outliers_two_sided_population_sd_after_speed():
    vals = np.array([10.0] * 18 + [30.0, -10.0, 1000.0])
    speed = np.array(
        [2.0] * 20 + [0.1]
    )  # the 1000 is slow: removed by speed first, never inflates the SD
    ps = pointset(
        np.arange(21.0),
        np.zeros(21),
        units={"speed": "m/s"},
        speed=speed,
        wetVolumePerArea=vals,
        wetMassPerArea=np.full(21, 5.0),
    )
    kept, removed, rep = resolve_pipeline("leaf", {"operationsOutliersLimit": 3}).run(
        ps
    )
    v = vals[:20]
    mean, sd = v.mean(), v.std()  # population SD
    assert np.abs(30 - mean) > 3 * sd and np.abs(-10 - mean) > 3 * sd
    assert removed.table.column("filterReason").to_pylist() == [
        "globalSD",
        "globalSD",
        "minVelocity",
    ]
    assert rep["filters"][1]["parameters"]["column"] == "wetVolumePerArea"
    assert rep["filters"][1]["parameters"]["sd"] == pytest.approx(sd)
    kept, _, _ = resolve_pipeline("leaf", {"operationsRemoveOutliers": False}).run(ps)
    assert len(kept) == 20


def test_min_max_velocity_fixed_and_auto():
    v = np.array([0.1, 2.0, 2.1, 1.9, 2.0, 6.0, 2.0, 2.2, 1.8, 2.0])
    ps = pointset(np.arange(10.0), np.zeros(10), units={"speed": "km/h"}, speed=v * 3.6)
    _, removed, _ = filter_pointset(
        ps,
        FilterPipeline()
        .add("minVelocity", threshold=1.0)
        .add("maxVelocity", threshold=10.8, unit="km/h"),
    )
    assert removed.table.column("filterReason").to_pylist() == [
        "minVelocity",
        "maxVelocity",
    ]
    _, _, rep = filter_pointset(
        ps, FilterPipeline().add("minVelocity").add("maxVelocity")
    )
    assert [f["removed"] for f in rep["filters"]] == [1, 1]
    assert rep["filters"][0]["parameters"]["resolved"] == pytest.approx(
        0.5 * np.percentile(v, 10)
    )


def test_smooth_velocity():
    v = np.array([2.0, 2.0, 2.0, 3.0, 2.0, 2.0])
    ps = pointset(
        np.zeros(6),
        np.arange(6.0) * 2,
        speed=v,
        units={"speed": "m/s"},
        heading=np.zeros(6),
    )
    _, removed, _ = run(ps, "smoothVelocity", max_change=0.2)
    # vectorised: a spike flags the jump into it and out of it (both compared with the point before)
    assert removed.array("speed").tolist() == [3.0, 2.0]
    _, removed, _ = run(ps, "smoothVelocity", max_change=None, max_accel=1.5)
    assert len(removed) == 0


def test_start_and_end_pass_delay():
    x, y, t, _ = serpentine(3, length=40)  # 20 points per pass
    ps = pointset(x, y, t, wetMassPerArea=np.full(len(x), 10.0))
    _, _removed, rep = filter_pointset(
        ps,
        FilterPipeline()
        .add("startPassDelay", seconds=4)
        .add("endPassDelay", seconds=2),
    )
    assert [f["removed"] for f in rep["filters"]] == [3 * 4, 3 * 2]
    # automatic start delay: the yield ramps up over the first 5 s of each pass
    ramp = np.tile(np.r_[np.linspace(0.5, 8, 5), np.full(15, 10.0)], 3)
    ps = pointset(x, y, t, wetMassPerArea=ramp)
    _, _, rep = run(ps, "startPassDelay", seconds="auto")
    assert (
        rep["filters"][0]["parameters"]["resolved"] == 4.0
        and rep["filters"][0]["removed"] == 12
    )


def test_min_swath():
    w = np.array([9.0, 9.0, 3.0, 9.0, 4.4, 9.0])
    ps = pointset(
        np.arange(6.0), np.zeros(6), units={"equipmentWidth": "m"}, equipmentWidth=w
    )
    _, removed, _ = run(ps, "minSwath")  # auto: 0.5 × P95 = 4.5 m
    assert removed.array("equipmentWidth").tolist() == [3.0, 4.4]
    _, removed, _ = run(ps, "minSwath", threshold=10, unit="ft")  # 3.048 m
    assert removed.array("equipmentWidth").tolist() == [3.0]


def test_overlap_removes_a_repeated_pass():
    x, y, t, _ = serpentine(3, length=40, width=9.0)
    x[40:] = 0.0  # the third pass runs over the first one again
    ps = pointset(
        x,
        y,
        t,
        units={"equipmentWidth": "m"},
        equipmentWidth=np.full(len(x), 9.0),
        heading=np.where((np.arange(len(x)) // 20) % 2 == 0, 0.0, 180.0),
    )
    _, removed, rep = run(ps, "overlap")
    assert len(removed) == 20 and rep["filters"][0]["parameters"]["cell_m"] == 2.25


# ------------------------------------------------------------------ yield values


def test_min_max_yield_fixed_with_units_and_auto():
    y = np.array([0.5, 10, 11, 9, 10, 40, 10, 10, 11, 9], float)
    ps = pointset(
        np.arange(10.0),
        np.zeros(10),
        units={"wetMassPerArea": "t/ha"},
        wetMassPerArea=y,
    )
    _, removed, rep = filter_pointset(
        ps,
        FilterPipeline()
        .add("minYield", threshold=2000, unit="kg/ha")
        .add("maxYield", threshold=20),
    )
    assert removed.table.column("filterReason").to_pylist() == ["minYield", "maxYield"]
    assert rep["filters"][0]["parameters"]["resolved"] == 2.0


def test_global_sd_iterative():
    y = np.r_[np.full(50, 10.0), [12.0, 8.0], [13.0], [100.0]]
    ps = pointset(np.arange(len(y)), np.zeros(len(y)), wetMassPerArea=y)
    _, removed, rep = run(ps, "globalSD", k=3)
    assert (
        removed.array("wetMassPerArea").tolist() == [100.0]
        and rep["filters"][0]["parameters"]["rounds"] == 1
    )
    _, removed, rep = run(ps, "globalSD", k=3, iterative=True)
    assert sorted(removed.array("wetMassPerArea").tolist()) == [8.0, 12.0, 13.0, 100.0]
    assert rep["filters"][0]["parameters"]["rounds"] >= 2


def test_local_sd():
    gx, gy = np.meshgrid(np.arange(0.0, 60, 3), np.arange(0.0, 60, 3))
    x, y = gx.ravel(), gy.ravel()
    v = (
        5 + x / 10.0 + np.random.default_rng(1).normal(0, 0.1, len(x))
    )  # a trend the global SD would not flag
    v[210] = v[210] + 3
    ps = pointset(x, y, wetMassPerArea=v)
    _, removed, _rep = run(ps, "localSD", k=4, radius=6)
    assert np.flatnonzero(_mask(ps, removed)).tolist() == [210]
    _, removed, _ = run(ps, "globalSD", k=3)
    assert len(removed) == 0


# ------------------------------------------------------------------ pipeline and report


def test_first_filter_wins_and_report_adds_up():
    t = make_points("harvested", 3000, seed=5)
    ps = PointSet(t, "harvested", units=point_units(t))
    for prof in ("leaf", "standard", "aggressive"):
        kept, removed, rep = resolve_pipeline(prof).run(ps)
        assert rep["kept"] + rep["removed"] == rep["total"] == 3000
        assert len(kept) == rep["kept"] and len(removed) == rep["removed"]
        reasons = removed.table.column("filterReason").to_pylist()
        assert {f["name"]: f["removed"] for f in rep["filters"] if f["removed"]} == {
            r: reasons.count(r) for r in set(reasons)
        }
        assert sum(f["percentRemoved"] for f in rep["filters"]) == pytest.approx(
            100 * rep["removed"] / 3000, abs=1e-2
        )
        assert all(f["percentMass"] is not None for f in rep["filters"])
        json.dumps(rep)
        assert "<table>" in rep._repr_html_()
    assert "flowDelay" in rep and rep["profile"] == "aggressive"


def test_non_harvest_profiles_skip_harvest_filters():
    t = make_points("planted", 1500, seed=6)
    ps = PointSet(t, "planted", units=point_units(t))
    _, _, rep = resolve_pipeline("standard").run(ps)
    names = [f["name"] for f in rep["filters"]]
    assert "flowDelay" not in names and "minYield" in names
    assert rep["filters"][names.index("minYield")]["parameters"]["column"] == "seedRate"
    assert all(f["percentMass"] is None for f in rep["filters"])


def test_custom_pipeline_config_round_trip():
    pipe = (
        FilterPipeline()
        .add("minVelocity", threshold=3, unit="mi/hr")
        .add("globalSD", name="sd2", k=2.0)
    )
    cfg = pipe.to_config()
    assert FilterPipeline.from_config(cfg).to_config() == cfg
    custom = resolve_pipeline("custom", {"filterPipeline": cfg})
    assert custom.name == "custom" and [s.label for s in custom.steps] == [
        "minVelocity",
        "sd2",
    ]
    assert [s.label for s in pipe.without("sd2").steps] == ["minVelocity"]
    assert pipe.with_params("sd2", k=4).steps[1].params["k"] == 4
    with pytest.raises(InvalidRequest, match="unknown filter"):
        FilterPipeline().add("nope")
    with pytest.raises(InvalidRequest, match="unknown parameter"):
        FilterPipeline().add("globalSD", sigma=2)
    with pytest.raises(InvalidRequest, match="needs a filterPipeline"):
        resolve_pipeline("custom", {})
    assert set(FILTERS) >= {
        "flowDelay",
        "moistureDelay",
        "startPassDelay",
        "endPassDelay",
        "minVelocity",
        "maxVelocity",
        "smoothVelocity",
        "minSwath",
        "minYield",
        "maxYield",
        "globalSD",
        "localSD",
        "overlap",
        "position",
        "boundary",
        "recordingStatus",
        "gpsQuality",
        "duplicatePosition",
    }
    assert all(d["description"] for d in resolve_pipeline("standard").describe())


def test_empty_points():
    ps = pointset(np.zeros(0), np.zeros(0), wetMassPerArea=np.zeros(0))
    kept, removed, rep = resolve_pipeline("standard").run(ps)
    assert rep["total"] == 0 and len(kept) == 0 and len(removed) == 0
