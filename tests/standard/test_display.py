"""Display units and number formatting (leafnb.standard.display)."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.standard.display import (
    convert_for_display,
    display_summary,
    display_unit,
    format_edges,
    format_number,
    format_range,
    unit_label,
)


@pytest.mark.parametrize(
    ("name", "unit", "system", "want"),
    [
        ("speed", "mm/s", "source", "km/hr"),  # ISO base unit: shown readable
        ("speed", "ft/s", "source", "mi/hr"),  # an imperial source stays imperial
        ("speed", "mi/hr", "source", "mi/hr"),
        ("harvestMoisture", "ppm", "source", "percentage"),
        ("wetMassPerArea", "milligram/meter**2", "source", "t/ha"),
        ("wetMassPerArea", "milligram/meter**2", "imperial", "lb/ac"),
        ("appliedRate", "mm3/m2", "metric", "L/ha"),
        ("appliedRate", "milligram/meter**2", "metric", "kg/ha"),
        ("appliedRate", "L/ha", "imperial", "gal/ac"),
        ("dryVolumePerArea", "bu/ac", "metric", "m3/ha"),
        ("seedRate", "seeds/ac", "metric", "seeds/ha"),
        ("elevation", "mm", "source", "m"),
        ("totalArea", "m2", "source", "ha"),
        ("totalArea", "m2", "imperial", "ac"),
        ("area", "m2", "source", "m2"),
    ],
)
def test_display_unit(name, unit, system, want):
    assert display_unit(name, unit, system) == want


def test_conversion_against_known_factors():
    v, u = convert_for_display([2200.0], "speed", "mm/s", "metric")
    assert u == "km/hr" and v[0] == pytest.approx(7.92)
    v, u = convert_for_display([179859.0], "harvestMoisture", "ppm", "source")
    assert u == "percentage" and v[0] == pytest.approx(17.9859)
    # 1 bu/ac of the 35.2391 L bushel over the 4046.856 m² acre
    v, u = convert_for_display([1.0], "dryVolumePerArea", "bu/ac", "metric")
    assert v[0] == pytest.approx(0.0352391 / 0.4046856, rel=1e-5)


def test_summary_converted_entry_by_entry():
    props = {
        "totalArea": {"value": 43453.0, "unit": "m2"},
        "speed": {"avg": 2200.0, "min": 2000.0, "max": 2400.0, "unit": "mm/s"},
        "varieties": [{"name": "P1197", "area": {"value": 10000.0, "unit": "m2"}}],
        "machineTotals": [
            {
                "key": "totalWetMass",
                "value": 53344.0,
                "unit": "kg",
                "leafnbValue": 53012.0,
            }
        ],
        "crop": ["corn"],
    }
    out = display_summary(props, "imperial")
    assert out["totalArea"]["unit"] == "ac"
    assert out["totalArea"]["value"] == pytest.approx(43453 / 4046.8564224)
    assert out["speed"]["unit"] == "mi/hr" and out["speed"]["min"] == pytest.approx(
        2000 * 3600 / 1609344
    )
    assert out["varieties"][0]["area"]["unit"] == "ac"
    mt = out["machineTotals"][0]
    assert mt["unit"] == "lb" and mt["leafnbValue"] == pytest.approx(53012 / 0.45359237)
    assert (
        out["crop"] == ["corn"] and props["totalArea"]["unit"] == "m2"
    )  # input unchanged


def test_numbers_read_like_numbers():
    assert format_number(29979.9) == "29,980"
    assert format_number(1.799e5) == "179,900"
    assert format_number(0.00012345) == "0.000123"
    assert format_number(float("nan")) == "–" and format_number(None) == "–"
    assert format_number(np.int64(1402)) == "1,402"
    assert format_range(29979.9, 31430.2, "seeds/ac") == "29,980 – 31,430 seeds/ac"
    labels = format_edges([100.01, 100.02, 100.03, 101.0])
    assert len(set(labels)) == 4 and not any("e" in s for s in labels)


def test_unit_labels():
    assert [
        unit_label(u) for u in ("mi/hr", "km/hr", "percentage", "m3/ha", "kilometer")
    ] == [
        "mph",
        "km/h",
        "%",
        "m³/ha",
        "km",
    ]
    assert unit_label("milligram/meter**2") == "mg/m²"
