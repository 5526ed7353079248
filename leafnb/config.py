"""Configuration options with Leaf's keys and defaults (spec §12), per workspace and per leafUserId."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leafnb.errors import InvalidRequest

__all__ = ["OPTIONS", "Option", "defaults", "validate"]

DEFAULT_CLEANUP_RULES: dict[str, list[dict[str, Any]]] = {
    "wetMass": [{"operator": "GT", "value": 0.0}],
    "wetMassPerArea": [{"operator": "GT", "value": 0.0}],
    "wetVolume": [{"operator": "GT", "value": 0.0}],
    "wetVolumePerArea": [{"operator": "GT", "value": 0.0}],
    "harvestMoisture": [
        {"operator": "GT", "value": 0.0},
        {"operator": "LT", "value": 100.0},
    ],
    "appliedRate": [{"operator": "GT", "value": 0.0}],
    "seedRate": [{"operator": "GT", "value": 0.0}],
    "tillageDepthActual": [{"operator": "GTE", "value": 0.0}],
    "recordingStatus": [{"operator": "EQ", "value": "On"}],
    "crop": [{"operator": "NE", "value": "unknown"}],
    "products": [{"operator": "GTE", "value": 0.0}],
}


@dataclass(frozen=True)
class Option:
    """One config key: default, documentation and a validator returning the clean value."""

    key: str
    default: Any
    doc: str
    validate: Callable[[Any], Any]


def _bool(key):
    def check(v):
        if isinstance(v, bool):
            return v
        raise InvalidRequest(f"{key} must be true or false, got {v!r}")

    return check


def _choice(key, *choices):
    def check(v):
        if v in choices:
            return v
        raise InvalidRequest(
            f"{v!r} is not a valid option for {key}, must be one of {', '.join(map(repr, choices))}"
        )

    return check


def _number(key, lo=None, hi=None):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InvalidRequest(f"{key} must be a number, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise InvalidRequest(f"{key} must be between {lo} and {hi}, got {v!r}")
        return v

    return check


def _positive(key):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
            raise InvalidRequest(f"{key} must be a number greater than 0, got {v!r}")
        return v

    return check


def _cleanup_rules(v):
    from leafnb.clean.cleanup import validate_rules

    return validate_rules(v)


def _any(v):
    return v


def _column_mapping(v):
    from leafnb.formats.inference import parse_user_mapping

    parse_user_mapping(v)
    return dict(v or {})


def _filter_profile(v):
    from leafnb.clean.profiles import PROFILES

    return _choice("filterProfile", *PROFILES)(v)


def _filter_pipeline(v):
    if v is None:
        return None
    from leafnb.clean.profiles import FilterPipeline

    return FilterPipeline.from_config(v).to_config()


_OPTIONS = [
    Option(
        "cleanupStandardGeojson",
        True,
        "drop invalid points (spec §6.1)",
        _bool("cleanupStandardGeojson"),
    ),
    Option(
        "cleanupRules",
        DEFAULT_CLEANUP_RULES,
        "valid-point rules; a custom set replaces the defaults",
        _cleanup_rules,
    ),
    Option(
        "unitMeasurement",
        "DEFAULT",
        "units of summaries and point outputs",
        _choice("unitMeasurement", "DEFAULT", "METRIC", "IMPERIAL"),
    ),
    Option(
        "originalOperationData",
        True,
        "add originalOperationData to file summaries",
        _bool("originalOperationData"),
    ),
    Option("cropOptional", "required", "crop not required for planted", _any),
    Option("seedRateOptional", "required", "seedRate not required for planted", _any),
    # leafnb deviates from Leaf's default (false): real monitor logs routinely lack a
    # Leaf-required property (height in ISOXML position logs, crop in generic CSVs), and
    # users want their map anyway. Files still fail when they lack what makes them an
    # operation at all (a yield, seed rate or applied rate). Set false for Leaf's rule.
    Option(
        "outOfStandardOperations",
        True,
        "convert files missing Leaf-required properties, flagged as outOfStandard",
        _bool("outOfStandardOperations"),
    ),
    Option(
        "summarizeByProductEntry",
        True,
        "aggregate products by name in operation summaries",
        _bool("summarizeByProductEntry"),
    ),
    Option(
        "fieldOperationCreation",
        True,
        "create field operations",
        _bool("fieldOperationCreation"),
    ),
    Option(
        "fieldsAttachIntersection",
        0.01,
        "minimum % intersection to link a field",
        _number("fieldsAttachIntersection", 0, 100),
    ),
    Option(
        "operationsFilteredGeojson",
        True,
        "produce filteredGeojson",
        _bool("operationsFilteredGeojson"),
    ),
    Option(
        "operationsRemoveOutliers",
        True,
        "harvest outlier removal in filteredGeojson",
        _bool("operationsRemoveOutliers"),
    ),
    Option(
        "operationsOutliersLimit",
        3,
        "outlier threshold in standard deviations",
        _positive("operationsOutliersLimit"),
    ),
    Option(
        "filterProfile",
        "leaf",
        "leafnb extension: filter profile of filteredGeojson (leaf = Leaf's two rules; standard, aggressive, custom)",
        _filter_profile,
    ),
    Option(
        "filterPipeline",
        None,
        "leafnb extension: the custom profile's filters, [{filter, params, name}]",
        _filter_pipeline,
    ),
    Option(
        "operationsMergeRange",
        5,
        "merge window (days), non-harvest",
        _positive("operationsMergeRange"),
    ),
    Option(
        "operationsMergeRangeHarvested",
        21,
        "merge window (days), harvest",
        _positive("operationsMergeRangeHarvested"),
    ),
    Option(
        "splitOperationsByField",
        True,
        "one operation per intersecting boundary",
        _bool("splitOperationsByField"),
    ),
    Option(
        "splitOperationsByProvider",
        True,
        "provider is part of the merge key",
        _bool("splitOperationsByProvider"),
    ),
    Option(
        "splitOperationsByTillType",
        False,
        "tillage split by tillType",
        _bool("splitOperationsByTillType"),
    ),
    Option(
        "enableOutsideFieldGeojson",
        False,
        "keep points outside every boundary",
        _bool("enableOutsideFieldGeojson"),
    ),
    Option(
        "enableGeoparquetOutput",
        False,
        "GeoParquet copies of point outputs (leafnb always stores GeoParquet internally)",
        _bool("enableGeoparquetOutput"),
    ),
    Option(
        "enablePolygonOutput",
        False,
        "polygon GeoParquet output",
        _bool("enablePolygonOutput"),
    ),
    Option(
        "enableOperationsSession",
        False,
        "sessions view",
        _bool("enableOperationsSession"),
    ),
    Option(
        "operationsImageCreation",
        False,
        "V1 operation images",
        _bool("operationsImageCreation"),
    ),
    Option(
        "operationsImageAsGeoTiff",
        False,
        "GeoTIFF output",
        _bool("operationsImageAsGeoTiff"),
    ),
    Option(
        "operationsImageAttributeCreation",
        {},
        "per type/property image flags (spec §7.4)",
        _any,
    ),
    Option(
        "geoimagesResolution",
        0.00001,
        "V1 image pixel size in degrees",
        _positive("geoimagesResolution"),
    ),
    Option(
        "geoimagesShape",
        "SQUARE",
        "V1 point shape",
        _choice("geoimagesShape", "SQUARE", "ROUND"),
    ),
    Option(
        "geoimagesProjection",
        "EPSG:3857",
        "V1 image projection",
        _choice("geoimagesProjection", "EPSG:3857", "EPSG:4326"),
    ),
    Option("geoimagesColorRamp", None, "V1 colour ramp (None = Leaf's ramp)", _any),
    Option(
        "filesImageAttributeCreation",
        {},
        "per-property flags for file V1 images (historical, spec §7.1)",
        _any,
    ),
    Option(
        "automaticFixBoundary",
        True,
        "repair invalid field boundaries (shapely make_valid)",
        _bool("automaticFixBoundary"),
    ),
    Option(
        "fieldsAutoSync",
        True,
        "provider field sync (accepted for compatibility; no providers locally)",
        _bool("fieldsAutoSync"),
    ),
    Option(
        "fieldsAutoMerge",
        False,
        "merge overlapping fields (accepted for compatibility; not implemented)",
        _bool("fieldsAutoMerge"),
    ),
    Option(
        "fieldsMergeIntersection",
        0.01,
        "field merge threshold % (accepted for compatibility)",
        _number("fieldsMergeIntersection", 0, 100),
    ),
    Option(
        "columnMapping",
        {},
        "leafnb extension: what source columns mean when inference gets it wrong, "
        '{"Wet_Yield": {"property": "wetMassPerArea", "unit": "lb/ac"}, "Flag": null}; '
        "applies to every later conversion, retry and reprocess",
        _column_mapping,
    ),
    Option(
        "summaryGeometry",
        "BUFFER",
        "summary geometry construction",
        _choice("summaryGeometry", "BUFFER", "CONVEX_HULL"),
    ),
]

#: key -> Option
OPTIONS: dict[str, Option] = {o.key: o for o in _OPTIONS}


def defaults() -> dict[str, Any]:
    """Return a fresh dict of every option's default value."""
    import copy

    return {k: copy.deepcopy(o.default) for k, o in OPTIONS.items()}


def _require_finite(key: str, value: Any) -> None:
    """Raise when *value* holds NaN or ±Infinity anywhere.

    They are not JSON: stored, they would make every later read of the configuration fail.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(f"{key} must be a finite number, got {value!r}")
    if isinstance(value, dict):
        for v in value.values():
            _require_finite(key, v)
    elif isinstance(value, list | tuple):
        for v in value:
            _require_finite(key, v)


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a partial config; unknown keys raise :class:`InvalidRequest` naming the valid ones."""
    clean = {}
    for key, value in values.items():
        if key in ("apiOwnerUsername", "leafUserId"):
            continue
        if key not in OPTIONS:
            raise InvalidRequest(
                f"{key!r} is not a configuration key; valid keys: {', '.join(sorted(OPTIONS))}"
            )
        _require_finite(key, value)
        clean[key] = OPTIONS[key].validate(value)
    return clean
