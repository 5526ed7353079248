"""HTML views, exports and the report of batches, files and operations.

- :mod:`leafnb.report.views`: tables, legends, histograms (HTML strings; the panels use them);
- :mod:`leafnb.report.exports`: CSV / GeoJSON / GeoParquet / GeoTIFF / PNG / HTML exports
  that follow a panel's property and filtered state;
- :mod:`leafnb.report.report`: the self-contained HTML report (``leafnb report``).
"""

from leafnb.report.exports import EXPORT_KINDS, export, map_png, resolve
from leafnb.report.report import write_report
from leafnb.report.views import (
    MAP_PROPERTY,
    batch_groups_html,
    cleaning_html,
    default_property,
    files_table_html,
    histogram_svg,
    legend_html,
    legend_ranges,
    machine_totals_html,
    numeric_properties,
    records_table_html,
    status_html,
    steps_table_html,
    summary_html,
)

__all__ = [
    "EXPORT_KINDS",
    "MAP_PROPERTY",
    "batch_groups_html",
    "cleaning_html",
    "default_property",
    "export",
    "files_table_html",
    "histogram_svg",
    "legend_html",
    "legend_ranges",
    "machine_totals_html",
    "map_png",
    "numeric_properties",
    "records_table_html",
    "resolve",
    "status_html",
    "steps_table_html",
    "summary_html",
    "write_report",
]
