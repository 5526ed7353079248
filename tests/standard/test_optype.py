"""Operation types: provider names (spec §1.2 originalOperationType) and detection from content."""

from __future__ import annotations

import pytest

from leafnb.standard.optype import OperationType, detect_operation_type


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SowingAndPlanting", "planted"),  # ISOXML/ADAPT names the spec's samples use
        ("CropProtection", "applied"),
        ("Harvesting", "harvested"),
        (" HARVESTED ", "harvested"),
        ("Seeding", "planted"),
        ("tilling", "tillage"),
    ],
)
def test_provider_names_map_to_leaf_types(name, expected):
    assert OperationType(name) == expected


def test_an_unknown_name_is_refused():
    with pytest.raises(ValueError, match="'mowing' is not a valid OperationType"):
        OperationType("mowing")


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        (["wetMass", "harvestMoisture", "speed"], "harvested"),
        (["seedRate", "seedRateTarget"], "planted"),
        (["appliedRate", "products"], "applied"),
        (["tillageDepthActual"], "tillage"),
        # more evidence wins: a planter that also logs an applied (fertiliser) rate
        (["seedRate", "seedRateTarget", "appliedRate"], "planted"),
        (["speed", "heading"], None),
    ],
)
def test_detection_from_mapped_properties(properties, expected):
    assert detect_operation_type(properties) == expected
