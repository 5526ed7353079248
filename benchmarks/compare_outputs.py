"""Compare what two leafnb versions make of the real data sets: points, filter results, summaries.

Every data set :mod:`corpus` finds (``tests/data``, ``../shared/data`` and the folders
given) is uploaded once with a baseline (``git archive`` of ``--baseline``) and once
with this checkout, each in a fresh process; then, per converted file (matched by file
name and part), this checkout's readers compare:

* the standard points (``read_points_table``: columns, order, types, missing values,
  and values — equal, or the largest relative difference);
* the filtered points (``leafnb.clean.output.read_filtered``: kept and removed) and
  the cleaning report (``cleaning``);
* the units map (``leafnb.store.artifacts.stored_units``: ``units``);
* ``summary.json`` (numbers compared relatively, everything else exactly), its
  coverage ``geometry`` reported apart (``coverage``);
* the file's images (``Workspace.get_file_images``: one PNG per numeric property,
  compared pixel for pixel) and the 7-class legend of each property
  (``Workspace.legend``, compared as JSON), each made by its own version
  (``images``, ``legends``).

Float columns equal in value but not in bits (``-0.0``, NaN payloads) are reported.

Prints one line per file that differs and a total. Asserts nothing. Run:
``python benchmarks/compare_outputs.py [--baseline main] [/work/corpus-data ...]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import discover, zip_set
from harness import baseline_tree

REPO = Path(__file__).resolve().parents[1]


def _convert(zip_path: str, ws_dir: str) -> dict[str, str]:
    """Upload *zip_path* into a new workspace; ``{file key: artifact folder}``."""
    import leafnb

    ws = leafnb.Workspace(ws_dir, executor="inline")
    batch = ws.upload_batch(zip_path, "compare", progress=False)
    out = {"": leafnb.__file__}  # which leafnb ran
    for fid in batch.get("leafFiles") or []:
        f = ws.get_file(fid)
        key = f"{f.get('fileName')}#{f.get('part') or ''}#{f.get('operationType')}"
        out[key] = str(Path(ws_dir) / "files" / fid)
        if f.get("status") == "processed":
            _render(ws, fid, Path(out[key]))
    return out


def _render(ws: Any, file_id: str, folder: Path) -> None:
    """Write the file's images and legends as this version makes them into ``compare.json``."""
    images, legends = {}, {}
    try:
        for item in ws.get_file_images(file_id):
            images[item["property"]] = str(item["url"])
    except Exception as exc:  # reported as a difference if the other version succeeds
        images = {"error": f"{type(exc).__name__}: {exc}"}
    for prop in sorted(p for p in images if p != "error"):
        try:
            legends[prop] = ws.legend(file_id, prop).to_dict()
        except Exception as exc:
            legends[prop] = {"error": f"{type(exc).__name__}: {exc}"}
    doc = {"images": images, "legends": legends}
    (folder / "compare.json").write_text(json.dumps(doc, default=str))


def _child(source: Path, *args: str) -> dict[str, str]:
    code = (
        # leafnb first: corpus.py (imported by this module) puts this checkout on the path
        f"import json, sys; sys.path.insert(0, {str(source)!r}); import leafnb; "
        f"sys.path.insert(1, {str(REPO / 'benchmarks')!r}); "
        f"import compare_outputs as c; print(json.dumps(c._convert(*{list(args)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(source)},
        cwd=tempfile.gettempdir(),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        d = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    d = d[np.isfinite(d)]
    return float(d.max()) if len(d) else 0.0


def compare_tables(a: pa.Table, b: pa.Table) -> tuple[list[str], float]:
    """Structural differences and the largest relative difference of float columns."""
    problems: list[str] = []
    if a.column_names != b.column_names:
        return [f"columns {a.column_names} != {b.column_names}"], math.inf
    if a.num_rows != b.num_rows:
        return [f"rows {a.num_rows} != {b.num_rows}"], math.inf
    worst = 0.0
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if x.type != y.type:
            problems.append(f"{name}: type {x.type} != {y.type}")
        elif pa.types.is_floating(x.type):
            xa = x.to_numpy(zero_copy_only=False).astype("float64")
            ya = y.to_numpy(zero_copy_only=False).astype("float64")
            if not np.array_equal(np.isnan(xa), np.isnan(ya)):
                problems.append(f"{name}: missing values differ")
            rel = _rel(xa, ya)
            if rel:
                k = int(np.nanargmax(np.abs(xa - ya) / np.maximum(abs(xa), abs(ya))))
                _note_worst(rel, f"{name}[{k}]", float(xa[k]), float(ya[k]))
            if rel == 0 and not np.array_equal(xa.view("u8"), ya.view("u8")):
                problems.append(f"{name}: bits differ (signed zeros or NaN payloads)")
            worst = max(worst, rel)
        elif not x.equals(y):
            problems.append(f"{name}: values differ")
    return problems, worst


#: where the comparison running now found its largest relative difference:
#: ``(relative difference, path, old value, new value)``
_WORST: list[tuple[float, str, Any, Any]] = []
#: per artifact of the last :func:`compare_folders`, where its largest difference is
LOCATED: dict[str, tuple[float, str, Any, Any]] = {}


def _note_worst(rel: float, where: str, a: Any, b: Any) -> None:
    if not _WORST or rel > _WORST[0][0]:
        _WORST[:] = [(rel, where, a, b)]


def _located(kind: str, result: tuple[list[str], float]) -> tuple[list[str], float]:
    """*result* of one artifact's comparison; where its largest difference is, kept."""
    if _WORST:
        LOCATED[kind] = _WORST[0]
    _WORST.clear()
    return result


def compare_json(a: Any, b: Any, path: str = "") -> tuple[list[str], float]:
    """Differences of two JSON documents; numbers compared relatively."""
    numbers = not isinstance(a, bool) and not isinstance(b, bool)
    numbers = numbers and isinstance(a, int | float) and isinstance(b, int | float)
    if not numbers and type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"[:200]], 0.0
    if isinstance(a, dict):
        problems, worst = [], 0.0
        if set(a) != set(b):
            problems.append(f"{path}: keys {sorted(set(a) ^ set(b))}")
        for k in set(a) & set(b):
            p, w = compare_json(a[k], b[k], f"{path}.{k}")
            problems += p
            worst = max(worst, w)
        return problems, worst
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"], 0.0
        problems, worst = [], 0.0
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            p, w = compare_json(x, y, f"{path}[{i}]")
            problems += p
            worst = max(worst, w)
        return problems, worst
    if isinstance(a, int | float) and not isinstance(a, bool):
        if a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)):
            return [], 0.0
        rel = abs(a - b) / max(abs(a), abs(b))
        _note_worst(rel, path, a, b)
        return [], rel
    return ([] if a == b else [f"{path}: {a!r} != {b!r}"[:200]]), 0.0


def compare_folders(old: Path, new: Path) -> dict[str, tuple[list[str], float]]:
    """Per artifact: (differences, largest relative difference)."""
    from leafnb.clean.output import has_filtered, read_filtered
    from leafnb.store.artifacts import read_json, read_points_table, stored_units

    out: dict[str, tuple[list[str], float]] = {}
    LOCATED.clear()
    _WORST.clear()
    if (old / "standard.parquet").exists() or (new / "standard.parquet").exists():
        out["standard"] = _located(
            "standard",
            compare_tables(
                read_points_table(old / "standard.parquet")[0],
                read_points_table(new / "standard.parquet")[0],
            ),
        )
    if has_filtered(old) or has_filtered(new):
        a, b = read_filtered(old), read_filtered(new)
        kept, removed = (
            compare_tables(a.kept.table, b.kept.table),
            compare_tables(a.removed.table, b.removed.table),
        )
        out["filtered"] = _located(
            "filtered", (kept[0] + removed[0], max(kept[1], removed[1]))
        )
        out["cleaning"] = _located(
            "cleaning", compare_json(dict(a.report), dict(b.report))
        )
    if (old / "standard.parquet").exists() and (new / "standard.parquet").exists():
        # (units.json of a version before; standard.parquet's footer since)
        out["units"] = _located(
            "units", compare_json(stored_units(old), stored_units(new))
        )
    if (old / "summary.json").exists() or (new / "summary.json").exists():
        a, b = read_json(old / "summary.json"), read_json(new / "summary.json")
        # the coverage geometry apart: its coordinates are written rounded (1e-7°)
        ga = a.pop("geometry", None) if isinstance(a, dict) else None
        gb = b.pop("geometry", None) if isinstance(b, dict) else None
        out["summary"] = _located("summary", compare_json(a, b))
        out["coverage"] = _located("coverage", compare_json(ga, gb))
    if (old / "compare.json").exists() or (new / "compare.json").exists():
        renders = compare_renders(old / "compare.json", new / "compare.json")
        out["images"] = renders["images"]
        out["legends"] = _located("legends", renders["legends"])
    return out


def compare_renders(old: Path, new: Path) -> dict[str, tuple[list[str], float]]:
    """Images (pixels) and legends (JSON) two versions made of one file (:func:`_render`)."""
    from PIL import Image

    a = json.loads(old.read_text()) if old.exists() else {}
    b = json.loads(new.read_text()) if new.exists() else {}
    ia, ib = a.get("images") or {}, b.get("images") or {}
    problems: list[str] = []
    if set(ia) != set(ib):
        problems.append(f"images of {sorted(set(ia) ^ set(ib))}")
    for prop in sorted(set(ia) & set(ib) - {"error"}):
        old_px, new_px = (
            np.asarray(Image.open(p).convert("RGBA")) for p in (ia[prop], ib[prop])
        )
        if old_px.shape != new_px.shape:
            problems.append(f"{prop}: size {old_px.shape} != {new_px.shape}")
        elif not np.array_equal(old_px, new_px):
            changed = int(np.any(old_px != new_px, axis=-1).sum())
            problems.append(
                f"{prop}: {changed} of {old_px.shape[0] * old_px.shape[1]} pixels"
            )
    return {
        "images": (problems, 0.0),
        "legends": compare_json(a.get("legends"), b.get("legends")),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--baseline", default="main")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="leafnb-compare-"))
    tree = baseline_tree(args.baseline, tmp)
    worst: dict[str, float] = {}
    worst_at: dict[str, tuple[str, str, Any]] = {}
    files = differing = 0
    try:
        for ds in discover(args.folders):
            zip_path = str(zip_set(ds, tmp / f"{ds.name}.zip"))
            old = _child(tree, zip_path, str(tmp / f"{ds.name}-old"))
            new = _child(REPO, zip_path, str(tmp / f"{ds.name}-new"))
            print(f"{ds.name}: {old.pop('')} vs {new.pop('')}", flush=True)
            if set(old) != set(new):
                print(f"{ds.name}: files differ {sorted(set(old) ^ set(new))}")
            for key in sorted(set(old) & set(new)):
                files += 1
                result = compare_folders(Path(old[key]), Path(new[key]))
                bad = {k: p for k, (p, _w) in result.items() if p}
                for k, (_p, w) in result.items():
                    if w > worst.get(k, 0.0):
                        worst[k] = w
                        worst_at[k] = (ds.name, key, LOCATED.get(k))
                if bad:
                    differing += 1
                    print(f"{ds.name} {key}: {bad}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{files} files compared, {differing} with structural differences; "
        "largest relative difference: "
        + ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items()))
    )
    for k, (name, key, at) in sorted(worst_at.items()):
        if at is not None:
            print(f"  largest {k}: {name} {key} {at[1]}: {at[2]!r} -> {at[3]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
