"""Leaf's cleanup rules over GeoParquet partitions, one record batch at a time.

The rules are point-wise (:func:`leafnb.clean.cleanup.cleanup_mask`), so cleaning batch
by batch gives exactly the in-memory result.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from leafnb.clean.cleanup import cleanup_mask
from leafnb.pipeline.executors import map_tasks
from leafnb.scale.partitions import BATCH_ROWS, expand_paths, partition_meta
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import restore_points

__all__ = ["clean_partitions"]


def _clean_one(args: tuple) -> tuple[str, dict[str, int], int, int]:
    src, dst, rules, batch_size = args
    pf = pq.ParquetFile(src)
    meta = partition_meta(src)
    schema = pf.schema_arrow
    removed: dict[str, int] = {}
    kept = total = 0
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(dst, schema, compression="zstd") as writer:
        for batch in pf.iter_batches(batch_size=batch_size):
            table = pa.Table.from_batches([batch], schema=schema)
            pts = PointSet(
                restore_points(table, meta),  # the columns the file stores compactly
                meta.get("operation_type", ""),
                units=meta.get("units") or {},
                meta=meta,
            )
            keep, rem = cleanup_mask(pts, rules)
            for k, v in rem.items():
                removed[k] = removed.get(k, 0) + v
            writer.write_table(table.filter(pa.array(keep)))
            kept += int(keep.sum())
            total += len(keep)
    return dst, removed, kept, total


def clean_partitions(
    paths: str | Path | Iterable[str | Path],
    rules: dict[str, list[dict[str, Any]]],
    out_dir: str | Path,
    *,
    executor: Any = None,
    batch_size: int = BATCH_ROWS,
) -> dict[str, Any]:
    """Apply cleanup *rules* (Leaf's ``cleanupRules``) batch by batch; write ``out_dir/part-NNNNN.parquet``.

    Returns ``{"paths": [...], "removed": {property: count}, "kept": n, "total": n}``.
    The outputs keep the input schema and leafnb metadata (the ``geo`` bbox is the
    input's, a superset of the filtered points).
    """
    files = expand_paths(paths)
    out_dir = Path(out_dir)
    jobs = [
        (str(p), str(out_dir / f"part-{i:05d}.parquet"), rules, batch_size)
        for i, p in enumerate(files)
    ]
    removed: dict[str, int] = {}
    kept = total = 0
    outs = []
    for dst, rem, k, t in map_tasks(_clean_one, jobs, executor):
        outs.append(dst)
        kept += k
        total += t
        for key, v in rem.items():
            removed[key] = removed.get(key, 0) + v
    return {"paths": outs, "removed": removed, "kept": kept, "total": total}
