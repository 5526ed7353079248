"""Benchmark: end-to-end batch conversion (zip → standard + summary + whatever steps exist).

For each size (points in total over a mixed-format season from ``leafnb.datagen``):

* leafnb, local process pool (``os.cpu_count()`` workers, the default executor);
* leafnb, in-process (``executor="inline"``) — the pool's speed-up;
* floor: ``geopandas.read_file`` / ``pandas.read_csv`` + ``to_parquet`` of the same
  files on one core (plain read/write, no conversion; ISOXML has no such reader and is
  left out of the floor, so the floor is compared per point).

Every measurement runs in a fresh Python process; peak RSS comes from ``getrusage``
(parent: the process itself; workers: the largest child). Also: peak RSS of one process
converting one 1M-point file. Asserts nothing.

Run: ``python benchmarks/bench_pipeline.py [--points 100000,1000000] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORMATS = "sms_shapefile,sms_csv,agleader_text,isoxml,jd_shapefile"


def _files_for(points: int) -> int:
    return max(4, min(200, points // 50_000))


def _rss_mb(who) -> float:
    """Peak RSS in MB. For this process, VmHWM (reset by exec; Linux ru_maxrss is not: it
    would include the benchmark driver's own peak at fork time)."""
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# ----------------------------------------------------------------------------- measured children
def _measure_leafnb(zip_path: str, executor: str) -> dict:
    import leafnb

    ws_dir = tempfile.mkdtemp(prefix="leafnb-bench-ws-")
    ex = None if executor == "processes" else executor
    t0 = time.perf_counter()
    ws = leafnb.Workspace(ws_dir, executor=ex)
    batch = ws.upload_batch(zip_path, "bench", progress=False)
    seconds = time.perf_counter() - t0
    files = [ws.get_file(f) for f in batch["leafFiles"]]
    ws.executor.close()
    return {
        "seconds": seconds,
        "files": len(files),
        "processed": sum(f["status"] == "processed" for f in files),
        "records": sum(f["recordCount"] for f in files),
        "rss_parent_mb": _rss_mb(resource.RUSAGE_SELF),
        "rss_worker_mb": _rss_mb(resource.RUSAGE_CHILDREN),
        "workers": getattr(ws.executor, "workers", 1),
    }


def _measure_floor(data_dir: str) -> dict:
    import geopandas as gpd
    import pandas as pd

    out = Path(tempfile.mkdtemp(prefix="leafnb-bench-floor-"))
    t0 = time.perf_counter()
    rows = 0
    for i, p in enumerate(sorted(Path(data_dir).rglob("*"))):
        suffix = p.suffix.lower()
        if suffix in (".shp", ".gpkg"):
            df = gpd.read_file(p, engine="pyogrio")
        elif suffix == ".csv":
            df = pd.read_csv(p, encoding="latin-1")
        elif suffix == ".txt":
            df = pd.read_csv(p, header=None, encoding="latin-1")
        else:
            continue
        df.to_parquet(out / f"{i}.parquet")
        rows += len(df)
    return {
        "seconds": time.perf_counter() - t0,
        "records": rows,
        "rss_parent_mb": _rss_mb(resource.RUSAGE_SELF),
    }


def _measure_one_file(path: str, reader: str) -> dict:
    from leafnb.pipeline.steps import FileJob, convert_file

    out = tempfile.mkdtemp(prefix="leafnb-bench-one-")
    part = "TSK1" if reader == "isoxml" else None
    t0 = time.perf_counter()
    outcome = convert_file(FileJob("one", reader, path, part, out, {}))
    return {
        "seconds": time.perf_counter() - t0,
        "failed": outcome.failed,
        "message": outcome.message,
        "records": outcome.facts.get("recordCount"),
        "rss_mb": _rss_mb(resource.RUSAGE_SELF),
    }


def _child(kind: str, *args: str) -> dict:
    code = (
        f"import sys, json; sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(REPO / 'benchmarks')!r}); "
        f"import bench_pipeline as b; print(json.dumps(b._measure_{kind}(*{list(args)!r})))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO
    )
    if res.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- driver
def run(points_list: list[int], tmp: Path, log=print) -> list[dict]:
    from leafnb.datagen import generate, zip_dataset

    rows = []
    for points in points_list:
        files = _files_for(points)
        data = tmp / f"season_{points}"
        t0 = time.perf_counter()
        written = generate(
            data, points, files, FORMATS.split(","), seed=1, workers=os.cpu_count() or 1
        )
        zp = zip_dataset(data, written)
        log(
            f"# generated {points:,} points in {files} files ({zp.stat().st_size / 1e6:.0f} MB zip) in {time.perf_counter() - t0:.0f} s"
        )
        pool = _child("leafnb", str(zp), "processes")
        log(f"# pool: {pool}")
        inline = _child("leafnb", str(zp), "inline")
        log(f"# inline: {inline}")
        floor = _child("floor", str(data))
        log(f"# floor: {floor}")
        rows.append(
            {
                "points": points,
                "files": files,
                "pool": pool,
                "inline": inline,
                "floor": floor,
            }
        )
    return rows


def one_file(points: int, tmp: Path, log=print) -> list[dict]:
    """Peak RSS of converting one big file per format (a worker's footprint)."""
    from leafnb.datagen import FileSpec, write_file

    out = []
    for fmt, reader in (
        ("sms_shapefile", "shapefile"),
        ("agleader_text", "agleader_text"),
        ("isoxml", "isoxml"),
    ):
        paths = write_file(
            FileSpec(0, fmt, "harvested", points, 7, 0, 0), str(tmp / f"one_{fmt}")
        )
        main = next(
            p
            for p in paths
            if p.lower().endswith((".shp", ".txt", ".xml"))
            and not Path(p).name.startswith("TLG")
        )
        size = sum(Path(p).stat().st_size for p in paths)
        res = _child("one_file", main, _reader_name(main, reader))
        res.update(format=fmt, points=points, mb_on_disk=size / 1e6)
        log(f"# one file: {res}")
        out.append(res)
    return out


def _reader_name(path: str, fallback: str) -> str:
    from leafnb.formats.detect import detect

    try:
        det = detect(Path(path).parent)
        for c in det.candidates:
            if str(c.path) == path or Path(c.path).name == Path(path).name:
                return c.reader
    except Exception:
        pass
    return fallback


def table(rows: list[dict], singles: list[dict]) -> list[tuple]:
    """(benchmark, leafnb, baseline, ratio) rows."""
    out = []
    for r in rows:
        p, pool, inline, floor = r["points"], r["pool"], r["inline"], r["floor"]
        label = f"{p / 1e6:g}M" if p >= 1e6 else f"{p / 1e3:g}k"
        mode = (
            f"pool ({pool['workers']} workers)"
            if pool["rss_worker_mb"]
            else "default executor (ran in-process: batch < min_bytes)"
        )
        out.append(
            (
                f"end-to-end batch {label} pts, {r['files']} files: {mode} vs in-process",
                f"{pool['seconds']:.1f} s ({pool['records'] / pool['seconds']:,.0f} pts/s, {pool['processed']}/{pool['files']} ok)",
                f"{inline['seconds']:.1f} s ({inline['records'] / inline['seconds']:,.0f} pts/s)",
                f"{inline['seconds'] / pool['seconds']:.2f}x faster",
            )
        )
        out.append(
            (
                f"end-to-end {label}: leafnb pool vs read+to_parquet floor (pts/s, 1 core, no ISOXML)",
                f"{pool['records'] / pool['seconds']:,.0f} pts/s",
                f"{floor['records'] / floor['seconds']:,.0f} pts/s",
                f"{(floor['records'] / floor['seconds']) / (pool['records'] / pool['seconds']):.2f}x floor speed",
            )
        )
        out.append(
            (
                f"peak RSS {label}: parent / largest worker (pool) vs in-process",
                f"{pool['rss_parent_mb']:.0f} / {pool['rss_worker_mb']:.0f} MB",
                f"{inline['rss_parent_mb']:.0f} MB",
                "",
            )
        )
    for s in singles:
        out.append(
            (
                f"peak RSS converting one {s['points'] / 1e6:g}M-pt {s['format']} file ({s['mb_on_disk']:.0f} MB)",
                f"{s['rss_mb']:.0f} MB in {s['seconds']:.1f} s"
                + (" (FAILED)" if s["failed"] else ""),
                "",
                "",
            )
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="100000,1000000")
    ap.add_argument("--one-file-points", type=int, default=1_000_000)
    ap.add_argument("--json", help="write raw measurements here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leafnb-bench-") as tmp:
        rows = run(
            [int(x) for x in args.points.split(",") if x],
            Path(tmp),
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
        singles = (
            one_file(
                args.one_file_points,
                Path(tmp),
                log=lambda m: print(m, file=sys.stderr, flush=True),
            )
            if args.one_file_points
            else []
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": rows, "singles": singles}, indent=1)
        )
    for name, a, b, ratio in table(rows, singles):
        print(f"| {name} | {a} | {b} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
