"""The benchmark suite in one command: ``python benchmarks/run.py [--full] [--markdown FILE]``.

Prints one table (benchmark | leafnb | baseline | ratio), every baseline measured in the
same run:

* end-to-end batch (zip → standard + summary + filtered/images when those steps exist)
  for 100k and 1M points (``--full`` adds 10M): process pool vs in-process, vs a plain
  ``read_file``/``read_csv`` + ``to_parquet`` floor; peak RSS of parent and workers;
* peak RSS of one process converting a 1M-point file (shapefile, Ag Leader text, ISOXML);
* ``bench_tlg.py`` (TLG decode records/s: leafnb vs isoxml-js vs raw read),
  ``bench_filters.py`` (cleaning), ``bench_render.py`` (rendering, quantile maps) — run as
  subprocesses when present; their output is appended verbatim.

Asserts nothing. Takes ~10-20 min on 2 cores without ``--full``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

OTHERS = {
    "bench_tlg.py": ["--records", "3000000", "--repeats", "2"],
    "bench_filters.py": [],
    "bench_render.py": [],
}


def machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = (
        ", ".join(f"{x:.1f}" for x in os.getloadavg())
        if hasattr(os, "getloadavg")
        else "?"
    )
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--full",
        action="store_true",
        help="add the 10M-point end-to-end run (many minutes)",
    )
    ap.add_argument(
        "--points", help="override the end-to-end sizes, e.g. 100000,1000000"
    )
    ap.add_argument(
        "--skip-others", action="store_true", help="do not run bench_tlg/filters/render"
    )
    ap.add_argument("--markdown", help="also write the table (markdown) to this file")
    args = ap.parse_args(argv)
    import bench_pipeline

    sizes = [int(x) for x in (args.points or "100000,1000000").split(",")]
    if args.full and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    t0 = time.perf_counter()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="leafnb-bench-") as tmp:
        rows = bench_pipeline.run(sizes, Path(tmp), log=log)
        singles = bench_pipeline.one_file(1_000_000, Path(tmp), log=log)
    lines = [
        f"Machine: {machine()}",
        "",
        "| benchmark | leafnb | baseline | ratio |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {a} | {b} | {c} | {d} |"
        for a, b, c, d in bench_pipeline.table(rows, singles)
    ]
    extra = []
    if not args.skip_others:
        for name, extra_args in OTHERS.items():
            path = HERE / name
            if not path.exists():
                extra.append(f"{name}: not present (skipped)")
                continue
            log(f"# running {name}")
            res = subprocess.run(
                [sys.executable, str(path), *extra_args],
                capture_output=True,
                text=True,
                cwd=HERE.parent,
            )
            out = (
                res.stdout.strip()
                if res.returncode == 0
                else f"FAILED ({res.returncode}): {res.stderr.strip()[-500:]}"
            )
            extra.append(f"### {name}\n\n```\n{out}\n```")
    lines += ["", *extra, "", f"Suite time: {time.perf_counter() - t0:.0f} s"]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
