"""Leaf's colour ramp (spec §7.1) and value -> RGBA colouring, vectorised."""

from __future__ import annotations

import numpy as np

__all__ = ["CLASS_RAMPS", "LEAF_RAMP", "class_colors", "colorize"]

#: percent stop -> RGB(A); "nv" is the transparent no-value colour
LEAF_RAMP: dict[str, list[int]] = {
    "0%": [200, 0, 0],
    "35%": [255, 40, 0],
    "45%": [255, 150, 0],
    "55%": [255, 240, 0],
    "65%": [0, 230, 0],
    "75%": [0, 190, 0],
    "100%": [0, 130, 0],
    "nv": [0, 0, 0, 0],
}


#: seven class colours, low -> high, per named ramp (``leaf`` is Leaf's imagesV2 legend;
#: the others are ColorBrewer / matplotlib ramps sampled at seven stops). ``NAME_r`` reverses.
CLASS_RAMPS: dict[str, tuple[str, ...]] = {
    "leaf": (
        "#C80000",
        "#FF2800",
        "#FF9600",
        "#FFF000",
        "#00E600",
        "#00BE00",
        "#008200",
    ),
    "rdylgn": (
        "#D73027",
        "#FC8D59",
        "#FEE08B",
        "#FFFFBF",
        "#D9EF8B",
        "#91CF60",
        "#1A9850",
    ),
    "spectral": (
        "#D53E4F",
        "#FC8D59",
        "#FEE08B",
        "#FFFFBF",
        "#E6F598",
        "#99D594",
        "#3288BD",
    ),
    "viridis": (
        "#440154",
        "#443983",
        "#31688E",
        "#21918C",
        "#35B779",
        "#90D743",
        "#FDE725",
    ),
    "blues": (
        "#EFF3FF",
        "#C6DBEF",
        "#9ECAE1",
        "#6BAED6",
        "#4292C6",
        "#2171B5",
        "#084594",
    ),
    "browns": (
        "#FFF7BC",
        "#FEE391",
        "#FEC44F",
        "#FE9929",
        "#EC7014",
        "#CC4C02",
        "#8C2D04",
    ),
}


def class_colors(ramp: str = "leaf") -> tuple[str, ...]:
    """The seven class colours of a named ramp (``leaf``, ``rdylgn``, …; ``_r`` reverses).

    >>> class_colors("leaf_r")[0]
    '#008200'
    """
    name = ramp.lower()
    reverse = name.endswith("_r")
    base = name.removesuffix("_r")
    if base not in CLASS_RAMPS:
        raise ValueError(
            f"{ramp!r} is not a valid ramp, must be one of "
            f"{', '.join(sorted(CLASS_RAMPS))} (or NAME_r)"
        )
    colors = CLASS_RAMPS[base]
    return tuple(reversed(colors)) if reverse else colors


def colorize(
    values: np.ndarray,
    vmin: float,
    vmax: float,
    ramp: dict[str, list[int]] | None = None,
) -> np.ndarray:
    """Map values to RGBA uint8 with linear interpolation between the ramp's percent stops.

    NaN values get the ramp's ``nv`` colour. Interpolation is linear in RGB between stops
    (spec §7.1 leaves it open; linear gives smooth maps and exact stop colours).
    """
    ramp = ramp or LEAF_RAMP
    stops = sorted(
        (float(k.rstrip("%")) / 100.0, v) for k, v in ramp.items() if k != "nv"
    )
    pos = np.array([s[0] for s in stops])
    rgb = np.array([s[1][:3] for s in stops], dtype=float)
    v = np.asarray(values, dtype=float)
    nv = np.array(list(ramp.get("nv", [0, 0, 0, 0])) + [0] * 4)[:4].astype(np.uint8)
    out = np.empty((*v.shape, 4), dtype=np.uint8)
    out[...] = nv
    ok = ~np.isnan(v)  # only cells with data are coloured (grids are mostly empty)
    f = v[ok]
    span = vmax - vmin
    t = np.clip((f - vmin) / span, 0, 1) if span > 0 else np.full(f.shape, 0.5)
    col = np.empty((len(f), 4), dtype=np.uint8)
    for ch in range(3):
        col[:, ch] = np.interp(t, pos, rgb[:, ch]).round().astype(np.uint8)
    col[:, 3] = 255
    out[ok] = col
    return out
