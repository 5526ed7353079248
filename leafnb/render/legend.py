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

__all__ = [
    "LEAF_COLORS",
    "SCHEMES",
    "Legend",
    "classify_legend",
    "legend_from_edges",
    "quantile_legend",
]

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
    colors: tuple[str, ...] | None = None,
    _stacklevel: int = 2,
) -> Legend:
    """The legend of precomputed class edges ``e0..ek`` (e.g. quantiles computed out of core).

    *edges* must be what :func:`quantile_legend` computes before its tie check: the
    ``numpy.quantile`` (linear) values at ``0, 1/k, ..., 1`` with ``e0``/``ek`` set to
    the minimum/maximum; all NaN when there are no values (*count* = 0). The same tie
    rule, warning and ranges as :func:`quantile_legend` apply, so
    ``legend_from_edges(edges_of(v), count=n) == quantile_legend(v)``.
    """
    colors = tuple(colors or LEAF_COLORS)
    if k != len(LEAF_COLORS) or len(colors) != k:
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
        {"colorCode": colors[i], "min": _num(edges[i]), "max": _num(edges[i + 1])}
        for i in range(k)
    ]
    return Legend(ranges, unit=unit, property=property, tied=tied, count=int(count))


#: classification schemes of :func:`classify_legend` (``quantiles`` is Leaf's imagesV2 rule)
SCHEMES = ("quantiles", "equal_interval", "natural_breaks")

#: natural breaks run Fisher-Jenks on at most this many evenly spaced order statistics
NATURAL_BREAKS_SAMPLE = 256


def classify_legend(
    values,
    scheme: str = "quantiles",
    *,
    ramp: str = "leaf",
    unit: str | None = None,
    property: str | None = None,
    warn: bool = True,
) -> Legend:
    """A 7-class legend of *values* by *scheme* and colour *ramp*.

    ``quantiles`` with the ``leaf`` ramp is exactly :func:`quantile_legend` (imagesV2, the
    default everywhere, so a panel and an exported PNG agree). ``equal_interval`` splits
    ``[min, max]`` into seven equal classes (``mapclassify.EqualInterval``);
    ``natural_breaks`` is Fisher-Jenks (``mapclassify.FisherJenks``, pure Python without
    numba: O(n²)) on at most :data:`NATURAL_BREAKS_SAMPLE` evenly spaced order statistics
    of the values — exact for small data, deterministic and under a second for a million
    points. Class edges go through the
    same tie rule as the quantiles; upper edges are inclusive.

    Examples
    --------
    >>> leg = classify_legend(range(71), "equal_interval")
    >>> [r["max"] for r in leg.ranges]
    [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]
    """
    from leafnb.render.ramps import class_colors

    colors = class_colors(ramp)
    if scheme not in SCHEMES:
        raise ValueError(
            f"{scheme!r} is not a valid classification, must be one of {', '.join(SCHEMES)}"
        )
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    k = len(LEAF_COLORS)
    edges = np.full(k + 1, np.nan)
    if len(v) and (scheme == "quantiles" or np.unique(v).size <= k):
        edges = np.quantile(v, np.linspace(0.0, 1.0, k + 1))  # few values: the tie rule
    elif len(v):
        import mapclassify

        with warnings.catch_warnings():  # "Numba not installed": the sample is small
            warnings.simplefilter("ignore", UserWarning)
            # order statistics: min and max are kept, so equal intervals stay exact
            s = np.sort(v)
            if len(s) > NATURAL_BREAKS_SAMPLE:
                pick = np.linspace(0, len(s) - 1, NATURAL_BREAKS_SAMPLE)
                s = s[pick.round().astype(int)]
            if scheme == "equal_interval":
                edges[1:] = mapclassify.EqualInterval(s, k=k).bins
            else:
                edges[1:] = mapclassify.FisherJenks(s, k=k).bins
    if len(v):
        edges[0], edges[-1] = v.min(), v.max()
    return legend_from_edges(
        edges,
        k,
        count=len(v),
        unit=unit,
        property=property,
        warn=warn,
        colors=colors,
        _stacklevel=3,
    )
