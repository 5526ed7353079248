"""Harvest crop table: density and standard moisture per crop (spec §11)."""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Crop", "get_crop", "list_crops", "normalize_crop"]

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
