"""Vectorised rasterising of standard points onto a regular grid (numpy only).

Rule (used by every leafnb image, GeoTIFF and ``grid()``)
---------------------------------------------------------
A point covers a *footprint* of cells around the cell that contains it: a rectangle
(``SQUARE``) or an ellipse (``ROUND``) whose size on the ground is the point's swath width
(``equipmentWidth``, converted to metres) in both directions, so the gaps between passes and
between successive points are filled. A cell's value is the **mean of the property values
of all points whose footprint covers it** (points with a NaN value are ignored for that
property); cells covered by no point are NaN (transparent / nodata). A point without a
width covers only its own cell. Footprints are axis-aligned (heading is not used).

Everything is binned statistics: ``np.bincount`` of point sums and counts per cell, one
pass per distinct footprint size, then a separable box filter (or a stack of row boxes
for ``ROUND``) built from cumulative sums. Cost is O(points + cells × footprint height).

Grids are snapped to multiples of the resolution (grids of the same resolution align
across files) and capped at ``max_size`` cells per side: when the data would need more,
the resolution is raised to fit and :attr:`GridSpec.note` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from leafnb.pages import no_hugepage_advice

__all__ = [
    "GridSpec",
    "footprint_radii",
    "grid_spec",
    "project",
    "rasterize",
    "spread",
    "utm_crs",
]

EARTH_RADIUS = 6378137.0  # EPSG:3857 sphere
M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
MAX_RADIUS = 128  # cells; guards against absurd widths


@dataclass(frozen=True)
class GridSpec:
    """A north-up grid: CRS, top-left corner, cell size, shape, and a note when the resolution was raised."""

    crs: str
    left: float
    top: float
    res_x: float
    res_y: float
    width: int
    height: int
    requested_resolution: float | None = None
    note: str | None = None
    metres_per_unit: tuple[float, float] = (
        1.0,
        1.0,
    )  # ground metres per CRS unit at the data (x, y)

    @property
    def right(self) -> float:
        """Right edge in the grid CRS."""
        return self.left + self.width * self.res_x

    @property
    def bottom(self) -> float:
        """Bottom edge in the grid CRS."""
        return self.top - self.height * self.res_y

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid CRS."""
        return (self.left, self.bottom, self.right, self.top)

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL geotransform (x0, dx, 0, y0, 0, -dy)."""
        return (self.left, self.res_x, 0.0, self.top, 0.0, -self.res_y)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of coordinates in the grid CRS (may be outside the grid)."""
        col = np.floor((np.asarray(x, dtype=float) - self.left) / self.res_x).astype(
            np.int64
        )
        row = np.floor((self.top - np.asarray(y, dtype=float)) / self.res_y).astype(
            np.int64
        )
        return row, col

    def x_centres(self) -> np.ndarray:
        """X of the cell centres (left to right) in the grid CRS."""
        return self.left + (np.arange(self.width) + 0.5) * self.res_x

    def y_centres(self) -> np.ndarray:
        """Y of the cell centres (top to bottom) in the grid CRS."""
        return self.top - (np.arange(self.height) + 0.5) * self.res_y


def utm_crs(lon: np.ndarray, lat: np.ndarray) -> str:
    """The WGS84 UTM zone (``EPSG:326zz`` / ``EPSG:327zz``) of the data's median position."""
    lo, la = float(np.nanmedian(lon)), float(np.nanmedian(lat))
    zone = min(int((lo + 180) // 6) + 1, 60)
    return f"EPSG:{32600 + zone if la >= 0 else 32700 + zone}"


def project(
    lon: np.ndarray, lat: np.ndarray, crs: str
) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat to *crs* (EPSG:4326 identity, EPSG:3857 closed form, others via pyproj)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    crs = crs.upper()
    if crs in ("EPSG:4326", "OGC:CRS84"):
        return lon, lat
    if crs == "EPSG:3857":
        la = np.clip(lat, -85.05112878, 85.05112878)
        return EARTH_RADIUS * np.radians(lon), EARTH_RADIUS * np.log(
            np.tan(np.pi / 4 + np.radians(la) / 2)
        )
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = t.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def unproject(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`project`."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    crs = crs.upper()
    if crs in ("EPSG:4326", "OGC:CRS84"):
        return x, y
    if crs == "EPSG:3857":
        return np.degrees(x / EARTH_RADIUS), np.degrees(
            2 * np.arctan(np.exp(y / EARTH_RADIUS)) - np.pi / 2
        )
    from pyproj import Transformer

    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def metres_per_unit(crs: str, lat: float) -> tuple[float, float]:
    """Ground metres per CRS unit (x, y) at latitude *lat* (4326: degrees; 3857: scale 1/cos φ)."""
    crs = crs.upper()
    c = math.cos(math.radians(lat))
    if crs in ("EPSG:4326", "OGC:CRS84"):
        return (M_PER_DEG * c, M_PER_DEG)
    if crs == "EPSG:3857":
        return (c, c)
    return (1.0, 1.0)  # projected CRS in metres (UTM)


def degrees_to_crs_resolution(resolution_deg: float, crs: str, lat: float) -> float:
    """Leaf's ``geoimagesResolution`` (degrees) as a cell size in *crs* units.

    EPSG:4326 keeps degrees. For metric CRSs the degree is converted to ground metres
    (``resolution × 111 320 m``, the ground size of a degree of latitude) and then to CRS
    units at the data's latitude (EPSG:3857 units are ``1/cos φ`` ground metres), so the
    pixel has the same ground size in y as the EPSG:4326 pixel.
    """
    if crs.upper() in ("EPSG:4326", "OGC:CRS84"):
        return resolution_deg
    ground = resolution_deg * M_PER_DEG
    return ground / metres_per_unit(crs, lat)[1]


def grid_spec(
    x: np.ndarray,
    y: np.ndarray,
    crs: str,
    resolution: float,
    *,
    max_size: int = 8192,
    pad: int = 0,
    lat: float | None = None,
) -> GridSpec:
    """The snapped grid covering *x*, *y* (+ *pad* cells each side) at *resolution* (CRS units).

    When more than *max_size* cells per side would be needed, the resolution is raised
    (to the smallest value that fits) and the returned spec carries a ``note``.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise ValueError("no finite coordinates to rasterise")
    xmin, xmax = float(x[ok].min()), float(x[ok].max())
    ymin, ymax = float(y[ok].min()), float(y[ok].max())
    res = float(resolution)
    note = None

    def shape(r: float) -> tuple[float, float, int, int]:
        left = math.floor(xmin / r) * r - pad * r
        top = (math.floor(ymax / r) + 1) * r + pad * r
        w = math.floor((xmax - left) / r) + 1 + pad
        h = math.floor((top - ymin) / r) + 1 + pad
        return left, top, max(w, 1), max(h, 1)

    left, top, w, h = shape(res)
    if max(w, h) > max_size:
        new = max(xmax - xmin, ymax - ymin) / max(max_size - 2 * pad - 2, 1)
        new = float(f"{new:.3g}")
        while True:
            left, top, w, h = shape(new)
            if max(w, h) <= max_size:
                break
            new = float(f"{new * 1.02:.3g}")
        note = (
            f"resolution raised from {res:g} to {new:g} {crs} units: the data would need "
            f"more than {max_size} cells per side"
        )
        res = new
    if lat is None:
        lat = float(
            unproject(np.array([np.median(x[ok])]), np.array([np.median(y[ok])]), crs)[
                1
            ][0]
        )
    mpu = metres_per_unit(crs, lat)
    return GridSpec(
        crs=crs,
        left=left,
        top=top,
        res_x=res,
        res_y=res,
        width=w,
        height=h,
        requested_resolution=float(resolution),
        note=note,
        metres_per_unit=mpu,
    )


def footprint_radii(
    width_m: np.ndarray | None, spec: GridSpec, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Half-size of each point's footprint in cells (x, y): ``round(width / 2 / cell size)``, capped."""
    if width_m is None:
        z = np.zeros(n, dtype=np.int64)
        return z, z
    w = np.nan_to_num(np.asarray(width_m, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    w = np.clip(w, 0, None)
    cx = spec.res_x * spec.metres_per_unit[0]
    cy = spec.res_y * spec.metres_per_unit[1]
    rx = np.clip(np.floor(w / 2 / cx + 0.5), 0, MAX_RADIUS).astype(np.int64)
    ry = np.clip(np.floor(w / 2 / cy + 0.5), 0, MAX_RADIUS).astype(np.int64)
    return rx, ry


def _hbox(a: np.ndarray, r: int) -> np.ndarray:
    """Sum over a[i, j-r .. j+r] (zero outside), via a row-wise cumulative sum."""
    if r == 0:
        return a
    h, w = a.shape
    c = np.zeros((h, w + 2 * r + 1), dtype=a.dtype)
    np.cumsum(a, axis=1, out=c[:, r + 1 : w + r + 1])
    c[:, w + r + 1 :] = c[:, w + r : w + r + 1]
    return c[:, 2 * r + 1 : 2 * r + 1 + w] - c[:, 0:w]


def _vshift_add(out: np.ndarray, a: np.ndarray, dy: int) -> None:
    """out[i] += a[i - dy] (zero outside)."""
    h = a.shape[0]
    if dy >= 0:
        out[dy:] += a[: h - dy] if dy else a
    else:
        out[: h + dy] += a[-dy:]


def spread(a: np.ndarray, rx: int, ry: int, round_shape: bool) -> np.ndarray:
    """Footprint sum: each cell gets the sum of *a* over the footprint centred on it (symmetric).

    Parameters
    ----------
    a : numpy.ndarray
        2-D grid of per-cell sums (or counts).
    rx, ry : int
        Footprint half-sizes in cells along x (columns) and y (rows).
    round_shape : bool
        An ellipse (``ROUND``) instead of a rectangle (``SQUARE``).

    Returns
    -------
    numpy.ndarray
        A grid of *a*'s shape; *a* itself when both half-sizes are 0.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((3, 4))
    >>> a[1, 1] = 1.0
    >>> spread(a, 1, 0, False)
    array([[0., 0., 0., 0.],
           [1., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    if rx == 0 and ry == 0:
        return a
    out = np.zeros_like(a)
    if not round_shape:
        hb = _hbox(a, rx)
        for dy in range(-ry, ry + 1):
            _vshift_add(out, hb, dy)
        return out
    cache: dict[int, np.ndarray] = {}
    for dy in range(-ry, ry + 1):
        t = dy / (ry + 0.5)
        half = math.floor((rx + 0.5) * math.sqrt(max(0.0, 1 - t * t)))
        if half not in cache:
            cache[half] = _hbox(a, half)
        _vshift_add(out, cache[half], dy)
    return out


@no_hugepage_advice()  # its grids are new arrays each time (leafnb.pages)
def rasterize(
    spec: GridSpec,
    x: np.ndarray,
    y: np.ndarray,
    values: dict[str, np.ndarray],
    *,
    radii: tuple[np.ndarray, np.ndarray] | None = None,
    shape: str = "SQUARE",
) -> dict[str, np.ndarray]:
    """Mean of the points covering each cell, per property (see module doc); NaN where empty.

    *x*, *y* are in ``spec.crs``; *values* maps property -> per-point array; *radii* are
    per-point footprint half-sizes in cells (x, y) from :func:`footprint_radii`.
    Returns property -> ``float64`` array of shape ``(height, width)``, row 0 at the top.
    """
    n = len(x)
    row, col = spec.cell_of(x, y)
    inside = (row >= 0) & (row < spec.height) & (col >= 0) & (col < spec.width)
    idx = row * spec.width + col
    rx, ry = (
        radii if radii is not None else (np.zeros(n, np.int64), np.zeros(n, np.int64))
    )
    size = spec.width * spec.height
    round_shape = str(shape).upper() == "ROUND"
    # groups of points with the same footprint
    key = rx * (MAX_RADIUS + 1) + ry
    key = np.where(inside, key, -1)
    groups = [int(k) for k in np.unique(key) if k >= 0]
    out: dict[str, np.ndarray] = {}
    if groups in ([], [0]):
        return _rasterize_cells(spec, idx, inside, values)
    shared_counts: dict[int, np.ndarray] = {}
    shape2 = (spec.height, spec.width)
    for prop, vals in values.items():
        v = np.asarray(vals, dtype=float)
        finite = np.isfinite(v)
        total_s = total_c = None
        for k in groups:
            sel = key == k
            gr_x, gr_y = divmod(k, MAX_RADIUS + 1)
            m = sel & finite
            # float64 even when the group is empty (bincount of nothing returns int64)
            sums = spread(
                np.bincount(idx[m], weights=v[m], minlength=size)
                .astype(float, copy=False)
                .reshape(shape2),
                gr_x,
                gr_y,
                round_shape,
            )
            if (
                m.sum() == sel.sum()
            ):  # no NaN in this group: counts shared between properties
                if k not in shared_counts:
                    shared_counts[k] = spread(
                        _count(idx[sel], size).reshape(shape2), gr_x, gr_y, round_shape
                    )
                c = shared_counts[k]
            else:
                c = spread(
                    _count(idx[m], size).reshape(shape2), gr_x, gr_y, round_shape
                )
            if total_s is None:
                total_s, total_c = sums, (c if len(groups) == 1 else c.copy())
            else:
                total_s += sums
                total_c += c
        # cumulative sums leave tiny residues in empty cells: a cell needs at least half a point
        mean = np.full(shape2, np.nan)
        np.divide(total_s, total_c, out=mean, where=total_c >= 0.5)
        out[prop] = mean
    return out


def _count(idx: np.ndarray, size: int) -> np.ndarray:
    """Points per cell as float64 (no int64 -> float copy of the whole grid)."""
    return np.bincount(idx, weights=np.ones(len(idx)), minlength=size).astype(
        float, copy=False
    )


def _rasterize_cells(
    spec: GridSpec, idx: np.ndarray, inside: np.ndarray, values: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """No footprints: the mean per occupied cell, computed sparsely, written into a NaN grid."""
    cells, inv = np.unique(idx[inside], return_inverse=True)
    out = {}
    for prop, vals in values.items():
        v = np.asarray(vals, dtype=float)[inside]
        m = np.isfinite(v)
        s = np.bincount(inv[m], weights=v[m], minlength=len(cells))
        c = np.bincount(inv[m], minlength=len(cells))
        grid = np.full(spec.width * spec.height, np.nan)
        has = c > 0
        grid[cells[has]] = s[has] / c[has]
        out[prop] = grid.reshape(spec.height, spec.width)
    return out
