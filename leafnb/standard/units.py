"""Units: Leaf's unit strings, a pint registry, and the DEFAULT/METRIC/IMPERIAL systems (spec §2.3).

Values are stored in the unit the source gave (``DEFAULT``) or converted to one unit
system. Leaf writes units as short strings (``ft``, ``mi/hr``, ``arcdeg``, ``bu/ac``,
``seeds/ac``, ``prcnt``...); this module parses those (and the usual spellings found in
machine-file headers) into pint units, and converts whole arrays with one factor.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from enum import StrEnum
from pathlib import Path

import numpy as np

__all__ = [
    "UnitSystem",
    "adapt_unit",
    "conversion_factor",
    "convert",
    "dimension_of",
    "get_registry",
    "leaf_unit",
    "parse_unit",
    "target_unit",
]


class UnitSystem(StrEnum):
    """``unitMeasurement`` values (spec §2.3, §12)."""

    DEFAULT = "DEFAULT"
    METRIC = "METRIC"
    IMPERIAL = "IMPERIAL"


def _import_pint():
    """``import pint`` without importing dask (imported when pint first needs it).

    pint's ``compat`` imports ``dask.base`` whenever dask is installed (0.2–0.5 s, with
    jinja2 behind it) only to give its quantities dask's collection methods
    (``compute``, ``persist``, ``visualize``, ``__dask_graph__``). leafnb never needs
    them converting files, so while pint is imported its probe
    (``importlib.util.find_spec("dask")``, asked from ``pint.compat`` only) answers
    "not installed", and the four names are then bound lazily (:class:`_LazyDask`): the
    first use imports dask, as pint would have, and a pint quantity of a dask array
    behaves as before. Nothing else sees the probe (other callers and threads get the
    real answer; the import system does not use it). When dask is already imported (a
    Dask executor, a user's session) pint is imported as usual.
    """
    import importlib.util
    import sys

    if "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    real = importlib.util.find_spec

    def find_spec(name, package=None):
        if (
            name == "dask"
            and sys._getframe(1).f_globals.get("__name__") == "pint.compat"
        ):
            return None
        return real(name, package)

    importlib.util.find_spec = find_spec
    try:
        import pint
    finally:
        importlib.util.find_spec = real
    compat = sys.modules["pint.compat"]
    if getattr(compat, "find_spec", None) is find_spec:
        compat.find_spec = real
    if not getattr(compat, "HAS_DASK", True) and real("dask") is not None:
        lazy = _LazyDask()
        compat.HAS_DASK = True
        for module in (compat, sys.modules.get("pint.facets.dask")):
            for name in ("compute", "persist", "visualize", "dask_array"):
                if module is not None and hasattr(module, name):
                    setattr(module, name, getattr(lazy, name))
    return pint


class _LazyDask:
    """dask's ``compute``/``persist``/``visualize`` and ``dask.array``, imported at first use."""

    class _Array:
        def __getattr__(self, attr: str):
            import dask.array

            return getattr(dask.array, attr)

    dask_array = _Array()

    @staticmethod
    def compute(*args, **kwargs):
        from dask.base import compute

        return compute(*args, **kwargs)

    @staticmethod
    def persist(*args, **kwargs):
        from dask.base import persist

        return persist(*args, **kwargs)

    @staticmethod
    def visualize(*args, **kwargs):
        from dask.base import visualize

        return visualize(*args, **kwargs)


_registry = None
_registry_lock = threading.Lock()


def get_registry():
    """The pint registry with leafnb's definitions (created on first use: pint is slow to import).

    One a process, also when threads ask for it first at once (uploads in background
    threads, the server): each made its own, and units of two registries met in a later
    step ("Cannot operate with Unit and Unit of different registries").
    """
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = _new_registry()
    return _registry


def _new_registry():
    pint = _import_pint()

    try:
        # pint's disk cache of its parsed definitions: a new process builds the registry
        # ~8x faster — every pool worker makes one
        reg = pint.UnitRegistry(
            autoconvert_offset_to_baseunit=True, cache_folder=_cache_folder(pint)
        )
    except Exception:  # an unwritable or damaged cache: parse the definitions
        reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    # Seeds are counted things: their own dimension keeps seeds/ac apart from 1/ac.
    reg.define("seed = [seed_count] = seeds")
    reg.define("percentage = percent = prcnt")
    reg.define("kiloseed = 1000 * seed = ksds")
    # Farm data means the international acre (43,560 ft² of 0.3048 m); pint's `acre` is
    # the US survey acre (4 ppm larger), which would bias every per-acre total.
    reg.define("intl_acre = 43560 * foot ** 2")
    return reg


def _cache_folder(pint) -> Path:
    """Pint's disk cache folder for *this* pint installation.

    pint's own ``":auto:"`` folder is shared by every installation on the machine and
    names an entry by the hash of the definition file's text, but the entry holds the
    file's absolute path, which pint follows for ``@import constants_en.txt``. An entry
    written by another environment with the same pint version (a removed virtualenv)
    is then found and fails; pint raises and every new process parsed the definitions
    twice. One subfolder per installation directory keeps the entries apart.
    """
    import platformdirs  # pint's own dependency, the way it finds ":auto:"

    home = str(Path(pint.__file__).resolve().parent)
    key = hashlib.sha1(home.encode()).hexdigest()[:16]
    return platformdirs.user_cache_path(appname="pint", appauthor=False) / key


def __getattr__(name: str):
    if (
        name == "ureg"
    ):  # ``from leafnb.standard.units import ureg`` keeps working, lazily
        return get_registry()
    raise AttributeError(name)


# Leaf strings and spellings from machine-file headers -> pint expression.
# Keys are compared after lower-casing and removing spaces.
_ALIASES: dict[str, str] = {
    "m2": "m**2",
    "m²": "m**2",
    "sqm": "m**2",
    "ft2": "ft**2",
    "ft²": "ft**2",
    "sqft": "ft**2",
    "m3": "m**3",
    "m³": "m**3",
    "m3/ha": "m**3/ha",
    "m³/ha": "m**3/ha",
    "m³/s": "m**3/s",
    "m3/s": "m**3/s",
    "mm3/m2": "mm**3/m**2",
    "mi/hr": "mi/hour",
    "mph": "mi/hour",
    "km/h": "km/hour",
    "km/hr": "km/hour",
    "kph": "km/hour",
    "ft/s": "ft/s",
    "ft/sec": "ft/s",
    "m/s": "m/s",
    "arcdeg": "degree",
    "deg": "degree",
    "degrees": "degree",
    "°": "degree",
    "%": "percent",
    "prcnt": "percent",
    "percentage": "percent",
    "pct": "percent",
    "bu": "bushel",
    "bu/ac": "bushel/intl_acre",
    "bu/a": "bushel/intl_acre",
    "bu/ha": "bushel/ha",
    "lb/ac": "lb/intl_acre",
    "lbs/ac": "lb/intl_acre",
    "lb/a": "lb/intl_acre",
    "gal/ac": "gallon/intl_acre",
    "gal/a": "gallon/intl_acre",
    "floz/ac": "fluid_ounce/intl_acre",
    "fl.oz/ac": "fluid_ounce/intl_acre",
    "qt/ac": "quart/intl_acre",
    "t": "tonne",
    "t/ha": "tonne/ha",
    "tonne/ha": "tonne/ha",
    "tonne/h": "tonne/hour",
    "t/h": "tonne/hour",
    "l": "liter",
    "l/ha": "liter/ha",
    "l/m2": "liter/m**2",
    "kg/ha": "kg/ha",
    "seeds/ac": "seed/intl_acre",
    "sds/ac": "seed/intl_acre",
    "ksds/ac": "kiloseed/intl_acre",
    "ac": "intl_acre",
    "acre": "intl_acre",
    "acres": "intl_acre",
    "ha": "hectare",
    "seeds/ha": "seed/ha",
    "seeds/m2": "seed/m**2",
    "seeds": "seed",
    "lb/s": "lb/s",
    "lb/sec": "lb/s",
    "kg/s": "kg/s",
    "usgal": "gallon",
    "gal": "gallon",
    "in": "inch",
    "lbf": "lbf",
    "kgf": "kgf",
}

# Canonical Leaf spelling for pint units we emit or meet (inverse direction).
_LEAF_SPELLING: dict[str, str] = {
    "meter ** 2": "m2",
    "foot ** 2": "ft2",
    "meter": "m",
    "foot": "ft",
    "inch": "in",
    "centimeter": "cm",
    "millimeter": "mm",
    "mile / hour": "mi/hr",
    "kilometer / hour": "km/hr",
    "kiloseed / intl_acre": "ksds/ac",
    "meter / second": "m/s",
    "foot / second": "ft/s",
    "degree": "arcdeg",
    "percent": "percentage",
    "bushel": "bu",
    "bushel / intl_acre": "bu/ac",
    "pound / intl_acre": "lb/ac",
    "gallon / intl_acre": "gal/ac",
    "fluid_ounce / intl_acre": "floz/ac",
    "quart / intl_acre": "qt/ac",
    "metric_ton": "t",
    "metric_ton / hectare": "t/ha",
    "meter ** 3": "m3",
    "meter ** 3 / hectare": "m3/ha",
    "liter": "L",
    "liter / hectare": "L/ha",
    "kilogram / hectare": "kg/ha",
    "seed / intl_acre": "seeds/ac",
    "seed / hectare": "seeds/ha",
    "seed": "seeds",
    "pound": "lb",
    "kilogram": "kg",
    "gallon": "gal",
    "hectare": "ha",
    "intl_acre": "ac",
    "force_pound": "lbf",
    "force_kilogram": "kgf",
    "pound / second": "lb/s",
    "second": "s",
    "liter / hour": "L/hr",
    "milliliter": "mL",
    "gram": "g",
    "millimeter / second": "mm/s",
    "gallon / hour": "gal/hr",
    "kilogram / second": "kg/s",
}


#: ADAPT unit-of-measure domain codes (the ``unitId`` of John Deere's API and export
#: metadata) in the spellings :func:`parse_unit` reads
_ADAPT_TERMS = {
    "lb": "lb", "kg": "kg", "g": "g", "t": "t", "ton": "ton", "oz": "oz",
    "ac": "ac", "ha": "ha", "m2": "m**2", "ft2": "ft**2",
    "bu": "bu", "gal": "gal", "l": "L", "ml": "mL", "qt": "qt", "pt": "pt",
    "floz": "fluid_ounce", "m3": "m**3",
    "ft": "ft", "in": "in", "inch": "in", "m": "m", "cm": "cm", "mm": "mm",
    "mi": "mi", "km": "km",
    "hr": "hr", "min": "minute", "sec": "s", "s": "s",
    "seeds": "seeds", "sds": "seeds", "ksds": "ksds",
    "prcnt": "%", "arcdeg": "deg", "deg": "deg",
}  # fmt: skip
#: one term of an ADAPT composite unit: a domain code (bracketed when it holds digits,
#: ``[m2]``) and its power
_ADAPT_TERM = re.compile(r"(\[[^\]]+\]|[A-Za-z]+)(-?\d+)")


def adapt_unit(unit_id: str) -> str | None:
    """The unit of an ADAPT ``unitId`` (``lb1ac-1``, ``bu1[ac]-1``, ``ft``), or None.

    ADAPT (AgGateway's data model, and John Deere's API and export metadata) writes a
    composite unit as domain codes each followed by its power: ``lb1ac-1`` is lb·ac⁻¹,
    ``gal1[m2]-1`` gal·m⁻²; a plain code (``ft``, ``prcnt``) is the unit itself. None
    when a code is not known (the unit is then not used).

    >>> adapt_unit("lb1ac-1"), adapt_unit("mi1hr-1"), adapt_unit("prcnt"), adapt_unit("xyz")
    ('lb/ac', 'mi/hr', '%', None)
    >>> adapt_unit("seeds1ac-1"), adapt_unit("l1[ha]-1")
    ('seeds/ac', 'L/ha')
    """
    text = unit_id.strip()
    if not text or text.lower() == "unitless":
        return None
    terms = _ADAPT_TERM.findall(text)
    if not terms:  # a plain code
        return _ADAPT_TERMS.get(text.lower())
    if "".join(code + power for code, power in terms) != text:
        return None  # not only terms
    up, down = [], []
    for code, power in terms:
        unit = _ADAPT_TERMS.get(code.strip("[]").lower())
        exponent = int(power)
        if unit is None or exponent == 0:
            return None
        term = unit if abs(exponent) == 1 else f"{unit}**{abs(exponent)}"
        (up if exponent > 0 else down).append(term)
    if not up:
        return None
    return "*".join(up) + "".join(f"/{d}" for d in down)


@functools.lru_cache(maxsize=1024)  # (bounded: units come from users' files)
def parse_unit(unit: str):
    """Parse a Leaf or machine-header unit string into a pint unit.

    Raises
    ------
    ValueError
        The string is not a unit pint or the alias table knows.

    Examples
    --------
    >>> str(parse_unit("bu/ac"))
    'bushel / intl_acre'
    >>> str(parse_unit("mi/hr"))
    'mile / hour'
    """
    key = re.sub(r"\s+", "", unit).lower()
    expr = _ALIASES.get(key)
    if expr is None:
        # any other spelling of the acre is the international acre too
        expr = re.sub(r"\b(acres?|ac)\b", "intl_acre", unit.strip())
    try:
        q = get_registry().Quantity(1, expr)
    except Exception as exc:  # pint raises several unrelated types
        raise ValueError(f"unknown unit {unit!r}") from exc
    return q.units


def leaf_unit(unit) -> str:
    """Return Leaf's spelling of *unit* (e.g. ``mile / hour`` -> ``mi/hr``)."""
    if isinstance(unit, str):
        return _leaf_spelling(unit)
    return _LEAF_SPELLING.get(str(unit), str(unit).replace(" ", ""))


@functools.lru_cache(maxsize=1024)
def _leaf_spelling(unit: str) -> str:
    # once per string: pint formats a unit slowly (~0.1 ms) and steps ask per property
    return leaf_unit(parse_unit(unit))


@functools.lru_cache(maxsize=1024)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Return the multiplier that converts values in *from_unit* to *to_unit*."""
    return float(
        get_registry()
        .Quantity(1.0, parse_unit(from_unit))
        .to(parse_unit(to_unit))
        .magnitude
    )


def convert(values, from_unit: str, to_unit: str) -> np.ndarray:
    """Convert an array of values between units (vectorised: one factor)."""
    arr = np.asarray(values, dtype="float64")
    if from_unit == to_unit:
        return arr
    return arr * conversion_factor(from_unit, to_unit)


def dimension_of(unit: str) -> str:
    """Return pint's dimensionality of *unit* as a string, e.g. ``'[length]'``."""
    return str(parse_unit(unit).dimensionality)


# Target units per schema dimension (see standard.schema) and unit system.
# Tuples list alternatives by pint dimensionality: the first whose dimensionality
# matches the source unit wins (application rates are volume or mass per area).
_TARGETS: dict[str, dict[UnitSystem, tuple[str, ...]]] = {
    "length": {UnitSystem.METRIC: ("m",), UnitSystem.IMPERIAL: ("ft",)},
    "depth": {UnitSystem.METRIC: ("cm",), UnitSystem.IMPERIAL: ("in",)},
    "area": {UnitSystem.METRIC: ("m2",), UnitSystem.IMPERIAL: ("m2",)},
    "speed": {UnitSystem.METRIC: ("m/s",), UnitSystem.IMPERIAL: ("ft/s",)},
    "angle": {UnitSystem.METRIC: ("arcdeg",), UnitSystem.IMPERIAL: ("arcdeg",)},
    "percent": {
        UnitSystem.METRIC: ("percentage",),
        UnitSystem.IMPERIAL: ("percentage",),
    },
    "mass": {UnitSystem.METRIC: ("t",), UnitSystem.IMPERIAL: ("lb",)},
    "mass_per_area": {UnitSystem.METRIC: ("t/ha",), UnitSystem.IMPERIAL: ("lb/ac",)},
    "grain_volume": {UnitSystem.METRIC: ("m3",), UnitSystem.IMPERIAL: ("bu",)},
    "grain_volume_per_area": {
        UnitSystem.METRIC: ("m3/ha",),
        UnitSystem.IMPERIAL: ("bu/ac",),
    },
    "volume": {UnitSystem.METRIC: ("L",), UnitSystem.IMPERIAL: ("gal",)},
    "volume_rate": {UnitSystem.METRIC: ("L/hr",), UnitSystem.IMPERIAL: ("gal/hr",)},
    "seed_rate": {UnitSystem.METRIC: ("seeds/ha",), UnitSystem.IMPERIAL: ("seeds/ac",)},
    "application_rate": {
        UnitSystem.METRIC: ("L/ha", "kg/ha", "seeds/ha"),
        UnitSystem.IMPERIAL: ("gal/ac", "lb/ac", "seeds/ac"),
    },
    "force": {UnitSystem.METRIC: ("kgf",), UnitSystem.IMPERIAL: ("lbf",)},
    "mass_flow": {UnitSystem.METRIC: ("kg/s",), UnitSystem.IMPERIAL: ("lb/s",)},
    "time": {UnitSystem.METRIC: ("s",), UnitSystem.IMPERIAL: ("s",)},
}


def target_unit(
    dimension: str | None, source_unit: str | None, system: UnitSystem | str
) -> str | None:
    """Return the unit a property of schema *dimension* is reported in under *system*.

    ``DEFAULT`` keeps the source unit (in Leaf's spelling). A source unit whose
    dimensionality matches none of the system's targets is also kept, so a value is
    never converted into a unit of another kind.
    """
    if source_unit is None or dimension is None:
        return source_unit
    system = UnitSystem(system)
    if system is UnitSystem.DEFAULT or dimension not in _TARGETS:
        return leaf_unit(source_unit)
    src_dim = parse_unit(source_unit).dimensionality
    for candidate in _TARGETS[dimension][system]:
        if parse_unit(candidate).dimensionality == src_dim:
            return candidate
    return leaf_unit(source_unit)
