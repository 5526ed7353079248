"""SummaryPanel: summary tables, a histogram of one property, and export buttons."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import traitlets as t

from leafnb.errors import NotFound
from leafnb.render.legend import quantile_legend
from leafnb.report import (
    default_property,
    export,
    histogram_svg,
    numeric_properties,
    summary_html,
)
from leafnb.standard.display import (
    DisplaySystem,
    convert_for_display,
    default_system,
    unit_label,
)
from leafnb.widgets._base import ResourcePanel
from leafnb.workspace import Workspace

__all__ = ["SummaryPanel"]

_BUTTONS = (
    ("csv", "CSV", "table"),
    ("geojson", "GeoJSON", "map-marker"),
    ("geoparquet", "GeoParquet", "database"),
    ("geotiff", "GeoTIFF", "image"),
    ("png", "PNG map", "map"),
    ("html", "HTML report", "file-code-o"),
)
_SYSTEMS = [("source units", "source"), ("metric", "metric"), ("imperial", "imperial")]


class SummaryPanel(w.VBox, ResourcePanel):
    """Summary of a file or operation: tables, a histogram and exports.

    Totals, averages with units, varieties, products, machinery, cleaning report and
    machine-total reconciliation.

    Tables and histogram are in the :attr:`units` display system (converted on the fly;
    stored data keep the units ``unitMeasurement`` gave them at upload). The export
    buttons call :func:`leafnb.report.export` with the panel's :attr:`property` and
    :attr:`filtered` state (GeoJSON/GeoParquet: the standard or filtered artifact;
    GeoTIFF and PNG: the shown property) and show the written path.
    """

    file_id = t.Unicode("")
    """File summarised (ignored when :attr:`operation_id` is set).

    - Type: str
    - Default: ``""``
    """
    operation_id = t.Unicode("")
    """Field operation summarised.

    - Type: str
    - Default: ``""``
    """
    property = t.Unicode("")
    """Property of the histogram (``""``: the operation type's main one).

    - Type: str
    - Default: ``""``
    """
    units = t.Enum([s.value for s in DisplaySystem], default_value="source")
    """Display units: ``source``, ``metric`` or ``imperial`` (default: the workspace's
    ``unitMeasurement``, DEFAULT → source).

    - Type: str
    """
    filtered = t.Bool(False)
    """Histogram and exports of the filtered points.

    - Type: bool
    - Default: ``False``
    """
    output_dir = t.Unicode("")
    """Folder for CSV and HTML exports.

    - Type: str
    - Default: ``<workspace>/exports``
    """
    last_export = t.Unicode("").tag(derived=True)
    """Path written by the last export (derived).

    - Type: str
    """

    def __init__(self, workspace: Workspace, **kwargs: Any):
        opts = self._init_panel(workspace, kwargs)
        units = opts.pop("units", None) or default_system(
            workspace.get_config().get("unitMeasurement")
        )
        self._suspend = True
        self.header = w.HTML()
        self.units_select = w.Dropdown(
            description="Units", options=_SYSTEMS, value=str(units)
        )
        self.filtered_toggle = w.ToggleButtons(
            options=[("standard", False), ("filtered", True)], value=False
        )
        self.tables = w.HTML()
        self.property_select = w.Dropdown(description="Histogram", options=[])
        self.histogram = w.HTML()
        self.buttons = {
            kind: w.Button(description=label, icon=icon, tooltip=f"export {label}")
            for kind, label, icon in _BUTTONS
        }
        for kind, button in self.buttons.items():
            button.on_click(lambda _, kind=kind: self._call(self.export, kind))
        self.export_message = w.HTML()
        self.property_select.observe(self._on_select, "value")
        t.link((self.units_select, "value"), (self, "units"))
        t.link((self.filtered_toggle, "value"), (self, "filtered"))
        super().__init__(
            children=[
                self.header,
                w.HBox([self.units_select, self.filtered_toggle]),
                self.tables,
                self.property_select,
                self.histogram,
                w.HBox(list(self.buttons.values())),
                self.export_message,
                self.errors,
            ],
            **opts.pop("_box"),
        )
        try:
            for name, value in opts.items():
                setattr(self, name, value)
            if not self.output_dir:
                self.output_dir = str(workspace.path / "exports")
        finally:
            self._suspend = False
        self._call(self.refresh)

    def export(self, kind: str) -> Path | None:
        """Export the shown resource with the panel's property, filtered state and units.

        Formats ``csv``, ``geojson``, ``geoparquet``, ``geotiff``, ``png``, ``html``; the
        panel shows the written path.
        """
        path = export(
            self.workspace,
            self.resource_id,
            kind,
            self.output_dir,
            filtered=self.filtered,
            property=self.property or None,
            system=self.units,
        )
        self.last_export = str(path)
        self.export_message.value = f"{kind}: <code>{html.escape(str(path))}</code>"
        return path

    # ------------------------------------------------------------------ derived view state
    def refresh(self) -> None:
        """Re-read summary, cleaning report and points."""
        rid = self.resource_id
        if not rid:
            self.header.value, self.tables.value, self.histogram.value = (
                "<i>no file or operation selected</i>",
                "",
                "",
            )
            return
        if self.operation_id:
            resource = self.workspace.get_operation(rid)
            summary = self.workspace.get_operation_summary(rid)
            title = f"operation <code>{rid}</code>"
        else:
            resource = self.workspace.get_file(rid)
            title = f"{html.escape(resource['fileName'])} ({resource['status']})"
            summary = resource.get("summary")
        self.header.value = f"<b>Summary</b> · {title}"
        props = (summary or {}).get("properties", summary or {})
        try:
            cleaning = dict(self.workspace.get_cleaning_report(rid))
        except NotFound:
            cleaning = None
        self.tables.value = (
            summary_html(props, cleaning, self.units)
            if props
            else "<i>no summary (not processed)</i>"
        )
        self._show_histogram(resource)

    def _show_histogram(self, resource: dict[str, Any]) -> None:
        try:
            points = self.workspace.load_points(self.resource_id, self.filtered)
        except NotFound as exc:
            self.histogram.value = f"<i>no points: {html.escape(str(exc))}</i>"
            return
        props = numeric_properties(points)
        prop = (
            self.property
            if self.property in props
            else default_property(props, points.operation_type)
        )
        self._suspend = True
        try:
            self.property_select.options = props
            self.property_select.value = prop
            self.property = prop or ""
        finally:
            self._suspend = False
        if not prop:
            self.histogram.value = ""
            return
        values = points.array(prop)
        lon, lat = points.array("lon"), points.array("lat")
        finite = values[np.isfinite(lon) & np.isfinite(lat)]
        unit = points.units.get(prop, "")
        legend = quantile_legend(finite, warn=False) if len(finite) else None
        factor, shown = convert_for_display([1.0], prop, unit, self.units)
        self.histogram.value = histogram_svg(
            values, legend, unit_label(shown), factor=float(factor[0])
        )

    @t.observe("file_id", "operation_id", "property", "filtered", "units")
    def _on_state(self, change: dict[str, Any]) -> None:
        if not self._suspend:
            self._call(self.refresh)

    def _on_select(self, change: dict[str, Any]) -> None:
        if not self._suspend and change["new"]:
            self.property = change["new"]
