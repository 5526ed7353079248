"""Benchmark: issue 16's "Done when" rows, each against its floor, measured in one run.

    python benchmarks/bench_targets.py [--data DIR] [--points 1000000] [--big 4000000]
                                       [--tlg-big 10000000] [--tlg-logs 3] [--small 200]
                                       [--small-baseline REF]
                                       [--season ZIP [--season-baseline REF]] [--pairs N]

Every conversion runs in a fresh process (``leafnb.pipeline.steps.convert_file``, the
whole per-file conversion: raw → standard → filter → summary → units) and reports the
CPU seconds of the conversion itself (``time.process_time``, all threads; imports and
pint's registry made before, as the floor imports pyogrio before) and the process's
peak RSS (``VmHWM``, imports included). Children run as an installed package would,
their modules compiled (``harness.installed_env``). Floors:

* TLG: isoxml-js on the same log (``tests/oracle/isoxml_oracle.mjs bench``: load the
  TASKDATA zip, parse the XML, ``parseBinaryFile()`` once): the node process's CPU
  seconds (``getrusage``), with its ``parseBinaryFile`` wall time beside it;
* GeoPackage / shapefile: ``pyogrio.read_arrow`` + ``pyarrow.parquet.write_table``
  of the same file in a fresh process (CPU seconds of the two calls).

Rows: 1M-record TLG vs isoxml-js (target ≤ 0.5×); 1M-point GeoPackage and shapefile vs
their floor (≤ 2×); peak RSS of a 4M-point GeoPackage, TLG and SMS shapefile, each vs
the 1M-point one of its format (≤ 1.2×, ≤ 600 MB);
peak RSS of a 10M-record TLG (≤ 1 GB), and of the same records as a task of
``--tlg-logs`` logs one after another (a task stopped and resumed); 200 files of 10 points as one in-process batch
and with the default executor (a process pool for a batch of 64 files or more),
imports included (≤ 2 s), with beside it the same batch uploaded again in that process
(a notebook's later upload, the pool running), and with ``--small-baseline`` the
default executor's batch of that ref's tree alternating with this one's (their ratio); with ``--season``, the whole season uploaded with the default
process pool by this tree and by ``--season-baseline`` (a ``git archive`` of that ref),
with the peak of the summed RSS of the process tree (≤ 2 GB).

``--pairs N`` runs each ratio row's two children N times, alternating, and reports the
median ratio with its range (the small-file rows too: their median and range): on a
machine whose speed drifts one pair can land on either side of a bound. Generated inputs are cached in ``--data`` (default ``/tmp/leafnb-bench-targets``).
Asserts nothing; prints one table (work | leafnb | floor | ratio | target). A memory
row whose file was read whole instead of in record ranges says so, with the reason
(``leafnb.pipeline.stream``'s log).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from harness import baseline_tree, peak_rss_mb, run_installed

REPO = Path(__file__).resolve().parents[1]
ORACLE = REPO / "tests" / "oracle"


# ----------------------------------------------------------------------------- children
class _Messages(logging.Handler):
    """Keeps the messages logged to it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _convert(path: str, reader: str, part: str | None) -> dict:
    # leafnb before pyogrio (which imports pyarrow): as in leafnb's worker processes,
    # where a big file converts (``ProcessPoolRunner.isolate_bytes``), Arrow's C++ pool
    # is then the system allocator; pyarrow first, it is mimalloc (docs/performance.md:
    # the 10M-record log 1.18 instead of 0.90 GB)
    import leafnb  # noqa: F401

    # isort: split
    import pyogrio  # noqa: F401  (imported before timing, as by the floor)

    from leafnb.pipeline.steps import FileJob, convert_file
    from leafnb.standard.units import get_registry

    get_registry()  # pint's registry: once per process, not per file

    # why a file to be converted in record ranges was read whole (a memory row's
    # number means little without it: a defect once sent every big log there unseen)
    stream_log = logging.getLogger("leafnb.pipeline.stream")
    stream_log.addHandler(handler := _Messages())
    stream_log.setLevel(logging.INFO)
    out = tempfile.mkdtemp(prefix="leafnb-bench-targets-")
    c0, t0 = time.process_time(), time.perf_counter()
    outcome = convert_file(FileJob("one", reader, path, part, out, {}))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {
        "cpu": cpu,
        "wall": wall,
        "rss": peak_rss_mb(),
        "failed": outcome.failed,
        "whole": [
            m for m in handler.messages if "converted whole" in m or "failed" in m
        ],
    }


def _whole(res: dict) -> str:
    """ " — READ WHOLE: why" when a file meant for record ranges was read whole."""
    return f" — READ WHOLE: {'; '.join(res['whole'])}" if res.get("whole") else ""


def _floor(path: str) -> dict:
    import pyarrow.parquet as pq
    import pyogrio

    out = Path(tempfile.mkdtemp(prefix="leafnb-bench-floor-"))
    c0, t0 = time.process_time(), time.perf_counter()
    _, table = pyogrio.read_arrow(path)
    pq.write_table(table, out / "f.parquet")
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"cpu": cpu, "wall": wall, "rss": peak_rss_mb()}


def _small(zip_path: str, executor: str = "inline") -> dict:
    t0 = time.perf_counter()
    import leafnb

    ws_dir = tempfile.mkdtemp(prefix="leafnb-bench-small-")
    ws = leafnb.Workspace(ws_dir, executor=None if executor == "default" else executor)
    t1 = time.perf_counter()
    batch = ws.upload_batch(zip_path, "bench", progress=False)
    end = time.perf_counter()
    # the same files again: a notebook's later upload (the pool, if any, running)
    ws.upload_batch(zip_path, "bench", progress=False)
    again = time.perf_counter() - end
    ok = sum(ws.get_file(f)["status"] == "processed" for f in batch["leafFiles"])
    if hasattr(ws.executor, "close"):
        ws.executor.close()
    shutil.rmtree(ws_dir, ignore_errors=True)
    return {
        "wall": end - t0,  # from before `import leafnb`
        "batch": end - t1,  # upload_batch alone (a notebook has imported leafnb)
        "again": again,  # a second upload_batch in the same process
        "files": len(batch["leafFiles"]),
        "ok": ok,
    }


def _season(zip_path: str) -> dict:
    import leafnb

    ws_dir = tempfile.mkdtemp(prefix="leafnb-bench-season-")
    t0 = time.perf_counter()
    ws = leafnb.Workspace(ws_dir)
    batch = ws.upload_batch(zip_path, "bench", progress=False)
    wall = time.perf_counter() - t0
    ok = sum(ws.get_file(f)["status"] == "processed" for f in batch["leafFiles"])
    ws.executor.close()
    shutil.rmtree(ws_dir, ignore_errors=True)
    return {"wall": wall, "files": len(batch["leafFiles"]), "ok": ok}


def _child(root: Path, kind: str, *args, tree_rss: bool = False) -> dict:
    """``_<kind>(*args)`` of *root*'s tree, fresh (*tree_rss*: its workers' memory too)."""
    return run_installed(root, "bench_targets", f"_{kind}", *args, watch=tree_rss)


def _isoxml_js(taskdata: Path) -> tuple[float, float] | None:
    """(``parseBinaryFile`` wall seconds, CPU seconds of the whole node process)."""
    if not (shutil.which("node") and (ORACLE / "node_modules" / "isoxml").is_dir()):
        return None
    xml = next(taskdata.parent.glob("TLG*.xml"), None) or next(
        taskdata.parent.glob("TLG*.XML")
    )
    binp = xml.with_suffix(".bin")
    if not binp.exists():
        binp = xml.with_suffix(".BIN")
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run(
        [
            "node",
            "--max-old-space-size=16384",
            str(ORACLE / "isoxml_oracle.mjs"),
            *("bench", str(xml), str(binp), "1"),
        ],
        capture_output=True,
        text=True,
        cwd=ORACLE,
        timeout=3600,
    )
    if res.returncode != 0:
        print("isoxml-js failed:", res.stderr[-500:], file=sys.stderr)
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(json.loads(res.stdout)["seconds"]), cpu


# ----------------------------------------------------------------------------- data
def _resumed(points, logs: int) -> list:
    """*points* cut into *logs* parts, each an hour after the one before."""
    import pyarrow as pa

    n, parts = points.num_rows, []
    i = points.schema.get_field_index("timestamp")
    for k in range(logs):
        part = points.slice(k * n // logs, (k + 1) * n // logs - k * n // logs)
        t = part["timestamp"].cast(pa.int64()).to_numpy() + k * 3_600_000
        parts.append(
            part.set_column(i, "timestamp", pa.array(t).cast(part.schema[i].type))
        )
    return parts


def _generate(
    data: Path, points: int, big: int, tlg_big: int, small: int, tlg_logs: int = 0
) -> dict:
    from leafnb.testing import make_points, write_as
    from leafnb.testing.writers import write_isoxml, write_isoxml_task

    files: dict[str, Path] = {}

    def make(role: str, key: str, n: int, main: str, write) -> None:
        """Generate *n* points into the folder *key* once; ``files[role]``: its file."""
        folder = data / key
        done = folder / ".done"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            t0 = time.perf_counter()
            write(make_points("harvested", n, seed=1), folder)
            done.write_text(json.dumps({"points": n}))
            print(
                f"generated {key} in {time.perf_counter() - t0:.0f} s", file=sys.stderr
            )
        files[role] = next(folder.rglob(main))

    tag = lambda n: f"{n // 1_000_000}m" if n >= 1_000_000 else f"{n // 1000}k"  # noqa: E731
    isoxml = lambda p, f: write_isoxml(p, f)  # noqa: E731
    for role, n in (("", points), ("big_", big)):
        make(f"{role}tlg", f"tlg_{tag(n)}", n, "TASKDATA.XML", isoxml)
        make(
            f"{role}gpkg",
            f"gpkg_{tag(n)}",
            n,
            "*.gpkg",
            lambda p, f: write_as(p, "geopackage", f),
        )
        make(
            f"{role}shp",
            f"shp_{tag(n)}",
            n,
            "*.shp",
            lambda p, f: write_as(p, "sms_shapefile", f),
        )
    if tlg_big:
        make("huge_tlg", f"tlg_{tag(tlg_big)}", tlg_big, "TASKDATA.XML", isoxml)
        if tlg_logs > 1:  # the same records as a task resumed: logs one after another
            make(
                "huge_tlg_logs",
                f"tlg_{tag(tlg_big)}_{tlg_logs}logs",
                tlg_big,
                "TASKDATA.XML",
                lambda p, f: write_isoxml_task(_resumed(p, tlg_logs), f),
            )
    zpath = data / f"small_{small}.zip"
    if not zpath.exists():
        tmp = Path(tempfile.mkdtemp(dir=data))
        with zipfile.ZipFile(zpath, "w") as zf:
            for i in range(small):
                p = write_as(
                    make_points("harvested", 10, seed=i), "sms_csv", tmp, f"f{i:03d}"
                )
                zf.write(p, p.name)
        shutil.rmtree(tmp)
    files["small"] = zpath
    return files


# ----------------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/leafnb-bench-targets"))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=4_000_000)
    ap.add_argument("--tlg-big", type=int, default=10_000_000, help="0: skip")
    ap.add_argument(
        "--tlg-logs",
        type=int,
        default=3,
        help="the --tlg-big records also as a task of this many logs (≤ 1: skip)",
    )
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument(
        "--small-baseline",
        default=None,
        help="git ref whose default-executor small batch alternates with this tree's",
    )
    ap.add_argument("--season", type=Path, help="a season zip (leafnb.datagen --zip)")
    ap.add_argument("--season-baseline", default=None, help="git ref to compare with")
    ap.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="alternating (leafnb, floor) runs of each ratio row; the median ratio is "
        "reported with the range (the machine's speed drifts)",
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    args.data.mkdir(parents=True, exist_ok=True)
    f = _generate(
        args.data, args.points, args.big, args.tlg_big, args.small, args.tlg_logs
    )
    rows: list[tuple[str, str, str, str, str]] = []

    def add(row: tuple[str, str, str, str, str]) -> None:
        print("| " + " | ".join(row) + " |", file=sys.stderr, flush=True)  # progress
        rows.append(row)

    def conv(key: str, reader: str, part: str | None = None) -> dict:
        res = _child(REPO, "convert", str(f[key]), reader, part)
        if res["failed"]:
            raise RuntimeError(f"{key} failed to convert")
        return res

    def ratio(ratios: list[float]) -> str:
        """The median ratio, with the range when several pairs ran."""
        med = f"{statistics.median(ratios):.2f}x"
        if len(ratios) == 1:
            return med
        return f"{med} (median of {len(ratios)}: {min(ratios):.2f}–{max(ratios):.2f})"

    runs, ratios = [], []
    for _ in range(max(args.pairs, 1)):
        r = conv("tlg", "isoxml", "TSK1")
        js = _isoxml_js(f["tlg"])
        runs.append((r, js))
        if js:
            ratios.append(r["cpu"] / js[1])
    r, js = runs[-1]
    add(
        (
            f"{args.points:,}-record TLG, whole conversion vs isoxml-js (CPU s)",
            f"{r['cpu']:.2f} ({r['wall']:.2f} wall, {r['rss']:.0f} MB)",
            f"{js[1]:.2f} (node process: zip, XML, parseBinaryFile; "
            f"parseBinaryFile {js[0]:.2f} s)"
            if js
            else "isoxml-js missing",
            ratio(ratios) if ratios else "",
            "≤ 0.5x",
        )
    )
    small_rss = {"tlg": r["rss"]}
    for key, reader in (("gpkg", "geopackage"), ("shp", "shapefile")):
        ratios = []
        for _ in range(max(args.pairs, 1)):
            r = conv(key, reader)
            fl = _child(REPO, "floor", str(f[key]))
            ratios.append(r["cpu"] / fl["cpu"])
        small_rss[key] = r["rss"]
        add(
            (
                f"{args.points:,}-point {reader}, whole conversion vs read_arrow + write_table (CPU s)",
                f"{r['cpu']:.2f} ({r['wall']:.2f} wall, {r['rss']:.0f} MB)",
                f"{fl['cpu']:.2f} ({fl['rss']:.0f} MB)",
                ratio(ratios),
                "≤ 2x",
            )
        )
    for key, reader, part, unit, name in (
        ("gpkg", "geopackage", None, "-point", "geopackage"),
        ("tlg", "isoxml", "TSK1", "-record", "TLG"),
        ("shp", "shapefile", None, "-point", "shapefile"),
    ):
        r = conv(f"big_{key}", reader, part)
        add(
            (
                f"peak RSS, {args.big:,}{unit} {name} vs {args.points:,}{unit} (MB)",
                f"{r['rss']:.0f} ({r['cpu']:.1f} CPU s){_whole(r)}",
                f"{small_rss[key]:.0f}",
                f"{r['rss'] / small_rss[key]:.2f}x",
                "≤ 1.2x and ≤ 600 MB",
            )
        )
    if args.tlg_big:
        r = conv("huge_tlg", "isoxml", "TSK1")
        add(
            (
                f"peak RSS, {args.tlg_big:,}-record TLG (MB)",
                f"{r['rss']:.0f} ({r['cpu']:.1f} CPU s){_whole(r)}",
                "",
                "",
                "≤ 1024 MB",
            )
        )
        if args.tlg_logs > 1:
            r = conv("huge_tlg_logs", "isoxml", "TSK1")
            add(
                (
                    f"peak RSS, {args.tlg_big:,} records in a task of "
                    f"{args.tlg_logs} logs (MB)",
                    f"{r['rss']:.0f} ({r['cpu']:.1f} CPU s){_whole(r)}",
                    "",
                    "",
                    "≤ 1024 MB",
                )
            )
    small: dict[str, list[dict]] = {"inline": [], "default": []}
    base_small: list[dict] = []
    tmp_small = Path(tempfile.mkdtemp(prefix="leafnb-bench-"))
    base_root = (
        baseline_tree(args.small_baseline, tmp_small) if args.small_baseline else None
    )
    try:
        for _ in range(max(args.pairs, 1)):  # alternating, as the ratio rows
            for executor in small:
                small[executor].append(_child(REPO, "small", str(f["small"]), executor))
            if base_root is not None:
                base_small.append(
                    _child(base_root, "small", str(f["small"]), "default")
                )
    finally:
        shutil.rmtree(tmp_small, ignore_errors=True)
    for executor, how in (
        ("inline", "one in-process batch"),
        ("default", "default executor (process pool)"),
    ):
        res = small[executor]
        wall = statistics.median(r["wall"] for r in res)
        batch = statistics.median(r["batch"] for r in res)
        again = statistics.median(r["again"] for r in res)
        spread = (
            f", {len(res)} runs: {min(r['wall'] for r in res):.2f}–"
            f"{max(r['wall'] for r in res):.2f}"
            if len(res) > 1
            else ""
        )
        add(
            (
                f"{args.small} files of 10 points, {how}, incl. imports (s)",
                f"{wall:.2f}{spread} ({res[0]['ok']}/{res[0]['files']} processed)",
                f"upload_batch alone {batch:.2f}; a second batch {again:.2f}",
                f"{1000 * wall / max(res[0]['files'], 1):.1f} ms a file",
                "≤ 2 s",
            )
        )
    if base_small:
        this = [r["wall"] for r in small["default"]]
        base = [r["wall"] for r in base_small]
        add(
            (
                f"{args.small} files of 10 points, default executor, this tree vs "
                f"{args.small_baseline} in the same run, incl. imports (s)",
                f"{statistics.median(this):.2f} ({min(this):.2f}–{max(this):.2f})",
                f"{statistics.median(base):.2f} ({min(base):.2f}–{max(base):.2f})",
                ratio([a / b for a, b in zip(this, base, strict=True)]),
                "",
            )
        )
    if args.season:
        r = _child(REPO, "season", str(args.season), tree_rss=True)
        base = ""
        ratio = ""
        if args.season_baseline:
            tmp = Path(tempfile.mkdtemp(prefix="leafnb-bench-"))
            try:
                b = _child(
                    baseline_tree(args.season_baseline, tmp),
                    "season",
                    str(args.season),
                    tree_rss=True,
                )
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            base = (
                f"{b['wall']:.1f} s ({b['peak_tree_mb']:.0f} MB) {args.season_baseline}"
            )
            ratio = f"{b['wall'] / r['wall']:.2f}x faster"
        add(
            (
                f"season {args.season.name}, default process pool (wall s / peak MB, all processes)",
                f"{r['wall']:.1f} s ({r['peak_tree_mb']:.0f} MB, {r['ok']}/{r['files']})",
                base,
                ratio,
                "≥ 3x, ≤ 2048 MB",
            )
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end: {load}\n")
    print("| work | leafnb | floor | ratio | target |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
