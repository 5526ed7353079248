"""Out-of-core work on standard points stored as GeoParquet partitions.

An operation bigger than memory is a set of GeoParquet files (each file's
``standard.parquet`` / ``filtered.parquet``, or any partitioned dataset with leafnb's
columns). The helpers here read **one row group (record batch) at a time**, so memory is
bounded by the largest row group plus the accumulators, never the whole operation:

- :func:`summarize_partitions` — the same statistics and totals as
  :func:`leafnb.standard.summary.summarize` (start/end time, avg/min/max of every
  statistic property, totalArea/Distance/Wet.../Planted/Applied, crops, varieties with
  their areas/rates/masses, products, tankMix, recordCount). The coverage geometry is
  the union of each batch's coverage (``BUFFER``: identical away from batch seams;
  ``CONVEX_HULL``: exact), or skipped with ``geometry=None``.
- :func:`clean_partitions` — Leaf's cleanup rules (point-wise, so exactly streamable)
  writing filtered partitions + the removed-per-rule counts.
- :func:`grid_partitions` — a mean-value grid of one property (what map rendering and
  quantile-map preparation start from), accumulated with ``numpy.bincount``.
- :func:`render_partitions` — the imagesV2 PNG + ``.aux.xml`` and item (7-class legend
  from exact out-of-core quantiles, EPSG:4326 extent), identical to the in-memory imagesV2.

Partitions are mapped independently and combined, so they also run on an executor:
``executor=`` is mapped by :func:`leafnb.pipeline.executors.map_tasks` — a
:class:`concurrent.futures.Executor`, a ``dask.distributed.Client`` (``client.map`` +
``gather``; only small accumulators travel), or anything else a Workspace's ``executor=``
accepts (a worker count, ``"processes"``, a scheduler address); None runs in process.

One module per job: :mod:`~leafnb.scale.partitions` (reading partitions batch by batch),
:mod:`~leafnb.scale.summary`, :mod:`~leafnb.scale.clean`, :mod:`~leafnb.scale.grid`,
:mod:`~leafnb.scale.render` and its exact out-of-core quantiles
(:mod:`~leafnb.scale.quantiles`).

Not out-of-core (needs the whole point set of one *file* in memory): reading a machine
file (readers return one Arrow table) and the per-file conversion steps. Their peak is
measured in ``docs/performance.md``.
"""

from leafnb.scale.clean import clean_partitions
from leafnb.scale.grid import grid_partitions
from leafnb.scale.partitions import iter_point_batches, partition_meta
from leafnb.scale.render import render_partitions
from leafnb.scale.summary import summarize_partitions

__all__ = [
    "clean_partitions",
    "grid_partitions",
    "iter_point_batches",
    "partition_meta",
    "render_partitions",
    "summarize_partitions",
]
