"""Benchmark: resident memory through one file's conversion, step by step.

    python benchmarks/bench_step_memory.py PATH READER [PART] [--whole] [--preload]

Converts *PATH* with ``leafnb.pipeline.steps.convert_file`` in this process, sampling
``VmRSS`` every 5 ms, and prints for each of Leaf's file steps the RSS after it and the
peak within it. A big GeoPackage or shapefile is converted in record ranges up to its
standard points, all inside the ``rawGeojson`` step (docs/streaming.md); ``--whole``
reads every file whole, as before ranges; ``--preload`` loads pint's registry first, as
``bench_targets.py`` does (pyogrio is always loaded first). Shows where a file's peak
memory comes from. Asserts nothing.
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
    whole = "--whole" in argv
    args = [a for a in argv if a not in ("--whole", "--preload")]
    path, reader = args[0], args[1]
    part = args[2] if len(args) > 2 else None
    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], _vm("VmRSS:"))
            time.sleep(0.005)

    threading.Thread(target=sample, daemon=True).start()
    import pyogrio  # noqa: F401

    from leafnb.standard.units import get_registry

    if "--preload" in argv:
        get_registry()
    import leafnb.pipeline.steps as steps
    from leafnb.pipeline import stream

    if whole:
        stream.STREAM_ROWS = 2**62
    run_steps = steps.run_steps

    def watched_steps(runners, what):
        def watch(step, run):
            def watched():
                peak[0] = _vm("VmRSS:")
                result = run()
                print(
                    f"{step.value:20} RSS after {_vm('VmRSS:'):6d} MB"
                    f"   peak within {peak[0]:6d} MB",
                    flush=True,
                )
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
