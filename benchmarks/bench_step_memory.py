"""Benchmark: resident memory through one file's conversion, step by step.

    python benchmarks/bench_step_memory.py PATH READER [PART]

Converts *PATH* with ``leafnb.pipeline.steps.convert_file`` in this process, sampling
``VmRSS`` every 10 ms, and prints after each stage (reading, normalise, area and
yield, cleanup, units, derived recipe, standard write, filter, summary) the RSS before
and after it and the peak so far with the stage it was reached in. Shows where a file's
peak memory comes from (docs/streaming.md). Asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _vm(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) // 1024
    return 0


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    path, reader = argv[0], argv[1]
    part = argv[2] if len(argv) > 2 else None
    peak = [0, "imports"]
    stage = ["imports"]

    def sample() -> None:
        while True:
            rss = _vm("VmRSS:")
            if rss > peak[0]:
                peak[0], peak[1] = rss, stage[0]
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    import leafnb.clean.output as clean_output
    import leafnb.pipeline.steps as steps
    from leafnb.formats.registry import get_reader

    def watch(module, name: str) -> None:
        fn = getattr(module, name)

        def watched(*args, **kwargs):
            stage[0] = name
            before = _vm("VmRSS:")
            result = fn(*args, **kwargs)
            print(
                f"{name:24} RSS {before:6d} -> {_vm('VmRSS:'):6d} MB"
                f"   peak so far {peak[0]:6d} MB ({peak[1]})",
                flush=True,
            )
            return result

        setattr(module, name, watched)

    for name in (
        "normalize",
        "compute_area_and_yield",
        "cleanup_step",
        "to_unit_system",
        "exact_derived",
        "write_geoparquet",
        "write_summary",
        "units_map",
    ):
        watch(steps, name)
    watch(clean_output, "make_filtered")
    cls = type(get_reader(reader))
    watch(cls, "read")
    print(f"after imports: {_vm('VmRSS:')} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="leafnb-bench-mem-") as out:
        outcome = steps.convert_file(steps.FileJob("one", reader, path, part, out, {}))
    print(f"peak RSS (VmHWM) {_vm('VmHWM:')} MB; failed: {outcome.failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
