"""MapPanel: the points of a file or operation on an offline browser map you can question.

Controls (ipywidgets) over a :class:`~leafnb.widgets.pointmap.PointMap` (anywidget
canvas). The panel holds no logic of its own: layers, legend, extents, unit factors and
inspection rows come from :mod:`leafnb.render.mapdata`, :mod:`leafnb.render.view`,
:mod:`leafnb.render.legend` and :mod:`leafnb.standard.display`; buttons call
:class:`~leafnb.Workspace` methods (``filter_points``, ``create_field``) and
:mod:`leafnb.report.exports`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import traitlets as t

from leafnb.errors import InvalidRequest, NotFound
from leafnb.render.legend import SCHEMES, classify_legend
from leafnb.render.mapdata import (
    encode_points,
    legend_spec,
    point_rows,
    swath_width_m,
    unit_factors,
)
from leafnb.render.ramps import CLASS_RAMPS
from leafnb.render.view import nearest_point, robust_extent
from leafnb.report.views import default_property, numeric_properties
from leafnb.standard.display import DisplaySystem, default_system
from leafnb.widgets._base import ResourcePanel
from leafnb.widgets.pointmap import OSM_TILES, PointMap, standalone_html
from leafnb.workspace import Workspace

__all__ = ["MAX_POINTS", "MapPanel"]

#: above this many points the map draws pixel means (raster mode) and hover looks up the
#: nearest point; up to it every point is a disc carrying all its properties
MAX_POINTS = 10_000

REASON_COLOURS = (
    "#424242",
    "#7b1fa2",
    "#1565c0",
    "#6d4c41",
    "#00838f",
    "#ad1457",
    "#9e9d24",
)
OUTLIER_COLOUR = "#e91e63"

_PROFILES = [
    ("configured", ""),
    ("leaf", "leaf"),
    ("standard", "standard"),
    ("aggressive", "aggressive"),
    ("custom", "custom"),
]
_SYSTEMS = [("source units", "source"), ("metric", "metric"), ("imperial", "imperial")]


class MapPanel(w.VBox, ResourcePanel):
    """Points of a file or operation on a map, coloured by a 7-class legend.

    - hover (or click) a point: its standard properties with units (raster mode: the
      nearest point); a scale bar; removed points as one layer per filter reason and
      position outliers as their own layer, each switchable in the legend;
    - ``units``: source / metric / imperial, converted on the fly (legend, hover, exports);
    - ``scheme`` (quantiles — Leaf's imagesV2 legend, the default —, equal interval,
      natural breaks) and ``ramp``;
    - ``split``: before/after cleaning side by side with a draggable divider;
    - ✎ on the map draws a boundary; :meth:`create_field` makes it a field;
    - :meth:`export_png` / :meth:`export_html` write the current view.

    Up to :attr:`max_points` points each point is a disc; above, the map draws at screen
    resolution the mean of the points covering each pixel (raster mode), redrawn for
    every view, so a million points stay sharp at every zoom. No tiles are needed
    (offline); ``basemap=True`` adds OpenStreetMap tiles.

    Examples
    --------
    >>> from leafnb.widgets import MapPanel
    >>> MapPanel.from_file(ws, file_id, property="dryVolumePerArea")   # doctest: +SKIP
    """

    file_id = t.Unicode("")
    """File whose points are shown (ignored when :attr:`operation_id` is set)."""
    operation_id = t.Unicode("")
    """Field operation whose points are shown."""
    property = t.Unicode("")
    """Standard property that colours the points (``""``: the operation type's main one)."""
    filtered = t.Bool(False)
    """Show the filtered points (``filtered.parquet``) instead of the standard ones."""
    units = t.Enum([s.value for s in DisplaySystem], default_value="source")
    """Display units: ``source``, ``metric`` or ``imperial`` (default: the workspace's
    ``unitMeasurement``, DEFAULT → source). Stored data are not changed."""
    scheme = t.Enum(SCHEMES, default_value="quantiles")
    """Classification: ``quantiles`` (imagesV2), ``equal_interval``, ``natural_breaks``."""
    ramp = t.Unicode("leaf")
    """Colour ramp (:data:`leafnb.render.ramps.CLASS_RAMPS`; ``NAME_r`` reverses)."""
    split = t.Bool(False)
    """Before/after view: standard points left, filtered points right, one legend."""
    profile = t.Unicode("")
    """Filter profile for :meth:`apply_filters` (``""``: the configured ``filterProfile``)."""
    show_removed = t.Bool(False)
    """Add the points removed by filtering, one layer per filter reason."""
    show_fields = t.Bool(True)
    """Draw field boundaries (``get_fields``)."""
    basemap = t.Bool(False)
    """Add OpenStreetMap tiles (needs internet); the data show without them."""
    max_points = t.Int(MAX_POINTS)
    """Largest number of points drawn as discs; more are drawn as pixel means."""
    output_dir = t.Unicode("")
    """Folder of :meth:`export_png` / :meth:`export_html` (default ``<workspace>/exports``)."""

    mode = t.Unicode("").tag(derived=True)
    """How the points are drawn (derived): ``points``, ``raster`` or ``""``."""
    legend_rows = t.List().tag(derived=True)
    """The legend's ``[{"colorCode", "min", "max"}] × 7`` in stored units (derived)."""
    legend_labels = t.List().tag(derived=True)
    """The legend's labels as shown (display units, formatted) (derived)."""
    unit = t.Unicode("").tag(derived=True)
    """Stored unit of :attr:`property` (derived)."""
    outliers = t.Int(0).tag(derived=True)
    """Points outside the map's robust extent (position outliers) (derived)."""

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        units = opts.pop("units", None) or default_system(
            workspace.get_config().get("unitMeasurement")
        )
        self._updating = False
        self._suspend = False
        self._points: dict[bool, Any] = {}
        self._rows: dict[str, tuple[Any, np.ndarray]] = {}
        self._framed = ""
        self.property_select = w.Dropdown(description="Property", options=[])
        self.filtered_toggle = w.ToggleButtons(
            options=[("standard", False), ("filtered", True)], value=False
        )
        self.units_select = w.Dropdown(
            description="Units", options=_SYSTEMS, value=str(units)
        )
        self.scheme_select = w.Dropdown(
            description="Classes",
            options=[(s.replace("_", " "), s) for s in SCHEMES],
            value="quantiles",
        )
        self.ramp_select = w.Dropdown(
            description="Ramp",
            options=[*CLASS_RAMPS, *(f"{r}_r" for r in CLASS_RAMPS)],
            value="leaf",
        )
        self.split_box = w.Checkbox(description="before/after split", indent=False)
        self.removed_box = w.Checkbox(
            description="removed points (by reason)", indent=False
        )
        self.fields_box = w.Checkbox(
            description="field boundaries", value=True, indent=False
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
        self.field_name = w.Text(
            placeholder="field name", layout=w.Layout(width="160px")
        )
        self.field_button = w.Button(
            description="Create field",
            icon="draw-polygon",
            tooltip="draw a boundary with ✎ on the map, then create a field from it",
        )
        self.field_button.on_click(lambda _: self._call(self.create_field))
        self.png_button = w.Button(
            description="PNG", icon="image", tooltip="export the view as PNG"
        )
        self.png_button.on_click(lambda _: self._call(self.export_png))
        self.html_button = w.Button(
            description="HTML",
            icon="file-code-o",
            tooltip="export the map as a standalone HTML page",
        )
        self.html_button.on_click(lambda _: self._call(self.export_html))
        self.units_note = w.HTML(
            "<span style='color:#666;font-size:12px'>Units convert on the fly for display; "
            "stored data keep the units chosen by <code>unitMeasurement</code> when they "
            "were uploaded (<code>set_config</code> changes only later uploads).</span>"
        )
        self.note = w.HTML()
        self.export_message = w.HTML()
        self.map = PointMap(inspector=self.inspect)
        t.link((self.filtered_toggle, "value"), (self, "filtered"))
        t.link((self.units_select, "value"), (self, "units"))
        t.link((self.scheme_select, "value"), (self, "scheme"))
        t.link((self.ramp_select, "value"), (self, "ramp"))
        t.link((self.split_box, "value"), (self, "split"))
        t.link((self.removed_box, "value"), (self, "show_removed"))
        t.link((self.profile_select, "value"), (self, "profile"))
        t.link((self.fields_box, "value"), (self, "show_fields"))
        self.property_select.observe(self._on_property_select, "value")
        super().__init__(
            children=[
                w.HBox([self.property_select, self.filtered_toggle, self.units_select]),
                w.HBox([self.scheme_select, self.ramp_select, self.split_box]),
                w.HBox(
                    [
                        self.profile_select,
                        self.apply_button,
                        self.removed_box,
                        self.fields_box,
                    ]
                ),
                self.map,
                w.HBox(
                    [
                        self.field_name,
                        self.field_button,
                        self.png_button,
                        self.html_button,
                    ]
                ),
                self.units_note,
                self.note,
                self.export_message,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        self._suspend = True  # one redraw for all constructor traits
        try:
            for name, value in opts.items():
                setattr(self, name, value)
            if not self.output_dir:
                self.output_dir = str(workspace.path / "exports")
        finally:
            self._suspend = False
        self._call(self.redraw)

    # ------------------------------------------------------------------ actions
    def apply_filters(self) -> None:
        """Re-filter the shown file or operation with :attr:`profile` (saved), then show the filtered points."""
        self.workspace.filter_points(self.resource_id, self.profile or None, save=True)
        self._points.pop(True, None)
        self.filtered = True
        self.redraw()  # the stored filtered points changed even when ``filtered`` did not

    def create_field(self, name: str | None = None) -> dict[str, Any]:
        """Create a field from the boundary drawn on the map (✎), owned by the shown resource's user."""
        ring = self.map.drawn
        if len(ring) < 4:
            raise InvalidRequest(
                "draw a boundary on the map first (✎, then double-click)"
            )
        getter = (
            self.workspace.get_operation
            if self.operation_id
            else self.workspace.get_file
        )
        owner = getter(self.resource_id).get("leafUserId")
        field = self.workspace.create_field(
            owner,
            geometry={"type": "Polygon", "coordinates": [ring]},
            name=name or self.field_name.value or None,
        )
        self.map.drawn = []
        self._draw_fields()
        self.export_message.value = (
            f"field <b>{html.escape(str(field.get('name')))}</b> created "
            f"(<code>{html.escape(str(field.get('id')))}</code>)"
        )
        return field

    def _export_target(self, suffix: str) -> Path:
        out = Path(self.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        tag = "_filtered" if self.filtered else ""
        return out / f"{self.resource_id}_{self.property}{tag}_map.{suffix}"

    def export_png(self, path: str | Path | None = None, size: int = 1200) -> Path:
        """Write the current view (property, filtered state, legend in display units, scale bar) as PNG."""
        from leafnb.report.exports import map_png

        points = self._load(self.filtered)
        legend = self._legend_of(points)
        window = tuple(self.map.view) if len(self.map.view) == 4 else None
        target = Path(path) if path else self._export_target("png")
        target.write_bytes(
            map_png(
                points,
                self.property,
                legend=legend,
                system=self.units,
                window=window,
                size=size,
                title=f"{self.property} · {'filtered' if self.filtered else 'standard'} points",
            )
        )
        self.export_message.value = f"PNG: <code>{html.escape(str(target))}</code>"
        return target

    def export_html(self, path: str | Path | None = None) -> Path:
        """Write the map as a standalone HTML page (same drawing code, data inline, offline)."""
        target = Path(path) if path else self._export_target("html")
        title = f"{self.property} · {self.resource_id}"
        target.write_text(standalone_html(self.map, title), "utf-8")
        self.export_message.value = f"HTML: <code>{html.escape(str(target))}</code>"
        return target

    # ------------------------------------------------------------------ inspection
    def inspect(self, layer_id: str, index: int) -> list[tuple[str, str]]:
        """Every standard property of point *index* of a map layer, in display units."""
        if layer_id not in self._rows:
            return []
        points, rows = self._rows[layer_id]
        if not 0 <= index < len(rows):
            return []
        return point_rows(points, int(rows[index]), self.units)

    def inspect_at(
        self, lon: float, lat: float, max_distance_m: float | None = None
    ) -> list[tuple[str, str]]:
        """:meth:`inspect` of the shown point nearest to a position (raster mode's hover)."""
        layer = "after" if self.split else "points"
        if layer not in self._rows:
            return []
        points, rows = self._rows[layer]
        i, _ = nearest_point(
            points.array("lon")[rows],
            points.array("lat")[rows],
            lon,
            lat,
            max_distance_m,
        )
        return [] if i < 0 else self.inspect(layer, i)

    # ------------------------------------------------------------------ drawing
    def _load(self, filtered: bool) -> Any:
        if filtered not in self._points:
            self._points[filtered] = self.workspace.load_points(
                self.resource_id, filtered
            )
        return self._points[filtered]

    def _legend_of(self, points: Any) -> Any:
        lon, lat = points.array("lon"), points.array("lat")
        values = points.array(self.property)[np.isfinite(lon) & np.isfinite(lat)]
        return classify_legend(
            values,
            self.scheme,
            ramp=self.ramp,
            unit=points.units.get(self.property) or None,
            property=self.property,
            warn=False,
        )

    def _clear(self, note: str) -> None:
        self.map.layers, self.map.legend, self.map.fields = [], {}, []
        self.mode, self.legend_rows, self.legend_labels = "", [], []
        self.note.value = note

    def redraw(self) -> None:
        """Read the points (once per resource and state) and rebuild every layer."""
        notes: list[str] = []
        if not self.resource_id:
            self._clear("<i>no file or operation selected</i>")
            return
        filtered = self.filtered or self.split
        try:
            points = self._load(filtered)
        except NotFound as exc:
            if not filtered:
                raise
            notes.append(
                f"filtered points not available ({html.escape(str(exc))}); showing the standard points"
            )
            filtered = False
            points = self._load(False)
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
            self.property = prop or ""  # the observer redraws
            return
        if not prop:
            self._clear("<i>no numeric property to map</i>")
            return
        lon, lat = points.array("lon"), points.array("lat")
        ok = np.isfinite(lon) & np.isfinite(lat)
        extent = robust_extent(lon, lat)
        if extent is None:
            self._clear("<i>no point has a position</i>")
            return
        legend = self._legend_of(points)
        self.unit = points.units.get(prop, "")
        self.legend_rows = [dict(r) for r in legend.ranges]
        window = extent.mercator
        origin = [(window[0] + window[2]) / 2, (window[1] + window[3]) / 2]
        raster = int(ok.sum()) > self.max_points
        self.mode = "raster" if raster else "points"
        self._rows = {}
        layers = []
        if self.split and filtered:
            layers.append(
                self._layer(
                    "before",
                    "before cleaning",
                    self._load(False),
                    legend,
                    origin,
                    raster,
                    side="before",
                )
            )
            layers.append(
                self._layer(
                    "after",
                    "after cleaning",
                    points,
                    legend,
                    origin,
                    raster,
                    side="after",
                )
            )
        else:
            layers.append(
                self._layer(
                    "points",
                    f"{prop} ({'filtered' if filtered else 'standard'})",
                    points,
                    legend,
                    origin,
                    raster,
                )
            )
        self.outliers = int(extent.outliers.sum())
        if self.outliers:
            rows = np.flatnonzero(extent.outliers)
            self._rows["outliers"] = (points, rows)
            layers.append(
                encode_points(
                    "outliers",
                    f"position outliers ({self.outliers:,})",
                    lon[rows],
                    lat[rows],
                    origin,
                    kind="outliers",
                    color=OUTLIER_COLOUR,
                )
            )
            notes.append(
                f"{self.outliers:,} point(s) lie far outside the bulk of the data (GPS glitches?): "
                "the map frames the rest and rings them in the legend's <i>position outliers</i> layer"
            )
        if self.show_removed:
            layers.extend(self._removed_layers(origin, notes))
        self._updating = True
        try:
            self.map.origin = origin
            self.map.home = list(window)
            self.map.layers = layers
            self.map.value_name = prop
            self.map.mode = self.mode
            self.map.split = bool(self.split and filtered)
            # a new resource is framed; a new property, scheme or state keeps the zoom
            if self._framed != self.resource_id or len(self.map.view) != 4:
                self.map.view = list(window)
                self._framed = self.resource_id
            self.map.basemap = OSM_TILES if self.basemap else ""
        finally:
            self._updating = False
        self._apply_display()
        self._draw_fields()
        self.note.value = "<br>".join(notes)

    def _layer(
        self,
        layer_id: str,
        name: str,
        points: Any,
        legend: Any,
        origin: list[float],
        raster: bool,
        side: str = "",
    ) -> dict[str, Any]:
        lon, lat = points.array("lon"), points.array("lat")
        rows = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        self._rows[layer_id] = (points, rows)
        values = points.array(self.property)[rows]
        width = swath_width_m(points)
        props = None
        if not raster:
            props = {p: points.array(p)[rows] for p in numeric_properties(points)}
        return encode_points(
            layer_id,
            name,
            lon[rows],
            lat[rows],
            origin,
            kind="before" if side == "before" else "points",
            values=values,
            classes=None if raster else legend.classify(values),
            width_m=None if width is None else width[rows],
            props=props,
            side=side,
        )

    def _removed_layers(
        self, origin: list[float], notes: list[str]
    ) -> list[dict[str, Any]]:
        try:
            removed = self.workspace.removed_points(self.resource_id)
        except NotFound as exc:
            notes.append(f"no removed points: {html.escape(str(exc))}")
            return []
        if not removed.table.num_rows:
            notes.append("no points were removed by filtering")
            return []
        lon, lat = removed.array("lon"), removed.array("lat")
        reasons = (
            removed.table.column("filterReason")
            .to_numpy(zero_copy_only=False)
            .astype(str)
        )
        names, inverse = np.unique(reasons, return_inverse=True)
        layers = []
        ok = np.isfinite(lon) & np.isfinite(lat)
        for i, reason in enumerate(names):
            rows = np.flatnonzero((inverse == i) & ok)
            layer_id = f"removed:{reason}"
            self._rows[layer_id] = (removed, rows)
            layers.append(
                encode_points(
                    layer_id,
                    f"removed: {reason} ({len(rows):,})",
                    lon[rows],
                    lat[rows],
                    origin,
                    kind="removed",
                    color=REASON_COLOURS[i % len(REASON_COLOURS)],
                )
            )
        return layers

    def _apply_display(self) -> None:
        """Legend labels, hover units and scale bar for :attr:`units` (no point data resent)."""
        if not self.legend_rows or not self.property:
            return
        from leafnb.render.legend import Legend

        legend = Legend(
            [dict(r) for r in self.legend_rows], unit=self.unit, property=self.property
        )
        spec = legend_spec(legend, self.property, self.unit, self.units)
        points = self._points.get(self.filtered or self.split) or self._points.get(
            False
        )
        self.map.legend = spec
        self.map.units = unit_factors(
            points.units if points is not None else {}, self.units
        )
        self.map.scale_imperial = DisplaySystem(self.units) is DisplaySystem.IMPERIAL
        self.legend_labels = [r["label"] for r in spec["rows"]]

    def _draw_fields(self) -> None:
        if not self.show_fields:
            self.map.fields = []
            return
        fields = []
        for f in self.workspace.get_fields(size=100):
            geom = f.get("geometry") or {}
            polys = (
                [geom.get("coordinates", [])]
                if geom.get("type") == "Polygon"
                else geom.get("coordinates", [])
                if geom.get("type") == "MultiPolygon"
                else []
            )
            rings = [ring for poly in polys for ring in poly]
            if rings:
                fields.append({"name": f.get("name") or f.get("id"), "rings": rings})
        self.map.fields = fields

    # ------------------------------------------------------------------ observers
    @t.observe("file_id", "operation_id")
    def _on_resource(self, change: dict[str, Any]) -> None:
        self._points = {}
        if not self._suspend:
            self._call(self.redraw)

    @t.observe(
        "property",
        "filtered",
        "max_points",
        "show_removed",
        "scheme",
        "ramp",
        "split",
        "basemap",
    )
    def _on_state(self, change: dict[str, Any]) -> None:
        if not self._suspend:
            self._call(self.redraw)

    @t.observe("units")
    def _on_units(self, change: dict[str, Any]) -> None:
        if not self._suspend:
            self._call(self._apply_display)

    @t.observe("show_fields")
    def _on_fields(self, change: dict[str, Any]) -> None:
        if not self._suspend:
            self._call(self._draw_fields)

    def _on_property_select(self, change: dict[str, Any]) -> None:
        if not self._updating and change["new"]:
            self.property = change["new"]
