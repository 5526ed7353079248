"""Benchmark: a season bigger than its cluster's memory, converted on a Dask LocalCluster as in process.

    python benchmarks/bench_dask_season.py --season ZIP [--add PATH ...] [--workers 2]
        [--memory-limit 1.5GiB] [--data DIR]

Issue 16, "scale out stays real": the Dask executor runs the same conversion (a big
file in record ranges, :mod:`leafnb.pipeline.stream`), so a season whose points do not
fit in the cluster's memory converts there with the same results as in process.

Two fresh child processes upload the same inputs into a new workspace each, one batch
an input: *ZIP* (a season from ``python -m leafnb.datagen --zip``) and every ``--add``
(a file, or a folder such as a TASKDATA folder or a shapefile's; zipped, stored, into
``--data`` once):

* **in process**: ``Workspace(executor="inline")``;
* **Dask**: ``Workspace(executor=client)`` on ``distributed.LocalCluster(n_workers=
  --workers, threads_per_worker=1, processes=True, memory_limit=--memory-limit)``,
  every input uploaded at once (``wait=False``, then ``Workspace.wait``).
  Dask's nanny restarts a worker whose memory passes 95 % of its limit (a file then
  fails after ``allowed-failures`` retries, or converts again elsewhere): the run
  records the workers' addresses before and after, and any change is reported.

Reported: each run's wall time; the Dask run's peak memory (the largest worker's, and
the whole process tree's: client, scheduler, nannies, workers; sampled from /proc every
0.2 s); the season's size in memory (the Arrow bytes of every file's standard points
as read back) against the cluster's memory (workers × limit). Then every file of the
two runs is compared: status, each step's status and message, record count, summary
(document and geometry), and the ``standard.parquet`` and ``filter.parquet`` tables
(``read_points_table``, ``Table.equals``). Prints one table; exits 1 when a file differs
or a worker was restarted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REPO, run_installed


# ----------------------------------------------------------------------------- children
def _results(ws, batches: list[dict]) -> dict[str, dict]:
    """``"<batch>/<fileName>"`` → what a user sees of the file, and its folder."""
    out = {}
    for k, batch in enumerate(batches):
        for fid in batch["leafFiles"]:
            f = ws.get_file(fid)
            steps = [
                [name, s["status"], s["message"]]
                for name, s in ws.get_file_status(fid).items()
            ]
            out[f"{k}/{f['fileName']}"] = {
                "status": f["status"],
                "steps": steps,
                "recordCount": f["recordCount"],
                "summary": f["summary"],
                "folder": str(ws.ctx.layout.file_dir(fid)),
            }
    return out


def _convert(folder: str, uploads: list[str], how: str, workers: int, limit: str):
    # leafnb before distributed: its workers inherit leafnb's choice of Arrow's pool
    import leafnb

    t0 = time.perf_counter()
    if how == "inline":
        ws = leafnb.Workspace(folder, executor="inline")
        batches = [ws.upload_batch(u, "bench", progress=False) for u in uploads]
        return {"wall": time.perf_counter() - t0, "files": _results(ws, batches)}
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=limit,
            dashboard_address=":0",  # (its HTTP server on a free port, not 8787)
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        before = sorted(client.scheduler_info()["workers"])
        t0 = time.perf_counter()
        ws = leafnb.Workspace(folder, executor=client)
        # every upload at once, as a user sends a season's: the workers take their
        # files as they come (one after another, each big file's batch held a worker
        # while the other had nothing to do)
        started = [ws.upload_batch(u, "bench", wait=False) for u in uploads]
        ws.wait()
        batches = [ws.get_batch(b["id"]) for b in started]
        wall = time.perf_counter() - t0
        after = sorted(client.scheduler_info()["workers"])
        limits = [
            w["memory_limit"] for w in client.scheduler_info()["workers"].values()
        ]
    return {
        "wall": wall,
        "files": _results(ws, batches),
        "restarted": before != after,
        "memory_limit": sum(limits),
    }


# ----------------------------------------------------------------------------- driver
def _zipped(path: Path, data: Path) -> Path:
    """*path* itself when it is a zip; otherwise a stored zip of it, made once in *data*."""
    if path.suffix.lower() == ".zip":
        return path
    target = data / f"{path.name}.zip"
    if not target.exists():
        tmp = target.with_suffix(".part")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for f in sorted(path.rglob("*") if path.is_dir() else [path]):
                if f.is_file() and not f.name.startswith("."):
                    zf.write(f, f.relative_to(path.parent))
        tmp.rename(target)
    return target


def _child(args: list, *, sample: bool = False) -> dict:
    return run_installed(REPO, "bench_dask_season", "_convert", *args, watch=sample)


def _tables_differ(a: Path, b: Path) -> list[str]:
    """The artifacts of two file folders whose tables differ."""
    import pyarrow.parquet as pq

    from leafnb.store.artifacts import read_points_table

    differ = []
    if (a / "standard.parquet").exists() or (b / "standard.parquet").exists():
        ta, ma = read_points_table(a / "standard.parquet")
        tb, mb = read_points_table(b / "standard.parquet")
        if not ta.equals(tb) or ma != mb:
            differ.append("standard.parquet")
    masks = [folder / "filter.parquet" for folder in (a, b)]
    if any(m.exists() for m in masks) and not pq.read_table(masks[0]).equals(
        pq.read_table(masks[1])
    ):
        differ.append("filter.parquet")
    return differ


def _points_bytes(folders: list[Path]) -> int:
    """Arrow bytes of every file's standard points, as read back (the season in memory)."""
    from leafnb.store.artifacts import read_points_table

    total = 0
    for folder in folders:
        if (folder / "standard.parquet").exists():
            total += read_points_table(folder / "standard.parquet")[0].nbytes
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--season", type=Path, required=True)
    ap.add_argument("--add", type=Path, action="append", default=[])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1.5GiB")
    ap.add_argument("--data", type=Path, default=Path("/tmp/leafnb-bench-dask"))
    args = ap.parse_args(argv)
    args.data.mkdir(parents=True, exist_ok=True)
    uploads = [str(_zipped(p.resolve(), args.data)) for p in [args.season, *args.add]]
    tmp = Path(tempfile.mkdtemp(prefix="leafnb-bench-dask-", dir=args.data))
    try:
        common = [uploads, args.workers, args.memory_limit]
        inline = _child([str(tmp / "inline"), common[0], "inline", *common[1:]])
        dask = _child([str(tmp / "dask"), common[0], "dask", *common[1:]], sample=True)
        differ: dict[str, list[str]] = {}
        fields = ("status", "steps", "recordCount", "summary")
        for name in sorted(set(inline["files"]) | set(dask["files"])):
            a, b = inline["files"].get(name), dask["files"].get(name)
            if a is None or b is None:
                differ[name] = ["missing in one run"]
                continue
            bad = [k for k in fields if a[k] != b[k]]
            bad += _tables_differ(Path(a["folder"]), Path(b["folder"]))
            if bad:
                differ[name] = bad
        files = inline["files"].values()
        season = _points_bytes([Path(f["folder"]) for f in files])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    processed = sum(f["status"] == "processed" for f in files)
    limit = dask["memory_limit"]
    print("| run | wall s | peak memory | files processed |")
    print("|---|---|---|---|")
    print(f"| in process | {inline['wall']:.1f} | | {processed}/{len(files)} |")
    dask_ok = sum(f["status"] == "processed" for f in dask["files"].values())
    print(
        f"| Dask LocalCluster, {args.workers} workers × {args.memory_limit} | "
        f"{dask['wall']:.1f} | {dask['peak_process_mb']:.0f} MB the largest process, "
        f"{dask['peak_tree_mb']:.0f} MB all | {dask_ok}/{len(dask['files'])} |"
    )
    print()
    print(
        f"season in memory (standard points, Arrow): {season / 2**30:.2f} GiB; "
        f"the cluster's memory: {limit / 2**30:.2f} GiB "
        f"({season / limit:.2f}x); inputs: {', '.join(Path(u).name for u in uploads)}"
    )
    print(f"worker restarted (memory limit): {'YES' if dask['restarted'] else 'no'}")
    if differ:
        print(f"{len(differ)} file(s) differ from in process:")
        for name, what in differ.items():
            print(f"  {name}: {', '.join(what)}")
    else:
        print(
            f"every file the same as in process ({len(files)}: status, steps, "
            "record count, summary, standard and filter tables)"
        )
    return 1 if differ or dask["restarted"] else 0


if __name__ == "__main__":
    sys.exit(main())
