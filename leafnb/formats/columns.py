"""The one column table: what the column names of machine exports mean.

Every open-format reader (shapefile, GeoPackage, GeoJSON, CSV, Ag Leader text) maps its
source columns through :func:`leafnb.formats.inference.infer_columns`, which scores each
column by the *name* evidence found here, its declared unit and the plausibility of its
values. This module holds the name evidence, in two parts of one table:

:data:`RULES` — exact names of a vendor *family*
    A rule says which source names (compared after :func:`normalise_key`: accents
    folded, lower-cased, every non-alphanumeric removed, so ``Yld_Vol_Dr``,
    ``yld vol dr`` and ``YLD-VOL-DR`` are one key) mean which standard property, in
    which unit when the source does not say, for which family of files (one vendor's
    export style). An exact vendor name is the strongest evidence (name score 1.0);
    it also names the vendor (the family recognising most columns wins).

:data:`TERMS` — the vocabulary monitors and GIS tools use
    Words for each quantity in English, German, French, Spanish, Portuguese and
    Italian, plus the abbreviations of 10-character DBF names (``Yld``, ``Mss``,
    ``Wdth``, ``Dstnc``, ``Elevtn``) and the compounds vendors write (``VRYIELDVOL``,
    ``massflow``, ``cutwidth``). A column matches a term when one of its words is a
    token of the name, or (for words of four letters or more) part of one, and the
    term's qualifiers agree (``wet``/``nass``/``humide`` vs ``dry``/``trocken``/``sec``;
    ``mass``/``masse``/``peso`` vs ``vol``). Yield columns match the pseudo-property
    ``yield``; wet/dry comes from the qualifiers (none = dry: every monitor's plain
    "Yield" is the yield at standard moisture — Ag Leader, John Deere ``VRYIELDVOL``,
    Yield Editor), mass/volume and per-area/total from the unit (declared, or chosen
    by the values in :mod:`leafnb.formats.inference`).

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
    ``Crop`` may be a numeric code; John Deere publishes no code table, so such codes
    stay as they are (:mod:`leafnb.standard.crops`).
``agleader``
    The Ag Leader *advanced export* text format (Ag Leader GPS 2000/2100 manual, 1998,
    §8-7 "Advanced Ag Leader Format"; the input format of USDA-ARS Yield Editor,
    Sudduth & Drummond 2007): longitude, latitude, grain flow (lb/s), GPS time (Unix
    seconds — checked on the ISU files against their load labels), logging interval
    (s), distance (in), swath (in), moisture (%), header status, pass, serial, field,
    load, grain type, GPS status, PDOP, altitude (ft). The names here are those of the
    ISU shapefiles built from it (``FLOW``, ``CYCLES``, ``SWATH`` …), of the header row
    some exporters add (``long,lat,massflow,gpstime,cycletime,distance,cutwidth,…``)
    and of Yield Editor's own column captions (``Grain Flow``, ``Logging Interval``,
    ``Header Status`` …).
``trimble``
    Trimble FM-1000/FmX track-log shapefiles (FM-1000 user guide v9.25, "Data storage
    structure"): ``Speed`` km/h, ``Swath_wdth`` m (metric always), ``UTC_Date``
    YYYYMMDD + ``UTC_Time`` hh:mm:ss.s; ``Target`` is a rate whose unit the file does
    not carry (left unmapped).
``yield_logger``
    The unknown-vendor logger CSV (``Yield``, ``Lin_Yield``, ``RowWidth``, ``LogTime`` …),
    metric: ``Yield`` is taken as t/ha (Australian origin), ``Distance``/``RowWidth``/
    ``Altitude`` m (3.2 m per 3 s record ≈ 1.1 m/s, plausible; in feet it would be a
    crawl).
``isoxml_csv``
    ISOXML time logs decoded to CSV, columns named by DDI (``'90/-1``: DDI 90 of
    element -1); meaning and unit from the ISO 11783-11 dictionary (:func:`ddi_hit`).
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
Timestamp sources carry ``kind`` (``datetime``, ``date``, ``time``, ``epoch``,
``sms_dataset``); a numeric time column's real encoding (epoch seconds or
milliseconds, seconds of day, seconds since an unknown start) is decided from its
values by :mod:`leafnb.formats.timeparse`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from leafnb.standard.units import parse_unit

__all__ = [
    "DERIVED",
    "FAMILY_PROVIDER",
    "PRODUCT_NAME",
    "RULES",
    "TERMS",
    "ColumnRule",
    "NameHit",
    "Term",
    "dedupe_names",
    "header_unit",
    "name_hits",
    "normalise_key",
    "split_header_unit",
    "tokens",
]

#: pseudo-property the pipeline turns into ``products`` together with ``appliedRate``
PRODUCT_NAME = "productName"
#: pseudo-property of yield terms, resolved to wet/dry × mass/volume × per-area/total
YIELD = "yield"
#: kind of the vocabulary hits of a bare mass word (mass per record or mass flow)
BARE_MASS = "bare_mass"


@dataclass(frozen=True)
class ColumnRule:
    """One exact-name row of the column table.

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
#: THE exact-name table. Order matters twice: within a family the first rule for a
#: property wins a conflict (two source columns for one property), and families are
#: tried in this order when their scores tie.
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
        "Wind_Speed", "Sky Cond", "Date___Tim", "Air Temp", "Soil Temp", "Wind Speed",
        "Humidity"), None, None, "sms"),
    # ---- John Deere Operations Center shapefile export -------------------------------
    _r("VRYIELDVOL", "dryVolumePerArea", "bu/ac", "jd"),
    _r(("VRYIELDMAS", "VRYIELDMASS"), "dryMassPerArea", "lb/ac", "jd"),
    _r("WetMass", "wetMassPerArea", "lb/ac", "jd"),
    _r(("Moisture", "VRMOISTURE"), "harvestMoisture", "%", "jd"),
    _r("SWATHWIDTH", "equipmentWidth", "ft", "jd"),
    _r("DISTANCE", "distance", "ft", "jd"),
    _r("Heading", "heading", "deg", "jd"),
    _r("Elevation", "elevation", "ft", "jd"),
    _r(("VEHICLSPEED", "VEHICLSPEE", "SPEED", "VehicleSpeed"), "speed", "mi/hr", "jd"),
    _r("SECTIONID", "sectionId", None, "jd"),
    # a seeding export's applied rate is its seed rate, by count or by mass (the
    # metadata's Operation says which operation; its unit which rate)
    _r("AppliedRate", "seedRate", None, "jd", optype=_P),
    _r("TargetRate", "seedRateTarget", None, "jd", optype=_P),
    _r(("VRAPPRATE", "AppliedRate"), "appliedRate", "gal/ac", "jd"),
    _r(("VRAPPTRGT", "TargetRate"), "appliedRateTarget", "gal/ac", "jd", optype=_A),
    _r(("VRSEEDRATE", "SeedRate"), "seedRate", "seeds/ac", "jd"),
    _r(("VRSEEDTRGT", "SeedRateTarget"), "seedRateTarget", "seeds/ac", "jd"),
    _r(("Crop", "CROP"), "crop", None, "jd", transform="crop"),
    _r(("Variety", "VARIETY"), "variety", None, "jd"),
    _r("Product", PRODUCT_NAME, None, "jd", optype=_A),
    _r("IsoTime", "timestamp", None, "jd", kind="datetime"),
    # VRYILDBAL: cotton lint in bales per acre — leafnb has no bale unit, kept unmapped.
    # (not "orig_file": R tools that merge shapefiles add it to any vendor's table)
    _r(("Time", "Machine", "FUEL", "DRYMATTER", "PRODUCTHASH", "VRYILDBAL",
        "VRYIELDBAL"), None, None, "jd"),
    # ---- Ag Leader advanced export text (ISU shapefiles | header rows | Yield Editor) --
    _r(("FLOW", "massflow", "Grain Flow", "GrainFlow"), "cropFlow", "lb/s", "agleader"),
    _r(("CYCLES", "CYCLE", "cycletime", "Logging Interval", "LoggingInterval", "Interval"),
       "samplingInterval", "s", "agleader", optype=_H),
    _r("WETMASS", "wetMass", "lb", "agleader"),  # derived: FLOW × CYCLES (see DERIVED)
    _r("DISTANCE", "distance", "in", "agleader"),
    _r(("SWATH", "cutwidth"), "equipmentWidth", "in", "agleader"),
    _r("MOISTURE", "harvestMoisture", "%", "agleader"),
    _r(("STATUS", "headerstatus", "Header Status"), "recordingStatus", None, "agleader",
       transform="agleader_status"),
    _r("ALTITUDE", "elevation", "ft", "agleader"),
    _r(("CROP", "graintype", "Grain Type"), "crop", None, "agleader", transform="crop"),
    _r("DRY_BU_AC", "dryVolumePerArea", "bu/ac", "agleader"),
    _r("SPEED", "speed", "mi/hr", "agleader"),
    _r(("TIME", "gpstime", "GPS Time"), "timestamp", None, "agleader", kind="epoch"),
    _r(("PASS", "SERIAL", "FIELD", "LOAD", "GPS", "PDOP", "LONGITUDE", "LATITUDE", "TIMELAPSE",
        "DAYOFMONTH", "passno", "serialno", "fieldid", "loadid", "gpsstatus", "Serial Number",
        "Field ID", "Load ID", "GPS Status", "RmCode", "VARIETY"), None, None, "agleader"),
    # ---- Trimble FM-1000/FmX track logs (FM-1000 user guide v9.25 §4 "Data storage
    # structure": "Units are always metric in files created by the display") -------
    _r("Swath_wdth", "equipmentWidth", "m", "trimble"),
    _r("Speed", "speed", "km/h", "trimble"),
    _r("Height", "elevation", "m", "trimble"),
    _r("UTC_Date", "timestamp", None, "trimble", kind="date"),
    _r("UTC_Time", "timestamp", None, "trimble", kind="time"),
    _r(("Swath_Num", "Status_Text", "Status_Tex", "Total_Qty", "TRACK_ID", "Units", "Version", "Yaw",
        "Roll", "Pitch", "Target"), None, None, "trimble"),
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


@dataclass(frozen=True)
class Term:
    """One vocabulary row: the words that name a quantity, whatever the vendor.

    Parameters
    ----------
    property : str
        Standard property, ``productName``, ``timestamp`` or ``yield`` (resolved later).
    words : tuple of str
        One of these must be in the name (a token, or part of a token for words of
        four letters or more).
    needs : tuple of tuple of str
        Each group must also be present (e.g. a target rate needs a "target" word).
    forbids : tuple of str
        None of these may be present (``gpsstatus`` is not a recording status).
    optype : str or None
        Only for files of this operation type.
    transform : str or None
        As in :class:`ColumnRule`.
    kind : str
        Time encoding for timestamp terms (refined from the values).
    """

    property: str
    words: tuple[str, ...]
    needs: tuple[tuple[str, ...], ...] = ()
    forbids: tuple[str, ...] = ()
    optype: str | None = None
    transform: str | None = None
    kind: str = "value"


# vocabulary word groups (lower-case, accents folded)
_YIELD = ("yield", "yld", "yild", "ertrag", "rendement", "rendimiento", "rinde",
          "produtividade", "rendimento", "resa", "opbrengst", "plon")  # fmt: skip
_WET = (
    "wet",
    "we",
    "w",
    "nass",
    "feucht",
    "humide",
    "humedo",
    "umido",
    "fresh",
    "frisch",
)
_DRY = ("dry", "dr", "d", "trocken", "sec", "seche", "seco", "seca", "secco")
_MASS = ("mass", "mss", "masse", "masa", "massa", "peso", "weight", "gewicht", "ms")
#: mass words that may stand alone as a column name (not "ms": milliseconds)
_BARE_MASS = ("mass", "masse", "masa", "massa", "peso", "weight", "gewicht")
_BARE_MASS_FORBIDS = (*_YIELD, "flow", "flw", "rate", "target", "tgt", "density",
                      "capacity", "tank", "bin", "applied", "seed", "seeds", "product",
                      "bale", "bales")  # fmt: skip
_VOL = ("vol", "vl", "volume", "volumen", "bu", "bushel", "bushels")
_TARGET = ("target", "tgt", "trgt", "soll", "cible", "objetivo", "alvo", "prescription",
           "presc", "rx", "consigne")  # fmt: skip
_TIME = ("time", "timestamp", "datetime", "gpstime", "isotime", "zeit", "zeitstempel",
         "heure", "hora", "utc", "tiempo", "tempo", "horodatage")  # fmt: skip
_DATE = ("date", "datum", "fecha", "datestamp")

# fmt: off
#: THE vocabulary. Order breaks score ties (earlier first).
TERMS: tuple[Term, ...] = (
    Term(YIELD, _YIELD, forbids=("lin", "bal", "bale", "bales", "ballen", "goal", "potential")),
    Term("cropFlow", ("flow", "flw", "massflow", "grainflow", "durchsatz", "debit", "flujo",
                      "fluxo", "flusso"), forbids=(*_VOL, "v", "rate")),
    # a bare mass word ("mass", "Masse", "weight"): the crop's mass per record or its
    # mass flow — the values and the file's interval column decide (inference.py)
    Term("cropFlow", _BARE_MASS, forbids=_BARE_MASS_FORBIDS, kind=BARE_MASS),
    Term("wetMass", _BARE_MASS, forbids=(*_BARE_MASS_FORBIDS, *_DRY),
         kind=BARE_MASS),
    Term("harvestMoisture", ("moisture", "moist", "mois", "mstr", "mostr", "moistr", "feuchte",
                             "feuchtigkeit", "kornfeuchte", "humidite", "humedad", "umidade",
                             "umidita", "wassergehalt"),
         forbids=("air", "soil", "boden", "luft", "sensor")),
    Term("speed", ("speed", "spd", "velocity", "vel", "geschwindigkeit", "geschw", "vitesse",
                   "velocidad", "velocidade", "velocita", "groundspeed"), forbids=("wind",)),
    Term("equipmentWidth", ("width", "wdth", "wdt", "swath", "swth", "breite", "arbeitsbreite",
                            "largeur", "ancho", "anchura", "largura", "larghezza"),
         forbids=("row", "rows")),
    Term("distance", ("distance", "dist", "dstnc", "dstn", "strecke", "distanz", "distancia",
                      "distanza", "travel")),
    Term("heading", ("heading", "track", "trck", "hdng", "direction", "bearing", "course",
                     "richtung", "fahrtrichtung", "kurs", "cap", "rumbo", "direccion", "direcao",
                     "azimuth", "azimut")),
    Term("elevation", ("elevation", "elev", "elevtn", "elvtn", "altitude", "alt", "height",
                       "hohe", "hoehe", "altitud", "altura", "elevacion", "elevacao", "z")),
    Term("samplingInterval", ("duration", "durtn", "interval", "cycle", "cycles", "cycletime",
                              "logtime", "dauer", "duree", "duracion", "duracao", "intervalo",
                              "seconds", "secs", "elapsed"),
         optype=_H),
    Term("recordingStatus", ("status", "headerstatus", "header", "areacount", "recording",
                             "workstate", "workstatus", "arbeitsstatus", "onoff"),
         forbids=("gps", "diff", "differential", "fix", "rtk", "dgps")),
    Term("seedRateTarget", ("seed", "seeds", "seeding", "population", "pop", "saat", "aussaat",
                            "semis", "siembra", "semente", "sds"), needs=(_TARGET,)),
    Term("seedRate", ("seedrate", "seeding", "population", "pop", "aussaat", "saatmenge",
                      "semis", "siembra", "semeadura", "sds", "seed", "seeds"),
         forbids=(*_TARGET, "flow", "spacing", "depth", "singulation", "skips", "doubles")),
    Term("appliedRateTarget", ("rate", "applied", "apd", "app", "application", "dose", "dosis",
                               "ausbringmenge", "menge", "taux", "taxa"), needs=(_TARGET,),
         optype=_A),
    Term("appliedRate", ("applied", "apd", "application", "asapplied", "ausbringmenge", "dose",
                         "dosis", "dosage", "taux", "taxa", "aplicado", "rate"),
         forbids=(*_TARGET, "seed", "seeds", "flow", "prod"), optype=_A),
    Term("tillageDepthTarget", ("depth", "tiefe", "profondeur", "profundidad", "profundidade"),
         needs=(_TARGET,), optype="tillage"),
    Term("tillageDepthActual", ("depth", "tiefe", "profondeur", "profundidad", "profundidade"),
         forbids=(*_TARGET, "seed", "saat"), optype="tillage"),
    Term("sectionId", ("section", "sectionid", "sektion", "teilbreite", "troncon")),
    Term("crop", ("crop", "graintype", "grain", "kultur", "frucht", "fruchtart", "culture",
                  "cultivo", "cultura", "coltura"),
         forbids=("flow", "flw", "id", "year", "yield", "yld")),
    Term("variety", ("variety", "hybrid", "sorte", "variete", "variedad", "variedade",
                     "cultivar", "varieta")),
    Term(PRODUCT_NAME, ("product", "produkt", "produit", "producto", "produto", "chemical",
                        "material", "mittel"), optype=_A),
    Term("timestamp", _TIME + _DATE, kind="datetime"),
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
    "trimble": "Trimble",
    "isoxml_csv": None,
    "generic": None,
}

#: columns a family's format defines as products of other columns:
#: family → (new column, (factor columns...)); the new column is mapped by RULES.
DERIVED: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "agleader": (("WETMASS", ("FLOW", "CYCLES")),),
}

FAMILY_ORDER = (
    "sms", "jd", "agleader", "trimble", "yield_logger", "farmobile", "isoxml_csv",
    "generic",
)  # fmt: skip


@functools.cache
def common_words() -> frozenset[str]:
    """Keys that are plain words of the vocabulary (``distance``, ``timestamp``): no vendor evidence."""
    from leafnb.standard.schema import PROPERTIES

    words = {w for t in TERMS for w in t.words if len(w) >= 4}
    words |= {normalise_key(p) for p in PROPERTIES}
    # plain words any tool may write ("gps": an NMEA logger's column of sentence types)
    words |= {"product", "field", "date", "time", "crop", "track", "yield", "pass",
              "gps"}  # fmt: skip
    return frozenset(words)


#: column names seen by the pure name functions below are cached: a batch of hundreds
#: of files from one monitor repeats the same header (an unknown unit such as ``(°C)``
#: would otherwise go through pint's parser for every file)
_NAME_CACHE = 8192


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


@functools.lru_cache(maxsize=_NAME_CACHE)
def normalise_key(name: str) -> str:
    """Return the matching key of a column name: accents folded, lower-case, alphanumerics only.

    >>> normalise_key("Yld_Vol_Dr") == normalise_key("yld vol dr")
    True
    >>> normalise_key("Humidité")
    'humidite'
    """
    return re.sub(r"[^0-9a-z]", "", _fold(name).lower())


RULES = RULES + _standard_name_rules()


def _build_index() -> dict[str, list[tuple[int, ColumnRule]]]:
    index: dict[str, list[tuple[int, ColumnRule]]] = {}
    for i, rule in enumerate(RULES):
        for name in rule.names:
            index.setdefault(normalise_key(name), []).append((i, rule))
    return index


_INDEX = _build_index()

_HEADER_UNIT = re.compile(r"^(?P<base>.*\S)\s*[(\[](?P<unit>[^()\[\]]*)[)\]]\s*$")


@functools.lru_cache(maxsize=_NAME_CACHE)
def split_header_unit(name: str) -> tuple[str, str | None]:
    """Split ``"Yld Mass(Dry)(tonne/ha)"`` into ``("Yld Mass(Dry)", "tonne/ha")``.

    Only a trailing parenthesised (or bracketed) group that parses as a unit is split
    off; otherwise ``(name, None)``.
    """
    m = _HEADER_UNIT.match(name)
    if not m:
        return name, None
    unit = m.group("unit").strip()
    # one capital letter is a qualifier (SMS "Crop Flw(M)" = mass, "(V)" = volume),
    # never a unit of farm data (M would be molar, V volt)
    if not unit or re.fullmatch(r"[A-Z]", unit):
        return name, None
    try:
        parse_unit(unit)
    except ValueError:
        return name, None
    return m.group("base"), unit


# Unit words at the end of a DBF/GIS name (``Speed_mph_``, ``Yield_kg_ha``,
# ``Duration_s``): last one or two tokens → unit.
_TOKEN_UNITS_2 = {
    ("kg", "ha"): "kg/ha", ("t", "ha"): "t/ha", ("bu", "ac"): "bu/ac",
    ("bu", "a"): "bu/ac", ("lb", "ac"): "lb/ac", ("lbs", "ac"): "lb/ac",
    ("kg", "s"): "kg/s", ("lb", "s"): "lb/s", ("lbs", "s"): "lb/s", ("t", "h"): "t/h",
    ("l", "ha"): "L/ha", ("gal", "ac"): "gal/ac", ("km", "h"): "km/h",
    ("m", "s"): "m/s", ("sds", "ac"): "seeds/ac", ("seeds", "ac"): "seeds/ac",
    ("seeds", "ha"): "seeds/ha",
}  # fmt: skip
_TOKEN_UNITS_1 = {
    "mph": "mi/hr", "kmh": "km/h", "kph": "km/h", "ft": "ft", "feet": "ft",
    "m": "m", "meters": "m", "metres": "m", "meter": "m", "metre": "m", "metrs": "m",
    "cm": "cm", "mm": "mm", "in": "in", "inch": "in", "inches": "in",
    "s": "s", "sec": "s", "secs": "s", "deg": "deg", "pct": "%", "percent": "%",
    "kgha": "kg/ha", "tha": "t/ha", "buac": "bu/ac", "lbac": "lb/ac", "lbs": "lb",
    "kg": "kg", "lb": "lb", "mps": "m/s", "kgs": "kg/s", "lbsec": "lb/s",
}  # fmt: skip


def tokens(name: str) -> list[str]:
    """Split a column name into lower-case word tokens (camelCase, ``_``, spaces, digits).

    >>> tokens("Yld_Vol_Dr")
    ['yld', 'vol', 'dr']
    >>> tokens("WetMass(kg/ha)")
    ['wet', 'mass', 'kg', 'ha']
    """
    text = _fold(name)
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [t for t in re.split(r"[^0-9a-zA-Z%]+", text.lower()) if t]


@functools.lru_cache(maxsize=_NAME_CACHE)
def header_unit(name: str) -> tuple[str, str | None]:
    """Return ``(base name, declared unit)`` from a column name, or ``(name, None)``.

    Recognises a trailing ``(unit)``/``[unit]`` group (SMS CSV headers) and unit words
    at the end of DBF/GIS names (``Speed_mph_``, ``Yield_kg_ha``, ``Duration_s``).

    >>> header_unit("Yld Mass(Dry)(tonne/ha)")
    ('Yld Mass(Dry)', 'tonne/ha')
    >>> header_unit("Speed_mph_")
    ('Speed', 'mi/hr')
    >>> header_unit("Moisture__")
    ('Moisture__', None)
    """
    base, unit = split_header_unit(name)
    if unit is not None:
        return base, unit
    parts = re.split(r"[_\s]+", name.strip("_ "))
    low = [p.lower() for p in parts]
    if len(parts) >= 3 and tuple(low[-2:]) in _TOKEN_UNITS_2:
        return " ".join(parts[:-2]), _TOKEN_UNITS_2[tuple(low[-2:])]
    if len(parts) >= 2 and low[-1] in _TOKEN_UNITS_1:
        return " ".join(parts[:-1]), _TOKEN_UNITS_1[low[-1]]
    return name, None


@dataclass(frozen=True)
class NameHit:
    """One piece of name evidence for a column: a rule or term and how strong it is."""

    property: str | None
    #: the unit the family documents for this name (None for vocabulary terms)
    unit: str | None
    family: str
    score: float
    order: int
    kind: str = "value"
    transform: str | None = None
    optype: str | None = None
    exact: bool = True
    #: qualifiers seen in the name (``wet``/``dry``/``mass``/``volume``)
    qualifiers: frozenset[str] = frozenset()
    #: the unit the name itself declares (``(bu/ac)``, ``_mph_``)
    declared: str | None = None


def _has(toks: list[str], words: tuple[str, ...]) -> bool:
    for w in words:
        for t in toks:
            if t == w or (len(w) >= 4 and w in t):
                return True
    return False


def _split_compounds(toks: list[str]) -> list[str]:
    """Add the parts around a yield word of compound tokens (``vryieldvol`` → ``vr``, ``vol``)."""
    out = list(toks)
    for t in toks:
        for w in ("yield", "yild", "yld"):
            if w in t and t != w:
                out += [p for p in t.split(w, 1) if p]
                break
    return out


def _qualifiers(toks: list[str]) -> frozenset[str]:
    out = set()
    # one-letter qualifiers only as separate tokens after a yield word (Yld_Mass_W)
    for name, words in (
        ("wet", _WET),
        ("dry", _DRY),
        ("mass", _MASS),
        ("volume", _VOL),
    ):
        if any(t in words for t in toks) or any(
            len(w) >= 4 and w in t for w in words for t in toks
        ):
            out.add(name)
    if "wet" in out and "dry" in out:
        out -= {"wet", "dry"}
    return frozenset(out)


_DDI_NAME = re.compile(r"^'?(?P<ddi>\d{1,5})/(?P<det>-?\d+)$")


def ddi_hit(name: str) -> NameHit | None:
    """A column named by its ISO 11783-11 DDI, as TLG-to-CSV decoders write (``'90/-1``).

    The DDI dictionary gives the meaning and unit (``leafnb.formats.isoxml.ddi``).
    Point DDIs map to their property (a logged value holds until the next one, as in
    a time log: ``fill``); total DDIs (running totals such as 90 Yield Total Mass) give
    the per-record increments (``increments``); 141 is the work state. Only DDIs of
    resolution 1 are mapped: whether a decoder wrote raw or scaled values cannot be
    told for the others. Any other DDI is a known column with no property.
    """
    m = _DDI_NAME.match(name.strip())
    if not m:
        return None
    from leafnb.formats.isoxml import ddi as dd

    number = int(m.group("ddi"))
    entry = dd.ddi_entry(number)
    order = len(RULES) + len(TERMS) + number
    prop, transform = None, None
    if number == dd.WORK_STATE:
        prop, transform = "recordingStatus", "work_state"
    elif entry.resolution == 1 and number in dd.POINT_PROPERTIES:
        prop, transform = dd.POINT_PROPERTIES[number], "fill"
    elif entry.resolution == 1 and number in dd.DELTA_PROPERTIES:
        prop, transform = dd.DELTA_PROPERTIES[number], "increments"
    return NameHit(prop, entry.unit, "isoxml_csv", 1.0, order, transform=transform)


@functools.lru_cache(maxsize=4096)  # (bounded: column names come from users' files)
def name_hits(name: str, header_units: bool = True) -> tuple[NameHit, ...]:
    """Every piece of name evidence for column *name*, strongest first.

    Exact vendor rules score 1.0 (generic exact names 0.9); vocabulary terms 0.6.
    The declared unit of the name (``(unit)``, ``_mph_``) is carried on each hit.
    """
    ddi = ddi_hit(name)
    if ddi is not None:
        return (ddi,)
    base, hunit = header_unit(name) if header_units else (name, None)
    hits: list[NameHit] = []
    for key in dict.fromkeys((normalise_key(base), normalise_key(name))):
        # a unit belongs to the name only when the name without it is the known one
        declared = hunit if key == normalise_key(base) else None
        for order, rule in _INDEX.get(key, []):
            hits.append(
                NameHit(
                    rule.property,
                    rule.unit,
                    rule.family,
                    0.9 if rule.family == "generic" else 1.0,
                    order,
                    rule.kind,
                    rule.transform,
                    rule.optype,
                    True,
                    declared=declared,
                )
            )
    toks = _split_compounds(tokens(base))
    quals = _qualifiers(toks)
    for order, term in enumerate(TERMS):
        if not _has(toks, term.words):
            continue
        if any(not _has(toks, group) for group in term.needs):
            continue
        if term.forbids and any(
            t == w or (len(w) >= 5 and t.startswith(w))
            for w in term.forbids
            for t in toks
        ):
            continue
        hits.append(
            NameHit(
                term.property,
                None,
                "generic",
                0.6 + (0.1 if term.property == YIELD and quals else 0.0),
                len(RULES) + order,
                term.kind,
                term.transform,
                term.optype,
                False,
                quals,
                hunit,
            )
        )
    return tuple(sorted(hits, key=lambda h: (-h.score, h.order)))


def dedupe_names(names: list[str] | tuple[str, ...]) -> list[str]:
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
