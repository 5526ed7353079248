"""Benchmark: rasterise + colour 1M points, leafnb vs baselines in the same run.

Generates a serpentine harvest-like track (1 point/s at ~2 m/s, 9.1 m passes, values that
vary in space) near Ames, Iowa, then times, on the same EPSG:3857 grid at Leaf's default
0.00001° (≈1.1 m):

* leafnb, point cells: ``rasterize`` (bincount mean per cell) + ``Legend.rgba`` (7 classes)
  + PNG encode;
* leafnb, swath footprint: the same with each point filling its 9.1 m swath (what the
  images, GeoTIFFs and grids use), + ``colorize`` (V1 ramp) + PNG encode;
* baseline ``np.histogram2d``: sum/count histograms -> mean per cell + ``colorize`` + PNG
  (the obvious numpy way; no swath fill);
* baseline matplotlib: ``scatter`` of the same points coloured by value, saved as PNG
  at the same pixel size (``--no-mpl`` to skip).

Run: ``python benchmarks/bench_render.py [--points 1000000] [--repeats 3]``.
Prints seconds (best of repeats), points/s and the ratio to leafnb's point-cell time.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np


def make_track(n: int, seed: int = 0):
    """Serpentine passes (vectorised): lon, lat, value, width (m)."""
    rng = np.random.default_rng(seed)
    speed, width, length = 2.0, 9.1, 4000.0
    per_pass = int(length / speed)
    i = np.arange(n)
    p, k = np.divmod(i, per_pass)
    along = np.where(p % 2 == 0, k, per_pass - 1 - k) * speed + rng.normal(0, 0.3, n)
    across = p * width + rng.normal(0, 0.2, n)
    lat0 = 42.012
    lat = lat0 + along / 111_320.0
    lon = -93.625 + across / (111_320.0 * np.cos(np.radians(lat0)))
    value = 180 + 30 * np.sin(across / 60) * np.cos(along / 90) + rng.normal(0, 8, n)
    return lon, lat, value, np.full(n, width)


def best(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def png_bytes(rgba):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-mpl", action="store_true")
    args = ap.parse_args(argv)

    from leafnb.render.legend import quantile_legend
    from leafnb.render.ramps import colorize
    from leafnb.render.raster import (
        degrees_to_crs_resolution,
        footprint_radii,
        grid_spec,
        project,
        rasterize,
    )

    n = args.points
    lon, lat, value, width = make_track(n)
    x, y = project(lon, lat, "EPSG:3857")
    res = degrees_to_crs_resolution(0.00001, "EPSG:3857", float(np.median(lat)))
    spec0 = grid_spec(x, y, "EPSG:3857", res)
    legend = quantile_legend(value)
    lo, hi = float(value.min()), float(value.max())
    print(
        f"{n:,} points, grid {spec0.width} x {spec0.height} cells of {res:.3f} m (EPSG:3857)"
    )

    def leafnb_cells():
        grid = rasterize(spec0, x, y, {"v": value})["v"]
        return png_bytes(legend.rgba(grid)), grid

    def leafnb_swath():
        rx, ry = footprint_radii(width, spec0, n)
        pad = int(max(rx.max(), ry.max()))
        spec = grid_spec(x, y, "EPSG:3857", res, pad=pad)
        rx, ry = footprint_radii(width, spec, n)
        grid = rasterize(spec, x, y, {"v": value}, radii=(rx, ry))["v"]
        return png_bytes(colorize(grid, lo, hi)), grid

    def numpy_hist2d():
        xe = spec0.left + np.arange(spec0.width + 1) * res
        ye = spec0.bottom + np.arange(spec0.height + 1) * res
        s, _, _ = np.histogram2d(y, x, bins=[ye, xe], weights=value)
        c, _, _ = np.histogram2d(y, x, bins=[ye, xe])
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = (s / c)[::-1]
        return png_bytes(colorize(grid, lo, hi)), grid

    def mpl_scatter():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        dpi = 100
        fig = plt.figure(figsize=(spec0.width / dpi, spec0.height / dpi), dpi=dpi)
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set_axis_off()
        ax.scatter(x, y, c=value, s=1, marker="s", linewidths=0, cmap="RdYlGn")
        ax.set_xlim(spec0.left, spec0.right)
        ax.set_ylim(spec0.bottom, spec0.top)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, transparent=True)
        plt.close(fig)
        return buf.getvalue(), None

    rows = []
    t_cells, (_, g_cells) = best(leafnb_cells, args.repeats)
    rows.append(("leafnb rasterize (cells) + 7-class legend + PNG", t_cells))
    t_swath, (_, g_swath) = best(leafnb_swath, args.repeats)
    rows.append(("leafnb rasterize (9.1 m swath fill) + V1 ramp + PNG", t_swath))
    t_hist, (_, g_hist) = best(numpy_hist2d, args.repeats)
    rows.append(("baseline np.histogram2d mean + V1 ramp + PNG", t_hist))
    if not args.no_mpl:
        t_mpl, _ = best(mpl_scatter, max(1, args.repeats - 1))
        rows.append(("baseline matplotlib scatter -> PNG", t_mpl))

    # same answer as histogram2d (up to points on cell edges, where float edges round differently)
    both = np.isfinite(g_cells) & np.isfinite(g_hist)
    agree = np.isclose(g_cells[both], g_hist[both]).mean()
    filled = np.isfinite(g_swath).mean()

    print(f"\n{'method':<56}{'seconds':>9}{'Mpts/s':>9}{'× leafnb':>10}")
    for name, t in rows:
        print(f"{name:<56}{t:>9.3f}{n / t / 1e6:>9.2f}{t / t_cells:>10.2f}")
    print(
        f"\ncells with data: points only {np.isfinite(g_cells).mean():.1%}, swath-filled {filled:.1%} "
        f"; leafnb point cells equal histogram2d's in {agree:.3%} of cells"
    )


if __name__ == "__main__":
    main()
