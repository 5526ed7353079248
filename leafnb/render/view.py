"""Map views of points: robust extents, nearest-point look-up, scale bars, a view rendered as PNG.

The notebook map (:class:`leafnb.widgets.MapPanel`) draws in the browser; everything it
needs to *decide* is here, in numpy, so a script, the report and the tests get the same
answers:

Robust extent
    A map frames the bulk of the points: the 0.5–99.5 % quantile box of lon and lat,
    widened by a quarter of its size (at least 100 m) on each side; the extent is the box
    around every point inside that margin. Points beyond it are *position outliers* (a GPS
    glitch hundreds of km away no longer squeezes the field into a thin strip); they stay
    in the data and the map shows them as their own layer.
Nearest point
    Equirectangular distance in metres around the query position, vectorised over every
    point (O(n), a few ms for a million points).
Scale bar
    The longest 1-2-5 × 10ᵏ length (m/km or ft/mi) that fits in *max_px* pixels at the
    view's centre latitude (Web Mercator scale ``1 / cos φ``).
A view as PNG
    :func:`render_view` rasterises the points inside a Web-Mercator window at the pixel
    size of that window with the rule of :mod:`leafnb.render.raster` (a pixel is the mean
    of the points whose swath footprint covers it), coloured by a
    :class:`~leafnb.render.legend.Legend` — what the browser map draws at that view.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leafnb.render.raster import (
    EARTH_RADIUS,
    GridSpec,
    footprint_radii,
    project,
    rasterize,
    unproject,
)

__all__ = [
    "Extent",
    "nearest_point",
    "render_view",
    "robust_extent",
    "scale_bar",
    "view_png",
]

#: quantiles of the bulk box and the margin around it (fraction of its size, metres)
BULK_QUANTILES = (0.005, 0.995)
MARGIN_FRACTION = 0.25
MARGIN_MIN_M = 100.0
_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Extent:
    """A lon/lat box framing the bulk of the points, and which points lie outside it."""

    west: float
    south: float
    east: float
    north: float
    outliers: np.ndarray
    """Boolean mask: points with a position outside the extent (position outliers)."""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in degrees."""
        return (self.west, self.south, self.east, self.north)

    @property
    def mercator(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` in EPSG:3857 metres."""
        x, y = project(
            np.array([self.west, self.east]),
            np.array([self.south, self.north]),
            "EPSG:3857",
        )
        return (float(x[0]), float(y[0]), float(x[1]), float(y[1]))


def robust_extent(lon: np.ndarray, lat: np.ndarray) -> Extent | None:
    """The extent of the bulk of the points and the mask of position outliers (module doc).

    Returns None when no point has a finite position.

    Examples
    --------
    >>> lon = np.r_[np.linspace(-93.0, -92.99, 999), 10.0]
    >>> lat = np.r_[np.linspace(42.0, 42.01, 999), 50.0]
    >>> e = robust_extent(lon, lat)
    >>> round(e.east, 3), int(e.outliers.sum())
    (-92.99, 1)
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    lo_x, hi_x = np.quantile(lon[ok], BULK_QUANTILES)
    lo_y, hi_y = np.quantile(lat[ok], BULK_QUANTILES)
    kx = _M_PER_DEG * max(math.cos(math.radians((lo_y + hi_y) / 2)), 0.01)
    mx = max((hi_x - lo_x) * MARGIN_FRACTION, MARGIN_MIN_M / kx)
    my = max((hi_y - lo_y) * MARGIN_FRACTION, MARGIN_MIN_M / _M_PER_DEG)
    inside = (
        ok
        & (lon >= lo_x - mx)
        & (lon <= hi_x + mx)
        & (lat >= lo_y - my)
        & (lat <= hi_y + my)
    )
    return Extent(
        float(lon[inside].min()),
        float(lat[inside].min()),
        float(lon[inside].max()),
        float(lat[inside].max()),
        ok & ~inside,
    )


def nearest_point(
    lon: np.ndarray,
    lat: np.ndarray,
    at_lon: float,
    at_lat: float,
    max_distance_m: float | None = None,
) -> tuple[int, float]:
    """``(index, distance in m)`` of the point nearest to ``(at_lon, at_lat)``.

    ``(-1, inf)`` when there is no point with a position, or none within
    *max_distance_m*.

    >>> nearest_point(np.array([0.0, 0.001]), np.array([0.0, 0.0]), 0.0009, 0.0)[0]
    1
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    kx = _M_PER_DEG * math.cos(math.radians(at_lat))
    d2 = ((lon - at_lon) * kx) ** 2 + ((lat - at_lat) * _M_PER_DEG) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    if not len(d2):
        return -1, math.inf
    i = int(np.argmin(d2))
    dist = math.sqrt(d2[i])
    if not math.isfinite(dist) or (
        max_distance_m is not None and dist > max_distance_m
    ):
        return -1, math.inf
    return i, dist


def _nice_lengths(imperial: bool) -> list[tuple[float, str]]:
    """``(metres, label)`` of every 1-2-5 length a scale bar may show, ascending."""
    out = []
    for exp in range(-1, 8):
        for n in (1, 2, 5):
            value = n * 10.0**exp
            text = f"{value:,.1f}".rstrip("0").rstrip(".")
            if imperial:
                if value * 0.3048 < 1609.344:
                    out.append((value * 0.3048, f"{text} ft"))
                if value >= 1:
                    out.append((value * 1609.344, f"{text} mi"))
            elif value < 1000:
                out.append((value, f"{text} m"))
            else:
                out.append((value, f"{value / 1000:,.0f} km"))
    return sorted(out)


def scale_bar(
    metres_per_px: float, max_px: int = 120, imperial: bool = False
) -> tuple[float, str]:
    """``(length in px, label)`` of the longest 1-2-5 ground length fitting *max_px*.

    >>> scale_bar(1.0)
    (100.0, '100 m')
    >>> round(scale_bar(20.0, imperial=True)[0], 1), scale_bar(20.0, imperial=True)[1]
    (80.5, '1 mi')
    """
    if not (metres_per_px > 0 and math.isfinite(metres_per_px)):
        return 0.0, ""
    fits = [
        (m, label)
        for m, label in _nice_lengths(imperial)
        if m <= metres_per_px * max_px
    ]
    if not fits:
        return 0.0, ""
    metres, label = fits[-1]
    return metres / metres_per_px, label


def metres_per_px(xmin: float, xmax: float, width: int, lat: float) -> float:
    """Ground metres per pixel of a Web-Mercator window at latitude *lat*."""
    return (xmax - xmin) / max(width, 1) * math.cos(math.radians(lat))


def render_view(
    lon: np.ndarray,
    lat: np.ndarray,
    values: np.ndarray,
    legend: Any,
    window: Sequence[float],
    width: int,
    height: int,
    width_m: np.ndarray | None = None,
) -> np.ndarray:
    """RGBA ``uint8`` (height, width, 4) of the points inside an EPSG:3857 *window*.

    *window* is ``(xmin, ymin, xmax, ymax)`` in EPSG:3857 metres, mapped onto *width* ×
    *height* pixels (square pixels: give a window of the same aspect). A pixel holds the
    mean of the values of the points whose footprint (swath width *width_m*, metres)
    covers it, coloured by ``legend.rgba``; transparent where no point.
    """
    xmin, ymin, xmax, ymax = map(float, window)
    res = (xmax - xmin) / width
    lat0 = float(
        np.degrees(2 * np.arctan(np.exp((ymin + ymax) / 2 / EARTH_RADIUS)) - np.pi / 2)
    )
    c = math.cos(math.radians(lat0))
    spec = GridSpec(
        crs="EPSG:3857",
        left=xmin,
        top=ymax,
        res_x=res,
        res_y=(ymax - ymin) / height,
        width=int(width),
        height=int(height),
        metres_per_unit=(c, c),
    )
    x, y = project(lon, lat, "EPSG:3857")
    rx, ry = footprint_radii(width_m, spec, len(x))
    pad_x = (rx.max(initial=0) + 1) * spec.res_x
    pad_y = (ry.max(initial=0) + 1) * spec.res_y
    near = (
        np.isfinite(x)
        & (x >= xmin - pad_x)
        & (x <= xmax + pad_x)
        & (y >= ymin - pad_y)
        & (y <= ymax + pad_y)
    )
    # points just outside the window still cover pixels inside it: rasterise a padded
    # grid, then cut the window out of it
    px, py = int(rx.max(initial=0)) + 1, int(ry.max(initial=0)) + 1
    padded = GridSpec(
        crs="EPSG:3857",
        left=xmin - px * spec.res_x,
        top=ymax + py * spec.res_y,
        res_x=spec.res_x,
        res_y=spec.res_y,
        width=spec.width + 2 * px,
        height=spec.height + 2 * py,
        metres_per_unit=(c, c),
    )
    grid = rasterize(
        padded,
        x[near],
        y[near],
        {"v": np.asarray(values, dtype=float)[near]},
        radii=(rx[near], ry[near]),
    )["v"][py : py + spec.height, px : px + spec.width]
    return np.asarray(legend.rgba(grid), dtype=np.uint8)


def view_png(
    rgba: np.ndarray,
    *,
    legend_rows: Sequence[tuple[str, str]] = (),
    title: str = "",
    scale: tuple[float, str] | None = None,
    extra_rows: Sequence[tuple[str, str]] = (),
    background: tuple[int, int, int] = (245, 245, 245),
) -> bytes:
    """PNG bytes of a rendered view with its legend, title and scale bar drawn on it.

    *legend_rows* are ``(colour hex, label)`` pairs (e.g. from the panel's legend, already
    in display units); *extra_rows* likewise for single-colour layers (removed points).
    """
    from PIL import Image, ImageDraw

    h, w = rgba.shape[:2]
    base = Image.new("RGBA", (w, h), (*background, 255))
    base.alpha_composite(Image.fromarray(np.ascontiguousarray(rgba), "RGBA"))
    draw = ImageDraw.Draw(base)
    if title:
        draw.rectangle((0, 0, w, 18), fill=(255, 255, 255, 220))
        draw.text((6, 3), title, fill=(0, 0, 0, 255))
    rows = [*legend_rows, *extra_rows]
    if rows:
        line = 15
        box_w = 14 + 12 + 7 * max(len(label) for _, label in rows)
        x0, y0 = w - box_w - 8, h - line * len(rows) - 14
        draw.rectangle(
            (x0, y0, w - 8, h - 8),
            fill=(255, 255, 255, 230),
            outline=(120, 120, 120, 255),
        )
        for i, (colour, label) in enumerate(rows):
            y = y0 + 4 + i * line
            draw.rectangle(
                (x0 + 4, y, x0 + 18, y + 10), fill=colour, outline=(60, 60, 60, 255)
            )
            draw.text((x0 + 24, y - 1), label, fill=(0, 0, 0, 255))
    if scale and scale[0] > 0:
        length, label = scale
        y = h - 14
        draw.rectangle(
            (4, y - 14, int(16 + length + 8 * 0 + 40), h - 2), fill=(255, 255, 255, 200)
        )
        draw.line((10, y, 10 + length, y), fill=(0, 0, 0, 255), width=2)
        draw.line((10, y - 4, 10, y + 2), fill=(0, 0, 0, 255), width=1)
        draw.line(
            (10 + length, y - 4, 10 + length, y + 2), fill=(0, 0, 0, 255), width=1
        )
        draw.text((10, y - 13), label, fill=(0, 0, 0, 255))
    buf = io.BytesIO()
    base.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def window_of(
    center_lon: float,
    center_lat: float,
    metres_per_px_3857: float,
    width: int,
    height: int,
) -> tuple[float, float, float, float]:
    """The EPSG:3857 window of a view centred on a lon/lat at a resolution (3857 m/px)."""
    x, y = project(np.array([center_lon]), np.array([center_lat]), "EPSG:3857")
    hw, hh = width * metres_per_px_3857 / 2, height * metres_per_px_3857 / 2
    return (float(x[0] - hw), float(y[0] - hh), float(x[0] + hw), float(y[0] + hh))


def lonlat_of(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:3857 metres to lon/lat degrees."""
    return unproject(x, y, "EPSG:3857")
