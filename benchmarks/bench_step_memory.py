"""Benchmark: resident memory through one file's conversion, step by step.

    python benchmarks/bench_step_memory.py PATH READER [PART] [--whole] [--preload] [--trace]

Converts *PATH* with ``leafnb.pipeline.steps.convert_file`` in this process, sampling
``VmRSS`` every 5 ms, and prints for each of Leaf's file steps the RSS after it and the
peak within it. A big GeoPackage or shapefile is converted in record ranges up to its
standard points, all inside the ``rawGeojson`` step (docs/streaming.md); ``--whole``
reads every file whole, as before ranges (an ISOXML log too); ``--preload`` loads pint's
registry first, as ``bench_targets.py`` does (leafnb is imported first, as in its workers:
it chooses Arrow's memory pool; then pyogrio); ``--trace`` also prints, for each step,
what was allocated at its peak: Arrow's pool (``pa.total_allocated_bytes``) and the
largest Python/numpy allocations ``tracemalloc`` saw live, by the line that made them
(slower; GDAL's and GEOS's own allocations are in neither). Shows where a file's peak
memory comes from. Asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _vm(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) // 1024
    return 0


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    # first, as in leafnb's workers: it chooses Arrow's memory pool (leafnb/__init__.py)
    import leafnb  # noqa: F401

    whole = "--whole" in argv
    trace = "--trace" in argv
    args = [a for a in argv if a not in ("--whole", "--preload", "--trace")]
    path, reader = args[0], args[1]
    part = args[2] if len(args) > 2 else None
    peak = [0]
    #: at the step's peak so far: (RSS MB, Arrow pool MB, tracemalloc snapshot)
    seen: list = [None]

    def sample() -> None:
        import pyarrow as pa

        while True:
            rss = _vm("VmRSS:")
            if trace and rss > peak[0] + 8:
                snap = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(True, "*")]
                )
                seen[0] = (rss, pa.total_allocated_bytes() >> 20, snap)
            peak[0] = max(peak[0], rss)
            time.sleep(0.005)

    def report() -> None:
        if not trace or seen[0] is None:
            return
        rss, arrow, snap = seen[0]
        stats = snap.statistics("lineno")
        traced = sum(s.size for s in stats) >> 20
        print(f"    at {rss} MB: Arrow pool {arrow} MB, tracemalloc {traced} MB:")
        for stat in stats[:8]:
            if stat.size >= 4 << 20:
                frame = stat.traceback[0]
                where = f"{Path(frame.filename).name}:{frame.lineno}"
                print(f"      {stat.size >> 20:5d} MB {where}")
        seen[0] = None

    if trace:
        tracemalloc.start(1)

    threading.Thread(target=sample, daemon=True).start()
    import pyogrio  # noqa: F401

    from leafnb.standard.units import get_registry

    if "--preload" in argv:
        get_registry()
    import leafnb.pipeline.steps as steps
    from leafnb.pipeline import stream

    if whole:
        stream.STREAM_ABOVE = 2**62  # no file is converted in ranges
    run_steps = steps.run_steps

    def watched_steps(runners, what):
        def watch(step, run):
            def watched():
                peak[0] = _vm("VmRSS:")
                seen[0] = None
                result = run()
                print(
                    f"{step.value:20} RSS after {_vm('VmRSS:'):6d} MB"
                    f"   peak within {peak[0]:6d} MB",
                    flush=True,
                )
                report()
                return result

            return watched

        return run_steps({s: watch(s, r) for s, r in runners.items()}, what)

    steps.run_steps = watched_steps
    print(f"after imports: {_vm('VmRSS:')} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="leafnb-bench-mem-") as out:
        outcome = steps.convert_file(steps.FileJob("one", reader, path, part, out, {}))
    print(f"peak RSS (VmHWM) {_vm('VmHWM:')} MB; failed: {outcome.failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
