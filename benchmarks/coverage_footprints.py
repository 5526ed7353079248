"""Coverage footprints of the real data sets: the rule, the earlier rule, the exact buffer.

    python benchmarks/coverage_footprints.py [/work/corpus-data ...]

Uploads every data set :mod:`corpus` finds (``tests/data``, ``../shared/data`` and the
folders given) into a temporary workspace with this checkout, catches the track every
summary buffers (projected x/y and swath width, as
:func:`leafnb.standard.summary.coverage_geometry` passes them) and compares, per
footprint, the area of

* the rule (:func:`leafnb.standard.coverage.blocked_footprint`: the footprint made
  block by block),
* the earlier rule (each whole pass simplified with GEOS's topology-preserving
  simplifier at a quarter swath width, buffered, dissolved),
* the exact footprint: every whole pass buffered unsimplified.

Prints one line per footprint and the largest differences. Asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import discover, zip_set


def _passes(x, y, w):
    from leafnb.standard.coverage import pass_breaks

    parts = np.split(np.column_stack([x, y]), pass_breaks(x, y, w))
    return np.array(
        [shapely.points(p[0]) if len(p) == 1 else shapely.linestrings(p) for p in parts]
    )


def earlier_rule(x, y, w) -> shapely.Geometry:
    lines = shapely.simplify(_passes(x, y, w), w / 4)
    return shapely.union_all(shapely.buffer(lines, w / 2, quad_segs=4))


def exact(x, y, w) -> shapely.Geometry:
    return shapely.union_all(shapely.buffer(_passes(x, y, w), w / 2, quad_segs=4))


def main(argv: list[str] | None = None) -> int:
    import leafnb
    import leafnb.standard.summary as summary

    folders = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    tracks: list[tuple[str, np.ndarray, np.ndarray, float, shapely.Geometry]] = []
    rule = summary.blocked_footprint
    current = ""

    def spy(n, frame, w, **kw):
        g = rule(n, frame, w, **kw)
        # the track in the metres the footprint is made in (UTM: ``at`` of every record)
        at = kw.get("at")
        x, y = at(np.arange(n)) if at else frame(0, n)
        tracks.append((current, np.array(x), np.array(y), float(w), g))
        return g

    summary.blocked_footprint = spy
    worst = {"rule-exact": 0.0, "earlier-exact": 0.0, "rule-earlier": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for ds in discover(folders):
            current = ds.name
            z = zip_set(ds, Path(tmp) / f"{ds.name}.zip")
            ws = leafnb.Workspace(str(Path(tmp) / f"ws-{ds.name}"), executor="inline")
            ws.upload_batch(str(z), "coverage", progress=False)
    print(f"{'data set':45s} records  width  rule-exact earlier-exact rule-earlier")
    for name, x, y, w, g in tracks:
        ex, old = exact(x, y, w).area, earlier_rule(x, y, w).area
        d = {
            "rule-exact": g.area / ex - 1,
            "earlier-exact": old / ex - 1,
            "rule-earlier": g.area / old - 1,
        }
        for k, v in d.items():
            worst[k] = max(worst[k], abs(v))
        print(
            f"{name:45s} {len(x):7d} {w:6.2f} "
            + " ".join(f"{100 * v:+9.3f}%" for v in d.values())
        )
    print(
        f"{len(tracks)} footprints; largest |difference|: "
        + ", ".join(f"{k} {100 * v:.2f} %" for k, v in worst.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
