import numpy as np
import pyarrow as pa
import pytest

from leafnb.standard.area_yield import (
    canonical_array,
    compute_area_and_yield,
    haversine,
    initial_bearing,
    to_unit_system,
)
from leafnb.standard.crops import get_crop, list_crops, normalize_crop
from leafnb.standard.optype import OperationType, detect_operation_type
from leafnb.standard.points import PointSet
from leafnb.standard.units import conversion_factor


def test_haversine_and_bearing_known_values():
    # one degree of latitude ≈ 111.195 km on the mean-radius sphere
    assert haversine(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195, rel=1e-4)
    assert initial_bearing(0, 0, 0, 1) == pytest.approx(0)
    assert initial_bearing(0, 0, 1, 0) == pytest.approx(90)


def test_crop_table():
    assert len(list_crops()) == 217
    corn = get_crop("Corn ")
    assert (corn.density, corn.standard_moisture) == (56.0, 15.0)
    assert get_crop("corn, seed").density == 49.57
    assert get_crop("apples").standard_moisture is None
    assert normalize_crop("Soybean") == "soybeans"


def test_operation_type_detection():
    assert detect_operation_type(["seedRate", "speed"]) is OperationType.PLANTED
    assert detect_operation_type(["appliedRate", "products"]) is OperationType.APPLIED
    assert detect_operation_type(["tillageDepthActual"]) is OperationType.TILLAGE
    assert OperationType("Harvesting") is OperationType.HARVESTED


def _harvest(n=5, **cols):
    lon = -93.6 + np.arange(n) * 0.0001
    table = pa.table(
        {"lon": lon, "lat": np.full(n, 42.0), "crop": ["corn"] * n, **cols}
    )
    return table


def test_harvest_family_from_wet_mass_and_moisture():
    n = 5
    table = _harvest(
        n,
        wetMass=np.full(n, 100.0),
        harvestMoisture=np.full(n, 25.0),
        equipmentWidth=np.full(n, 9.0),
        distance=np.full(n, 2.0),
    )
    ps = PointSet(
        table,
        "harvested",
        units={
            "wetMass": "kg",
            "harvestMoisture": "percentage",
            "equipmentWidth": "m",
            "distance": "m",
        },
    )
    out = compute_area_and_yield(ps)
    np.testing.assert_allclose(out.array("area"), 18.0)
    # dry = wet × (100 − 25)/(100 − 15); corn 56 lb/bu
    dry = 100 * 75 / 85
    np.testing.assert_allclose(out.array("dryMass"), dry)
    bushel_kg = 56 * 0.45359237
    np.testing.assert_allclose(
        out.array("dryVolume"), dry / bushel_kg * 0.03523907016688, rtol=1e-9
    )
    np.testing.assert_allclose(out.array("wetMassPerArea"), 100 / (18 / 10_000))
    imperial = to_unit_system(out, "IMPERIAL")
    np.testing.assert_allclose(imperial.array("dryVolume"), dry / bushel_kg, rtol=1e-6)
    assert imperial.units["dryVolumePerArea"] == "bu/ac"
    assert imperial.units["area"] == "m2"


def test_default_system_restores_source_units_and_derives_in_source_family():
    n = 3
    table = _harvest(
        n,
        dryVolumePerArea=np.full(n, 200.0),
        harvestMoisture=np.full(n, 15.0),
        equipmentWidth=np.full(n, 30.0),
        distance=np.full(n, 5.0),
    )
    ps = PointSet(
        table,
        "harvested",
        units={
            "dryVolumePerArea": "bu/ac",
            "harvestMoisture": "%",
            "equipmentWidth": "ft",
            "distance": "ft",
        },
        source_units={
            "dryVolumePerArea": "bu/ac",
            "harvestMoisture": "%",
            "equipmentWidth": "ft",
            "distance": "ft",
        },
    )
    out = to_unit_system(compute_area_and_yield(ps), "DEFAULT")
    np.testing.assert_allclose(out.array("dryVolumePerArea"), 200.0)
    assert out.units["wetMass"] == "lb" and out.units["dryVolume"] == "bu"
    # 200 bu/ac over 150 ft² -> bushels
    np.testing.assert_allclose(out.array("dryVolume"), 200 * 150 / 43_560, rtol=1e-4)


def test_distance_heading_speed_from_positions():
    n = 4
    table = pa.table(
        {
            "lon": np.zeros(n),
            "lat": np.arange(n) * 1e-4,
            "timestamp": pa.array(
                np.arange(n) * 2000, type=pa.timestamp("ms", tz="UTC")
            ),
        }
    )
    out = compute_area_and_yield(PointSet(table, "tillage"))
    np.testing.assert_allclose(out.array("distance"), 11.1195, rtol=1e-4)
    np.testing.assert_allclose(out.array("heading"), 0.0, atol=1e-9)
    np.testing.assert_allclose(out.array("speed"), 11.1195 / 2, rtol=1e-4)
    assert not out.has("area")  # no width: area cannot be computed


def _timed(lat, t_ms, optype="harvested", **cols):
    n = len(lat)
    table = pa.table(
        {
            "lon": np.full(n, 10.0),
            "lat": np.asarray(lat, float),
            "timestamp": pa.array(
                np.asarray(t_ms, np.int64), pa.timestamp("ms", tz="UTC")
            ),
            **cols,
        }
    )
    units = {k: u for k, (_, u) in UNITS.items() if k in cols}
    return PointSet(table, optype, units=units, source_units=dict(units))


UNITS = {
    "equipmentWidth": (None, "m"),
    "cropFlow": (None, "kg/s"),
    "samplingInterval": (None, "s"),
    "wetMassPerArea": (None, "kg/ha"),
    "crop": (None, None),
}


def test_position_jump_is_excluded_from_distance_and_area_and_counted():
    """A 2-minute log with one 2,264 km jump: the two impossible steps add nothing."""
    n = 120
    lat = 52.0 + np.arange(n) * 2.0 / 111_195  # 2 m/s north
    lat[60] += 2_264_000 / 111_195  # one record 2,264 km away
    points = _timed(lat, np.arange(n) * 1000, "planted", equipmentWidth=np.full(n, 6.0))
    out = compute_area_and_yield(points)
    assert out.meta["excluded_steps"] == 2  # into the glitch and back
    # n - 1 steps (the first record repeats the second's), 2 excluded
    assert np.nansum(out.array("distance")) == pytest.approx(2.0 * (n - 2), rel=1e-3)
    assert np.nansum(out.array("area")) == pytest.approx(12.0 * (n - 2), rel=1e-3)
    assert np.nanmax(out.array("speed")) < 5


def test_speed_over_at_least_a_second():
    """Records written milliseconds apart: speed is measured over >= 1 s, not 1 ms."""
    t = np.array([0, 1000, 1002, 1004, 2000, 3000])
    lat = 52.0 + np.array([0, 2, 2.3, 2.1, 4, 6]) / 111_195  # 0.3 m of GPS jitter
    out = compute_area_and_yield(_timed(lat, t, "applied"))
    assert np.nanmax(out.array("speed")) < 3
    assert out.meta.get("excluded_steps") is None  # jitter within the tolerance


def test_mass_flow_is_integrated_over_each_record_interval():
    """Only a mass flow (a potato harvester logging DDI 87): wetMass = flow x interval;
    a pause in logging counts as ten typical intervals at most."""
    t = np.array([0, 1000, 2000, 3000, 63_000, 64_000])
    lat = 52.0 + np.arange(6) * 2.0 / 111_195
    out = compute_area_and_yield(
        _timed(
            lat,
            t,
            cropFlow=np.full(6, 10.0),
            equipmentWidth=np.full(6, 1.5),
            crop=["potatoes"] * 6,
        )
    )
    np.testing.assert_allclose(out.array("wetMass"), [10, 10, 10, 10, 100, 10])
    assert out.has("wetMassPerArea") and out.has("dryMass")


def test_volume_flow_gives_volume():
    t = np.arange(4) * 2000
    lat = 52.0 + np.arange(4) * 4.0 / 111_195
    points = _timed(lat, t, cropFlow=np.full(4, 500.0))
    points = PointSet(
        points.table, "harvested", units={"cropFlow": "ml/s"}, source_units={}
    )
    out = compute_area_and_yield(points)
    np.testing.assert_allclose(out.array("wetVolume"), 1e-3)  # 0.5 L/s x 2 s in m3


def test_measured_flow_before_per_area_yield_when_the_area_is_modelled():
    """The machine's per-area yield x leafnb's modelled area mixes two measurements; the
    flow is integrated. With the source's own distance the per-area yield counts."""
    t = np.arange(4) * 1000
    lat = 52.0 + np.arange(4) * 2.0 / 111_195
    cols = {
        "cropFlow": np.full(4, 3.0),
        "wetMassPerArea": np.full(4, 10_000.0),  # 1 kg/m2
        "equipmentWidth": np.full(4, 1.0),
    }
    modelled = compute_area_and_yield(_timed(lat, t, **cols))
    np.testing.assert_allclose(modelled.array("wetMass"), 3.0)
    own = _timed(lat, t, distance=np.full(4, 2.0), **cols)
    own = PointSet(
        own.table,
        "harvested",
        units={**own.units, "distance": "m"},
        source_units={**own.source_units, "distance": "m"},
    )
    np.testing.assert_allclose(compute_area_and_yield(own).array("wetMass"), 2.0)


def test_step_distances_and_bearings_are_bit_identical_to_pairwise():
    from leafnb.standard.area_yield import (
        _step_bearings,
        _step_distances,
        haversine,
        initial_bearing,
    )

    rng = np.random.default_rng(7)
    lon = np.r_[rng.uniform(-180, 180, 5000), np.nan, 10.0]
    lat = np.r_[rng.uniform(-90, 90, 5000), 45.0, np.nan]
    pairs = (lon[:-1], lat[:-1], lon[1:], lat[1:])
    with np.errstate(invalid="ignore"):
        for fast, slow in [
            (_step_distances, haversine),
            (_step_bearings, initial_bearing),
        ]:
            got, want = fast(lon, lat), slow(*pairs)
            assert np.array_equal(got.view("u8"), want.view("u8"))


def test_step_distances_of_a_track_changed_in_place_are_measured_again():
    # a track's distances are kept for the next step that asks (same coordinates):
    # never for coordinates that changed since, even in the same array
    from leafnb.standard.area_yield import _step_distances, haversine

    lon, lat = np.array([10.0, 10.001, 10.002]), np.full(3, 50.0)
    first = _step_distances(lon, lat)
    first[:] = -1.0  # the caller's copy: what is kept is not changed
    np.testing.assert_array_equal(
        _step_distances(lon, lat), haversine(lon[:-1], lat[:-1], lon[1:], lat[1:])
    )
    lon[2] = 10.01
    np.testing.assert_array_equal(
        _step_distances(lon, lat), haversine(lon[:-1], lat[:-1], lon[1:], lat[1:])
    )


@pytest.mark.parametrize("seed", range(10))
def test_a_small_column_converts_in_numpy_as_in_arrow(seed):
    """``_converted``'s NumPy path (one chunk, no nulls) against its Arrow path (chunks)."""
    from leafnb.standard.area_yield import _converted

    rng = np.random.default_rng(seed)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, 1e308])
    for n in (1, 2, 10, 100, 4096):
        values = rng.normal(0, 10.0 ** rng.integers(-3, 6), n)
        if rng.random() < 0.5:
            values[rng.integers(0, n, max(1, n // 4))] = rng.choice(special)
        for unit, target in (("km/hr", "m/s"), ("bu/ac", "m3/ha"), ("lb", "kg")):
            small = PointSet(pa.table({"v": values}), "harvested")
            split = pa.chunked_array([values[: n // 2], values[n // 2 :]])
            chunked = PointSet(pa.table({"v": split}), "harvested")
            assert small.table.column("v").num_chunks == 1
            got = _converted(small, "v", unit, target)
            want = _converted(chunked, "v", unit, target)
            got = np.asarray(pa.chunked_array([got]).to_numpy(zero_copy_only=False))
            want = np.asarray(pa.chunked_array([want]).to_numpy(zero_copy_only=False))
            assert got.view(np.uint64).tolist() == want.view(np.uint64).tolist()


def test_the_source_values_are_kept_as_written():
    """A source column in imperial units goes through canonical units for the
    computations, and comes back with its own values, bit for bit (x · f · (1/f) is not
    x in the last bits for most values); a value filled in where the source had none
    is converted once; what the rules compare is in canonical units."""
    n = 2000
    rng = np.random.default_rng(7)
    speed = np.round(rng.uniform(2, 6, n), 2)  # mi/hr, as a monitor writes it
    elevation = np.round(rng.uniform(900, 1100, n), 1)  # ft
    distance = np.round(rng.uniform(3, 8, n), 2)  # ft
    distance[[5, 50]] = np.nan  # the source has none here: filled from the track
    source = PointSet(
        _harvest(
            n,
            timestamp=pa.array(np.arange(n) * 1000, pa.timestamp("ms", tz="UTC")),
            speed=speed,
            elevation=elevation,
            distance=distance,
        ),
        "harvested",
        units={"speed": "mi/hr", "elevation": "ft", "distance": "ft"},
        source_units={"speed": "mi/hr", "elevation": "ft", "distance": "ft"},
    )
    there, back = conversion_factor("mi/hr", "m/s"), conversion_factor("m/s", "mi/hr")
    assert np.mean(speed * there * back != speed) > 0.1  # (a round trip differs)
    points = compute_area_and_yield(source)
    assert points.units["speed"] == "mi/hr" and points.units["elevation"] == "ft"
    assert np.array_equal(points.array("speed"), speed)
    assert np.array_equal(points.array("elevation"), elevation)
    assert points.units["distance"] == "ft"
    got = points.array("distance")
    kept = ~np.isnan(distance)
    assert np.array_equal(got[kept], distance[kept])
    assert not np.isnan(got).any()  # the two missing steps filled, in feet
    step = haversine(-93.6 + 4 * 0.0001, 42.0, -93.6 + 5 * 0.0001, 42.0)
    assert got[5] == pytest.approx(step / 0.3048, rel=1e-12)
    assert canonical_array(points, "speed") == pytest.approx(speed * 0.44704, rel=1e-15)
    stored = to_unit_system(points, "DEFAULT")
    assert np.array_equal(stored.array("speed"), speed)
    assert np.array_equal(stored.array("elevation"), elevation)
