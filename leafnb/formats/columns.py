"""The one declarative table: source column name → standard property, unit, family.

Every open-format reader (shapefile, GeoPackage, GeoJSON, CSV, Ag Leader text) maps its
source columns with :func:`match_columns` over :data:`RULES`; no reader carries its own
name list. A rule says *which source names* (compared case-insensitively with every
non-alphanumeric character removed, so ``Yld_Vol_Dr``, ``yld vol dr`` and ``YLD-VOL-DR``
are one key) mean *which standard property*, in *which unit* when the source does not
say, for *which family* of files (one vendor's export style).

Families and their documented default units:

``sms``
    Ag Leader SMS exports (shapefile with 10-character DBF names, GeoPackage, CSV with
    long names and units in the headers). Shapefile/DBF values are imperial
    (Ag Leader SMS export defaults): yields are **per area** (``Yld_Vol_Dr`` bu/ac,
    ``Yld_Mass_D`` lb/ac — checked on the ISU 2013 files: ``Yld_Mass_W`` = 60 ×
    ``Yld_Vol_We`` for soybeans), ``Crop_Flw_M`` lb/s (checked: flow / (speed × width)
    equals ``Yld_Mass_W``), ``Speed_mph_`` mi/hr, ``Swth_Wdth_``/``Distance_f``/
    ``Elevation_`` ft, ``Rt_Apd_Ct_`` seeds/ac, ``Rt_Apd_Ms_`` lb/ac, ``Tgt_Rate_k``
    ksds/ac. A unit in a CSV header (``Yld Mass(Dry)(tonne/ha)``) wins over the default.
``jd``
    John Deere Operations Center shapefile exports. Defaults are US units; the metadata
    ``.json`` next to the shapefile, when present, overrides them (see
    :mod:`leafnb.formats.shapefile`). ``VRYIELDVOL`` is dry volume per area (bu/ac) and
    ``WetMass`` wet mass per area (lb/ac) [assumed from Operations Center map layers].
``agleader``
    Ag Leader *advanced export* text columns (17 fields, no header) and the shapefiles
    ISU built from them (upper-case names ``FLOW``, ``CYCLES``, ``SWATH`` …): flow lb/s,
    distance and swath in inches, altitude ft, GPS time in Unix seconds (UTC).
``yield_logger``
    The unknown-vendor logger CSV (``Yield``, ``Lin_Yield``, ``RowWidth``, ``LogTime`` …),
    metric: ``Yield`` is taken as t/ha (Australian origin), ``Distance``/``RowWidth``/
    ``Altitude`` m (3.2 m per 3 s record ≈ 1.1 m/s, plausible; in feet it would be a
    crawl).
``farmobile``
    Farmobile GeoJSON. No public property list was found; names and the Farmobile
    default (US) units here are **assumptions**, documented per rule, and the generator
    writes exactly these names.
``generic``
    Names any tool might write: the standard property names themselves and the
    shapefile names Leaf lists as recognised (spec §4.4). Units are the imperial
    provider defaults Leaf assumes for such uploads.

A rule with ``property=None`` is a *marker*: the column is known (it raises the family's
score, so detection is sure of the vendor) but has no standard property.
Rules with ``optype`` apply only once the operation type is known (``Product`` is the
crop in a yield file, the variety in a planting file, the product in an application).
Timestamp sources carry ``kind`` (``datetime``, ``date``, ``time``, ``unix``,
``sms_dataset``) and are parsed by :func:`build_timestamp` rather than mapped.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.errors import CorruptFile, SkippedRecordsWarning
from leafnb.formats.base import Column
from leafnb.standard.optype import detect_operation_type
from leafnb.standard.units import parse_unit

__all__ = [
    "FAMILY_PROVIDER",
    "RULES",
    "ColumnMatch",
    "ColumnRule",
    "build_timestamp",
    "dedupe_names",
    "finish_table",
    "match_columns",
    "normalise_crop",
    "normalise_key",
    "split_header_unit",
]

#: pseudo-property the pipeline turns into ``products`` together with ``appliedRate``
PRODUCT_NAME = "productName"


@dataclass(frozen=True)
class ColumnRule:
    """One row of the column table.

    Parameters
    ----------
    names : tuple of str
        Source spellings; matched after :func:`normalise_key`.
    property : str or None
        Standard property (or ``productName``/``timestamp``); ``None`` = known, unmapped.
    unit : str or None
        Unit the family documents for this column (header/metadata units win).
    family : str
        Vendor family (see module docstring).
    optype : str or None
        Only applies to files of this operation type.
    kind : str
        ``value`` for ordinary columns; for ``timestamp`` sources the time encoding.
    transform : str or None
        Value normalisation applied by the reader: ``crop`` (lower-case, strip quotes),
        ``agleader_status`` (header status code → ``On``/``Off``), ``on_off``.
    """

    names: tuple[str, ...]
    property: str | None
    unit: str | None = None
    family: str = "generic"
    optype: str | None = None
    kind: str = "value"
    transform: str | None = None


def _r(names, prop, unit=None, family="generic", **kw) -> ColumnRule:
    if isinstance(names, str):
        names = (names,)
    return ColumnRule(tuple(names), prop, unit, family, **kw)


_H, _P, _A = "harvested", "planted", "applied"

# fmt: off
#: THE table. Order matters twice: within a family the first rule for a property wins a
#: conflict (two source columns for one property), and families are tried in this order
#: when their scores tie.
RULES: tuple[ColumnRule, ...] = (
    # ---- Ag Leader SMS (shapefile 10-char DBF names | SMS CSV long names) ----------
    _r(("Yld_Vol_Dr", "Yld Vol(Dry)", "Yield Vol(Dry)"), "dryVolumePerArea", "bu/ac", "sms"),
    _r(("Yld_Vol_We", "Yld Vol(Wet)", "Yield Vol(Wet)"), "wetVolumePerArea", "bu/ac", "sms"),
    _r(("Yld_Mass_D", "Yld Mass(Dry)", "Yield Mass(Dry)"), "dryMassPerArea", "lb/ac", "sms"),
    _r(("Yld_Mass_W", "Yld Mass(Wet)", "Yield Mass(Wet)"), "wetMassPerArea", "lb/ac", "sms"),
    _r(("Moisture__", "Moisture"), "harvestMoisture", "%", "sms"),
    _r(("Crop_Flw_M", "Crop Flw(M)", "Crop Flow(M)"), "cropFlow", "lb/s", "sms"),
    _r(("Crop_Flw_V", "Crop Flw(V)"), None, "bu/hr", "sms"),  # volume flow: no standard property
    _r(("Speed_mph_", "Speed"), "speed", "mi/hr", "sms"),
    _r(("Swth_Wdth_", "Swth Wdth", "Swath Width"), "equipmentWidth", "ft", "sms"),
    _r(("Distance_f", "Distance"), "distance", "ft", "sms"),
    _r(("Elevation_", "Elevation"), "elevation", "ft", "sms"),
    _r(("Track_deg_", "Track"), "heading", "deg", "sms"),
    _r(("Duration_s", "Duration"), "samplingInterval", "s", "sms", optype=_H),
    _r(("Area_Count", "Area Count"), "recordingStatus", None, "sms", transform="on_off"),
    _r(("Y_Offset_f", "Y Offset"), "yOffset", "ft", "sms"),
    _r(("X_Offset_f", "X Offset"), "xOffset", "ft", "sms"),
    _r(("Rt_Apd_Ct_", "Rt Apd Ct", "Rate Apd Ct", "Rt Apd Cnt"), "seedRate", "seeds/ac", "sms"),
    _r(("Tgt_Rate_k", "Tgt Rate(k)", "Target Rate(k)"), "seedRateTarget", "ksds/ac", "sms", optype=_P),
    _r(("DF_Margin_", "DF Margin"), "downForceMargin", "lbf", "sms"),
    _r(("Dwn_Frc_lb", "Down Force"), "downForce", "lbf", "sms"),
    _r(("Singulatio", "Singulation"), "singulation", "%", "sms"),
    _r(("Skips____", "Skips"), "skips", "%", "sms"),
    _r(("Doubles___", "Doubles"), "doubles", "%", "sms"),
    _r(("Gnd_Cntct_", "Ground Contact"), "groundContact", "%", "sms"),
    _r(("Rt_Apd_Ms_", "Rt Apd Ms", "Rate Apd Ms"), "appliedRate", "lb/ac", "sms"),
    _r(("Rt_Apd_Vl_", "Rt_Apd_Liq", "Rt Apd Vol", "Rt Apd Liq"), "appliedRate", "gal/ac", "sms"),
    _r(("Tgt_Rt_Ms_", "Tgt Rt Ms"), "appliedRateTarget", "lb/ac", "sms", optype=_A),
    _r(("Tgt_Rt_Vl_", "Tgt Rt Vol"), "appliedRateTarget", "gal/ac", "sms", optype=_A),
    _r("Product", "crop", None, "sms", optype=_H, transform="crop"),
    _r("Product", "variety", None, "sms", optype=_P),
    _r("Product", PRODUCT_NAME, None, "sms", optype=_A),
    _r("Time", "timestamp", None, "sms", kind="datetime"),
    _r("Dataset", "timestamp", None, "sms", kind="sms_dataset"),
    _r(("Date", "DateStamp"), "timestamp", None, "sms", kind="date"),
    _r("TimeStamp", "timestamp", None, "sms", kind="time"),
    _r(("Obj__Id", "Obj. Id", "Pass_Num", "Pass Num", "Prod_ac_hr", "Prod_ac_h_", "Diff_Statu",
        "Work_State", "Seed_Cnt__", "Plant_Pop_", "SeedFlow_k", "Prdt_Amt", "Field", "Target_Rat",
        "Rate__Coun", "Rate_Appli", "Population", "Humidity__", "Air_Temp__", "Soil_Temp_",
        "Wind_Speed", "Sky Cond", "Date___Tim", "Air Temp", "Soil Temp"), None, None, "sms"),
    # ---- John Deere Operations Center shapefile export -------------------------------
    _r("VRYIELDVOL", "dryVolumePerArea", "bu/ac", "jd"),
    _r("WetMass", "wetMassPerArea", "lb/ac", "jd"),
    _r(("Moisture", "VRMOISTURE"), "harvestMoisture", "%", "jd"),
    _r("SWATHWIDTH", "equipmentWidth", "ft", "jd"),
    _r("DISTANCE", "distance", "ft", "jd"),
    _r("Heading", "heading", "deg", "jd"),
    _r("Elevation", "elevation", "ft", "jd"),
    _r(("VEHICLSPEED", "VEHICLSPEE", "SPEED", "VehicleSpeed"), "speed", "mi/hr", "jd"),
    _r("SECTIONID", "sectionId", None, "jd"),
    _r(("VRAPPRATE", "AppliedRate"), "appliedRate", "gal/ac", "jd"),
    _r(("VRAPPTRGT", "TargetRate"), "appliedRateTarget", "gal/ac", "jd", optype=_A),
    _r(("VRSEEDRATE", "SeedRate"), "seedRate", "seeds/ac", "jd"),
    _r(("VRSEEDTRGT", "SeedRateTarget"), "seedRateTarget", "seeds/ac", "jd"),
    _r(("Crop", "CROP"), "crop", None, "jd", transform="crop"),
    _r(("Variety", "VARIETY"), "variety", None, "jd"),
    _r("Product", PRODUCT_NAME, None, "jd", optype=_A),
    _r("IsoTime", "timestamp", None, "jd", kind="datetime"),
    _r(("Time", "orig_file"), None, None, "jd"),
    # ---- Ag Leader advanced export text (and ISU shapefiles built from it) ---------
    _r("FLOW", "cropFlow", "lb/s", "agleader"),
    _r(("CYCLES", "CYCLE"), "samplingInterval", "s", "agleader", optype=_H),
    _r("WETMASS", "wetMass", "lb", "agleader"),  # derived: FLOW × CYCLES (see DERIVED)
    _r("DISTANCE", "distance", "in", "agleader"),
    _r("SWATH", "equipmentWidth", "in", "agleader"),
    _r("MOISTURE", "harvestMoisture", "%", "agleader"),
    _r("STATUS", "recordingStatus", None, "agleader", transform="agleader_status"),
    _r("ALTITUDE", "elevation", "ft", "agleader"),
    _r("CROP", "crop", None, "agleader", transform="crop"),
    _r("DRY_BU_AC", "dryVolumePerArea", "bu/ac", "agleader"),
    _r("SPEED", "speed", "mi/hr", "agleader"),
    _r("TIME", "timestamp", None, "agleader", kind="unix"),
    _r(("PASS", "SERIAL", "FIELD", "LOAD", "GPS", "PDOP", "LONGITUDE", "LATITUDE", "TIMELAPSE",
        "DAYOFMONTH"), None, None, "agleader"),
    # ---- unknown-vendor yield logger (CSIRO area1) -----------------------------------
    _r("Yield", "wetMassPerArea", "t/ha", "yield_logger"),
    _r("Distance", "distance", "m", "yield_logger"),
    _r("RowWidth", "equipmentWidth", "m", "yield_logger"),
    _r("Altitude", "elevation", "m", "yield_logger"),
    _r("LogTime", "samplingInterval", "s", "yield_logger", optype=_H),
    _r(("DateStamp", "Date"), "timestamp", None, "yield_logger", kind="date"),
    _r(("TimeStamp",), "timestamp", None, "yield_logger", kind="time"),
    _r(("Lin_Yield", "Flow_Rate", "GWTotal", "ZeroValue", "CorrectionFactor", "SerialNumber",
        "FixQuality", "HDOP", "FlowOffset", "TimeOffset", "Session", "Time", "Easting", "Northing"),
       None, None, "yield_logger"),  # Time: seconds of an unknown epoch (not Unix)
    # ---- Farmobile GeoJSON (ASSUMED names; Farmobile US defaults) --------------------
    _r("yield_dry_volume", "dryVolumePerArea", "bu/ac", "farmobile"),
    _r("yield_wet_mass", "wetMassPerArea", "lb/ac", "farmobile"),
    _r("moisture", "harvestMoisture", "%", "farmobile"),
    _r("mass_flow", "cropFlow", "lb/s", "farmobile"),
    _r("seed_rate", "seedRate", "seeds/ac", "farmobile"),
    _r("seed_rate_target", "seedRateTarget", "seeds/ac", "farmobile"),
    _r("applied_rate", "appliedRate", "gal/ac", "farmobile"),
    _r("applied_rate_target", "appliedRateTarget", "gal/ac", "farmobile"),
    _r("product", PRODUCT_NAME, None, "farmobile", optype=_A),
    _r("speed_mph", "speed", "mi/hr", "farmobile"),
    _r("heading", "heading", "deg", "farmobile"),
    _r("elevation_ft", "elevation", "ft", "farmobile"),
    _r("swath_width_ft", "equipmentWidth", "ft", "farmobile"),
    _r("distance_ft", "distance", "ft", "farmobile"),
    _r("crop", "crop", None, "farmobile", transform="crop"),
    _r("variety", "variety", None, "farmobile"),
    _r("recording", "recordingStatus", None, "farmobile", transform="on_off"),
    _r("timestamp", "timestamp", None, "farmobile", kind="datetime"),
    _r(("operation", "puc_id", "machine"), None, None, "farmobile"),
    # ---- generic: standard names + Leaf's recognised shapefile names (spec §4.4) -----
    _r(("Crop", "Crop_Type", "Product_Pr", "CropType"), "crop", None, transform="crop"),
    _r(("Moisture", "MOISTURE", "harvestMoisture"), "harvestMoisture", "%"),
    _r(("Yld_Vol_We",), "wetVolumePerArea", "bu/ac"),
    _r(("Yield_Mass",), "wetMassPerArea", "lb/ac"),
    _r(("seedRate", "SeedCount", "Rt_Apd_Ct_"), "seedRate", "seeds/ac"),
    _r(("seedRateTarget",), "seedRateTarget", "seeds/ac"),
    _r(("AppliedRat", "appliedRate", "actualRate", "Rt_Apd_Liq"), "appliedRate", "gal/ac"),
    _r(("appliedRateTarget",), "appliedRateTarget", "gal/ac"),
    _r(("Product", "Products", "productName"), PRODUCT_NAME, None, optype=_A),
    _r(("Product", "Variety"), "variety", None, optype=_P),
    _r(("Product",), "crop", None, optype=_H, transform="crop"),
    _r(("variety",), "variety", None),
    _r(("wetMass",), "wetMass", "lb"),
    _r(("dryMass",), "dryMass", "lb"),
    _r(("wetMassPerArea",), "wetMassPerArea", "lb/ac"),
    _r(("dryMassPerArea",), "dryMassPerArea", "lb/ac"),
    _r(("wetVolume",), "wetVolume", "bu"),
    _r(("dryVolume",), "dryVolume", "bu"),
    _r(("wetVolumePerArea",), "wetVolumePerArea", "bu/ac"),
    _r(("dryVolumePerArea",), "dryVolumePerArea", "bu/ac"),
    _r(("cropFlow",), "cropFlow", "lb/s"),
    _r(("speed",), "speed", "mi/hr"),
    _r(("heading", "Track", "Direction"), "heading", "deg"),
    _r(("elevation", "Altitude"), "elevation", "ft"),
    _r(("distance",), "distance", "ft"),
    _r(("area",), "area", "ft2"),
    _r(("equipmentWidth", "Width", "SwathWidth", "Swath"), "equipmentWidth", "ft"),
    _r(("sectionId", "Section"), "sectionId", None),
    _r(("recordingStatus",), "recordingStatus", None, transform="on_off"),
    _r(("operationType",), None, None),
    _r(("timestamp", "DateTime", "Date_Time", "IsoTime", "Time"), "timestamp", None, kind="datetime"),
    _r(("Date",), "timestamp", None, kind="date"),
    _r(("tillageDepthActual",), "tillageDepthActual", "in"),
    _r(("tillageDepthTarget",), "tillageDepthTarget", "in"),
)
# fmt: on


def _standard_name_rules() -> tuple[ColumnRule, ...]:
    """Generic rules for every standard property name not listed above (unit from headers)."""
    from leafnb.standard.schema import LIST_PROPERTIES, PROPERTIES

    covered = {
        normalise_key(n) for r in RULES if r.family == "generic" for n in r.names
    }
    return tuple(
        ColumnRule((prop,), prop, None, "generic")
        for prop in PROPERTIES
        if normalise_key(prop) not in covered
        and prop not in LIST_PROPERTIES
        and prop not in ("timestamp", "operationType", "originalOperationType")
    )


#: family → Leaf provider string
FAMILY_PROVIDER: dict[str, str | None] = {
    "sms": "AgLeader",
    "agleader": "AgLeader",
    "jd": "JohnDeere",
    "farmobile": "Farmobile",
    "yield_logger": None,
    "generic": None,
}

#: columns a family's format defines as products of other columns:
#: family → (new column, (factor columns...)); the new column is mapped by RULES.
DERIVED: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "agleader": (("WETMASS", ("FLOW", "CYCLES")),),
}

_FAMILY_ORDER = ("sms", "jd", "agleader", "yield_logger", "farmobile", "generic")


def normalise_key(name: str) -> str:
    """Return the matching key of a column name: lower-case, alphanumerics only.

    >>> normalise_key("Yld_Vol_Dr") == normalise_key("yld vol dr")
    True
    """
    return re.sub(r"[^0-9a-z]", "", name.lower())


RULES = RULES + _standard_name_rules()


def _build_index() -> dict[str, list[tuple[int, ColumnRule]]]:
    index: dict[str, list[tuple[int, ColumnRule]]] = {}
    for i, rule in enumerate(RULES):
        for name in rule.names:
            index.setdefault(normalise_key(name), []).append((i, rule))
    return index


_INDEX = _build_index()

_HEADER_UNIT = re.compile(r"^(?P<base>.*\S)\s*\((?P<unit>[^()]*)\)\s*$")


def split_header_unit(name: str) -> tuple[str, str | None]:
    """Split ``"Yld Mass(Dry)(tonne/ha)"`` into ``("Yld Mass(Dry)", "tonne/ha")``.

    Only a trailing parenthesised group that parses as a unit is split off; otherwise
    ``(name, None)``.
    """
    m = _HEADER_UNIT.match(name)
    if not m:
        return name, None
    unit = m.group("unit").strip()
    try:
        parse_unit(unit)
    except ValueError:
        return name, None
    return m.group("base"), unit


@dataclass
class ColumnMatch:
    """Result of :func:`match_columns`."""

    family: str | None
    columns: dict[str, Column] = field(default_factory=dict)
    #: timestamp sources: kind → source column
    time_sources: dict[str, str] = field(default_factory=dict)
    #: source column → transform name
    transforms: dict[str, str] = field(default_factory=dict)
    #: family → number of recognised columns
    scores: dict[str, int] = field(default_factory=dict)
    operation_type: str | None = None

    @property
    def provider(self) -> str | None:
        return FAMILY_PROVIDER.get(self.family or "generic")

    @property
    def recognised(self) -> int:
        """Number of recognised columns of the chosen family (markers included)."""
        return self.scores.get(self.family or "generic", 0)

    def facts(self, file_format: str, provider: str | None = None) -> dict[str, Any]:
        """``Reader.describe`` facts this match implies: provider, file format, operation type."""
        out: dict[str, Any] = {
            "provider": provider or self.provider,
            "file_format": file_format,
        }
        if self.operation_type:
            out["operation_type"] = self.operation_type
        return out


def _candidates(
    name: str, header_units: bool
) -> tuple[list[tuple[int, ColumnRule]], str | None]:
    if header_units:
        base, unit = split_header_unit(name)
        if unit is not None and normalise_key(base) in _INDEX:
            return _INDEX[normalise_key(base)], unit
    return _INDEX.get(normalise_key(name), []), None


def match_columns(
    names: Sequence[str],
    *,
    family: str | None = None,
    operation_type: str | None = None,
    header_units: bool = False,
    unit_overrides: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
) -> ColumnMatch:
    """Map source column *names* to standard properties using :data:`RULES`.

    Parameters
    ----------
    names
        Source column names in file order.
    family
        Force a family; by default the family recognising most columns wins.
    operation_type
        Known operation type (enables ``optype`` rules); detected otherwise.
    header_units
        Parse a trailing ``(unit)`` in names (CSV headers); that unit wins.
    unit_overrides
        ``{source column (case-insensitive): unit}`` from file metadata; wins over all.
    exclude
        Source names never mapped (e.g. the coordinate columns).
    """
    excluded = {normalise_key(n) for n in exclude}
    cands: dict[str, tuple[list[tuple[int, ColumnRule]], str | None]] = {}
    for n in names:
        if normalise_key(n) in excluded:
            continue
        rules, hunit = _candidates(n, header_units)
        if rules:
            cands[n] = (rules, hunit)

    scores: dict[str, int] = {}
    for rules, _ in cands.values():
        fams = {r.family for _, r in rules}
        if (
            "generic" in fams
        ):  # a name every tool may write says nothing about the vendor
            scores["generic"] = scores.get("generic", 0) + 1
            continue
        for fam in fams:
            scores[fam] = scores.get(fam, 0) + 1
    if family is None:
        specific = {f: s for f, s in scores.items() if f != "generic"}
        if specific:
            family = max(specific, key=lambda f: (specific[f], -_FAMILY_ORDER.index(f)))
        elif scores:
            family = "generic"
    allowed = (family, "generic")

    overrides = {normalise_key(k): v for k, v in (unit_overrides or {}).items()}
    result = ColumnMatch(family=family, scores=scores)

    def assign(with_optype: str | None) -> None:
        taken: dict[str, tuple[int, str]] = {
            c.property: (-1, src) for src, c in result.columns.items()
        }
        for src, (rules, hunit) in cands.items():
            if src in result.columns or src in result.time_sources.values():
                continue
            usable = [
                (i, r)
                for i, r in rules
                if r.family in allowed and (r.optype is None or r.optype == with_optype)
            ]
            if not usable:
                continue
            # the chosen family's rule before a generic one
            usable.sort(key=lambda ir: (ir[1].family != family, ir[0]))
            i, rule = usable[0]
            if rule.property is None:
                continue
            if rule.property == "timestamp":
                result.time_sources.setdefault(rule.kind, src)
                continue
            unit = overrides.get(normalise_key(src)) or hunit or rule.unit
            prev = taken.get(rule.property)
            if prev is not None:
                if prev[0] <= i:  # an earlier rule (or an earlier pass) keeps it
                    continue
                del result.columns[prev[1]]
                result.transforms.pop(prev[1], None)
            taken[rule.property] = (i, src)
            result.columns[src] = Column(rule.property, unit)
            if rule.transform:
                result.transforms[src] = rule.transform

    assign(None)
    optype = operation_type or (
        detect_operation_type(c.property for c in result.columns.values())
    )
    result.operation_type = str(optype) if optype else None
    if result.operation_type:
        assign(result.operation_type)
    return result


# ---------------------------------------------------------------------------------
# value normalisation, timestamps and the common tail of every reader
# ---------------------------------------------------------------------------------


def normalise_crop(value: Any) -> str | None:
    """Normalise a crop string: strip quotes/space, lower-case (``"SOYBEANS"`` → ``soybeans``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = str(value).strip().strip('"').strip("'").strip().lower()
    s = re.sub(r"\s+", " ", s)
    return s or None


def _transform_column(arr: pa.ChunkedArray | pa.Array, how: str) -> pa.Array:
    values = arr.to_pylist()
    if how == "crop":
        return pa.array([normalise_crop(v) for v in values], pa.string())
    if how == "agleader_status":
        # Ag Leader header status: bit 0x20 set (33) = header down / logging = "On";
        # 1 = header up = "Off" (Yield Editor documentation of the advanced format).
        out = []
        for v in values:
            try:
                out.append(None if v is None else ("On" if int(v) & 0x20 else "Off"))
            except (TypeError, ValueError):
                out.append(None)
        return pa.array(out, pa.string())
    if how == "on_off":
        out = []
        for v in values:
            if v is None:
                out.append(None)
                continue
            s = str(v).strip().lower()
            if s in ("on", "true", "1", "yes", "in", "down", "recording"):
                out.append("On")
            elif s in ("off", "false", "0", "no", "out", "up"):
                out.append("Off")
            else:
                out.append(str(v))
        return pa.array(out, pa.string())
    raise ValueError(f"unknown transform {how!r}")


def dedupe_names(names: Sequence[str]) -> list[str]:
    """Make column names unique deterministically: repeats get ``.1``, ``.2`` … (pandas style)."""
    seen: dict[str, int] = {}
    used = set(names)
    out = []
    for n in names:
        if n not in seen:
            seen[n] = 0
            out.append(n)
            continue
        k = seen[n]
        while True:
            k += 1
            cand = f"{n}.{k}"
            if cand not in used:
                break
        seen[n] = k
        used.add(cand)
        out.append(cand)
    return out


_DATE_PATTERNS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}"), "iso"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}"), "dmy_or_mdy"),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}"), "ymd_slash"),
)


def _parse_datetime_strings(values: list, *, lon_hint: float | None) -> np.ndarray:
    """Parse date/datetime strings to int64 ms since epoch (UTC; naive = UTC). NaT → min."""
    import pandas as pd

    s = pd.Series(values, dtype="object").astype("string").str.strip()
    sample = s.dropna()
    sample = sample[sample != ""]
    if sample.empty:
        return np.full(len(s), np.iinfo(np.int64).min)
    first = str(sample.iloc[0])
    kw: dict[str, Any] = {"errors": "coerce", "utc": True}
    if re.match(
        r"^\d{2}/\d{2}/\d{2}-\d{2}:\d{2}:\d{2}", first
    ):  # SMS 13/09/30-16:45:42
        kw["format"] = "%y/%m/%d-%H:%M:%S"
    elif re.match(r"^\d{1,2}/\d{1,2}/\d{2,4}", first):
        parts = sample.str.extract(r"^(\d{1,2})/(\d{1,2})/")
        a = pd.to_numeric(parts[0], errors="coerce")
        b = pd.to_numeric(parts[1], errors="coerce")
        if (a > 12).any():
            dayfirst = True
        elif (b > 12).any():
            dayfirst = False
        else:  # ambiguous: month-first in the Americas, day-first elsewhere
            dayfirst = not (lon_hint is not None and lon_hint < -30)
        kw["dayfirst"] = dayfirst
        kw["format"] = "mixed"
    else:
        kw["format"] = "mixed"
    ts = pd.to_datetime(s, **kw)
    out = ts.astype("datetime64[ms, UTC]").array.asi8 if hasattr(ts, "array") else None
    return np.asarray(out, dtype="int64")


_NAT = np.iinfo(np.int64).min


def _to_ms(col: pa.ChunkedArray, *, lon_hint: float | None) -> np.ndarray:
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            col = pc.assume_timezone(col.cast(pa.timestamp(t.unit)), "UTC")
        arr = col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        return np.asarray(arr.fill_null(_NAT).to_numpy(), dtype="int64")
    if pa.types.is_date(t):
        arr = col.cast(pa.date32()).cast(pa.int32())
        v = arr.to_numpy(zero_copy_only=False).astype("float64")
        out = np.where(np.isnan(v), _NAT, v * 86_400_000).astype("int64")
        return out
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        v = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return np.where(np.isnan(v), _NAT, np.round(v * 1000)).astype("int64")
    return _parse_datetime_strings(col.to_pylist(), lon_hint=lon_hint)


def _time_of_day_ms(values: list) -> np.ndarray:
    out = np.full(len(values), _NAT, dtype="int64")
    for i, v in enumerate(values):
        if v is None:
            continue
        m = re.match(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?", str(v))
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            frac = float("0." + m.group(4)) if m.group(4) else 0.0
            out[i] = round(((h * 60 + mi) * 60 + s + frac) * 1000)
    return out


def build_timestamp(
    table: pa.Table,
    time_sources: Mapping[str, str],
    *,
    duration_column: str | None = None,
    lon_hint: float | None = None,
) -> tuple[pa.Array | None, list[str]]:
    """Build the ``timestamp[ms, UTC]`` column from the matched time sources.

    Preference: a full ``datetime`` column (when it carries a time of day), ``unix``
    seconds, ``date`` + ``time`` columns, SMS ``Dataset`` start time + cumulative
    ``Duration_s``, and finally a date alone. Times without a zone are read as UTC
    (reported in the returned notes).
    """
    notes: list[str] = []
    n = table.num_rows

    def col(kind):
        name = time_sources.get(kind)
        return None if name is None or name not in table.column_names else table[name]

    def finish(ms: np.ndarray) -> pa.Array:
        mask = ms == _NAT
        return pa.array(np.where(mask, 0, ms), pa.int64(), mask=mask).cast(
            pa.timestamp("ms", tz="UTC")
        )

    dt = col("datetime")
    dt_ms = _to_ms(dt, lon_hint=lon_hint) if dt is not None else None
    if dt_ms is not None:
        valid = dt_ms[dt_ms != _NAT]
        has_time = valid.size and bool(np.any(valid % 86_400_000 != 0))
        if has_time:
            if not pa.types.is_timestamp(dt.type) or dt.type.tz is None:
                notes.append(
                    f"timestamps in {time_sources['datetime']!r} have no time zone; read as UTC"
                )
            return finish(dt_ms), notes
    ux = col("unix")
    if ux is not None:
        return finish(_to_ms(ux, lon_hint=lon_hint)), notes
    date = col("date")
    date_ms = _to_ms(date, lon_hint=lon_hint) if date is not None else dt_ms
    if date_ms is not None and date is not None:
        # a date column may itself carry times
        valid = date_ms[date_ms != _NAT]
        if valid.size and np.any(valid % 86_400_000 != 0):
            return finish(date_ms), notes
    tod = col("time")
    if date_ms is not None and tod is not None:
        t = _time_of_day_ms(tod.to_pylist())
        day = np.where(date_ms == _NAT, _NAT, (date_ms // 86_400_000) * 86_400_000)
        ms = np.where((day == _NAT) | (t == _NAT), _NAT, day + t)
        notes.append("date and time-of-day columns have no time zone; read as UTC")
        return finish(ms), notes
    ds = col("sms_dataset")
    if ds is not None:
        starts = _parse_datetime_strings(
            [
                None if v is None else str(v).split(" (")[0].strip()
                for v in ds.to_pylist()
            ],
            lon_hint=lon_hint,
        )
        if np.any(starts != _NAT):
            ms = starts.copy()
            if duration_column and duration_column in table.column_names:
                dur = (
                    table[duration_column]
                    .cast(pa.float64())
                    .to_numpy(zero_copy_only=False)
                )
                dur = np.nan_to_num(dur) * 1000
                labels = ds.to_pylist()
                # within each dataset: start + time elapsed since its first record
                offs = np.zeros(n)
                acc: dict[Any, float] = {}
                for i, lab in enumerate(labels):
                    if lab in acc:
                        acc[lab] += dur[i]
                    else:
                        acc[lab] = 0.0
                    offs[i] = acc[lab]
                ms = np.where(
                    starts == _NAT, _NAT, starts + np.round(offs).astype("int64")
                )
                notes.append(
                    "timestamps rebuilt from the SMS Dataset start time plus cumulative "
                    "Duration_s; local time read as UTC"
                )
            else:
                notes.append(
                    "timestamps are the SMS Dataset start time; local time read as UTC"
                )
            return finish(ms), notes
    if date_ms is not None:
        if duration_column and duration_column in table.column_names:
            dur = (
                table[duration_column].cast(pa.float64()).to_numpy(zero_copy_only=False)
            )
            offs = np.round(np.cumsum(np.nan_to_num(dur) * 1000)).astype("int64")
            offs -= offs[0] if n else 0
            ms = np.where(date_ms == _NAT, _NAT, date_ms + offs)
            notes.append(
                "only a date is recorded; records are spaced by the cumulative duration "
                "column from midnight UTC (time of day unknown)"
            )
            return finish(ms), notes
        notes.append("only a date is recorded; timestamps are midnight UTC")
        return finish(date_ms), notes
    return None, notes


def _valid_coords(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (np.abs(lon) <= 180)
            & (np.abs(lat) <= 90)
            & ~((lon == 0) & (lat == 0))
        )


def finish_table(
    source: pa.Table,
    lon: np.ndarray,
    lat: np.ndarray,
    match: ColumnMatch,
    *,
    path: Any = None,
    reader: str = "",
    duration_column: str | None = None,
    meta: dict[str, Any] | None = None,
    issues: Sequence[str] = (),
    drop: Iterable[str] = (),
    extra_invalid: np.ndarray | None = None,
    unparsed: int = 0,
):
    """Assemble a :class:`~leafnb.formats.base.RawRead` from source columns + coordinates.

    Drops (and counts, with a :class:`~leafnb.errors.SkippedRecordsWarning`) rows with
    missing or impossible coordinates, builds ``timestamp``, applies the value
    transforms of the matched rules, adds the family's derived columns. *unparsed* is
    the number of source lines the caller already dropped as unparseable; they count
    as records read and skipped.
    """
    from leafnb.formats.base import RawRead

    n = source.num_rows
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    ok = _valid_coords(lon, lat)
    if extra_invalid is not None:
        ok &= ~extra_invalid
    skipped = int(n - ok.sum())
    if n and not ok.any():
        raise CorruptFile(
            f"{reader}: none of the {n} records has valid coordinates",
            path=path,
            reader=reader,
        )
    src = source
    if skipped:
        src = src.filter(pa.array(ok))
        lon, lat = lon[ok], lat[ok]
    lon_hint = float(np.nanmedian(lon)) if lon.size else None
    ts, notes = build_timestamp(
        src, match.time_sources, duration_column=duration_column, lon_hint=lon_hint
    )
    drop = set(drop) | {"lon", "lat", "timestamp"}
    src = src.select([c for c in src.column_names if c not in drop])
    # value transforms (in place, keeping source names)
    for name, how in match.transforms.items():
        if name in src.column_names:
            i = src.column_names.index(name)
            src = src.set_column(i, name, _transform_column(src[name], how))
    columns = dict(match.columns)
    for new, factors in DERIVED.get(match.family or "", ()):
        if new not in src.column_names and all(f in src.column_names for f in factors):
            prod = None
            for f in factors:
                v = src[f].cast(pa.float64())
                prod = v if prod is None else pc.multiply(prod, v)
            src = src.append_column(new, prod)
            derived = match_columns([new], family=match.family)
            columns.update(derived.columns)
    arrays = [pa.array(lon, pa.float64()), pa.array(lat, pa.float64())]
    names = ["lon", "lat"]
    if ts is not None:
        arrays.append(ts)
        names.append("timestamp")
    table = pa.Table.from_arrays(
        arrays + [src[c] for c in src.column_names], names=names + src.column_names
    )
    out_meta: dict[str, Any] = {
        "columns": columns,
        "record_count": n + unparsed,
        "skipped_records": skipped + unparsed,
        "family": match.family,
    }
    if match.provider:
        out_meta["provider"] = match.provider
    out_meta.update(meta or {})
    all_issues = list(issues) + notes
    if skipped or unparsed:
        parts = []
        if skipped:
            parts.append(f"{skipped} with missing or invalid coordinates")
        if unparsed:
            parts.append(f"{unparsed} unparseable lines")
        msg = f"{reader}: skipped {skipped + unparsed} of {n + unparsed} records ({'; '.join(parts)})"
        all_issues.append(msg)
        warnings.warn(msg, SkippedRecordsWarning, stacklevel=3)
    return RawRead(table=table, meta=out_meta, issues=tuple(all_issues))
