"""Standard point properties per operation type (spec §1) and their Arrow types."""

from __future__ import annotations

import pyarrow as pa

from leafnb.standard.optype import OperationType

__all__ = [
    "COMMON",
    "LIST_PROPERTIES",
    "NUMERIC_PROPERTIES",
    "PROPERTIES",
    "REQUIRED",
    "STRING_PROPERTIES",
    "arrow_type",
    "properties_for",
]

H, P, A, T = (
    OperationType.HARVESTED,
    OperationType.PLANTED,
    OperationType.APPLIED,
    OperationType.TILLAGE,
)

# property -> (arrow type, physical dimension used to pick units; None = unitless)
COMMON: dict[str, tuple[pa.DataType, str | None]] = {
    "timestamp": (pa.timestamp("ms", tz="UTC"), None),
    "operationType": (pa.string(), None),
    "originalOperationType": (pa.string(), None),
    "area": (pa.float64(), "area"),
    "distance": (pa.float64(), "length"),
    "heading": (pa.float64(), "angle"),
    "elevation": (pa.float64(), "length"),
    "speed": (pa.float64(), "speed"),
    "equipmentWidth": (pa.float64(), "length"),
    "recordingStatus": (pa.string(), None),
    "sectionId": (pa.int64(), None),
    "machinery": (pa.list_(pa.string()), None),
    "fuelUsed": (pa.float64(), "volume"),
    "fuelRate": (pa.float64(), "volume_rate"),
    "xOffset": (pa.float64(), "length"),
    "yOffset": (pa.float64(), "length"),
    "implementOffset": (pa.float64(), "length"),
    "crop": (pa.string(), None),
    "variety": (pa.string(), None),
}

PRODUCT_TYPE = pa.list_(
    pa.struct([("name", pa.string()), ("rate", pa.struct([("value", pa.float64())]))])
)

BY_TYPE: dict[OperationType, dict[str, tuple[pa.DataType, str | None]]] = {
    P: {
        "seedRate": (pa.float64(), "seed_rate"),
        "seedRateTarget": (pa.float64(), "seed_rate"),
        "seedDepth": (pa.float64(), "depth"),
        "productIndex": (pa.int64(), None),
        "downForce": (pa.float64(), "force"),
        "downForceMargin": (pa.float64(), "force"),
        "singulation": (pa.float64(), "percent"),
        "skips": (pa.float64(), "percent"),
        "doubles": (pa.float64(), "percent"),
        "groundContact": (pa.float64(), "percent"),
        "spacingVariation": (pa.float64(), "percent"),
        "seedSpacing": (pa.float64(), "length"),
        "rideQuality": (pa.float64(), "percent"),
    },
    A: {
        "appliedRate": (pa.float64(), "application_rate"),
        "appliedRateTarget": (pa.float64(), "application_rate"),
        "products": (PRODUCT_TYPE, None),
    },
    H: {
        "harvestMoisture": (pa.float64(), "percent"),
        "wetMass": (pa.float64(), "mass"),
        "wetMassPerArea": (pa.float64(), "mass_per_area"),
        "wetVolume": (pa.float64(), "grain_volume"),
        "wetVolumePerArea": (pa.float64(), "grain_volume_per_area"),
        "dryMass": (pa.float64(), "mass"),
        "dryMassPerArea": (pa.float64(), "mass_per_area"),
        "dryVolume": (pa.float64(), "grain_volume"),
        "dryVolumePerArea": (pa.float64(), "grain_volume_per_area"),
        "cropFlow": (pa.float64(), "mass_flow"),
        "proteinPercentage": (pa.float64(), "percent"),
        "samplingInterval": (pa.float64(), "time"),
    },
    T: {
        "tillageDepthTarget": (pa.float64(), "depth"),
        "tillageDepthActual": (pa.float64(), "depth"),
        "tillType": (pa.list_(pa.string()), None),
    },
}

#: every standard property -> (arrow type, dimension)
PROPERTIES: dict[str, tuple[pa.DataType, str | None]] = {
    **COMMON,
    **{k: v for props in BY_TYPE.values() for k, v in props.items()},
}

NUMERIC_PROPERTIES = frozenset(
    k
    for k, (t, _) in PROPERTIES.items()
    if pa.types.is_floating(t) or pa.types.is_integer(t)
)
STRING_PROPERTIES = frozenset(
    k for k, (t, _) in PROPERTIES.items() if pa.types.is_string(t)
)
LIST_PROPERTIES = frozenset(
    k for k, (t, _) in PROPERTIES.items() if pa.types.is_list(t)
)

# Required ("*") properties per operation type, spec §1. `wetVolume*`/`dryVolume*`
# carry "$" (not for sugarcane) and `crop`/`seedRate` can be made optional by config.
_COMMON_REQUIRED = ("timestamp", "operationType", "area", "distance", "elevation")
REQUIRED: dict[OperationType, tuple[str, ...]] = {
    P: (*_COMMON_REQUIRED, "heading", "crop", "seedRate"),
    A: (*_COMMON_REQUIRED, "heading", "appliedRate", "products"),
    H: (
        *_COMMON_REQUIRED,
        "crop",
        "harvestMoisture",
        "wetMass",
        "wetMassPerArea",
        "wetVolume",
        "wetVolumePerArea",
        "dryMass",
        "dryMassPerArea",
        "dryVolume",
        "dryVolumePerArea",
    ),
    T: (*_COMMON_REQUIRED, "heading"),
}


def properties_for(
    operation_type: OperationType | str,
) -> dict[str, tuple[pa.DataType, str | None]]:
    """Return the standard properties valid for *operation_type* (common + type-specific)."""
    return {**COMMON, **BY_TYPE[OperationType(operation_type)]}


def arrow_type(prop: str) -> pa.DataType:
    """Return the Arrow type of standard property *prop*."""
    return PROPERTIES[prop][0]
