"""Benchmark: how many bytes a workspace takes for an uploaded season (issue 18: ≤ ~1.5×).

1. generate a season with :mod:`leafnb.datagen` (``--points``, default 1M, 20 files,
   ``--zip --workers 1``), or take one (``--zip PATH``);
2. upload it with ``Workspace(path, executor="process").upload_batch(zip, "u1")``;
3. print the bytes of each part of the workspace (apparent file sizes) and the ratio of
   the total to the zip's size.

Parts: ``upload.zip`` (the kept upload), ``extracted`` (``batches/*/extracted/``),
``raw`` (``raw.parquet`` / ``raw.geojson`` / ``raw.json``), ``standard``
(``standard.*``), ``filtered/mask`` (``filter.parquet``, ``filtered*``, ``removed*``, ``cleaning*``,
``*mask*``),
``summaries`` (``summary*.json``, ``units.json``), ``other`` (catalog, images, …);
file and operation folders alike.

Asserts nothing. Run: ``python benchmarks/bench_workspace_size.py [--points 1000000]
[--zip season.zip] [--keep DIR] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PARTS = (
    "upload.zip",
    "extracted",
    "raw",
    "standard",
    "filtered/mask",
    "summaries",
    "other",
)


def part_of(rel: Path) -> str:
    """The part of the workspace a file (path relative to the workspace) belongs to."""
    name = rel.name
    if rel.parts[0] == "batches":
        if len(rel.parts) > 2 and rel.parts[2] == "extracted":
            return "extracted"
        if name == "upload.zip":
            return "upload.zip"
        return "other"
    if name in ("raw.parquet", "raw.geojson", "raw.json"):
        return "raw"
    if name.startswith("standard."):
        return "standard"
    if name.startswith(("filter", "removed", "cleaning")) or "mask" in name:
        return "filtered/mask"
    if name.startswith("summary") or name == "units.json":
        return "summaries"
    return "other"


def measure(root: Path) -> Counter:
    """Bytes per part of the workspace at *root*."""
    sizes: Counter = Counter()
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            sizes[part_of(path.relative_to(root))] += path.stat().st_size
    return sizes


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--zip", type=Path, help="a season zip to upload (no generation)")
    ap.add_argument("--keep", type=Path, help="keep the workspace in this new folder")
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    args = ap.parse_args()

    from leafnb import Workspace
    from leafnb.pipeline.originals import wait_deleted

    tmp = Path(tempfile.mkdtemp(prefix="leafnb-wsize-"))
    try:
        season = args.zip
        if season is None:
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "leafnb.datagen",
                    "--out",
                    str(tmp / "season"),
                    "--zip",
                    "--workers",
                    "1",
                    "--points",
                    str(args.points),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            season = tmp / "season" / "season.zip"
            print(f"generated {season.name} in {time.perf_counter() - t0:.0f} s")
        ws_dir = args.keep or tmp / "ws"
        ws = Workspace(ws_dir, executor="process")
        t0 = time.perf_counter()
        batch = ws.upload_batch(season, "u1", progress=False)
        elapsed = time.perf_counter() - t0
        ws.executor.close()
        statuses = Counter(ws.get_file(f)["status"] for f in batch["leafFiles"])
        # the extracted upload is renamed away when the batch settles and deleted in
        # the background (leafnb.pipeline.originals): measure what stays
        wait_deleted()
        sizes = measure(Path(ws_dir))
        zip_bytes = season.stat().st_size
        total = sum(sizes.values())
        print(
            f"batch {batch['status']} in {elapsed:.0f} s: {len(batch['leafFiles'])} files "
            f"({dict(statuses)}); upload {_mb(zip_bytes)}"
        )
        print(f"{'part':<14}{'bytes':>16}{'size':>12}{'÷ zip':>8}")
        for part in PARTS:
            n = sizes.get(part, 0)
            print(f"{part:<14}{n:>16,}{_mb(n):>12}{n / zip_bytes:>7.2f}×")
        print(f"{'total':<14}{total:>16,}{_mb(total):>12}{total / zip_bytes:>7.2f}×")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "zip_bytes": zip_bytes,
                        "parts": {p: sizes.get(p, 0) for p in PARTS},
                        "total": total,
                        "ratio": total / zip_bytes,
                        "seconds": elapsed,
                    },
                    indent=1,
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
