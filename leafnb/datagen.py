"""Large realistic machine-file datasets for benchmarks and scale tests.

``python -m leafnb.datagen --points 10000000 --files 200 --formats sms_shapefile,sms_csv,agleader_text,isoxml --out DIR``

writes *files* machine files holding *points* points in total (sizes vary per file,
log-normally, like a real season: a few big harvest logs, many small ones), cycling
through *formats*. Every file is :func:`leafnb.testing.make_points` output of an
operation type the format carries (harvest, planting, application), with its own seed,
field location (fields on a grid a few km apart), date (spread over the season) and
variety, written with :func:`leafnb.testing.write_as`. ``isoxml`` writes a harvest
``TASKDATA`` folder with :func:`leafnb.testing.writers.write_isoxml` (one task, one
time log).

``--zip`` also packs everything into ``DIR/season.zip`` ready for
:meth:`leafnb.Workspace.upload_batch`. ``--workers N`` generates files in parallel.
Output is deterministic for the same arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.testing import FORMATS, make_points, write_as
from leafnb.testing.writers import write_isoxml

__all__ = [
    "ALL_FORMATS",
    "FileSpec",
    "file_specs",
    "generate",
    "write_file",
    "write_isoxml",
    "zip_dataset",
]

#: formats :func:`generate` writes (every :data:`leafnb.testing.FORMATS` entry + ``isoxml``)
#: → operation types cycled through. SMS planting exports carry the variety but no crop
#: column, so Leaf (and leafnb) fail them unless ``cropOptional`` is set: the generator
#: writes SMS harvest and application logs only, planting goes to the JD shapefile.
ALL_FORMATS: dict[str, tuple[str, ...]] = {
    **{fmt: tuple(op for op in ops if op != "tillage") for fmt, ops in FORMATS.items()},
    "sms_shapefile": ("harvested", "harvested", "applied"),
    "sms_csv": ("harvested", "applied", "harvested"),
    "geopackage": ("harvested", "applied"),
    "isoxml": ("harvested",),
}

_VARIETIES = {
    "harvested": ("P1197AM", "P0574AM", "DKC62-08", "A1234"),
    "planted": ("DKC61-54RIB", "P1197AM", "NK0760"),
}
# season windows (month, day) per operation type
_SEASON = {
    "planted": (4, 20),
    "applied": (6, 1),
    "harvested": (9, 25),
    "tillage": (11, 1),
}
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class FileSpec:
    """One file to generate."""

    index: int
    fmt: str
    operation_type: str
    points: int
    seed: int
    field: int
    day: int  # offset from the season window start


def file_specs(
    points: int, files: int, formats: Sequence[str], seed: int = 0, min_points: int = 50
) -> list[FileSpec]:
    """Plan *files* files holding *points* points in total (log-normal sizes), cycling *formats*."""
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown:
        raise ValueError(
            f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(ALL_FORMATS)}"
        )
    if files < 1 or points < files:
        raise ValueError("need at least one file and one point per file")
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 0.6, files)
    min_points = min(min_points, points // files)
    sizes = np.floor(
        min_points + weights / weights.sum() * (points - min_points * files)
    ).astype(np.int64)
    sizes[np.argmax(sizes)] += points - int(sizes.sum())
    n_fields = max(1, files // 6)
    out = []
    for i in range(files):
        fmt = formats[i % len(formats)]
        ops = ALL_FORMATS[fmt]
        op = ops[(i // len(formats)) % len(ops)]
        out.append(
            FileSpec(
                i,
                fmt,
                op,
                int(sizes[i]),
                seed * 1_000_003 + i,
                int(rng.integers(n_fields)),
                int(rng.integers(0, 21)),
            )
        )
    return out


def _vary(points: pa.Table, spec: FileSpec) -> pa.Table:
    """Move a generated table to the spec's field and date; pick its variety."""
    import datetime as dt

    meta = points.schema.metadata
    cols = {}
    # fields on a grid, ~3 km apart (make_points' field is ~0.5 x 0.5 km near Ames)
    gx, gy = spec.field % 8, spec.field // 8
    cols["lon"] = pc.add(points["lon"], gx * 0.036)
    cols["lat"] = pc.add(points["lat"], gy * 0.027)
    month, day = _SEASON[spec.operation_type]
    start = dt.datetime(2023, month, day, 13, tzinfo=dt.UTC) + dt.timedelta(
        days=spec.day, hours=spec.index % 5
    )
    ts = points["timestamp"].cast(pa.int64()).to_numpy()
    shift = int(start.timestamp() * 1000) - int(ts[0])
    cols["timestamp"] = pa.array(ts + shift, pa.int64()).cast(
        pa.timestamp("ms", tz="UTC")
    )
    varieties = _VARIETIES.get(spec.operation_type)
    if varieties and "variety" in points.column_names:
        variety = pa.scalar(varieties[spec.index % len(varieties)], pa.string())
        cols["variety"] = pa.repeat(variety, points.num_rows)
    for name, arr in cols.items():
        points = points.set_column(points.column_names.index(name), name, arr)
    return points.replace_schema_metadata(meta)


def write_file(spec: FileSpec, out: str) -> list[str]:
    """Write the file *spec* plans under *out*/<format>/; return its paths (main file, sidecars)."""
    points = _vary(make_points(spec.operation_type, spec.points, seed=spec.seed), spec)
    stem = f"field{spec.field:03d}_{spec.operation_type}_{spec.index:05d}"
    folder = Path(out) / spec.fmt
    if spec.fmt == "isoxml":
        main = write_isoxml(points, folder / stem / "TASKDATA")
        return [str(p) for p in sorted(main.parent.iterdir())]
    main = write_as(points, spec.fmt, folder, name=stem)
    mstem = main.name[: -len(main.suffix)]
    return [str(p) for p in sorted(folder.iterdir()) if p.name.startswith(mstem + ".")]


def generate(
    out: str | Path,
    points: int,
    files: int,
    formats: Sequence[str] = ("sms_shapefile", "sms_csv", "agleader_text", "isoxml"),
    *,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> list[Path]:
    """Write the dataset into *out*; return every written file (main files and sidecars).

    A ``manifest.json`` in *out* lists each file's format, operation type and point count.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specs = file_specs(points, files, list(formats), seed=seed)
    written: list[Path] = []
    t0 = time.perf_counter()
    if workers > 1 and len(specs) > 1:
        import multiprocessing

        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            for i, paths in enumerate(
                pool.map(write_file, specs, [str(out)] * len(specs), chunksize=1)
            ):
                written += map(Path, paths)
                if progress:
                    print(
                        f"\r{i + 1}/{len(specs)} files",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
    else:
        for i, spec in enumerate(specs):
            written += map(Path, write_file(spec, str(out)))
            if progress:
                print(
                    f"\r{i + 1}/{len(specs)} files", end="", file=sys.stderr, flush=True
                )
    if progress:
        print(
            f"\r{len(specs)} files, {points:,} points in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
    manifest = {
        "points": points,
        "files": files,
        "formats": list(formats),
        "seed": seed,
        "entries": [
            {
                "index": s.index,
                "format": s.fmt,
                "operationType": s.operation_type,
                "points": s.points,
                "field": s.field,
            }
            for s in specs
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return sorted(set(written))


def zip_dataset(
    out: str | Path,
    files: Sequence[Path] | None = None,
    name: str = "season.zip",
    compresslevel: int = 1,
) -> Path:
    """Zip the generated files of *out* (default: every file but the manifest and zips)."""
    out = Path(out)
    if files is None:
        files = [
            p
            for p in out.rglob("*")
            if p.is_file() and p.suffix.lower() != ".zip" and p.name != "manifest.json"
        ]
    target = out / name
    with zipfile.ZipFile(
        target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    ) as zf:
        for p in sorted(files):
            zf.write(p, p.relative_to(out).as_posix())
    return target


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m leafnb.datagen",
        description="Write a large realistic machine-file dataset.",
    )
    ap.add_argument(
        "--points", type=int, default=1_000_000, help="total points (default 1,000,000)"
    )
    ap.add_argument(
        "--files", type=int, default=20, help="number of machine files (default 20)"
    )
    ap.add_argument(
        "--formats",
        default="sms_shapefile,sms_csv,agleader_text,isoxml",
        help=f"comma-separated, from: {','.join(ALL_FORMATS)}",
    )
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="generator processes"
    )
    ap.add_argument("--zip", action="store_true", help="also write OUT/season.zip")
    args = ap.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    files = generate(
        args.out,
        args.points,
        args.files,
        formats,
        seed=args.seed,
        workers=args.workers,
        progress=True,
    )
    print(f"{len(files)} files written under {args.out}")
    if args.zip:
        print(zip_dataset(args.out, files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
