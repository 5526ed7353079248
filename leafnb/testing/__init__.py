"""Synthetic machine data for tests, demos and plugin authors ("generate, don't collect").

- :func:`make_points` — standard points of one operation type: serpentine passes over
  a field near Ames, Iowa, headland turns, realistic speeds and widths, spatially
  varying values, and a few deliberately bad points (:mod:`leafnb.testing.points`).
- :func:`write_as` — write those points in a machine-file format leafnb reads
  (``sms_shapefile``, ``jd_shapefile``, ``geopackage``, ``sms_csv``, ``csv_wkt``,
  ``agleader_text``, ``farmobile_geojson``; :mod:`leafnb.testing.writers`).
- :func:`to_standard` — apply a reader's column mapping and convert units.
- :func:`assert_points_equal` — compare two point tables within a tolerance
  (:mod:`leafnb.testing.compare`).
- :func:`write_samples` — the demo files of ``sample_data/``
  (:mod:`leafnb.testing.samples`).

Run ``python -m leafnb.testing sample_data`` to rebuild the demo files in
``sample_data/``.

Examples
--------
>>> from leafnb.testing import make_points
>>> pts = make_points("harvested", 500, seed=1)
>>> pts.num_rows
500
>>> units = point_units(pts)
>>> units["wetMass"]
'kg'
"""

from __future__ import annotations

from leafnb.testing.compare import assert_points_equal, to_standard
from leafnb.testing.points import UNITS_KEY, make_points, point_units
from leafnb.testing.samples import write_samples
from leafnb.testing.writers import FORMATS, write_as

__all__ = [
    "FORMATS",
    "UNITS_KEY",
    "assert_points_equal",
    "make_points",
    "point_units",
    "to_standard",
    "write_as",
    "write_samples",
]
