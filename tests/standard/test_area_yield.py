import numpy as np
import pyarrow as pa
import pytest

from leafnb.standard.area_yield import (
    compute_area_and_yield,
    haversine,
    initial_bearing,
    to_unit_system,
)
from leafnb.standard.crops import get_crop, list_crops, normalize_crop
from leafnb.standard.optype import OperationType, detect_operation_type
from leafnb.standard.points import PointSet


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
