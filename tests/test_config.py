"""Configuration (leafnb.config) against spec §12's table and §6.1's default cleanup rules."""

from __future__ import annotations

import math

import pytest

from leafnb.config import DEFAULT_CLEANUP_RULES, OPTIONS, defaults, validate
from leafnb.errors import InvalidRequest

# spec §12 ("Configurations relevant to machine data"): default of each key leafnb knows
SPEC_DEFAULTS = {
    "fieldsAutoSync": True,
    "fieldsAttachIntersection": 0.01,
    "fieldsAutoMerge": False,
    "fieldsMergeIntersection": 0.01,
    "automaticFixBoundary": True,
    "cleanupStandardGeojson": True,
    "originalOperationData": True,
    "unitMeasurement": "DEFAULT",
    "enableOutsideFieldGeojson": False,
    "enableGeoparquetOutput": False,
    "enablePolygonOutput": False,
    "cropOptional": "required",
    "seedRateOptional": "required",
    "outOfStandardOperations": False,
    "summarizeByProductEntry": True,
    "fieldOperationCreation": True,
    "operationsFilteredGeojson": True,
    "operationsRemoveOutliers": True,
    "operationsOutliersLimit": 3,
    "operationsMergeRange": 5,
    "operationsMergeRangeHarvested": 21,
    "splitOperationsByField": True,
    "splitOperationsByProvider": True,
    "splitOperationsByTillType": False,
    "enableOperationsSession": False,
    "operationsImageCreation": False,
    "operationsImageAsGeoTiff": False,
    "geoimagesResolution": 0.00001,
    "geoimagesShape": "SQUARE",
    "geoimagesProjection": "EPSG:3857",
    "summaryGeometry": "BUFFER",
}
# deliberate local differences, each documented in README.md ("Choices where the Leaf
# spec is silent (or where leafnb deviates on purpose)")
DOCUMENTED_DIFFERENCES = {"outOfStandardOperations": True}

# spec §6.1: the default valid-point rules, as (operator, value) per property
SPEC_CLEANUP_RULES = {
    "wetMass": [("GT", 0.0)],
    "wetMassPerArea": [("GT", 0.0)],
    "wetVolume": [("GT", 0.0)],
    "wetVolumePerArea": [("GT", 0.0)],
    "harvestMoisture": [("GT", 0.0), ("LT", 100.0)],
    "appliedRate": [("GT", 0.0)],
    "seedRate": [("GT", 0.0)],
    "tillageDepthActual": [("GTE", 0.0)],
    "recordingStatus": [("EQ", "On")],
    "crop": [("NE", "unknown")],
    "products": [("GTE", 0.0)],
}


@pytest.mark.parametrize("key", sorted(SPEC_DEFAULTS))
def test_defaults_are_the_specs(key):
    expected = DOCUMENTED_DIFFERENCES.get(key, SPEC_DEFAULTS[key])
    assert defaults()[key] == expected


def test_documented_differences_are_real_differences():
    # a difference that no longer differs must leave the list (and the README)
    for key, value in DOCUMENTED_DIFFERENCES.items():
        assert SPEC_DEFAULTS[key] != value


def test_default_cleanup_rules_are_spec_6_1():
    got = {
        prop: [(r["operator"], r["value"]) for r in rules]
        for prop, rules in defaults()["cleanupRules"].items()
    }
    assert got == SPEC_CLEANUP_RULES
    assert defaults()["cleanupRules"] == DEFAULT_CLEANUP_RULES


def test_defaults_are_a_fresh_copy_each_time():
    first = defaults()
    first["cleanupRules"]["wetMass"].append({"operator": "LT", "value": 1.0})
    first["unitMeasurement"] = "METRIC"
    again = defaults()
    assert again["cleanupRules"]["wetMass"] == [{"operator": "GT", "value": 0.0}]
    assert again["unitMeasurement"] == "DEFAULT"


def test_every_option_default_passes_its_own_validation():
    assert validate(defaults()) == defaults()


def test_config_object_identity_keys_are_ignored():
    # spec §12: GET /configs returns apiOwnerUsername and leafUserId beside the settings,
    # so a body read back and sent again must be accepted
    body = {"apiOwnerUsername": "acme", "leafUserId": "", "unitMeasurement": "METRIC"}
    assert validate(body) == {"unitMeasurement": "METRIC"}


def test_unknown_key_names_the_valid_ones():
    with pytest.raises(
        InvalidRequest, match="'unitMeasurment' is not a configuration key"
    ):
        validate({"unitMeasurment": "METRIC"})
    with pytest.raises(InvalidRequest, match="unitMeasurement"):
        validate({"unitMeasurment": "METRIC"})


@pytest.mark.parametrize(
    ("key", "allowed", "refused"),
    [
        # spec §12 "values / range" column
        ("unitMeasurement", ["DEFAULT", "METRIC", "IMPERIAL"], ["metric", "SI", None]),
        ("summaryGeometry", ["BUFFER", "CONVEX_HULL"], ["buffer", "HULL"]),
        ("geoimagesShape", ["SQUARE", "ROUND"], ["CIRCLE"]),
        ("geoimagesProjection", ["EPSG:3857", "EPSG:4326"], ["EPSG:32614"]),
    ],
)
def test_choices_are_the_specs(key, allowed, refused):
    for value in allowed:
        assert validate({key: value}) == {key: value}
    for value in refused:
        with pytest.raises(InvalidRequest, match=f"not a valid option for {key}"):
            validate({key: value})


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_booleans_are_json_booleans_only(value):
    with pytest.raises(InvalidRequest, match="must be true or false"):
        validate({"cleanupStandardGeojson": value})


@pytest.mark.parametrize("key", ["fieldsAttachIntersection", "fieldsMergeIntersection"])
def test_intersection_percentages_are_0_to_100(key):
    # spec §12: 0–100 (%)
    for ok in (0, 0.01, 50, 100):
        assert validate({key: ok}) == {key: ok}
    for bad in (-0.01, 100.5):
        with pytest.raises(InvalidRequest, match="must be between 0 and 100"):
            validate({key: bad})
    with pytest.raises(InvalidRequest, match="must be a number"):
        validate({key: True})  # a JSON boolean is not a percentage


@pytest.mark.parametrize(
    "key", ["operationsOutliersLimit", "operationsMergeRange", "geoimagesResolution"]
)
def test_counts_and_sizes_must_be_positive(key):
    assert validate({key: 2}) == {key: 2}
    for bad in (0, -1, "3", True):
        with pytest.raises(InvalidRequest, match="greater than 0"):
            validate({key: bad})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_anywhere(bad):
    # NaN/Infinity are not JSON: stored, they would break every later read of the config
    with pytest.raises(InvalidRequest, match="finite"):
        validate({"operationsOutliersLimit": bad})
    with pytest.raises(InvalidRequest, match="finite"):
        validate({"cleanupRules": {"wetMass": [{"operator": "GT", "value": bad}]}})


def test_cleanup_rules_follow_the_spec_json_form():
    # spec §6.1: {"<property>": [{"operator": GT|GTE|LT|LTE|EQ|NE, "value": ...}]}
    rules = {
        "wetMass": [{"operator": "GTE", "value": 1}],
        "crop": [{"operator": "EQ", "value": "corn"}],
    }
    assert validate({"cleanupRules": rules}) == {"cleanupRules": rules}
    with pytest.raises(InvalidRequest, match="operator must be one of"):
        validate({"cleanupRules": {"wetMass": [{"operator": "BETWEEN", "value": 1}]}})
    with pytest.raises(InvalidRequest, match="cannot be filtered"):
        validate({"cleanupRules": {"speed": [{"operator": "GT", "value": 1}]}})


def test_every_option_is_documented():
    for key, option in OPTIONS.items():
        assert option.key == key and option.doc.strip(), key
