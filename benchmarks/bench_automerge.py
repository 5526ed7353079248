"""Benchmark: automerge of a converted season, this checkout vs a baseline git ref, in one run.

1. generate a season with :mod:`leafnb.datagen` (``--points`` in ``--files`` mixed-format
   files) and convert it, with ``fieldOperationCreation`` off;
2. add one field per cluster of file footprints (``create_field(..., automerge=False)``),
   switch ``fieldOperationCreation`` on — steps 1–2 once with each version (the stored
   points of the two versions differ), giving the same files and fields;
3. time ``Workspace.run_automerge`` in a fresh process on each copy: the baseline (a
   ``git archive`` of ``--baseline``, default ``main``) and this checkout. Both build the
   same operations from the same converted files; the ratio is baseline ÷ this checkout.

Asserts nothing. Run: ``python benchmarks/bench_automerge.py [--points 1000000]
[--files 40] [--baseline main] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import baseline_tree

REPO = Path(__file__).resolve().parents[1]
FORMATS = "sms_shapefile,sms_csv,agleader_text,isoxml,jd_shapefile"
UID = "bench"


def _prepare(season_zip: str, ws_dir: str) -> dict:
    """Convert the season (no operations yet) and add fields around the files."""
    import numpy as np
    import pyarrow.parquet as pq
    import shapely

    import leafnb

    ws = leafnb.Workspace(ws_dir)
    ws.set_config({"fieldOperationCreation": False}, leaf_user_id=UID)
    batch = ws.upload_batch(season_zip, UID, progress=False)
    boxes = []
    for fid in batch["leafFiles"]:
        path = Path(ws_dir) / "files" / fid / "standard.parquet"
        if not path.exists():
            continue
        names = pq.read_schema(path).names
        if "lon" in names:  # leafnb before the compact points (a baseline)
            t = pq.read_table(path, columns=["lon", "lat"])
            lon, lat = t["lon"].to_numpy(), t["lat"].to_numpy()
        else:  # the native point geometry holds them
            g = pq.read_table(path, columns=["geometry"])["geometry"].combine_chunks()
            lon, lat = g.field("x").to_numpy(), g.field("y").to_numpy()
        # the middle 98 % of positions: a GPS jump must not stretch the field over the map
        x0, x1 = np.nanpercentile(lon, [1, 99])
        y0, y1 = np.nanpercentile(lat, [1, 99])
        boxes.append(shapely.box(x0, y0, x1, y1).buffer(1e-3))
    union = shapely.union_all(boxes)
    parts = list(getattr(union, "geoms", [union]))
    for i, part in enumerate(parts):
        ws.create_field(UID, part.wkt, name=f"field {i}", automerge=False)
    ws.set_config({"fieldOperationCreation": True}, leaf_user_id=UID)
    ws.executor.close()
    return {"files": len(batch["leafFiles"]), "fields": len(parts)}


def _measure(ws_dir: str) -> dict:
    import leafnb

    ws = leafnb.Workspace(ws_dir, executor="inline")
    t0 = time.perf_counter()
    report = ws.run_automerge(UID)
    seconds = time.perf_counter() - t0
    ops = ws.get_operations(leafUserId=UID, size=100)
    statuses: dict[str, int] = {}
    for page in range((ops.total + 99) // 100):
        for op in ws.get_operations(leafUserId=UID, size=100, page=page):
            statuses[op["status"]] = statuses.get(op["status"], 0) + 1
    return {
        "seconds": seconds,
        "created": len(report["created"]),
        "statuses": statuses,
        "leafnb": leafnb.__file__,
    }


def _child(fn: str, *args: str, source: Path = REPO) -> dict:
    """Run ``fn(*args)`` of this module in a fresh process importing leafnb from *source*."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    code = (
        f"import json, sys; sys.path.insert(0, {str(source)!r}); "
        f"sys.path.insert(1, {str(REPO / 'benchmarks')!r}); "
        f"import bench_automerge as b; print(json.dumps(b.{fn}(*{list(args)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tempfile.gettempdir(),  # not the checkout: '' comes first on sys.path
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument(
        "--files", type=int, default=0, help="default: points // 50,000 (4..200)"
    )
    ap.add_argument("--baseline", default="main")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    files = args.files or max(4, min(200, args.points // 50_000))
    tmp = Path(tempfile.mkdtemp(prefix="leafnb-bench-automerge-"))
    tree = baseline_tree(args.baseline, tmp)
    try:
        subprocess.run(
            [sys.executable, "-m", "leafnb.datagen", "--points", str(args.points),
             "--files", str(files), "--formats", FORMATS, "--out", str(tmp / "season"),
             "--zip", "--workers", str(os.cpu_count() or 1)],
            check=True, capture_output=True,
        )  # fmt: skip
        # each version converts the season itself (their stored points differ), with
        # the same fields (from the same files' footprints)
        zip_path = str(tmp / "season" / "season.zip")
        prep = _child("_prepare", zip_path, str(tmp / "ws_base"), source=tree)
        prep_new = _child("_prepare", zip_path, str(tmp / "ws_new"))
        if prep_new != prep:
            raise SystemExit(f"the versions see different seasons: {prep} {prep_new}")
        base = _child("_measure", str(tmp / "ws_base"), source=tree)
        new = _child("_measure", str(tmp / "ws_new"))
        result = {
            "points": args.points,
            **prep,
            "baseline_ref": args.baseline,
            "baseline": base,
            "this": new,
            "ratio": base["seconds"] / new["seconds"],
        }
        print(
            f"automerge {args.points:,} pts, {prep['files']} files, {prep['fields']} fields: "
            f"{args.baseline} {base['seconds']:.1f} s {base['statuses']} | "
            f"this checkout {new['seconds']:.1f} s {new['statuses']} | "
            f"{result['ratio']:.2f}x faster"
        )
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
