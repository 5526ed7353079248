"""Harvest crop table: density and standard moisture per crop (spec §11), and crop codes.

Crop values from files are matched by name after :func:`normalize_crop`. Coded values
are translated with ``crop_codes.csv`` (sources in ``CROP_CODES.md``): EPPO codes
(``ZEAMX``) are recognised by their form; numeric codes only when the column names
their scheme (``CDL…`` → USDA Cropland Data Layer). Any other value — a John Deere
numeric ``Crop = 174`` included — is kept as it is, and :func:`crop_notes` says what
that means for the yield conversions (no density: no volume from mass; no standard
moisture: dry values equal wet).
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Crop",
    "crop_notes",
    "get_crop",
    "list_crop_codes",
    "list_crops",
    "normalize_crop",
    "resolve_crop_code",
]

# Density in lb per US bushel -> kg per m³ (spec §11 derives the same way).
LB_PER_BU_TO_KG_PER_M3 = 0.45359237 / 0.03523907016688

# Common spellings in machine files -> Leaf's normalized crop string.
_ALIASES = {
    "soybean": "soybeans",
    "soy": "soybeans",
    "soya": "soybeans",
    "soyabeans": "soybeans",
    "corn grain": "corn",
    "grain corn": "corn",
    "maize grain": "maize",
    "grain maize": "maize",
    "wheat winter": "winter wheat",
    "canola (argentine)": "canola",
    "sunflowers oil": "sunflower oil",
    "silage": "corn, silage",
    "corn silage": "corn, silage",
}


@dataclass(frozen=True)
class Crop:
    """One crop row: ``density`` in lb/bu, ``standard_moisture`` in % (None if Leaf has none)."""

    name: str
    density: float
    standard_moisture: float | None

    @property
    def density_kg_m3(self) -> float:
        """Density in kg/m³ (US bushel)."""
        return self.density * LB_PER_BU_TO_KG_PER_M3


@functools.cache
def list_crops() -> dict[str, Crop]:
    """Return the crop table keyed by normalized crop name.

    Notes
    -----
    Leaf's table lists ``corn, seed`` twice (density 1 and 49.57); we keep 49.57, the
    real density, since 1 is Leaf's placeholder for "unknown".
    """
    text = resources.files("leafnb.standard").joinpath("crops.csv").read_text("utf-8")
    table = {}
    for row in csv.DictReader(text.splitlines()):
        moist = row["standard_moisture_pct"]
        table[row["crop"]] = Crop(
            row["crop"],
            float(row["density_lb_per_bu"]),
            float(moist) if moist else None,
        )
    return table


def normalize_crop(name: object) -> str | None:
    """Return Leaf's normalized crop string for a crop name from a file (lower-case, single spaces).

    Examples
    --------
    >>> normalize_crop(" SOYBEANS ")
    'soybeans'
    >>> normalize_crop("Soybean")
    'soybeans'
    """
    if name is None:
        return None
    text = re.sub(r"\s+", " ", str(name)).strip().lower()
    if not text or text in {"nan", "none", "null"}:
        return None
    return _ALIASES.get(text, text)


def get_crop(name: str | None) -> Crop | None:
    """Return the table row for *name* (matched after :func:`normalize_crop`), or None."""
    key = normalize_crop(name)
    return list_crops().get(key) if key else None


@functools.cache
def list_crop_codes() -> dict[tuple[str, str], str]:
    """``{(scheme, code): crop name}`` from ``crop_codes.csv`` (codes upper-case)."""
    text = (
        resources.files("leafnb.standard").joinpath("crop_codes.csv").read_text("utf-8")
    )
    return {
        (row["scheme"], row["code"].upper()): row["crop"]
        for row in csv.DictReader(text.splitlines())
    }


_EPPO = re.compile(r"^[a-z]{5,6}$")


def resolve_crop_code(value: str | None, scheme: str | None = None) -> str | None:
    """Translate a crop code: EPPO by form, numeric codes of a known *scheme*; else unchanged.

    Examples
    --------
    >>> resolve_crop_code("zeamx"), resolve_crop_code("24", "usda_cdl")
    ('corn', 'winter wheat')
    >>> resolve_crop_code("174")
    '174'
    """
    if value is None:
        return None
    codes = list_crop_codes()
    if _EPPO.match(value) and value not in list_crops():
        hit = codes.get(("eppo", value.upper()))
        if hit:
            return hit
    if scheme and value.isdigit():
        hit = codes.get((scheme, value))
        if hit:
            return hit
    return value


def crop_notes(values) -> list[str]:
    """What the crop table cannot tell about these crop values, for a harvest file.

    Examples
    --------
    >>> crop_notes(["174"])
    ["crop '174' is not in the crop table: dry values equal wet and volumes are not derived from mass"]
    """
    notes = []
    for v in sorted({v for v in values if v}):
        crop = get_crop(v)
        if crop is None:
            notes.append(
                f"crop {v!r} is not in the crop table: dry values equal wet and "
                "volumes are not derived from mass"
            )
        elif crop.standard_moisture is None:
            notes.append(
                f"crop {v!r} has no standard moisture in the crop table: dry values "
                "equal wet"
            )
    return notes
