"""Benchmark: one file's whole conversion, and its hot spots, against a baseline tree in the same run.

    python benchmarks/bench_convert.py [--points 1000000] [--baseline main] [--small 200]

* whole conversion (``leafnb.pipeline.steps.convert_file``: raw → standard → filtered →
  summary → units) of one generated GeoPackage and one ISOXML TASKDATA, by this tree
  and by *baseline* (``git archive <ref>`` unpacked into a temp dir, the built TLG
  kernel copied in), each in a fresh process (seconds, peak RSS); the GeoPackage also
  against a bare ``pyogrio.read_arrow`` + ``pq.write_table`` floor;
* hot spots, old code (inlined here) vs new, on the same data: reading point
  coordinates out of WKB, the GeoParquet geometry column, the coverage footprint;
* *small* files of 10 points (Ag Leader SMS CSV) uploaded as one batch in-process
  (``executor="inline"``), both trees;
* the ``standard`` filter profile on *points* generated harvest points, both trees
  (seconds; the kept points must be identical).

Asserts nothing; prints one table (work | before | after | ratio).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import baseline_tree, peak_rss_mb, run_child

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- children
def _convert(path: str, reader: str, part: str | None) -> dict:
    from leafnb.pipeline.steps import FileJob, convert_file

    out = tempfile.mkdtemp(prefix="leafnb-bench-convert-")
    t0 = time.perf_counter()
    outcome = convert_file(FileJob("one", reader, path, part, out, {}))
    seconds = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "failed": outcome.failed, "rss_mb": peak_rss_mb()}


def _floor(path: str) -> dict:
    import pyarrow.parquet as pq
    import pyogrio

    out = Path(tempfile.mkdtemp(prefix="leafnb-bench-floor-"))
    t0 = time.perf_counter()
    _, table = pyogrio.read_arrow(path)
    pq.write_table(table, out / "f.parquet")
    seconds = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "rss_mb": peak_rss_mb()}


def _small_batch(zip_path: str) -> dict:
    t0 = time.perf_counter()
    import leafnb

    ws_dir = tempfile.mkdtemp(prefix="leafnb-bench-small-")
    ws = leafnb.Workspace(ws_dir, executor="inline")
    batch = ws.upload_batch(zip_path, "bench", progress=False)
    seconds = time.perf_counter() - t0
    n = len(batch["leafFiles"])
    shutil.rmtree(ws_dir, ignore_errors=True)
    return {"seconds": seconds, "files": n, "rss_mb": peak_rss_mb()}


def _filters(points: int) -> dict:
    import hashlib

    from leafnb.clean.profiles import FilterPipeline
    from leafnb.standard.points import PointSet
    from leafnb.testing import make_points, point_units

    table = make_points("harvested", points, seed=1)
    ps = PointSet(table, "harvested", units=point_units(table))
    t0 = time.perf_counter()
    res = FilterPipeline.profile("standard").run(ps)
    seconds = time.perf_counter() - t0
    kept = res.kept.table.to_pandas().to_csv().encode()
    return {
        "seconds": seconds,
        "removed": res.report["removed"],
        "kept_sha1": hashlib.sha1(kept).hexdigest(),
    }


def _child(root: Path, kind: str, *args) -> dict:
    return run_child(root, "bench_convert", f"_{kind}", *args)


# ----------------------------------------------------------------------------- data
def _generate(points: int, small: int, tmp: Path) -> dict[str, Path]:
    import zipfile

    from leafnb.testing import make_points, write_as
    from leafnb.testing.writers import write_isoxml

    pts = make_points("harvested", points, seed=1)
    files = {
        "gpkg": write_as(pts, "geopackage", tmp / "gpkg"),
        "isoxml": write_isoxml(pts, tmp / "iso"),
    }
    files["small"] = tmp / "small.zip"
    with zipfile.ZipFile(files["small"], "w") as zf:
        for i in range(small):
            pts = make_points("harvested", 10, seed=i)
            p = write_as(pts, "sms_csv", tmp / "small", f"f{i:03d}")
            zf.write(p, p.name)
    return files


# ----------------------------------------------------------------------------- hot spots
def _best(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def hot_spots(gpkg: Path) -> list[tuple[str, float, float, str]]:
    """(work, old seconds, new seconds, note) on the generated GeoPackage's points."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyogrio
    import shapely
    from pyproj import Transformer

    from leafnb.formats.shapefile import _geometry_column, wkb_point_xy
    from leafnb.standard.coverage import pass_breaks, swath_footprint
    from leafnb.store.artifacts import point_column

    rows = []
    _, table = pyogrio.read_arrow(gpkg)
    wkb = table[_geometry_column(table)]

    def old_xy():
        g = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
        return shapely.get_x(g), shapely.get_y(g)

    x_old, _ = old_xy()
    x_new, _ = wkb_point_xy(wkb)
    same = np.array_equal(x_old, x_new, equal_nan=True)
    rows.append(
        (
            f"{len(wkb):,} point coordinates out of WKB (shapely.from_wkb → numpy)",
            _best(old_xy),
            _best(lambda: wkb_point_xy(wkb)),
            "identical" if same else "DIFFERENT",
        )
    )
    lon, lat = x_new, wkb_point_xy(wkb)[1]
    tab = pa.table({"lon": lon, "lat": lat})
    out = Path(tempfile.mkdtemp(prefix="leafnb-bench-geom-"))

    def old_geom():
        w = shapely.to_wkb(shapely.points(lon, lat))
        pq.write_table(
            tab.append_column("geometry", pa.array(w, pa.binary())),
            out / "a.parquet",
            compression="zstd",
        )

    def new_geom():
        pq.write_table(
            tab.append_column("geometry", point_column(tab["lon"], tab["lat"])),
            out / "b.parquet",
            compression="zstd",
        )

    rows.append(
        (
            "geometry column built + written (WKB via shapely → GeoArrow point)",
            _best(old_geom),
            _best(new_geom),
            f"{(out / 'a.parquet').stat().st_size / 1e6:.1f} → "
            f"{(out / 'b.parquet').stat().st_size / 1e6:.1f} MB",
        )
    )
    shutil.rmtree(out, ignore_errors=True)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32615", always_xy=True).transform(
        lon, lat
    )
    w = 9.144

    def old_cov():
        parts = np.split(np.column_stack([x, y]), pass_breaks(x, y, w))
        geoms = [
            shapely.points(p[0]) if len(p) == 1 else shapely.linestrings(p)
            for p in parts
        ]
        lines = shapely.simplify(np.array(geoms), w / 4)
        return shapely.union_all(shapely.buffer(lines, w / 2, quad_segs=4))

    a_old, a_new = old_cov().area, swath_footprint(x, y, w).area
    rows.append(
        (
            "coverage footprint (whole-pass buffers → 1,000-vertex pieces)",
            _best(old_cov, 1),
            _best(lambda: swath_footprint(x, y, w), 1),
            f"area {(a_new - a_old) / a_old * 100:+.4f} %",
        )
    )
    return rows


# ----------------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--baseline", default="main", help="git ref to compare against")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    tmp = Path(tempfile.mkdtemp(prefix="leafnb-bench-"))
    try:
        base = baseline_tree(args.baseline, tmp)
        t0 = time.perf_counter()
        files = _generate(args.points, args.small, tmp)
        print(f"generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        rows = []
        for key, reader, part in (
            ("gpkg", "geopackage", None),
            ("isoxml", "isoxml", "TSK1"),
        ):
            before = _child(base, "convert", str(files[key]), reader, part)
            after = _child(REPO, "convert", str(files[key]), reader, part)
            rows.append(
                (
                    f"{args.points:,}-point {key}: whole conversion (s / peak RSS MB)",
                    f"{before['seconds']:.2f} / {before['rss_mb']:.0f}",
                    f"{after['seconds']:.2f} / {after['rss_mb']:.0f}",
                    f"{before['seconds'] / after['seconds']:.2f}x",
                )
            )
            if key == "gpkg":
                floor = _child(REPO, "floor", str(files[key]))
                rows.append(
                    (
                        f"{args.points:,}-point gpkg: conversion vs pyogrio.read_arrow + pq.write_table floor",
                        f"{floor['seconds']:.2f} (floor)",
                        f"{after['seconds']:.2f}",
                        f"{after['seconds'] / floor['seconds']:.1f}x floor",
                    )
                )
        before = _child(base, "small_batch", str(files["small"]))
        after = _child(REPO, "small_batch", str(files["small"]))
        rows.append(
            (
                f"{args.small} files of 10 points, one batch in-process incl. imports (s)",
                f"{before['seconds']:.2f}",
                f"{after['seconds']:.2f}",
                f"{before['seconds'] / after['seconds']:.2f}x",
            )
        )
        before = _child(base, "filters", args.points)
        after = _child(REPO, "filters", args.points)
        same = before["kept_sha1"] == after["kept_sha1"]
        rows.append(
            (
                f"{args.points:,} harvest points, `standard` filter profile (s)",
                f"{before['seconds']:.2f}",
                f"{after['seconds']:.2f}",
                f"{before['seconds'] / after['seconds']:.2f}x "
                f"({after['removed']:,} removed, {'identical' if same else 'DIFFERENT'} kept points)",
            )
        )
        for work, old, new, note in hot_spots(files["gpkg"]):
            rows.append(
                (work, f"{old:.3f}", f"{new:.3f}", f"{old / new:.1f}x ({note})")
            )
        print(f"baseline: {args.baseline}; this tree: {REPO}\n")
        print("| work | before | after | ratio |\n|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
