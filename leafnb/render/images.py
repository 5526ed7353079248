"""Image products of a point set: V1 PNGs, imagesV2 PNGs, GeoTIFFs, grids, map overlays.

Pure functions of a :class:`~leafnb.standard.points.PointSet` and an output folder; the
Workspace (``render/api.py``) adds configuration, caching and Leaf's response shapes.

CRSs and resolutions
--------------------
============  =====================  ===================================================
product       grid CRS               cell size
============  =====================  ===================================================
V1 PNG        ``geoimagesProjection``  ``geoimagesResolution`` degrees (converted for 3857)
imagesV2 PNG  EPSG:3857              0.00001° equivalent (1.113 m on the ground in y)
overlay PNG   EPSG:3857              as V2, raised so the image fits ``max_size``
GeoTIFF       local UTM zone         1 m
grid()        local UTM (default)    ``resolution`` in CRS units (default 1 m / 1e-5°)
============  =====================  ===================================================

imagesV2 ``extent`` and overlay ``bounds`` are in **EPSG:4326** (lon/lat degrees of the
image's outer corners), the form map libraries (Leaflet ``ImageOverlay``) expect for a
Web-Mercator image.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.pages import no_hugepage_advice
from leafnb.render.legend import Legend, quantile_legend
from leafnb.render.png import write_png
from leafnb.render.ramps import LEAF_RAMP, colorize
from leafnb.render.raster import (
    GridSpec,
    degrees_to_crs_resolution,
    footprint_radii,
    grid_spec,
    project,
    rasterize,
    unproject,
    utm_crs,
)
from leafnb.standard.points import PointSet

__all__ = [
    "V2_RESOLUTION_DEG",
    "Prepared",
    "build_geotiffs",
    "build_grid",
    "build_overlay",
    "build_v1",
    "build_v2",
    "extent_4326",
    "numeric_properties",
    "prepare",
    "select_properties",
]

V2_RESOLUTION_DEG = 0.00001
GEOTIFF_RESOLUTION_M = 1.0
MAX_SIZE = 8192

_SKIP = {"lon", "lat", "geometry"}


def numeric_properties(points: PointSet) -> list[str]:
    """Numeric (int/float, not boolean) property columns with at least one value, in table order."""
    out = []
    for f in points.table.schema:
        if f.name in _SKIP:
            continue
        t = f.type
        if (
            pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        ) and points.has(f.name):
            out.append(f.name)
    return out


def _flags(value: Any) -> list[str] | None:
    """Properties switched on in a flags value ({prop: bool} or [prop, ...]); None when none are on."""
    if isinstance(value, dict):
        on = [
            k
            for k, v in value.items()
            if v is True or (isinstance(v, str) and v.lower() == "true")
        ]
    elif isinstance(value, list | tuple | set):
        on = [str(v) for v in value]
    else:
        return None
    return on or None


def select_properties(
    available: list[str], operation_type: str, flags: Any
) -> list[str]:
    """Properties that get images (spec §7.4).

    *flags* is ``operationsImageAttributeCreation`` (or ``filesImageAttributeCreation``):
    ``{type: {prop: bool}}``, ``{type: [prop]}`` or a flat ``{prop: bool}``. When any
    property is switched on (for this operation type), exactly the switched-on properties
    that exist get images; when nothing is configured or everything is ``false`` (Leaf's
    default), every numeric property does.
    """
    chosen = None
    if isinstance(flags, dict) and flags:
        if operation_type in flags and isinstance(
            flags[operation_type], dict | list | tuple
        ):
            chosen = _flags(flags[operation_type])
        elif not any(isinstance(v, dict | list) for v in flags.values()):
            chosen = _flags(flags)
    if chosen is None:
        return list(available)
    return [p for p in available if p in set(chosen)]


@dataclass(frozen=True)
class Prepared:
    """Finite positions, swath widths (m) and value arrays of a point set."""

    lon: np.ndarray
    lat: np.ndarray
    width_m: np.ndarray | None
    points: PointSet
    keep: np.ndarray

    def values(self, prop: str) -> np.ndarray:
        """Values of *prop* at the kept points (stored units)."""
        return self.points.array(prop)[self.keep]

    @property
    def units(self) -> dict[str, str]:
        """Stored unit of each property of the point set."""
        return self.points.units


def prepare(points: PointSet) -> Prepared:
    """Drop points without a finite position; widths in metres (``equipmentWidth``, unit converted)."""
    if not len(points):
        raise ValueError("no points to render")
    lon = points.array("lon")
    lat = points.array("lat")
    keep = np.isfinite(lon) & np.isfinite(lat)
    if not keep.any():
        raise ValueError("no points with a position to render")
    width = None
    if points.has("equipmentWidth"):
        width = points.array("equipmentWidth")[keep]
        unit = points.units.get("equipmentWidth", "m")
        if unit and unit != "m":
            from leafnb.standard.units import convert

            with contextlib.suppress(
                ValueError, KeyError, AttributeError
            ):  # unknown unit: taken as metres
                width = convert(width, unit, "m")
    return Prepared(lon[keep], lat[keep], width, points, keep)


def _raster(
    prep: Prepared,
    props: list[str],
    crs: str,
    resolution: float,
    *,
    shape: str = "SQUARE",
    max_size: int = MAX_SIZE,
    fill: bool = True,
) -> tuple[GridSpec, dict[str, np.ndarray]]:
    x, y = project(prep.lon, prep.lat, crs)
    lat0 = float(np.median(prep.lat))
    spec = grid_spec(x, y, crs, resolution, max_size=max_size, lat=lat0)
    if fill and prep.width_m is not None:
        rx, ry = footprint_radii(prep.width_m, spec, len(x))
        pad = int(max(rx.max(initial=0), ry.max(initial=0)))
        if pad:
            spec = grid_spec(
                x, y, crs, resolution, max_size=max_size, pad=pad, lat=lat0
            )
            rx, ry = footprint_radii(prep.width_m, spec, len(x))
        radii = (rx, ry)
    else:
        radii = None
    arrays = rasterize(
        spec, x, y, {p: prep.values(p) for p in props}, radii=radii, shape=shape
    )
    return spec, arrays


def extent_4326(spec: GridSpec) -> dict[str, float]:
    """Lon/lat extent of a grid's outer corners (imagesV2 ``extent``, overlay bounds).

    Parameters
    ----------
    spec : GridSpec
        The grid, in any CRS :func:`~leafnb.render.raster.unproject` handles.

    Returns
    -------
    dict
        ``{"xmin", "xmax", "ymin", "ymax"}`` in EPSG:4326 degrees.

    Examples
    --------
    >>> from leafnb.render.raster import GridSpec
    >>> spec = GridSpec("EPSG:3857", 0.0, 1000.0, 10.0, 10.0, 100, 100)
    >>> {k: round(v, 6) for k, v in extent_4326(spec).items()}
    {'xmin': 0.0, 'xmax': 0.008983, 'ymin': 0.0, 'ymax': 0.008983}
    """
    left, bottom, right, top = spec.bounds
    lon, lat = unproject(np.array([left, right]), np.array([bottom, top]), spec.crs)
    return {
        "xmin": float(lon[0]),
        "xmax": float(lon[1]),
        "ymin": float(lat[0]),
        "ymax": float(lat[1]),
    }


def _minmax(v: np.ndarray) -> tuple[float, float]:
    f = v[np.isfinite(v)]
    return (float(f.min()), float(f.max())) if len(f) else (math.nan, math.nan)


@no_hugepage_advice()  # new grids, RGBA and PNG buffers (leafnb.pages)
def build_v1(
    prep: Prepared,
    out_dir: Path,
    props: list[str],
    *,
    resolution_deg: float = 0.00001,
    shape: str = "SQUARE",
    projection: str = "EPSG:3857",
    ramp: dict | None = None,
    max_size: int = MAX_SIZE,
) -> tuple[list[dict], GridSpec]:
    """V1 PNGs: Leaf's ramp between each property's point minimum and maximum.

    The minimum is 0 % and the maximum 100 % of the ramp, linear between stops,
    transparent where no point; ``.aux.xml`` beside each.
    """
    ramp = ramp or LEAF_RAMP
    crs = projection.upper().replace("_", ":")
    res = degrees_to_crs_resolution(resolution_deg, crs, float(np.median(prep.lat)))
    spec, arrays = _raster(prep, props, crs, res, shape=shape, max_size=max_size)
    items = []
    for prop in props:
        lo, hi = _minmax(prep.values(prop))
        path = write_png(
            out_dir / f"{prop}.png",
            colorize(arrays[prop], lo, hi, ramp),
            spec,
            {
                "property": prop,
                "min": repr(lo),
                "max": repr(hi),
                "units": prep.units.get(prop, ""),
            },
        )
        items.append({"property": prop, "ramp": ramp, "path": path})
    return items, spec


def legend_of(prep: Prepared, prop: str) -> Legend:
    """The 7-class legend of a property's point values (tie rule recorded, not warned)."""
    return quantile_legend(
        prep.values(prop), unit=prep.units.get(prop), property=prop, warn=False
    )


def _v2_resolution(prep: Prepared) -> float:
    return degrees_to_crs_resolution(
        V2_RESOLUTION_DEG, "EPSG:3857", float(np.median(prep.lat))
    )


@no_hugepage_advice()  # new grids, RGBA and PNG buffers (leafnb.pages)
def build_v2(
    prep: Prepared, out_dir: Path, props: list[str], *, max_size: int = MAX_SIZE
) -> tuple[list[dict], GridSpec]:
    """imagesV2 PNGs (EPSG:3857 pixels, 7 quantile classes) with legend and EPSG:4326 extent."""
    spec, arrays = _raster(
        prep, props, "EPSG:3857", _v2_resolution(prep), max_size=max_size
    )
    extent = extent_4326(spec)
    items = []
    for prop in props:
        legend = legend_of(prep, prop)
        path = write_png(
            out_dir / f"{prop}.png", legend.rgba(arrays[prop]), spec, {"property": prop}
        )
        items.append(
            {
                "property": prop,
                "legend": legend.to_dict(),
                "extent": dict(extent),
                "path": path,
            }
        )
    return items, spec


@no_hugepage_advice()  # new grids, RGBA and PNG buffers (leafnb.pages)
def build_overlay(
    prep: Prepared, path: Path, prop: str, *, max_size: int = 1024
) -> dict[str, Any]:
    """One EPSG:3857 PNG (≤ *max_size* px per side) coloured with the property's legend, for a Leaflet ImageOverlay."""
    legend = legend_of(prep, prop)
    spec, arrays = _raster(
        prep, [prop], "EPSG:3857", _v2_resolution(prep), max_size=max_size
    )
    write_png(path, legend.rgba(arrays[prop]), spec, {"property": prop})
    e = extent_4326(spec)
    return {
        "path": str(path),
        "bounds": [[e["ymin"], e["xmin"]], [e["ymax"], e["xmax"]]],
        "legend": legend,
        "spec": spec,
    }


@no_hugepage_advice()  # new grids, RGBA and PNG buffers (leafnb.pages)
def build_geotiffs(
    prep: Prepared,
    out_dir: Path,
    props: list[str],
    *,
    resolution: float = GEOTIFF_RESOLUTION_M,
    crs: str | None = None,
    max_size: int = MAX_SIZE,
) -> tuple[list[dict], GridSpec]:
    """One float32 COG per property (values, nodata where no point), local UTM at *resolution* m."""
    from leafnb.render.geotiff import write_geotiff

    crs = crs or utm_crs(prep.lon, prep.lat)
    spec, arrays = _raster(prep, props, crs, resolution, max_size=max_size)
    items = []
    for prop in props:
        path = write_geotiff(
            out_dir / f"{prop}.tif",
            arrays[prop],
            spec,
            prop=prop,
            unit=prep.units.get(prop),
            legend=legend_of(prep, prop),
            note=spec.note,
        )
        items.append({"property": prop, "path": path})
    return items, spec


@no_hugepage_advice()  # new grids, RGBA and PNG buffers (leafnb.pages)
def build_grid(
    prep: Prepared,
    props: list[str],
    *,
    resolution: float | None = None,
    crs: str = "utm",
    shape: str = "SQUARE",
    max_size: int = MAX_SIZE,
    attrs: dict | None = None,
):
    """``xarray.Dataset`` of the rasterised properties (see :func:`leafnb.render.grid.to_dataset`)."""
    from leafnb.render.grid import to_dataset

    crs = utm_crs(prep.lon, prep.lat) if crs.lower() == "utm" else crs.upper()
    if resolution is None:
        resolution = 0.00001 if crs in ("EPSG:4326", "OGC:CRS84") else 1.0
    spec, arrays = _raster(prep, props, crs, resolution, shape=shape, max_size=max_size)
    legends = {p: legend_of(prep, p) for p in props}
    return to_dataset(
        spec,
        arrays,
        units={p: prep.units.get(p) for p in props},
        legends=legends,
        attrs=attrs,
    )
