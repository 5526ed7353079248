"""MapPanel: an ipyleaflet map of a file's or operation's points coloured by the 7-class legend."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import ipyleaflet as L
import ipywidgets as w
import numpy as np
import traitlets as t

from leafnb.errors import NotFound
from leafnb.report import (
    default_property,
    legend_html,
    legend_module,
    legend_ranges,
    numeric_properties,
)
from leafnb.widgets._base import ResourcePanel, not_available
from leafnb.workspace import Workspace

__all__ = ["MAX_POINTS", "MapPanel"]

#: above this many points the map shows a rendered raster overlay instead of vector points
MAX_POINTS = 10_000

_REASON_COLOURS = (
    "#424242",
    "#7b1fa2",
    "#1565c0",
    "#6d4c41",
    "#00838f",
    "#ad1457",
    "#9e9d24",
)


def hex_colours(rgba: np.ndarray) -> np.ndarray:
    """``#RRGGBB`` strings of an (n, 4) uint8 array, vectorised through its distinct colours."""
    rgba = np.asarray(rgba, dtype=np.uint32)
    codes = (rgba[:, 0] << 16) | (rgba[:, 1] << 8) | rgba[:, 2]
    distinct, inverse = np.unique(codes, return_inverse=True)
    return np.array([f"#{c:06X}" for c in distinct], dtype=object)[inverse.ravel()]


def _features(
    lon: np.ndarray,
    lat: np.ndarray,
    props: dict[str, np.ndarray],
    colours: np.ndarray | None,
) -> dict[str, Any]:
    names = list(props)
    cols = [props[n].tolist() for n in names]
    feats = []
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        p = {n: c[i] for n, c in zip(names, cols, strict=True)}
        if colours is not None:
            p["style"] = {"color": colours[i], "fillColor": colours[i]}
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [x, y]},
                "properties": p,
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def _view(
    lon: np.ndarray, lat: np.ndarray, px: int = 700
) -> tuple[tuple[float, float], int]:
    """Centre and zoom that fit the points in a map about *px* pixels wide (no front end needed)."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return (0.0, 0.0), 2
    lo_x, hi_x = np.percentile(lon[ok], [0.5, 99.5])
    lo_y, hi_y = np.percentile(lat[ok], [0.5, 99.5])
    span = max(
        hi_x - lo_x,
        (hi_y - lo_y) / max(math.cos(math.radians((lo_y + hi_y) / 2)), 0.1),
        1e-6,
    )
    zoom = int(np.clip(math.floor(math.log2(px * 360 / (256 * span))), 1, 20))
    return (float((lo_y + hi_y) / 2), float((lo_x + hi_x) / 2)), zoom


_PROFILES = [
    ("configured", ""),
    ("leaf", "leaf"),
    ("standard", "standard"),
    ("aggressive", "aggressive"),
    ("custom", "custom"),
]


class MapPanel(w.VBox, ResourcePanel):
    """Points of a file or operation on an ipyleaflet map, coloured like imagesV2.

    Up to :attr:`max_points` points are drawn as one GeoJSON layer whose per-feature
    colours come from the 7-class quantile legend (:mod:`leafnb.render.legend`); beyond
    that the map shows the Workspace's rendered PNG (``render_overlay``) with the same
    legend. No tile layer is needed (offline machines): ``basemap=True`` adds OSM tiles.

    Examples
    --------
    >>> from leafnb.widgets import MapPanel
    >>> MapPanel.from_file(ws, file_id, property="dryVolumePerArea")   # doctest: +SKIP
    """

    file_id = t.Unicode("")
    """File whose points are shown (ignored when :attr:`operation_id` is set).

    - Type: str
    - Default: ``""``
    """
    operation_id = t.Unicode("")
    """Field operation whose points are shown.

    - Type: str
    - Default: ``""``
    """
    property = t.Unicode("")
    """Standard property that colours the points (``""``: the operation type's main one).

    - Type: str
    - Default: ``""``
    """
    filtered = t.Bool(False)
    """Show the filtered points (``filtered.parquet``) instead of the standard ones.

    - Type: bool
    - Default: ``False``
    """
    profile = t.Unicode("")
    """Filter profile for :meth:`apply_filters` (``leaf``, ``standard``, ``aggressive``, ``custom``;
    ``""``: the configured ``filterProfile``).

    - Type: str
    - Default: ``""``
    """
    show_removed = t.Bool(False)
    """Add the points removed by filtering, one layer per filter reason.

    - Type: bool
    - Default: ``False``
    """
    show_fields = t.Bool(True)
    """Draw field boundaries (``get_fields``) when the Workspace has fields.

    - Type: bool
    - Default: ``True``
    """
    basemap = t.Bool(False)
    """Add OpenStreetMap tiles (needs internet); the data shows without them.

    - Type: bool
    - Default: ``False``
    """
    max_points = t.Int(MAX_POINTS)
    """Largest number of points drawn as vectors; more points are shown as a raster overlay.

    - Type: int
    - Default: 10,000
    """
    mode = t.Unicode("").tag(derived=True)
    """How the points are drawn (derived): ``geojson``, ``overlay``, ``sample`` or ``""``.

    - Type: str
    """
    legend_rows = t.List().tag(derived=True)
    """The legend's ``[{"colorCode", "min", "max"}] × 7`` (derived; empty without a legend).

    - Type: list of dict
    """
    unit = t.Unicode("").tag(derived=True)
    """Unit of :attr:`property` in the shown points (derived).

    - Type: str
    """

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        self._updating = False
        self._suspend = False
        self.property_select = w.Dropdown(description="Property", options=[])
        self.filtered_toggle = w.ToggleButtons(
            options=[("standard", False), ("filtered", True)], value=False
        )
        self.removed_box = w.Checkbox(
            description="removed points (by reason)", indent=False
        )
        self.profile_select = w.Dropdown(
            description="Filters", options=_PROFILES, value=""
        )
        self.apply_button = w.Button(
            description="Apply filters",
            icon="filter",
            tooltip="re-run the filter pipeline with this profile and keep the result",
        )
        self.apply_button.on_click(lambda _: self._call(self.apply_filters))
        self.fields_box = w.Checkbox(
            description="field boundaries", value=True, indent=False
        )
        self.note = w.HTML()
        self.legend = w.HTML()
        self.map = L.Map(
            layers=(),
            center=(0, 0),
            zoom=2,
            scroll_wheel_zoom=True,
            attribution_control=False,
            layout=w.Layout(height="480px"),
        )
        self.map.add(L.LayersControl(position="topright"))
        self.map.add(L.WidgetControl(widget=self.legend, position="bottomright"))
        self.tiles: L.TileLayer | None = None
        self.data_layer: L.Layer | None = None
        self.removed_layer = L.LayerGroup(name="removed points")
        self.fields_layer: L.GeoJSON | None = None
        t.link((self.filtered_toggle, "value"), (self, "filtered"))
        t.link((self.removed_box, "value"), (self, "show_removed"))
        t.link((self.profile_select, "value"), (self, "profile"))
        t.link((self.fields_box, "value"), (self, "show_fields"))
        self.property_select.observe(self._on_property_select, "value")
        super().__init__(
            children=[
                w.HBox([self.property_select, self.filtered_toggle]),
                w.HBox(
                    [
                        self.profile_select,
                        self.apply_button,
                        self.removed_box,
                        self.fields_box,
                    ]
                ),
                self.map,
                self.note,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        self._suspend = True  # one redraw for all constructor traits
        try:
            for name, value in opts.items():
                setattr(self, name, value)
        finally:
            self._suspend = False
        self._call(self.redraw)

    def apply_filters(self) -> None:
        """Re-filter the shown file or operation with :attr:`profile` (saved), then show the filtered points."""
        self.workspace.filter_points(self.resource_id, self.profile or None, save=True)
        self.filtered = True
        self.redraw()  # the stored filtered points changed even when ``filtered`` did not

    # ------------------------------------------------------------------ drawing
    def _set_layer(self, attr: str, layer: L.Layer | None) -> None:
        old = getattr(self, attr)
        if old is not None and old in self.map.layers:
            self.map.remove(old)
        setattr(self, attr, layer)
        if layer is not None:
            self.map.add(layer)

    def redraw(self) -> None:
        """Re-read the points and redraw data, legend, removed points and fields."""
        notes: list[str] = []
        rid = self.resource_id
        if not rid:
            self._set_layer("data_layer", None)
            self.mode, self.legend_rows, self.legend.value, self.note.value = (
                "",
                [],
                "",
                "<i>no file or operation selected</i>",
            )
            return
        try:
            points = self.workspace.load_points(rid, self.filtered)
        except NotFound as exc:
            if not self.filtered:
                raise
            notes.append(
                f"filtered points not available ({html.escape(str(exc))}); showing the standard points"
            )
            points = self.workspace.load_points(rid, False)
            filtered = False
        else:
            filtered = self.filtered
        props = numeric_properties(points)
        prop = (
            self.property
            if self.property in props
            else default_property(props, points.operation_type)
        )
        self._updating = True
        try:
            self.property_select.options = props
            self.property_select.value = prop
        finally:
            self._updating = False
        if prop != self.property:
            self.property = prop or ""  # observer redraws
            return
        lon, lat = points.array("lon"), points.array("lat")
        values = points.array(prop) if prop else np.full(len(points), np.nan)
        self.unit = points.units.get(prop, "") if prop else ""
        legend = self._legend(rid, prop, filtered, values, notes) if prop else None
        ranges = legend_ranges(legend)
        if len(points) > self.max_points and self._has("render_overlay"):
            out = self.workspace.render_overlay(
                rid, prop, filtered=filtered, max_size=1024
            )
            png = base64.b64encode(Path(out["path"]).read_bytes()).decode()
            layer = L.ImageOverlay(
                url=f"data:image/png;base64,{png}",
                bounds=tuple(map(tuple, out["bounds"])),
                name=prop,
            )
            ranges = legend_ranges(out.get("legend")) or ranges
            self.mode = "overlay"
        else:
            idx = np.arange(len(points))
            if len(points) > self.max_points:
                notes.append(
                    not_available("the raster overlay for large data", "render_overlay")
                    + f"showing every {math.ceil(len(points) / self.max_points)}th point of {len(points):,}"
                )
                idx = idx[:: math.ceil(len(points) / self.max_points)]
                self.mode = "sample"
            else:
                self.mode = "geojson"
            colours = None
            if legend is not None:
                rgba = np.asarray(legend.rgba(values[idx]))
                keep = rgba[:, 3] > 0  # NaN → transparent: not drawn
                idx, colours = idx[keep], hex_colours(rgba[keep])
            data = _features(
                lon[idx], lat[idx], {prop: values[idx]} if prop else {}, colours
            )
            layer = L.GeoJSON(
                data=data,
                name=prop or "points",
                point_style={
                    "radius": 4,
                    "weight": 0,
                    "fillOpacity": 0.9,
                    "color": "#607d8b",
                    "fillColor": "#607d8b",
                },
            )
        self._set_layer("data_layer", layer)
        self.legend_rows = ranges
        self.legend.value = legend_html(ranges, self.unit, prop or "") if ranges else ""
        self.map.center, self.map.zoom = _view(lon, lat)
        self._draw_removed(rid, notes)
        self._draw_fields(points, notes)
        self.note.value = "<br>".join(notes)

    def _legend(
        self, rid: str, prop: str, filtered: bool, values: np.ndarray, notes: list[str]
    ) -> Any:
        if self._has("legend"):
            return self.workspace.legend(rid, prop, filtered=filtered)
        module = legend_module()
        if module is None:
            notes.append(
                not_available("the colour legend (leafnb.render.legend)", "legend")
            )
            return None
        return module.quantile_legend(
            values[np.isfinite(values)], k=7, unit=self.unit or None, property=prop
        )

    def _draw_removed(self, rid: str, notes: list[str]) -> None:
        self.removed_layer.clear()
        in_map = self.removed_layer in self.map.layers
        if not self.show_removed:
            if in_map:
                self.map.remove(self.removed_layer)
            return
        if not self._has("removed_points"):
            notes.append(not_available("removed points", "removed_points"))
            return
        removed = self.workspace.removed_points(rid)
        table = removed.table
        if table.num_rows:
            reasons = np.asarray(table.column("filterReason").to_pylist(), dtype=object)
            lon, lat = removed.array("lon"), removed.array("lat")
            for i, reason in enumerate(sorted({str(r) for r in reasons})):
                idx = np.flatnonzero(reasons.astype(str) == reason)
                shown = idx[:: max(1, math.ceil(len(idx) / self.max_points))]
                colour = _REASON_COLOURS[i % len(_REASON_COLOURS)]
                self.removed_layer.add(
                    L.GeoJSON(
                        data=_features(
                            lon[shown],
                            lat[shown],
                            {
                                "filterReason": np.array(
                                    [reason] * len(shown), dtype=object
                                )
                            },
                            None,
                        ),
                        name=f"removed: {reason} ({len(idx):,})",
                        point_style={
                            "radius": 3,
                            "weight": 1,
                            "fillOpacity": 0.8,
                            "color": colour,
                            "fillColor": colour,
                        },
                    )
                )
        else:
            notes.append("no points were removed by filtering")
        if not in_map:
            self.map.add(self.removed_layer)

    def _draw_fields(self, points: Any, notes: list[str]) -> None:
        if not self.show_fields or not self._has("get_fields"):
            self._set_layer("fields_layer", None)
            return
        feats = [
            {
                "type": "Feature",
                "geometry": f["geometry"],
                "properties": {"name": f.get("name") or f.get("id")},
            }
            for f in self.workspace.get_fields(size=100)
            if f.get("geometry")
        ]
        layer = (
            L.GeoJSON(
                data={"type": "FeatureCollection", "features": feats},
                name="fields",
                style={"color": "#1a237e", "weight": 2, "fill": False},
            )
            if feats
            else None
        )
        self._set_layer("fields_layer", layer)

    # ------------------------------------------------------------------ observers
    @t.observe(
        "file_id",
        "operation_id",
        "property",
        "filtered",
        "max_points",
        "show_removed",
        "show_fields",
    )
    def _on_state(self, change: dict[str, Any]) -> None:
        if not self._suspend:
            self._call(self.redraw)

    @t.observe("basemap")
    def _on_basemap(self, change: dict[str, Any]) -> None:
        if change["new"] and self.tiles is None:
            self.tiles = L.basemap_to_tiles(L.basemaps.OpenStreetMap.Mapnik)
            self.tiles.base = True
            self.map.add(self.tiles)
            self.map.attribution_control = True
        elif not change["new"] and self.tiles is not None:
            self.map.remove(self.tiles)
            self.tiles = None

    def _on_property_select(self, change: dict[str, Any]) -> None:
        if not self._updating and change["new"]:
            self.property = change["new"]
