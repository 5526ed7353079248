"""Column inference: which source column is which standard property, in which unit, how sure.

Every tabular reader (CSV/TXT, shapefile DBF, GeoPackage, GeoJSON) calls
:func:`infer_columns` with the column names and, when it has them, the values. Each
column is scored against each candidate property by three kinds of evidence; the best
consistent assignment wins and is recorded (``ColumnMatch.record()`` → the file's
``columnMapping``), together with the columns left unused and why.

Name (:mod:`leafnb.formats.columns`)
    An exact vendor name scores 1.0 (a generic exact name 0.9); a vocabulary match
    0.6 (0.7 for a yield word with a wet/dry/mass/volume qualifier). A column with an
    exact rule of the file's vendor family is judged by that rule only (vendor
    documentation beats vocabulary); a vendor marker (known, no standard property)
    leaves the column unused.
Unit
    A unit declared in the name (``(bu/ac)``, ``Speed_mph_``, ``Yield_kg_ha``), in file
    metadata (John Deere ``.json``) or by the user is taken as given (+0.2), and must
    fit the property's dimension (a mass unit cannot be a speed: the candidate is
    dropped). Otherwise the family's documented default is used; a generic or
    vocabulary match has no documented unit, so the unit is *chosen from the values*:
    the candidate units of the property's dimension are tried in the order of the
    region's convention (imperial first in North America — longitude −170…−50°,
    latitude 15…75° — metric first elsewhere), and the first under which the values
    are plausible wins (``Dry_Yield`` with a median of 1,200 is lb/ac, not bu/ac;
    ``cutwidth`` 240 is inches, not feet).
Values (plausibility, in canonical units: see :data:`PLAUSIBLE`)
    At least 80 % of the values inside the property's physical range and the median
    inside its typical range: +0.2; otherwise −0.5. Text in a numeric property, or a
    0/1 flag where a quantity is expected (a cotton ``Moisture`` column that only
    says whether the sensor saw moisture), removes the candidate. Time columns are
    classified by :func:`leafnb.formats.timeparse.classify_numeric_time` (epoch
    seconds vs seconds of day vs relative seconds) and text times by their pattern.
Bare mass words
    A name that is only a mass word (``mass``, ``Masse``, ``weight``; no yield, rate or
    flow word) is the crop's mass: a mass flow (``cropFlow``) when the file names a
    per-record logging interval (``seconds``, ``cycle``, ``duration``: the flow's time
    base, +0.1), else a mass per record (``wetMass``); the unit and plausibility are
    chosen from the values as for any vocabulary match (UMN's
    ``rownames,long,lat,mass,time,seconds,…``: ``mass`` 16-30 → lb/s in Minnesota).
Cross-column check
    A record's distance divided by its logging interval must be a plausible median
    ground speed (0.2–6 m/s for a harvest, 0.2–12 m/s otherwise); when it is not and
    the distance unit was only assumed, the length unit that makes it plausible is
    taken (Ag Leader distances are inches).
Assignment
    Candidates are taken best score first, each property and each column once
    (timestamp sources once per kind); scores below 0.5 are not used. Product/Crop
    columns whose meaning depends on the operation type are assigned in a second pass,
    once the type is known. A user mapping (``columnMapping``) is applied before all
    and always wins.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.errors import InvalidRequest
from leafnb.formats.base import Column
from leafnb.formats.columns import (
    BARE_MASS,
    FAMILY_ORDER,
    FAMILY_PROVIDER,
    PRODUCT_NAME,
    YIELD,
    NameHit,
    common_words,
    header_unit,
    name_hits,
    normalise_key,
)
from leafnb.formats.timeparse import classify_numeric_time, looks_like_time_of_day
from leafnb.formats.transforms import (
    SMALL_CELLS,
    TOGETHER_CELLS,
    NumericColumn,
    coerce_numeric,
    coerce_numeric_columns,
)
from leafnb.standard.optype import detect_operation_type
from leafnb.standard.units import convert, parse_unit

__all__ = [
    "PLAUSIBLE",
    "ColumnMatch",
    "infer_columns",
    "match_columns",
    "parse_user_mapping",
]

ACCEPT = 0.5

FAMILY_LABEL = {
    "sms": "Ag Leader SMS",
    "agleader": "Ag Leader advanced text",
    "jd": "John Deere",
    "trimble": "Trimble",
    "yield_logger": "yield logger",
    "farmobile": "Farmobile",
    "isoxml_csv": "ISOXML time log (DDI columns)",
    "generic": "generic",
}

# property -> (canonical unit, values lo, hi, median lo, hi)
_MASS_AREA = ("kg/ha", 0.0, 3.0e5, 50.0, 1.5e5)
_VOL_AREA = ("m3/ha", 0.0, 100.0, 0.1, 50.0)
_MASS = ("kg", 0.0, 1.0e4, 1e-3, 5000.0)
_VOL = ("m3", 0.0, 20.0, 1e-6, 5.0)
#: physical and typical ranges of each property (canonical unit, lo, hi, median lo, hi)
PLAUSIBLE: dict[str, tuple[str, float, float, float, float]] = {
    "harvestMoisture": ("%", 0.0, 80.0, 1.0, 60.0),
    "speed": ("m/s", 0.0, 30.0, 0.2, 15.0),
    "equipmentWidth": ("m", 0.0, 70.0, 0.3, 60.0),
    "distance": ("m", 0.0, 200.0, 0.005, 50.0),
    "heading": ("deg", -360.0, 360.0, -360.0, 360.0),
    "elevation": ("m", -450.0, 9000.0, -450.0, 6000.0),
    "cropFlow": ("kg/s", 0.0, 200.0, 0.01, 80.0),
    "samplingInterval": ("s", 0.0, 3600.0, 0.05, 60.0),
    "seedRate": ("seeds/ha", 0.0, 5.0e7, 1.0e4, 2.0e7),
    "seedRateTarget": ("seeds/ha", 0.0, 5.0e7, 1.0e4, 2.0e7),
    "wetMassPerArea": _MASS_AREA,
    "dryMassPerArea": _MASS_AREA,
    "wetVolumePerArea": _VOL_AREA,
    "dryVolumePerArea": _VOL_AREA,
    "wetMass": _MASS,
    "dryMass": _MASS,
    "wetVolume": _VOL,
    "dryVolume": _VOL,
    "tillageDepthActual": ("cm", 0.0, 100.0, 0.5, 60.0),
    "tillageDepthTarget": ("cm", 0.0, 100.0, 0.5, 60.0),
    "area": ("m2", 0.0, 5000.0, 0.01, 500.0),
}

# candidate units when the source declares none: (imperial order, metric order)
_UNIT_CHOICES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "harvestMoisture": (("%",), ("%",)),
    "speed": (("mi/hr", "km/h", "m/s"), ("km/h", "m/s", "mi/hr")),
    "equipmentWidth": (("ft", "in", "m", "cm"), ("m", "cm", "ft", "in")),
    "distance": (("ft", "in", "m", "cm"), ("m", "cm", "ft", "in")),
    "elevation": (("ft", "m"), ("m", "ft")),
    "heading": (("deg",), ("deg",)),
    "cropFlow": (("lb/s", "kg/s", "t/h"), ("kg/s", "t/h", "lb/s")),
    "samplingInterval": (("s", "ms"), ("s", "ms")),
    "seedRate": (
        ("seeds/ac", "ksds/ac", "seeds/ha"),
        ("seeds/ha", "seeds/m2", "seeds/ac"),
    ),
    "seedRateTarget": (
        ("seeds/ac", "ksds/ac", "seeds/ha"),
        ("seeds/ha", "seeds/m2", "seeds/ac"),
    ),
    "appliedRate": (("gal/ac", "lb/ac"), ("L/ha", "kg/ha")),
    "appliedRateTarget": (("gal/ac", "lb/ac"), ("L/ha", "kg/ha")),
    "tillageDepthActual": (("in", "cm"), ("cm", "in")),
    "tillageDepthTarget": (("in", "cm"), ("cm", "in")),
    "area": (("ft2", "m2"), ("m2", "ft2")),
    "wetMass": (("lb", "kg", "t"), ("kg", "t", "lb")),
    "dryMass": (("lb", "kg", "t"), ("kg", "t", "lb")),
}
# yield columns: (property suffix, unit) options in the region's order
_YIELD_CHOICES = (
    (("VolumePerArea", "bu/ac"), ("MassPerArea", "lb/ac"), ("MassPerArea", "t/ha"),
     ("MassPerArea", "kg/ha")),
    (("MassPerArea", "t/ha"), ("MassPerArea", "kg/ha"), ("VolumePerArea", "bu/ac"),
     ("MassPerArea", "lb/ac")),
)  # fmt: skip

_NUMERIC_KINDS = {
    "harvestMoisture", "speed", "equipmentWidth", "distance", "heading", "elevation",
    "cropFlow", "samplingInterval", "seedRate", "seedRateTarget", "appliedRate",
    "appliedRateTarget", "tillageDepthActual", "tillageDepthTarget", "area",
    "wetMassPerArea", "dryMassPerArea", "wetVolumePerArea", "dryVolumePerArea",
    "wetMass", "dryMass", "wetVolume", "dryVolume", "xOffset", "yOffset",
    "downForce", "downForceMargin", "singulation", "skips", "doubles", "groundContact",
    "fuelUsed", "fuelRate", "proteinPercentage", "seedDepth", "seedSpacing",
}  # fmt: skip
_FLAG_OK = {"recordingStatus", "sectionId"}


def _imperial(lon: float | None, lat: float | None) -> bool:
    """North America uses US customary units on monitors; no position → imperial (Leaf default)."""
    if lon is None or lat is None or not np.isfinite(lon) or not np.isfinite(lat):
        return True
    return -170.0 <= lon <= -50.0 and 15.0 <= lat <= 75.0


@dataclass
class Mapped:
    """How one source column was understood."""

    property: str
    unit: str | None
    score: float
    basis: list[str] = field(default_factory=list)
    kind: str | None = None


@dataclass
class ColumnMatch:
    """Result of :func:`infer_columns`."""

    family: str | None
    columns: dict[str, Column] = field(default_factory=dict)
    #: timestamp sources: kind → source column
    time_sources: dict[str, str] = field(default_factory=dict)
    #: numeric time columns: source → encoding (epoch_s, epoch_ms, seconds_of_day, relative)
    time_kinds: dict[str, str] = field(default_factory=dict)
    #: source column → transform name
    transforms: dict[str, str] = field(default_factory=dict)
    #: family → number of recognised columns
    scores: dict[str, int] = field(default_factory=dict)
    operation_type: str | None = None
    #: source column → how it was understood (mapped columns and time sources)
    details: dict[str, Mapped] = field(default_factory=dict)
    #: source column → why it is not used
    unused: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str | None:
        """Leaf provider of the family (None for generic files)."""
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

    def record(self) -> dict[str, Any]:
        """JSON form recorded on the file resource as ``columnMapping``."""
        cols = {}
        for src, m in self.details.items():
            entry: dict[str, Any] = {
                "property": m.property,
                "unit": m.unit,
                "score": round(float(m.score), 2),
                "basis": "; ".join(m.basis),
            }
            if m.kind:
                entry["timeEncoding"] = m.kind
            cols[src] = entry
        return {
            "family": self.family,
            "provider": self.provider,
            "columns": cols,
            "unused": dict(self.unused),
        }

    def summary(self, limit: int = 12) -> str:
        """One line for status messages: ``A → prop (unit); …; unused: B (why)``."""
        parts = [
            f"{src} → {m.property}" + (f" ({m.unit})" if m.unit else "")
            for src, m in list(self.details.items())[:limit]
        ]
        text = "; ".join(parts) or "no column recognised"
        if self.unused:
            un = [f"{s} ({why})" for s, why in list(self.unused.items())[:limit]]
            text += "; not used: " + "; ".join(un)
        return text


# ------------------------------------------------------------------------ user mapping
def parse_user_mapping(value: Any) -> dict[str, dict[str, Any] | None]:
    """Validate a user column mapping → ``{source: {"property", "unit"?, "timeEncoding"?} | None}``.

    Accepted forms: ``{"Wet_Yield": "wetMassPerArea"}``,
    ``{"Wet_Yield": {"property": "wetMassPerArea", "unit": "lb/ac"}}``,
    ``{"Timestamp": {"property": "timestamp", "timeEncoding": "epoch_s"}}`` and
    ``{"Moisture": None}`` (never use that column).

    Raises
    ------
    InvalidRequest
        Not a mapping, an unknown property or an unparseable unit.
    """
    from leafnb.standard.schema import PROPERTIES

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest(
            "columnMapping must be an object {source column: property}, "
            f"got {type(value).__name__}"
        )
    out: dict[str, dict[str, Any] | None] = {}
    valid = set(PROPERTIES) | {PRODUCT_NAME, "timestamp"}
    encodings = ("epoch_s", "epoch_ms", "seconds_of_day", "datetime", "date", "time")
    for src, spec in value.items():
        if not isinstance(src, str) or not src:
            raise InvalidRequest("columnMapping keys must be source column names")
        if spec is None or spec == "":
            out[src] = None
            continue
        if isinstance(spec, str):
            spec = {"property": spec}
        if not isinstance(spec, Mapping) or not isinstance(spec.get("property"), str):
            raise InvalidRequest(
                f"columnMapping[{src!r}] must be a property name or "
                '{"property": ..., "unit": ...}'
            )
        prop = spec["property"]
        if prop not in valid:
            raise InvalidRequest(
                f"columnMapping[{src!r}]: {prop!r} is not a standard property"
            )
        unit = spec.get("unit")
        if unit is not None:
            try:
                parse_unit(str(unit))
            except ValueError:
                raise InvalidRequest(
                    f"columnMapping[{src!r}]: unit {unit!r} is not a unit leafnb knows"
                ) from None
        enc = spec.get("timeEncoding")
        if enc is not None and enc not in encodings:
            raise InvalidRequest(
                f"columnMapping[{src!r}]: timeEncoding must be one of {', '.join(encodings)}"
            )
        out[src] = {"property": prop, "unit": unit, "timeEncoding": enc}
    return out


# ------------------------------------------------------------------------ value evidence
@dataclass
class _Values:
    """Cheap facts about one column's values (from a sample)."""

    numeric: np.ndarray | None  # finite numeric sample, or None for text
    n: int  # non-null cells in the sample
    text: pa.Array | None = None
    #: (property, unit) → :func:`_plausible` (a column is judged under the same unit
    #: by several candidates and both assignment passes)
    _judged: dict[tuple[str, str | None], bool | None] = field(
        default_factory=dict, repr=False
    )

    @property
    def empty(self) -> bool:
        return self.n == 0

    def plausible(self, prop: str, unit: str | None) -> bool | None:
        """:func:`_plausible` of the numeric values, once per (property, unit)."""
        key = (prop, unit)
        if key not in self._judged:
            self._judged[key] = _plausible(prop, self.numeric, unit)
        return self._judged[key]

    @functools.cached_property
    def median(self) -> float:
        """Median of the numeric values."""
        return exact_median(self.numeric)

    @functools.cached_property
    def time_of_day(self) -> bool:
        """The text values are times of day (asked by every time candidate of a column)."""
        return self.text is not None and looks_like_time_of_day(self.text)

    @functools.cached_property
    def flag(self) -> bool:
        """Only 0 and 1, both present: a yes/no column, not a quantity."""
        v = self.numeric
        if v is None or v.size == 0 or v[0] not in (0.0, 1.0):
            return False  # (most columns: their first value is neither)
        if not np.all((v == 0) | (v == 1)):
            return False
        return bool(np.any(v == 0) and np.any(v == 1))


_SAMPLE = 20_000


#: values :func:`exact_median` sorts in Python (a float64 array of at most this many)
_SORTED_MEDIAN = 32


def exact_median(v: np.ndarray) -> float:
    """``float(np.median(v))`` of a float array, bit for bit, without its overhead.

    The same partition ``np.median`` makes (the middle element(s) and the largest, which
    is NaN when any value is) and the same sum; a small file's column costs the
    partition, not numpy's generic reduction machinery (up to :data:`_SORTED_MEDIAN`
    float64 values, a Python sort: the same middle values).
    (``np.median`` of an even count is the mean of the two middle values, ``(a + b) / 2``.)

    >>> exact_median(np.array([3.0, 1.0, 2.0, 10.0])), exact_median(np.array([2.0, 1.0, 5.0]))
    (2.5, 2.0)
    """
    n = v.size
    if n == 0 or n > 4096 or v.dtype.kind != "f":
        return float(np.median(v))
    k = n // 2
    if n <= _SORTED_MEDIAN and v.dtype == np.float64 and v.ndim == 1:
        # a small file's column: Python's sort of a few floats costs less than a numpy
        # call; the same order statistics once NaN is ruled out (it sorts anywhere), and
        # the same float64 sums (a zero's sign is lost to the +0.0 whichever sorts first)
        ordered = sorted(v.tolist())
        if any(x != x for x in ordered):
            return float("nan")
        if n % 2:
            return 0.0 + ordered[k]
        return (0.0 + ordered[k - 1] + ordered[k]) / 2.0
    part = np.partition(v, [k - 1, k, -1] if n % 2 == 0 else [k, -1])
    if np.isnan(part[-1]):  # NaN sorts last; np.median gives NaN
        return float("nan")
    # np.median is np.mean of the middle: a sum from +0.0 (so -0.0 comes out 0.0)
    if n % 2:
        return float(0.0 + part[k])
    with np.errstate(invalid="ignore"):  # -inf + inf: NaN, as np.median gives
        return float((0.0 + part[k - 1] + part[k]) / 2.0)


def _sample(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    n = len(arr)
    if n > _SAMPLE:  # taken from the chunks: a big column is not copied whole
        rows = np.linspace(0, n - 1, _SAMPLE).astype("int64")
        if isinstance(arr, pa.ChunkedArray) and arr.num_chunks > 1:
            return _take_chunked(arr, rows)
        arr = arr.take(pa.array(rows))
    if isinstance(arr, pa.ChunkedArray):  # one chunk (a small file's): used as it is
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def _take_chunked(arr: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``arr.take(rows).combine_chunks()`` for sorted *rows*, chunk by chunk.

    Arrow's take of a chunked text column made a copy of it whole first (8 ms for 1M
    strings against 4 ms here).

    >>> _take_chunked(pa.chunked_array([["a", "b"], ["c"], ["d", "e"]]), np.array([0, 2, 4]))
    <pyarrow.lib.StringArray object at ...>
    [
      "a",
      "c",
      "e"
    ]
    """
    ends = np.cumsum([len(c) for c in arr.chunks])
    which = np.searchsorted(ends, rows, "right")
    bounds = np.searchsorted(which, np.arange(arr.num_chunks + 1))
    parts = [
        arr.chunk(k).take(pa.array(rows[a:b] - (ends[k] - len(arr.chunk(k)))))
        for k, (a, b) in enumerate(itertools.pairwise(bounds))
        if b > a
    ]
    return pa.concat_arrays(parts) if parts else arr.chunk(0).slice(0, 0)


#: :func:`_values` without a precomputed :func:`coerce_numeric` result
_UNKNOWN: Any = object()


def _small_table_numbers(
    table: pa.Table | None, names: Sequence[str]
) -> dict[str, NumericColumn | None]:
    """:func:`coerce_numeric` of the text columns *names* of a small table, in one pass.

    (:func:`~leafnb.formats.transforms.coerce_numeric_columns`; a small table is not
    sampled, so this is what :func:`_values` would compute column by column.)
    """
    if table is None or table.num_rows > _SAMPLE:
        return {}
    types = {f.name: f.type for f in table.schema}
    text = [
        n
        for n in dict.fromkeys(names)
        if n in types
        and (pa.types.is_string(types[n]) or pa.types.is_large_string(types[n]))
    ]
    if len(text) < 2 or table.num_rows * len(text) > TOGETHER_CELLS:
        return {}  # one column, or too big to be worth it: column by column on demand
    return dict(
        zip(text, coerce_numeric_columns([table[n] for n in text]), strict=True)
    )


def _values(arr: pa.ChunkedArray | pa.Array, num: Any = _UNKNOWN) -> _Values:
    s = _sample(arr)
    if pa.types.is_null(s.type):
        return _Values(None, 0)
    if pa.types.is_timestamp(s.type) or pa.types.is_date(s.type):
        return _Values(None, len(s) - s.null_count, s)
    if pa.types.is_boolean(s.type):
        v = np.asarray(
            pc.drop_null(s).cast(pa.float64()).to_numpy(zero_copy_only=False)
        )
        return _Values(v, v.size)
    if pa.types.is_float64(s.type):  # what coerce_numeric would give, without a cast
        v = np.asarray(s.to_numpy(zero_copy_only=False), dtype="float64")
        v = v[np.isfinite(v)]
        return _Values(v, v.size)
    if num is _UNKNOWN:
        num = coerce_numeric(s) if not pa.types.is_binary(s.type) else None
    if num is not None:
        v = np.asarray(num.values.to_numpy(zero_copy_only=False), dtype="float64")
        v = v[np.isfinite(v)]
        return _Values(v, v.size)
    text = _non_blank(s)
    return _Values(None, len(text), text)


def _non_blank(s: pa.Array) -> pa.Array:
    """The cells of *s* as text, without nulls and cells that are only whitespace.

    A few ASCII cells in Python (Arrow's whitespace is ``str.strip``'s there: three
    kernel calls cost a small file's column more than its cells); else Arrow.
    """
    if pa.types.is_string(s.type) and len(s) <= SMALL_CELLS:
        cells = s.to_pylist()
        if all(v is None or v.isascii() for v in cells):
            return pa.array(
                [v for v in cells if v is not None and v.strip()], pa.string()
            )
    text = pc.drop_null(s if s.type == pa.string() else s.cast(pa.string()))
    return text.filter(pc.not_equal(pc.utf8_trim_whitespace(text), ""))


#: a seed rate by mass or by volume (a drill or an air cart metering seed by weight;
#: ISO 11783's DDI 7 and 2 as a seed rate), physical and typical ranges
_SEED_BY = {
    "mass": ("kg/ha", 0.0, 2000.0, 1.0, 1000.0),
    "volume": ("L/ha", 0.0, 3000.0, 1.0, 1500.0),
}


def _plausible(prop: str, values: np.ndarray, unit: str | None) -> bool | None:
    """True/False when *prop* in *unit* is (im)plausible for the values; None = no check."""
    rng = PLAUSIBLE.get(prop)
    if rng is None or unit is None or values.size == 0:
        return None
    if prop in ("seedRate", "seedRateTarget"):
        rng = _SEED_BY.get(_seed_measure(unit), rng)
    canon, lo, hi, mlo, mhi = rng
    try:
        v = convert(values, unit, canon)
    except Exception:  # pint dimensionality errors: not this unit's kind
        return False
    med = exact_median(v)
    inside = np.count_nonzero((v >= lo) & (v <= hi)) / v.size  # = np.mean
    return inside >= 0.8 and mlo <= med <= mhi


def _typed_meaning(exact: list[NameHit], operation_type: str | None) -> bool:
    """Whether a column's name means another property in a file of the known operation type.

    A John Deere seeding export's ``AppliedRate`` is its seed rate, an application's its
    product's rate: the operation's own rule decides, not the general one.
    """
    if not operation_type:
        return False
    typed = {h.property for h in exact if h.optype == str(operation_type)}
    return bool(typed) and any(
        h.property not in typed for h in exact if h.optype is None
    )


@functools.lru_cache(maxsize=256)
def _seed_measure(unit: str) -> str | None:
    """``count``, ``mass`` or ``volume`` for a seed rate in *unit* (per area); else None."""
    try:
        u = parse_unit(unit)
    except ValueError:
        return None
    for measure, ref in (("count", "seeds/ha"), ("mass", "kg/ha"), ("volume", "L/ha")):
        if parse_unit(ref).dimensionality == u.dimensionality:
            return measure
    return None


@functools.lru_cache(maxsize=4096)
def _fits_dimension(prop: str, unit: str) -> bool:
    from leafnb.standard.schema import PROPERTIES

    dim = PROPERTIES.get(prop, (None, None))[1]
    if dim is None:
        return True
    samples = {
        "length": "m", "depth": "cm", "area": "m2", "speed": "m/s", "angle": "deg",
        "percent": "%", "mass": "kg", "mass_per_area": "kg/ha", "grain_volume": "m3",
        "grain_volume_per_area": "m3/ha", "volume": "L", "volume_rate": "L/hr",
        "seed_rate": "seeds/ha", "force": "kgf", "mass_flow": "kg/s", "time": "s",
    }  # fmt: skip
    try:
        u = parse_unit(unit)
    except ValueError:
        return False
    if dim == "application_rate":
        return any(
            parse_unit(c).dimensionality == u.dimensionality
            for c in ("L/ha", "kg/ha", "seeds/ha")
        )
    if dim == "seed_rate":  # seeds, or seed by mass or volume, per area
        return _seed_measure(unit) is not None
    ref = samples.get(dim)
    return ref is None or parse_unit(ref).dimensionality == u.dimensionality


# ------------------------------------------------------------------------ candidates
@dataclass
class _Cand:
    source: str
    property: str
    unit: str | None
    score: float
    basis: list[str]
    order: int
    kind: str = "value"
    transform: str | None = None
    optype: str | None = None
    reject: str | None = None


def _yield_property(hit: NameHit, unit: str | None) -> list[tuple[str, str | None]]:
    """Concrete (property, unit) options of a yield column."""
    wet = "dry" not in hit.qualifiers and "wet" in hit.qualifiers
    prefix = "wet" if wet else "dry"
    if unit is not None:
        u = parse_unit(unit)
        for suffix, ref in (
            ("MassPerArea", "kg/ha"),
            ("VolumePerArea", "m3/ha"),
            ("Mass", "kg"),
            ("Volume", "m3"),
        ):
            if parse_unit(ref).dimensionality == u.dimensionality:
                return [(prefix + suffix, unit)]
        return []
    return [(prefix + s, None) for s in ("MassPerArea", "VolumePerArea")]


def _choose_unit(
    prop: str, vals: _Values, imperial: bool, qualifiers: frozenset[str] = frozenset()
) -> tuple[str | None, str | None, bool]:
    """(property, unit, plausible) for a column with no declared or documented unit."""
    if prop == YIELD:
        wet = "dry" not in qualifiers and "wet" in qualifiers
        prefix = "wet" if wet else "dry"
        options = _YIELD_CHOICES[0 if imperial else 1]
        if "mass" in qualifiers:
            options = tuple(o for o in options if o[0] == "MassPerArea")
        elif "volume" in qualifiers:
            options = tuple(o for o in options if o[0] == "VolumePerArea")
        if vals.numeric is not None and vals.numeric.size:
            for suffix, unit in options:
                if vals.plausible(prefix + suffix, unit):
                    return prefix + suffix, unit, True
        suffix, unit = options[0]
        return prefix + suffix, unit, False
    choices = _UNIT_CHOICES.get(prop)
    if not choices:
        return prop, None, True
    order = choices[0 if imperial else 1]
    if vals.numeric is not None and vals.numeric.size and prop in PLAUSIBLE:
        for unit in order:
            if vals.plausible(prop, unit):
                return prop, unit, True
        return prop, order[0], False
    return prop, order[0], True


def _time_kind(rule_kind: str, vals: _Values | None) -> tuple[str, str | None]:
    """(time source kind, encoding) from the values (rule kind when there are none)."""
    if vals is None or vals.empty:
        return rule_kind, None
    if vals.numeric is not None:
        enc = classify_numeric_time(vals.numeric)
        kind = {
            "epoch_s": "epoch",
            "epoch_ms": "epoch",
            "seconds_of_day": "time",
            "relative": "relative",
            "yyyymmdd": "date",
        }.get(enc or "", "relative")
        return kind, enc
    if vals.text is not None:
        if pa.types.is_timestamp(vals.text.type) or pa.types.is_date(vals.text.type):
            return ("datetime" if rule_kind not in ("date",) else "date"), None
        if vals.time_of_day:
            return "time", "time_of_day"
    if rule_kind in ("epoch", "relative"):
        return "datetime", None
    return rule_kind, None


#: a name's last token of one letter (``crp_flw_m``, ``Yield_m``)
_LONE_LETTER = re.compile(r"[^A-Za-z][A-Za-z]_*$")


def _evaluate(
    src: str,
    hit: NameHit,
    vals: _Values | None,
    imperial: bool,
    overrides: Mapping[str, str],
) -> list[_Cand]:
    """Turn one name hit into scored candidates (several for an undecided yield column)."""
    basis = [
        (
            f"exact {FAMILY_LABEL.get(hit.family, hit.family)} name"
            if hit.exact
            else "name vocabulary"
        )
    ]
    override = overrides.get(normalise_key(src))
    declared = override or hit.declared
    prop = hit.property
    cands: list[_Cand] = []
    if prop is None:
        return cands
    if prop == "timestamp":
        kind, enc = _time_kind(hit.kind, vals)
        c = _Cand(src, "timestamp", None, hit.score, basis, hit.order, kind=kind)
        if enc:
            c.basis.append(f"values are {enc.replace('_', ' ')}")
            c.transform = enc
        if vals is not None and vals.numeric is not None and enc is None:
            c.reject = "numbers that are no time encoding leafnb knows"
        return [c]
    if prop == YIELD:
        options = _yield_property(hit, declared)
        if not options:
            return [
                _Cand(
                    src, YIELD, declared, hit.score, basis, hit.order,
                    reject=f"unit {declared} is not a yield unit",
                )
            ]  # fmt: skip
        props = [p for p, _ in options]
    else:
        props = [prop]
    for p in dict.fromkeys(props):
        c = _Cand(
            src, p, None, hit.score, list(basis), hit.order,
            transform=hit.transform, optype=hit.optype,
        )  # fmt: skip
        if p in _NUMERIC_KINDS and vals is not None and not vals.empty:
            if vals.numeric is None:
                c.reject = "values are text"
            elif vals.flag and p not in _FLAG_OK:
                c.reject = "values are a 0/1 flag"
        if p == "recordingStatus" and vals is not None and not vals.empty:
            _status_evidence(c, vals, hit)
        unit = declared
        if (
            unit is not None
            and not override
            and not _fits_dimension(p, unit)
            and _LONE_LETTER.search(src)
        ):
            # SMS's one-letter qualifiers ("Crop Flw(M)": mass, "(V)": volume) stay the
            # last token of a name cut to fit a DBF ("crp_flw_m"): not metres
            unit = None
            c.basis.append(f"last letter of {src!r} a qualifier, not a unit")
        if unit is not None:
            if not _fits_dimension(p, unit):
                c.reject = c.reject or f"unit {unit} does not fit {p}"
            else:
                c.unit = unit
                c.score += 0.2
                c.basis.append(
                    "unit from file metadata" if override else "unit in the name"
                )
        elif hit.exact and hit.unit and hit.family != "generic":
            c.unit = hit.unit
            c.basis.append(f"{FAMILY_LABEL.get(hit.family)} default unit")
        elif p in PLAUSIBLE or p in _UNIT_CHOICES or prop == YIELD:
            q = hit.qualifiers if prop == YIELD else frozenset()
            if prop == YIELD and len(props) > 1:
                # mass vs volume undecided: let the values choose once, below
                c.property, c.unit, ok = _choose_unit(
                    YIELD, vals or _Values(None, 0), imperial, q
                )
            else:
                _, c.unit, ok = _choose_unit(p, vals or _Values(None, 0), imperial, q)
            region = "North American" if imperial else "metric"
            if vals is not None and vals.numeric is not None and vals.numeric.size:
                c.basis.append(
                    f"unit chosen from the values ({region} order)"
                    if ok
                    else "no unit makes the values plausible"
                )
            else:
                c.basis.append(f"unit assumed ({region} convention)")
        if (
            c.reject is None
            and vals is not None
            and vals.numeric is not None
            and vals.numeric.size
            and c.property in PLAUSIBLE
        ):
            ok = vals.plausible(c.property, c.unit)
            if ok is True:
                c.score += 0.2
                med = vals.median
                c.basis.append(f"values plausible (median {med:.4g} {c.unit})")
            elif ok is False:
                c.score -= 0.5
                med = vals.median
                c.basis.append(f"values implausible in {c.unit} (median {med:.4g})")
        if vals is not None and vals.empty and hit.exact:
            c.score -= 0.3
            c.basis.append("column is empty")
        elif vals is not None and vals.empty:
            c.reject = c.reject or "column is empty"
        if hit.kind == BARE_MASS:
            c.kind = BARE_MASS
            c.basis.append("a bare mass word")
        cands.append(c)
        if prop == YIELD and len(props) > 1:
            break  # one decided yield candidate
    return cands


def _bare_mass_evidence(cands: list[_Cand], interval: str | None) -> None:
    """A bare mass word is a flow when the file logs an interval, else a mass per record.

    Both readings can be plausible (25 lb every 3 s is a per-record mass and 25 lb/s a
    combine's grain flow); a flow is only usable with a time base to integrate it over,
    and yield monitors that log one write the flow (Ag Leader, Yield Editor, UMN).
    """
    for c in cands:
        if c.kind != BARE_MASS or c.reject:
            continue
        if c.property == "cropFlow":
            if interval is None:
                c.reject = (
                    "a mass flow needs a logging-interval column, and none is named"
                )
            else:
                c.score += 0.1
                c.basis.append(f"the file logs an interval ({interval!r})")


def _status_evidence(c: _Cand, vals: _Values, hit: NameHit) -> None:
    """A recording status holds On/Off words, 0/1, or Ag Leader header codes (33/1)."""
    if vals.numeric is not None:
        distinct = np.unique(vals.numeric)
        if distinct.size > 6:
            c.reject = "more than a few distinct values: not an on/off status"
            return
        if c.transform is None:
            c.transform = "agleader_status"  # numeric status codes: bit 0 = logging
        return
    if vals.text is not None:
        low = pc.unique(pc.utf8_lower(pc.utf8_trim_whitespace(vals.text))).to_pylist()
        words = {"on", "off", "true", "false", "yes", "no", "up", "down", "in", "out"}
        if not set(low) <= words:
            c.reject = "text values are not on/off words"
        elif c.transform is None:
            c.transform = "on_off"


# ------------------------------------------------------------------------ the matcher
def _pick_family(
    hits: Mapping[str, tuple[NameHit, ...]],
) -> tuple[str | None, dict[str, int]]:
    """The vendor family: the one whose *distinctive* names the file uses most.

    ``scores`` counts, per family, the columns it has an exact rule for (what
    ``recognised`` reports). The vote only counts names that point at vendors: a name
    every tool may write (a generic rule) votes for nobody, and a name several vendors
    use (``Distance``) splits its vote. A family needs one full vote to be chosen.
    """
    common = common_words()
    scores: dict[str, int] = {}
    votes: dict[str, float] = {}
    for name, hs in hits.items():
        fams = {h.family for h in hs if h.exact}
        if not fams:
            continue
        for fam in fams:
            scores[fam] = scores.get(fam, 0) + 1
        key = normalise_key(header_unit(name)[0])
        if "generic" in fams or key in common:
            continue
        for fam in fams:
            votes[fam] = votes.get(fam, 0.0) + 1.0 / len(fams)
    if votes:
        best = max(votes, key=lambda f: (votes[f], -FAMILY_ORDER.index(f)))
        if votes[best] >= 1.0:
            return best, scores
    return ("generic" if hits else None), scores


def infer_columns(
    names: Sequence[str],
    *,
    table: pa.Table | None = None,
    family: str | None = None,
    operation_type: str | None = None,
    header_units: bool = True,
    unit_overrides: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
    user_mapping: Mapping[str, Any] | None = None,
    lon_hint: float | None = None,
    lat_hint: float | None = None,
    text_columns: Iterable[str] = (),
) -> ColumnMatch:
    """Map source columns to standard properties by name, unit and values.

    Parameters
    ----------
    names
        Source column names in file order.
    table
        The records (values make the evidence); without it only names and declared
        units count (cheap sniffing).
    family
        Force a vendor family; by default the family recognising most columns wins.
    operation_type
        Known operation type (enables type-specific rules); detected otherwise.
    header_units
        Read units declared in names (``(unit)``, ``_mph_``).
    unit_overrides
        ``{source column (case-insensitive): unit}`` from file metadata.
    exclude
        Source names never mapped (the coordinate columns).
    user_mapping
        ``{source: property | {"property", "unit", "timeEncoding"} | None}``; wins.
    lon_hint, lat_hint
        Where the records are (picks the regional unit convention).
    text_columns
        Text columns of *table* the reader already found not numeric
        (:func:`~leafnb.formats.transforms.coerce_numeric` gave None): not read again.

    Examples
    --------
    >>> m = infer_columns(["Yld_Vol_Dr", "Moisture__", "Speed_mph_"])
    >>> m.family, m.columns["Yld_Vol_Dr"].property
    ('sms', 'dryVolumePerArea')
    """
    excluded = {normalise_key(n) for n in exclude}
    user = parse_user_mapping(user_mapping)
    user_keys = {normalise_key(k): k for k in user}
    overrides = {normalise_key(k): str(v) for k, v in (unit_overrides or {}).items()}
    imperial = _imperial(lon_hint, lat_hint)
    hits: dict[str, tuple[NameHit, ...]] = {}
    order: list[str] = []
    for n in names:
        if normalise_key(n) in excluded or n in hits:
            continue
        order.append(n)
        hits[n] = name_hits(n, header_units)
    chosen, fam_scores = _pick_family(hits)
    family = family or chosen
    allowed = (family, "generic")
    result = ColumnMatch(family=family, scores=fam_scores)
    values: dict[str, _Values] = {}
    in_table = set(table.schema.names) if table is not None else set()
    numbers: dict[str, NumericColumn | None] = dict.fromkeys(text_columns)
    numbers.update(_small_table_numbers(table, [n for n in order if n not in numbers]))

    def vals_of(src: str) -> _Values | None:
        if src not in in_table:
            return None
        if src not in values:
            values[src] = _values(table[src], numbers.get(src, _UNKNOWN))
        return values[src]

    taken_props: dict[str, str] = {}
    taken_cols: set[str] = set()
    #: a column named like a per-record logging interval (a flow's time base)
    interval = next(
        (s for s in order if any(h.property == "samplingInterval" for h in hits[s])),
        None,
    )

    # 1. the user's mapping wins
    for src in order:
        key = normalise_key(src)
        if key not in user_keys:
            continue
        spec = user[user_keys[key]]
        taken_cols.add(src)
        if spec is None:
            result.unused[src] = "excluded by the column mapping"
            continue
        prop = spec["property"]
        if prop == "timestamp":
            enc = spec.get("timeEncoding")
            kind = {
                "epoch_s": "epoch", "epoch_ms": "epoch", "seconds_of_day": "time",
                "datetime": "datetime", "date": "date", "time": "time",
            }.get(enc or "")  # fmt: skip
            if kind is None:
                kind, enc = _time_kind("datetime", vals_of(src))
            result.time_sources[kind] = src
            if enc in ("epoch_s", "epoch_ms", "seconds_of_day", "relative"):
                result.time_kinds[src] = enc
            result.details[src] = Mapped(
                "timestamp", None, 1.0, ["column mapping"], enc or kind
            )
            continue
        unit = spec.get("unit")
        if unit is None and (prop in PLAUSIBLE or prop in _UNIT_CHOICES):
            v = vals_of(src) or _Values(None, 0)
            _, unit, _ok = _choose_unit(prop, v, imperial)
        taken_props[prop] = src
        result.columns[src] = Column(prop, unit)
        result.details[src] = Mapped(prop, unit, 1.0, ["column mapping"])
        t = _default_transform(prop, vals_of(src))
        if t:
            result.transforms[src] = t

    def candidates(with_optype: str | None) -> list[_Cand]:
        out: list[_Cand] = []
        for src in order:
            if src in taken_cols:
                continue
            hs = hits[src]
            exact = [h for h in hs if h.exact and h.family in allowed]
            usable = exact or [h for h in hs if not h.exact]
            # the family's own rule before a generic one
            usable.sort(key=lambda h: (h.family != family, -h.score, h.order))
            if with_optype is None and _typed_meaning(exact, operation_type):
                continue  # (its rule for the known operation type, in the second pass)
            own = [h for h in exact if h.family == family]
            if own and all(h.property is None for h in own):  # a vendor marker
                if with_optype is None:
                    result.unused[src] = (
                        f"known {FAMILY_LABEL.get(family, family)} column "
                        "with no standard property"
                    )
                continue
            for h in usable:
                if h.optype is not None and h.optype != with_optype:
                    continue
                if h.optype is None and with_optype is not None:
                    continue
                for c in _evaluate(src, h, vals_of(src), imperial, overrides):
                    out.append(c)
        _bare_mass_evidence(out, interval)
        return out

    def assign(cands: list[_Cand]) -> None:
        cands.sort(key=lambda c: (-c.score, c.order))
        best_reject: dict[str, str] = {}
        for c in cands:
            if c.source in taken_cols:
                continue
            if c.reject:
                best_reject.setdefault(
                    c.source, f"named like {c.property}, but {c.reject}"
                )
                continue
            if c.score < ACCEPT:
                best_reject.setdefault(
                    c.source,
                    f"named like {c.property}, but the evidence is weak "
                    f"(score {c.score:.2f}: {'; '.join(c.basis)})",
                )
                continue
            if c.property == "timestamp":
                if c.kind in result.time_sources:
                    best_reject.setdefault(
                        c.source,
                        f"another {c.kind} column ({result.time_sources[c.kind]!r}) is used",
                    )
                    continue
                result.time_sources[c.kind] = c.source
                if c.transform in ("epoch_s", "epoch_ms", "seconds_of_day", "relative"):
                    result.time_kinds[c.source] = c.transform
                result.details[c.source] = Mapped(
                    "timestamp", None, c.score, c.basis, c.transform or c.kind
                )
                taken_cols.add(c.source)
                continue
            if c.property in taken_props:
                best_reject.setdefault(
                    c.source,
                    f"{c.property} is already taken by {taken_props[c.property]!r}",
                )
                continue
            taken_props[c.property] = c.source
            taken_cols.add(c.source)
            result.columns[c.source] = Column(c.property, c.unit)
            result.details[c.source] = Mapped(c.property, c.unit, c.score, c.basis)
            transform = c.transform or _default_transform(c.property, vals_of(c.source))
            if transform:
                result.transforms[c.source] = transform
        for src, why in best_reject.items():
            if src not in taken_cols:
                result.unused[src] = why

    assign(candidates(None))
    optype = operation_type or detect_operation_type(
        c.property for c in result.columns.values()
    )
    result.operation_type = str(optype) if optype else None
    if result.operation_type:
        assign(candidates(result.operation_type))
    for src in order:
        if src not in taken_cols and src not in result.unused:
            result.unused[src] = _unrecognised(
                hits[src], allowed, result.operation_type
            )
    for src in list(result.unused):
        if src in taken_cols and src in result.columns:
            del result.unused[src]
    if table is not None:
        _check_distance(result, table, imperial)
    # keep file order in the record
    result.details = {s: result.details[s] for s in order if s in result.details}
    result.unused = {s: result.unused[s] for s in order if s in result.unused}
    return result


def _unrecognised(hs: tuple[NameHit, ...], allowed, optype: str | None) -> str:
    """Why a column without a candidate is unused: a type-specific name, or unknown."""
    typed = sorted(
        {h.optype for h in hs if h.optype and h.property and h.family in allowed}
    )
    if typed:
        what = " or ".join(typed)
        now = f", and this file is {optype}" if optype else ""
        return f"its name means a property of {what} files{now}"
    return "name not recognised"


def _default_transform(prop: str, vals: _Values | None) -> str | None:
    if prop == "crop":
        return "crop"
    if prop == "recordingStatus":
        if vals is not None and vals.numeric is not None and vals.numeric.size:
            return "agleader_status"  # numeric status codes: bit 0 = logging
        return "on_off"
    return None


def _check_distance(result: ColumnMatch, table: pa.Table, imperial: bool) -> None:
    """Distance ÷ logging interval must be a ground speed; fix an assumed length unit."""
    by_prop = {c.property: s for s, c in result.columns.items()}
    d_src, i_src = by_prop.get("distance"), by_prop.get("samplingInterval")
    if not d_src or not i_src:
        return
    det = result.details[d_src]
    if any(
        b in ("unit in the name", "unit from file metadata", "column mapping")
        for b in det.basis
    ):
        return
    d = _values(table[d_src]).numeric
    i_col = _sample(table[i_src])
    num = coerce_numeric(i_col)
    dn = coerce_numeric(_sample(table[d_src]))
    if d is None or num is None or dn is None:
        return
    dist = np.asarray(dn.values.to_numpy(zero_copy_only=False), dtype="float64")
    iv = np.asarray(num.values.to_numpy(zero_copy_only=False), dtype="float64")
    iv_unit = result.columns[i_src].unit or "s"
    iv_s = convert(iv, iv_unit, "s")
    ok = np.isfinite(dist) & np.isfinite(iv_s) & (iv_s > 0) & (dist > 0)
    if ok.sum() < 10:
        return

    def speed(unit: str) -> float:
        return exact_median(convert(dist[ok], unit, "m") / iv_s[ok])

    # median ground speed of field work: combines harvest below ~6 m/s (22 km/h);
    # sprayers and spreaders stay below ~12 m/s (43 km/h)
    top = 6.0 if result.operation_type == "harvested" else 12.0
    current = det.unit or "m"
    if 0.2 <= speed(current) <= top:
        det.basis.append(f"distance per interval is {speed(current):.2f} m/s")
        return
    for unit in _UNIT_CHOICES["distance"][0 if imperial else 1]:
        if 0.2 <= speed(unit) <= top:
            result.notes.append(
                f"{d_src!r}: distances in {current} would mean {speed(current):.1f} m/s "
                f"over {i_src!r}; read as {unit} ({speed(unit):.2f} m/s)"
            )
            result.columns[d_src] = Column("distance", unit)
            det.unit = unit
            det.basis.append(f"unit from distance ÷ interval ({speed(unit):.2f} m/s)")
            return


def match_columns(
    names: Sequence[str],
    *,
    family: str | None = None,
    operation_type: str | None = None,
    header_units: bool = True,
    unit_overrides: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
) -> ColumnMatch:
    """Map column *names* by name and declared units only (no values): for sniffing.

    See :func:`infer_columns`.
    """
    return infer_columns(
        names,
        family=family,
        operation_type=operation_type,
        header_units=header_units,
        unit_overrides=unit_overrides,
        exclude=exclude,
    )
