"""Exports of a file or operation, following what a panel shows (property, filtered points).

``csv``, ``geojson`` and ``geoparquet`` hold the standard or the filtered points (stored
units; GeoParquet declares OGC:CRS84); ``geotiff`` is one property, rasterised from the
same points; ``png`` is the map of one property — the robust extent, the legend in display
units and a scale bar (:mod:`leafnb.render.view`); ``html`` is the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leafnb.errors import InvalidRequest, NotFound
from leafnb.report.views import default_property, numeric_properties
from leafnb.standard.display import DisplaySystem, format_edges, unit_label

if TYPE_CHECKING:
    from leafnb.render.legend import Legend
    from leafnb.standard.points import PointSet
    from leafnb.workspace import Workspace

__all__ = ["EXPORT_KINDS", "export", "map_png", "resolve"]

#: export kinds understood by :func:`export`
EXPORT_KINDS = ("csv", "geojson", "geoparquet", "geotiff", "png", "html")


def resolve(ws: Workspace, resource_id: str) -> tuple[str, dict[str, Any]]:
    """Return ``(kind, resource)`` for a batch, file or operation id.

    Raises
    ------
    NotFound
        No batch, file or operation has this id.
    """
    for kind, get in (
        ("batch", ws.get_batch),
        ("file", ws.get_file),
        ("operation", ws.get_operation),
    ):
        try:
            return kind, get(resource_id)
        except NotFound:
            continue
    raise NotFound(f"{resource_id!r} is not a batch, file or operation of {ws.path}")


def map_png(
    points: PointSet,
    prop: str,
    *,
    legend: Legend | None = None,
    system: DisplaySystem | str = DisplaySystem.SOURCE,
    window: tuple[float, float, float, float] | None = None,
    size: int = 900,
    title: str = "",
    with_legend: bool = True,
) -> bytes:
    """PNG of one property's map, with the legend in display units and a scale bar.

    The points' robust extent (or an EPSG:3857 *window*), at most *size* px a side, coloured by *legend* (default: the 7-class quantile legend,
    as imagesV2 and the map panel).
    """
    from leafnb.render.legend import quantile_legend
    from leafnb.render.mapdata import swath_width_m
    from leafnb.render.view import (
        metres_per_px,
        render_view,
        robust_extent,
        scale_bar,
        view_png,
    )
    from leafnb.standard.display import display_legend

    lon, lat = points.array("lon"), points.array("lat")
    ok = np.isfinite(lon) & np.isfinite(lat)
    values = points.array(prop)
    unit = points.units.get(prop)
    if legend is None:
        legend = quantile_legend(values[ok], unit=unit, property=prop, warn=False)
    if window is None:
        extent = robust_extent(lon, lat)
        if extent is None:
            raise NotFound(f"no points with a position to draw {prop}")
        xmin, ymin, xmax, ymax = extent.mercator
        pad = 0.04 * max(xmax - xmin, ymax - ymin, 1.0)
        window = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    xmin, ymin, xmax, ymax = window
    aspect = (ymax - ymin) / max(xmax - xmin, 1e-9)
    width, height = (
        (size, max(int(size * aspect), 1))
        if aspect <= 1
        else (max(int(size / aspect), 1), size)
    )
    if min(width, height) < 200:  # a thin strip gets room for its legend
        scale = 200 / min(width, height)
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        half_w, half_h = (xmax - xmin) / 2, (ymax - ymin) / 2
        if width < height:
            half_w *= scale
            width = 200
        else:
            half_h *= scale
            height = 200
        window = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    rgba = render_view(
        lon[ok],
        lat[ok],
        values[ok],
        legend,
        window,
        width,
        height,
        width_m=None if (w := swath_width_m(points)) is None else w[ok],
    )
    lat0 = float(np.median(lat[ok]))
    mpp = metres_per_px(window[0], window[2], width, lat0)
    rows = []
    if with_legend:
        ranges, shown = display_legend(legend.ranges, prop, unit, system)
        edges = format_edges([ranges[0]["min"], *(r["max"] for r in ranges)])
        label = unit_label(shown)
        rows = [
            (r["colorCode"], f"{edges[i]} - {edges[i + 1]} {label}")
            for i, r in enumerate(ranges)
        ]
    imperial = DisplaySystem(system) is DisplaySystem.IMPERIAL
    return view_png(
        rgba, legend_rows=rows, title=title, scale=scale_bar(mpp, imperial=imperial)
    )


def _first_path(result: Any) -> str:
    """The local path in an endpoint's answer (``standardGeojson`` etc.)."""
    if isinstance(result, Mapping):
        for key, value in result.items():
            if isinstance(value, str) and not key.startswith("download"):
                return value
    raise NotFound(f"no path in {result!r}")


def export(
    ws: Workspace,
    resource_id: str,
    kind: str,
    out_dir: str | Path,
    *,
    filtered: bool = False,
    property: str | None = None,
    system: DisplaySystem | str = DisplaySystem.SOURCE,
) -> Path:
    """Export a file or operation; return the written path.

    Parameters
    ----------
    kind : str
        ``csv``, ``geojson``, ``geoparquet``, ``geotiff``, ``png`` or ``html``.
    filtered : bool
        Export the filtered points (what the panel shows with *filtered* on) instead of
        the standard ones. GeoJSON/GeoParquet are the Workspace's own artifacts
        (``standardGeojson``/``filteredGeojson``…, paths inside the workspace).
    property : str, optional
        Property of ``geotiff`` and ``png`` (default: the operation type's main one).
    system : str
        Display units of ``png`` and ``html`` (data exports keep stored units).

    Raises
    ------
    InvalidRequest
        Unknown *kind*, a batch asked for anything but ``html``, or a property without
        values.
    NotFound
        Unknown id, or a resource without (filtered) points.
    """
    out_dir = Path(out_dir)
    if kind not in EXPORT_KINDS:
        raise InvalidRequest(
            f"{kind!r} is not a valid export, must be one of {', '.join(EXPORT_KINDS)}"
        )
    rtype, _ = resolve(ws, resource_id)
    if kind == "html":
        from leafnb.report.report import write_report

        return write_report(
            ws, resource_id, out_dir / f"report_{resource_id[:8]}", system=system
        )
    if rtype == "batch":
        raise InvalidRequest(f"a batch exports only as html; export its files ({kind})")
    prefix = "get_operation" if rtype == "operation" else "get_file"
    suffix = "_filtered" if filtered else ""
    if kind in ("geojson", "geoparquet"):
        which = "filtered" if filtered else "standard"
        return Path(_first_path(getattr(ws, f"{prefix}_{which}_{kind}")(resource_id)))
    points = ws.load_points(resource_id, filtered)
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        target = out_dir / f"{resource_id}{suffix}.csv"
        points.table.to_pandas().to_csv(target, index=False)
        return target
    prop = property or default_property(
        numeric_properties(points), points.operation_type
    )
    if not prop or not points.has(prop):
        raise InvalidRequest(
            f"{property!r} has no values to export; numeric properties: "
            f"{', '.join(numeric_properties(points))}"
        )
    if kind == "png":
        target = out_dir / f"{resource_id}_{prop}{suffix}.png"
        target.write_bytes(
            map_png(
                points, prop, system=system, title=f"{prop} · {resource_id[:8]}{suffix}"
            )
        )
        return target
    from leafnb.render.images import build_geotiffs, prepare

    folder = out_dir / f"{resource_id}{suffix}"
    items, _ = build_geotiffs(prepare(points), folder, [prop])
    return Path(items[0]["path"])
