"""Notebook panels (ipywidgets + ipyleaflet) over a :class:`leafnb.Workspace`.

The only leafnb package that imports ipywidgets/ipyleaflet; import it explicitly::

    from leafnb.widgets import UploadPanel, StatusPanel, MapPanel, SummaryPanel, Dashboard
"""

from leafnb.widgets._base import ErrorOutput, Panel
from leafnb.widgets.dashboard import Dashboard
from leafnb.widgets.map import MapPanel
from leafnb.widgets.status import StatusPanel
from leafnb.widgets.summary import SummaryPanel
from leafnb.widgets.upload import UploadPanel

__all__ = [
    "Dashboard",
    "ErrorOutput",
    "MapPanel",
    "Panel",
    "StatusPanel",
    "SummaryPanel",
    "UploadPanel",
]
