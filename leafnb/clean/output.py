"""Write filtered points, removed points and the cleaning report beside the standard points.

:func:`make_filtered` is pure apart from writing into *out_dir*: the file pipeline step
(``filteredGeojson``) and the operations code (``Workspace._make_filtered``) share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leafnb.clean.profiles import FilterPipeline, FilterResult, resolve_pipeline
from leafnb.clean.report import CleaningReport
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import write_geoparquet, write_json

__all__ = ["FILTERED", "REMOVED", "REPORT", "make_filtered", "write_filtered"]

FILTERED, REMOVED, REPORT = "filtered.parquet", "removed.parquet", "cleaning.json"


def write_filtered(out_dir: str | Path, result: FilterResult) -> CleaningReport:
    """Write ``filtered.parquet``, ``removed.parquet`` (with ``filterReason``) and ``cleaning.json``."""
    out = Path(out_dir)
    for points, name in ((result.kept, FILTERED), (result.removed, REMOVED)):
        meta = {
            "units": points.units,
            "operation_type": points.operation_type,
            "filterProfile": result.report["profile"],
        }
        write_geoparquet(out / name, points.table, meta)
    write_json(out / REPORT, dict(result.report))
    (out / "filtered.geojson").unlink(missing_ok=True)  # a stale export would disagree
    return result.report


def make_filtered(
    points: PointSet,
    config: dict[str, Any],
    out_dir: str | Path,
    pipeline: str | FilterPipeline | list | None = None,
    boundary: Any = None,
) -> CleaningReport:
    """Filter *points* with *pipeline* (default: the config's ``filterProfile``) and write the artifacts."""
    result = resolve_pipeline(pipeline, config).run(points, boundary=boundary)
    return write_filtered(out_dir, result)
