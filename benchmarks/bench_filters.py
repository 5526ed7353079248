"""Filter pipeline throughput on generated harvest points, against baselines measured in the same run.

    python benchmarks/bench_filters.py [--points 1000000] [--repeat 3]

Baselines: a plain pandas implementation of Leaf's two rules (speed converted to m/s,
then |x − mean| > 3·SD on wetVolumePerArea) and ``numpy.sort`` of the yield column.
Prints points/s and the ratio to each baseline (higher is faster). Timings are never
asserted in tests.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from leafnb.clean.profiles import FilterPipeline
from leafnb.standard.points import PointSet
from leafnb.testing import make_points, point_units


def pandas_leaf(df: pd.DataFrame) -> pd.DataFrame:
    """Leaf's filteredGeojson rules, written the obvious pandas way (speed already m/s here)."""
    df = df[df["speed"] >= 0.5]
    y = df["wetVolumePerArea"]
    return df[(y - y.mean()).abs() <= 3 * y.std(ddof=0)]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n = args.points
    t0 = time.perf_counter()
    table = make_points("harvested", n, seed=1)
    ps = PointSet(table, "harvested", units=point_units(table))
    print(f"generated {n:,} harvest points in {time.perf_counter() - t0:.1f} s")
    df = table.select(["speed", "wetVolumePerArea"]).to_pandas()
    yld = ps.array("wetVolumePerArea")

    rows = [
        (
            "numpy sort of the yield column (baseline)",
            best(lambda: np.sort(yld), args.repeat),
        ),
        (
            "pandas: Leaf's two rules (baseline)",
            best(lambda: pandas_leaf(df), args.repeat),
        ),
        (
            "leafnb: leaf profile",
            best(lambda: FilterPipeline.profile("leaf").run(ps), args.repeat),
        ),
        (
            "leafnb: standard profile",
            best(lambda: FilterPipeline.profile("standard").run(ps), args.repeat),
        ),
        (
            "leafnb: aggressive profile",
            best(lambda: FilterPipeline.profile("aggressive").run(ps), args.repeat),
        ),
    ]
    sort_t, pandas_t = rows[0][1], rows[1][1]
    print(
        f"\n{'task':44} {'seconds':>9} {'points/s':>14} {'vs sort':>9} {'vs pandas':>10}"
    )
    for name, sec in rows:
        print(
            f"{name:44} {sec:9.3f} {n / sec:14,.0f} {sort_t / sec:9.3f} {pandas_t / sec:10.3f}"
        )
    _, _, rep = FilterPipeline.profile("standard").run(ps)
    print(
        f"\nstandard profile removed {rep['removed']:,} of {rep['total']:,} points; flow delay {rep['flowDelay']}"
    )
    for f in rep["filters"]:
        print(f"  {f['name']:18} {f['removed']:9,} {f['percentRemoved']:7.2f} %")


if __name__ == "__main__":
    main()
