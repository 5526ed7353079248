"""The standard point schema (leafnb.standard.schema) against spec §1's property tables."""

from __future__ import annotations

import pyarrow as pa
import pytest

from leafnb.standard.optype import OperationType
from leafnb.standard.schema import REQUIRED, arrow_type, properties_for

# spec §1.2-§1.6: the properties marked "*" (required) per operation type
SPEC_REQUIRED = {
    "planted": {"timestamp", "operationType", "area", "distance", "elevation", "heading",
                "crop", "seedRate"},
    "applied": {"timestamp", "operationType", "area", "distance", "elevation", "heading",
                "appliedRate", "products"},
    "harvested": {"timestamp", "operationType", "area", "distance", "elevation", "crop",
                  "harvestMoisture", "wetMass", "wetMassPerArea", "wetVolume",
                  "wetVolumePerArea", "dryMass", "dryMassPerArea", "dryVolume",
                  "dryVolumePerArea"},
    "tillage": {"timestamp", "operationType", "area", "distance", "elevation", "heading"},
}  # fmt: skip


@pytest.mark.parametrize("optype", sorted(SPEC_REQUIRED))
def test_required_properties_are_the_specs(optype):
    assert set(REQUIRED[OperationType(optype)]) == SPEC_REQUIRED[optype]


@pytest.mark.parametrize(
    ("optype", "own", "foreign"),
    [
        ("planted", "seedRate", "wetMass"),
        ("applied", "appliedRate", "seedRate"),
        ("harvested", "cropFlow", "appliedRate"),
        ("tillage", "tillageDepthActual", "harvestMoisture"),
    ],
)
def test_each_type_has_its_own_properties_and_the_shared_ones(optype, own, foreign):
    props = properties_for(optype)
    assert own in props and foreign not in props
    assert {"timestamp", "area", "distance", "elevation", "speed"} <= set(props)


def test_types_follow_the_spec_tables():
    # machinery is a list of strings; products a list of {name, rate: {value}}
    assert arrow_type("machinery") == pa.list_(pa.string())
    assert pa.types.is_list(arrow_type("products"))
    assert pa.types.is_floating(arrow_type("wetMass"))
    assert pa.types.is_string(arrow_type("crop"))
