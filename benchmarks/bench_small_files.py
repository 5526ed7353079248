"""Benchmark: a batch of many small files, this tree vs a baseline tree, in the same run.

    python benchmarks/bench_small_files.py [--files 200] [--baseline main] [--repeats 3] [--bytecode]

*files* Ag Leader SMS CSV files of 10 points (``leafnb.testing.make_points`` +
``write_as(..., "sms_csv")``) are zipped and uploaded as one batch in-process
(``Workspace(..., executor="inline").upload_batch``), timed from before
``import leafnb`` to the batch settled, by *baseline* (``git archive <ref>`` unpacked
into a temp dir) and by this tree, each in a fresh process, alternating, *repeats*
times (the best of each is reported with the median).

``--bytecode``: the children may write and use ``.pyc`` files (``PYTHONDONTWRITEBYTECODE``
unset; each tree first converts one file to write them), as an installed package does;
without it they run with the caller's environment (on a box that sets
``PYTHONDONTWRITEBYTECODE=1`` every child compiles leafnb, ~0.3 s).

Detection and reading alone are timed too (CPU per file in a warm process,
``detect`` of the extracted files and ``CsvReader.read`` of each). Then both
workspaces are compared: every catalog row (batches, files, steps, events;
ids, times and paths made comparable), file statuses and step messages, and every
artifact (name and bytes; GeoParquet files by their decoded table and metadata).
Prints one table and the differences. Asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import baseline_tree, run_child

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- children
def _small_batch(zip_path: str, ws_dir: str) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    import leafnb

    t_import = time.perf_counter() - t0
    ws = leafnb.Workspace(ws_dir, executor="inline")
    batch = ws.upload_batch(zip_path, "bench", progress=False)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu": time.process_time() - c0,
        "import": t_import,
        "files": len(batch["leafFiles"]),
        "leafnb": leafnb.__file__,
    }


def _reads(folder: str) -> dict:
    """CPU ms a file of detecting and of reading the CSVs in *folder* (warm process)."""
    import warnings

    import leafnb
    from leafnb.formats.delimited import CsvReader
    from leafnb.formats.detect import detect

    warnings.simplefilter("ignore")
    files = sorted(Path(folder).glob("*.csv"))
    reader = CsvReader()
    reader.read(files[0])  # imports, pint registry
    c0 = time.process_time()
    detect(folder)
    c1 = time.process_time()
    for f in files:
        reader.read(f)
    c2 = time.process_time()
    n = len(files)
    return {
        "detect_ms": (c1 - c0) / n * 1000,
        "read_ms": (c2 - c1) / n * 1000,
        "leafnb": leafnb.__file__,
    }


def _child(root: Path, *args: str, kind: str = "small_batch") -> dict:
    out = run_child(root, "bench_small_files", f"_{kind}", *args)
    if not out["leafnb"].startswith(str(root)):
        raise RuntimeError(f"ran {out['leafnb']}, not the tree in {root}")
    return out


# ----------------------------------------------------------------------------- data
def generate(files: int, out: Path) -> Path:
    """*files* SMS CSV files of 10 points zipped into ``out/small.zip``."""
    import zipfile

    from leafnb.testing import make_points, write_as

    path = out / "small.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(files):
            pts = make_points("harvested", 10, seed=i)
            p = write_as(pts, "sms_csv", out / "small", f"f{i:03d}")
            zf.write(p, p.name)
    return path


# ----------------------------------------------------------------------------- compare
_TIMES = ("created_time", "updated_time", "upload_timestamp", "timestamp")


def _scrub(value, ids: dict[str, str]):
    """Replace ids (uuids) by stable names and drop times, recursively."""
    if isinstance(value, dict):
        return {
            k: _scrub(v, ids)
            for k, v in value.items()
            if (k not in _TIMES and not k.endswith(("Time", "Timestamp")))
            or k in ("startTime", "endTime")
        }
    if isinstance(value, list):
        return [_scrub(v, ids) for v in value]
    if isinstance(value, str):
        for old, new in ids.items():
            value = value.replace(old, new)
    return value


def _parquet_digest(path: Path) -> str:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    h = hashlib.sha1(repr(t.to_pydict()).encode())
    h.update(repr(sorted((t.schema.metadata or {}).items())).encode())
    return h.hexdigest()


def snapshot(ws_dir: Path) -> dict:
    """Catalog rows and artifacts of a workspace, ids and times made comparable."""
    conn = sqlite3.connect(ws_dir / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    files = conn.execute("SELECT * FROM files ORDER BY file_name").fetchall()
    ids = {r["id"]: f"<file:{r['file_name']}>" for r in files}
    for r in conn.execute("SELECT id FROM batches"):
        ids[r["id"]] = "<batch>"
    for r in conn.execute("SELECT id FROM operations ORDER BY created_time, id"):
        ids.setdefault(r["id"], f"<op{len(ids)}>")
    ids[str(ws_dir)] = "<ws>"

    def rows(sql: str) -> list:
        return [_scrub(dict(r), ids) for r in conn.execute(sql).fetchall()]

    out: dict = {
        "batches": rows("SELECT * FROM batches"),
        "files": [
            {**r, "doc": _scrub(json.loads(r["doc"]), ids)}
            for r in rows("SELECT * FROM files ORDER BY file_name")
        ],
        "steps": sorted(
            rows("SELECT * FROM steps"), key=lambda r: (r["file_id"], r["position"])
        ),
        "events": [
            {**r, "payload": _scrub(json.loads(r["payload"]), ids)}
            for r in rows("SELECT type, payload FROM events ORDER BY seq")
        ],
        "operations": len(conn.execute("SELECT id FROM operations").fetchall()),
    }
    for r in out["batches"]:
        r["doc"] = _scrub(json.loads(r["doc"]), ids)
    artifacts = {}
    for fid, name in ids.items():
        d = ws_dir / "files" / fid
        if not name.startswith("<file:") or not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            if p.is_file():
                key = f"{name}/{p.relative_to(d)}"
                if p.suffix == ".parquet":
                    artifacts[key] = _parquet_digest(p)
                else:
                    text = p.read_bytes().decode("utf-8", "replace")
                    for old, new in ids.items():
                        text = text.replace(old, new)
                    artifacts[key] = hashlib.sha1(text.encode()).hexdigest()
    out["artifacts"] = artifacts
    return out


def differences(a: dict, b: dict, path: str = "") -> list[str]:
    """Paths where two snapshots differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'after' if k in b else 'before'}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]  # fmt: skip
    return [] if a == b else [f"{path}: {a!r:.120} != {b!r:.120}"]


# ----------------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--baseline", default="main", help="git ref to compare against")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--zip", help="an existing zip to upload instead of generating one")
    ap.add_argument(
        "--bytecode",
        action="store_true",
        help="children write and use .pyc files (PYTHONDONTWRITEBYTECODE unset)",
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    tmp = Path(tempfile.mkdtemp(prefix="leafnb-bench-small-"))
    try:
        base = baseline_tree(args.baseline, tmp)
        zip_path = Path(args.zip) if args.zip else generate(args.files, tmp)
        if args.bytecode:  # .pyc written by a one-file batch per tree, then used
            import os
            import zipfile

            os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
            one = tmp / "one.zip"
            with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(one, "w") as dst:
                first = src.namelist()[0]
                dst.writestr(first, src.read(first))
            for label, root in (("before", base), ("after", REPO)):
                _child(root, str(one), str(tmp / f"ws-warm-{label}"))
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for i in range(args.repeats):
            for label, root in (("before", base), ("after", REPO)):
                ws = tmp / f"ws-{label}-{i}"
                runs[label].append(_child(root, str(zip_path), str(ws)))
        n = runs["after"][0]["files"]
        folder = str(zip_path.parent / "small")
        if not Path(folder).is_dir():  # a given zip: extract it
            import zipfile

            zipfile.ZipFile(zip_path).extractall(tmp / "small")
            folder = str(tmp / "small")
        reads = {
            label: [_child(root, folder, kind="reads") for _ in range(args.repeats)]
            for label, root in (("before", base), ("after", REPO))
        }
        rows = []
        for what, key in (
            ("whole batch incl. import, wall", "seconds"),
            ("whole batch incl. import, CPU", "cpu"),
            ("import leafnb, wall", "import"),
        ):
            b = [r[key] for r in runs["before"]]
            a = [r[key] for r in runs["after"]]
            rows.append(
                (
                    f"{n} files of 10 points: {what} (s, best / median of {args.repeats})",
                    f"{min(b):.2f} / {statistics.median(b):.2f}",
                    f"{min(a):.2f} / {statistics.median(a):.2f}",
                    f"{min(b) / min(a):.2f}x",
                )
            )
        b = min(r["seconds"] - r["import"] for r in runs["before"]) / n * 1000
        a = min(r["seconds"] - r["import"] for r in runs["after"]) / n * 1000
        rows.append(("per file, after the import, wall (ms, best)", f"{b:.1f}", f"{a:.1f}", f"{b / a:.2f}x"))  # fmt: skip
        b = min(r["cpu"] for r in runs["before"]) / n * 1000
        a = min(r["cpu"] for r in runs["after"]) / n * 1000
        rows.append(("per file, CPU incl. import (ms, best)", f"{b:.1f}", f"{a:.1f}", f"{b / a:.2f}x"))  # fmt: skip
        for what, key in (("detection", "detect_ms"), ("reading (CsvReader.read)", "read_ms")):  # fmt: skip
            b = min(r[key] for r in reads["before"])
            a = min(r[key] for r in reads["after"])
            rows.append((f"{what} of one file, CPU in a warm process (ms, best)", f"{b:.2f}", f"{a:.2f}", f"{b / a:.2f}x"))  # fmt: skip
        diffs = differences(snapshot(tmp / "ws-before-0"), snapshot(tmp / "ws-after-0"))
        print(
            f"baseline: {args.baseline}; this tree: {REPO}; "
            f"{'.pyc files used' if args.bytecode else 'environment as given'}\n"
        )
        print("| work | before | after | ratio |\n|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print(
            "\nworkspaces (catalog rows, step messages, events, artifacts): "
            + ("identical" if not diffs else f"{len(diffs)} differences")
        )
        for d in diffs[:40]:
            print("  " + d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
