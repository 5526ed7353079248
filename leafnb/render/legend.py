"""The 7-class quantile legend of imagesV2 (spec §7.2), one implementation for every output.

PNGs (imagesV2, map overlays), GeoTIFF tags, ``grid()`` attributes and the notebook map
panel all colour through :meth:`Legend.rgba`, so a value always gets the same colour.

Classes
-------
Seven ranges ``[e0, e1], (e1, e2], ..., (e6, e7]`` where ``e0..e7`` are the 0, 1/7, ...,
7/7 quantiles of the finite values (linear interpolation, ``numpy.quantile`` default).
Upper edges are inclusive (the shape of mapclassify's ``Quantiles``): a value equal to an
edge belongs to the lower class. Values below ``e0`` go to class 0, above ``e7`` to class
6, NaN to ``-1`` (transparent).

Tie rule
--------
When two or more edges are equal (constant data, a value holding more than 1/7 of the
points such as many zeros, capped rates, few distinct values) the edges are made
distinct deterministically and :class:`~leafnb.errors.TiedClassesWarning` is emitted:

1. keep the distinct edges (sorted);
2. while fewer than 8 edges remain, split the widest interval between consecutive edges at
   its midpoint (on equal widths, the lowest interval first);
3. if all values are equal (one distinct edge) every range is ``[v, v]`` and ``v`` is in
   the middle class (3, ``#FFF000``), matching V1's colouring of constant data.

So there are always seven labelled ranges, ascending, and (except for constant data)
strictly increasing edges; a tied value (e.g. 0 with 60 % zeros) sits wholly in one class.
"""

from __future__ import annotations

import builtins
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leafnb.errors import TiedClassesWarning

__all__ = ["LEAF_COLORS", "Legend", "legend_from_edges", "quantile_legend"]

#: class colours, low -> high (hex of the seven V1 ramp stops, spec §7.2)
LEAF_COLORS: tuple[str, ...] = (
    "#C80000",
    "#FF2800",
    "#FF9600",
    "#FFF000",
    "#00E600",
    "#00BE00",
    "#008200",
)


def _hex_to_rgba(code: str) -> list[int]:
    return [int(code[i : i + 2], 16) for i in (1, 3, 5)] + [255]


@dataclass(frozen=True)
class Legend:
    """Seven ascending value ranges with Leaf's colours.

    ``ranges`` is ``[{"colorCode", "min", "max"}] × 7``; ``tied`` says the tie rule was
    applied; ``unit`` and ``property`` describe the values.
    """

    ranges: list[dict[str, Any]]
    unit: str | None = None
    property: str | None = None
    tied: bool = False
    count: int = 0
    _edges: np.ndarray = field(init=False, repr=False, compare=False)
    _colors: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(self.ranges) != 7:
            raise ValueError(f"a legend has 7 ranges, got {len(self.ranges)}")
        edges = np.array(
            [
                np.nan if x is None else x
                for x in [self.ranges[0]["min"]] + [r["max"] for r in self.ranges]
            ],
            dtype=float,
        )
        object.__setattr__(self, "_edges", edges)
        colors = np.array(
            [_hex_to_rgba(r["colorCode"]) for r in self.ranges] + [[0, 0, 0, 0]],
            dtype=np.uint8,
        )
        object.__setattr__(self, "_colors", colors)

    @builtins.property
    def edges(self) -> np.ndarray:
        """The 8 class edges ``e0..e7`` (copy)."""
        return self._edges.copy()

    @builtins.property
    def constant(self) -> bool:
        """True when every range is the same single value."""
        return bool(self._edges[0] == self._edges[-1])

    def classify(self, values) -> np.ndarray:
        """Class index 0..6 of each value (upper edges inclusive); -1 for NaN."""
        v = np.asarray(values, dtype=float)
        e = self._edges
        cls = np.full(v.shape, -1, dtype=np.int8)
        ok = ~np.isnan(v)  # only classify values (grids are mostly empty)
        f = v[ok]
        if self.constant:
            cls[ok] = np.where(f < e[0], 0, np.where(f > e[0], 6, 3))
        else:
            cls[ok] = np.searchsorted(e[1:7], f, side="left")
        return cls

    def rgba(self, values) -> np.ndarray:
        """RGBA ``uint8`` colours (shape ``(*values.shape, 4)``), transparent for NaN."""
        return self._colors[self.classify(values)]  # index -1 = the transparent row

    def to_dict(self) -> dict[str, Any]:
        """``{"ranges": [...]}`` as in Leaf's imagesV2 items (plus ``tiedClasses`` when the tie rule applied)."""
        out: dict[str, Any] = {"ranges": [dict(r) for r in self.ranges]}
        if self.tied:
            out["tiedClasses"] = True
        return out

    @classmethod
    def from_dict(
        cls, doc: dict[str, Any], unit: str | None = None, property: str | None = None
    ) -> Legend:
        """Rebuild a legend from :meth:`to_dict` output (e.g. read back from GeoTIFF tags)."""
        return cls(
            [dict(r) for r in doc["ranges"]],
            unit=unit,
            property=property,
            tied=bool(doc.get("tiedClasses")),
        )


def _untie(edges: np.ndarray, k: int) -> np.ndarray:
    """Distinct edges, then split the widest interval at its midpoint until there are k+1."""
    e = list(np.unique(edges))
    while len(e) < k + 1:
        widths = np.diff(e)
        i = int(np.argmax(widths))  # first (lowest) of the widest
        mid = e[i] + (e[i + 1] - e[i]) / 2
        if not e[i] < mid < e[i + 1]:  # adjacent floats: nothing left to split
            break
        e.insert(i + 1, mid)
    if len(e) < k + 1:  # pathological: spread evenly over [min, max]
        e = list(np.linspace(e[0], e[-1], k + 1))
    return np.asarray(e, dtype=float)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def quantile_legend(
    values,
    k: int = 7,
    *,
    unit: str | None = None,
    property: str | None = None,
    warn: bool = True,
) -> Legend:
    """Split *values* into *k* (= 7) quantile classes with Leaf's colours (see module doc).

    NaN/inf values are ignored. Emits :class:`TiedClassesWarning` when the tie rule is
    applied (``warn=False`` to only record it in ``Legend.tied``).
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    edges = np.full(k + 1, np.nan)
    if len(v):
        edges = np.quantile(v, np.linspace(0.0, 1.0, k + 1))
        edges[0], edges[-1] = v.min(), v.max()
    return legend_from_edges(
        edges, k, count=len(v), unit=unit, property=property, warn=warn, _stacklevel=3
    )


def legend_from_edges(
    edges,
    k: int = 7,
    *,
    count: int = 0,
    unit: str | None = None,
    property: str | None = None,
    warn: bool = True,
    _stacklevel: int = 2,
) -> Legend:
    """The legend of precomputed class edges ``e0..ek`` (e.g. quantiles computed out of core).

    *edges* must be what :func:`quantile_legend` computes before its tie check: the
    ``numpy.quantile`` (linear) values at ``0, 1/k, ..., 1`` with ``e0``/``ek`` set to
    the minimum/maximum; all NaN when there are no values (*count* = 0). The same tie
    rule, warning and ranges as :func:`quantile_legend` apply, so
    ``legend_from_edges(edges_of(v), count=n) == quantile_legend(v)``.
    """
    if k != len(LEAF_COLORS):
        raise ValueError(f"Leaf's legend has {len(LEAF_COLORS)} classes")
    edges = np.array(edges, dtype=float).ravel()
    if len(edges) != k + 1:
        raise ValueError(f"{k} classes need {k + 1} edges, got {len(edges)}")
    tied = False
    if not count:
        edges = np.full(k + 1, np.nan)
    elif np.any(np.diff(edges) <= 0):
        tied = True
        edges = np.full(k + 1, edges[0]) if edges[0] == edges[-1] else _untie(edges, k)
        if warn:
            warnings.warn(
                f"quantile class edges of {property or 'values'} tie; the tie rule was applied "
                f"(edges {', '.join(f'{x:.6g}' for x in edges)})",
                TiedClassesWarning,
                stacklevel=_stacklevel,
            )
    ranges = [
        {"colorCode": LEAF_COLORS[i], "min": _num(edges[i]), "max": _num(edges[i + 1])}
        for i in range(k)
    ]
    return Legend(ranges, unit=unit, property=property, tied=tied, count=int(count))
