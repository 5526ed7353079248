"""Benchmark: CPU seconds and peak RSS of one big file's whole conversion, against its floors.

    python benchmarks/bench_onefile_cpu.py [--points 1000000] [--baseline main]
        [--isoxml TASKDATA.XML --part TSK1] [--gpkg FILE.gpkg] [--repeats 1]

Every measurement is a fresh process, in one run, one after the other:

* ``leafnb.pipeline.steps.convert_file`` (raw → standard → filtered → summary → units)
  of one ISOXML TASKDATA and one GeoPackage, by this tree and by *baseline* (``git
  archive <ref>`` unpacked in a temp dir, the built TLG kernel copied in): CPU seconds
  (``time.process_time`` around the call: leafnb imported before, the libraries it
  imports lazily — pint, pyogrio — inside) and peak RSS (``VmHWM``);
* the floors the issue (#16) measures against: isoxml-js loading the TASKDATA and
  decoding its time log (``tests/oracle/isoxml_oracle.mjs cpu``: ``process.cpuUsage``
  around ``parseISOXMLFile`` + ``parseBinaryFile``), and a bare ``pyogrio.read_arrow`` +
  ``pq.write_table`` of the GeoPackage (CPU around the two calls, pyogrio imported
  before).

Without ``--isoxml``/``--gpkg`` the files are generated (``leafnb.testing.make_points
("harvested", points, seed=1)`` written with ``write_isoxml`` / ``write_as(...,
"geopackage")``). Asserts nothing; prints one table (work | baseline | this tree | ratio).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import peak_rss_mb, run_child

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import baseline_tree

REPO = Path(__file__).resolve().parents[1]
ORACLE = REPO / "tests" / "oracle"


# ----------------------------------------------------------------------------- children
def _convert(path: str, reader: str, part: str | None) -> dict:
    import time

    from leafnb.pipeline.steps import FileJob, convert_file

    out = tempfile.mkdtemp(prefix="leafnb-bench-cpu-")
    c0, t0 = time.process_time(), time.perf_counter()
    outcome = convert_file(FileJob("one", reader, path, part, out, {}))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"cpu": cpu, "wall": wall, "rss_mb": peak_rss_mb(), "failed": outcome.failed}


def _floor(path: str) -> dict:
    import time

    import pyarrow.parquet as pq
    import pyogrio

    out = Path(tempfile.mkdtemp(prefix="leafnb-bench-floor-"))
    c0 = time.process_time()
    _, table = pyogrio.read_arrow(path)
    pq.write_table(table, out / "floor.parquet")
    cpu = time.process_time() - c0
    shutil.rmtree(out, ignore_errors=True)
    return {"cpu": cpu, "rss_mb": peak_rss_mb(), "rows": table.num_rows}


def _child(root: Path, kind: str, *args) -> dict:
    return run_child(root, "bench_onefile_cpu", f"_{kind}", *args)


def _isoxml_js(taskdata: Path) -> dict | None:
    """isoxml-js CPU to load *taskdata*'s folder and decode its first time log."""
    if not shutil.which("node") or not (ORACLE / "node_modules" / "isoxml").is_dir():
        return None
    folder = taskdata.parent
    tlg = sorted(folder.glob("TLG*.xml"))[0]
    res = subprocess.run(
        [
            "node",
            "--max-old-space-size=8192",
            str(ORACLE / "isoxml_oracle.mjs"),
            "cpu",
            str(tlg),
            str(tlg.with_suffix(".bin")),
        ],
        capture_output=True,
        text=True,
        cwd=ORACLE,
    )
    if res.returncode != 0:
        raise RuntimeError(f"isoxml-js failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout)


def _generate(points: int, tmp: Path) -> dict[str, Path]:
    from leafnb.testing import make_points, write_as
    from leafnb.testing.writers import write_isoxml

    pts = make_points("harvested", points, seed=1)
    return {
        "gpkg": write_as(pts, "geopackage", tmp / "gpkg"),
        "isoxml": write_isoxml(pts, tmp / "iso"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--baseline", default="main", help="git ref to compare against")
    ap.add_argument("--isoxml", type=Path, help="a TASKDATA.XML (else generated)")
    ap.add_argument("--part", default=None, help="the task of --isoxml (e.g. TSK1)")
    ap.add_argument("--gpkg", type=Path, help="a GeoPackage (else generated)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="leafnb-bench-cpu-"))
    try:
        files: dict[str, Path] = {}
        if args.isoxml is None or args.gpkg is None:
            files = _generate(args.points, tmp)
        iso = args.isoxml or Path(files["isoxml"])
        if iso.is_dir():
            iso = iso / "TASKDATA.XML"
        gpkg = args.gpkg or Path(files["gpkg"])
        base = baseline_tree(args.baseline, tmp)
        rows = []

        def both(label: str, path: Path, reader: str, part: str | None):
            old = _child(base, "convert", str(path), reader, part)
            new = _child(REPO, "convert", str(path), reader, part)
            rows.append(
                (
                    f"{label}: whole conversion, CPU s / peak RSS MB",
                    f"{old['cpu']:.2f} / {old['rss_mb']:.0f}",
                    f"{new['cpu']:.2f} / {new['rss_mb']:.0f}",
                    f"{old['cpu'] / new['cpu']:.2f}x",
                )
            )
            return old, new

        _, new_iso = both("ISOXML", iso, "isoxml", args.part)
        js = _isoxml_js(iso)
        if js:
            rows.append(
                (
                    "ISOXML: isoxml-js parse + decode (floor), CPU s",
                    "",
                    f"{js['cpu']:.2f} ({js['records']:,} records)",
                    f"leafnb {new_iso['cpu'] / js['cpu']:.2f}x of it (target ≤ 0.5x)",
                )
            )
        _, new_gpkg = both("GeoPackage", gpkg, "geopackage", None)
        floor = _child(REPO, "floor", str(gpkg))
        rows.append(
            (
                "GeoPackage: pyogrio.read_arrow + pq.write_table (floor), CPU s / MB",
                "",
                f"{floor['cpu']:.2f} / {floor['rss_mb']:.0f}",
                f"leafnb {new_gpkg['cpu'] / floor['cpu']:.2f}x of it (target ≤ 2x)",
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"| work | {args.baseline} | this tree | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
