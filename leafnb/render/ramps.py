"""Leaf's colour ramp (spec §7.1) and value -> RGBA colouring, vectorised."""

from __future__ import annotations

import numpy as np

__all__ = ["LEAF_RAMP", "colorize"]

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
