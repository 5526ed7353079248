"""The demo files of ``sample_data/`` (deterministic; see its README).

Rebuild them with ``python -m leafnb.testing sample_data``.
"""

from __future__ import annotations

from pathlib import Path

from leafnb.testing.points import make_points
from leafnb.testing.writers import write_as

__all__ = ["SAMPLES", "write_samples"]

#: (operation type, points, seed, format, file stem) of each demo file
SAMPLES = (
    ("harvested", 1000, 11, "sms_shapefile", "sms_harvest_corn"),
    ("planted", 800, 12, "jd_shapefile", "jd_planting_corn"),
    ("applied", 1500, 13, "sms_csv", "sms_application_glyphosate"),
    ("harvested", 1500, 14, "agleader_text", "agleader_harvest_corn"),
)


def write_samples(directory: str | Path) -> list[Path]:
    """(Re)write the demo files of ``sample_data/`` (deterministic; see its README)."""
    directory = Path(directory)
    out = []
    for op, n, seed, fmt, stem in SAMPLES:
        out.append(write_as(make_points(op, n, seed=seed), fmt, directory, name=stem))
    return out
