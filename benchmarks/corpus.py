"""Real-data fidelity: every real data set through leafnb, against facts established without it.

    python benchmarks/corpus.py [FOLDER ...] [--shared DIR] [--only NAME] [--markdown [FILE]]

Finds every set with a manifest of independent facts:

* ``tests/data/<set>/facts.json`` (committed, permissive licences),
* ``../shared/data`` through ``benchmarks/corpus_facts/shared/<set>.json``,
* ``FOLDER/<set>/facts.json`` for each FOLDER named (e.g. ``/work/corpus-data``),

zips each set, uploads it to a fresh :class:`leafnb.Workspace` (inline executor) and prints
one row per expectation: data set → converted? → operation type (got / expected) → records
(got / independent count) → totals (relative difference to the controller's totals or the
raw-column sums) → verdict. Each set is converted twice: with the default configuration
(outcome, operation type, records, messages) and with cleanup disabled, because the
controller and the raw sums count every record (totals).

Verdicts: ``ok``; ``wrong`` (converted, but a fact disagrees); ``failed`` (should convert,
did not); ``refused-correctly`` (should be refused, was, with a message naming the cause);
``refused-unclear`` (refused, but the message does not name the cause); ``n/a``.
The manifests and how their facts were obtained: ``benchmarks/corpus_facts/independent.py``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

TESTS_DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_MANIFESTS = HERE / "corpus_facts" / "shared"
DEFAULT_TOLERANCE = 0.02
GENERIC = "Files found but unable to read"


@dataclass
class DataSet:
    """A folder of real files and its manifest of independent facts."""

    name: str
    folder: Path
    manifest: dict[str, Any]
    source: str  # tests/data | shared | the user's folder


@dataclass
class FileResult:
    name: str
    status: str
    operation_type: str | None
    records: int
    skipped: int
    message: str
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)
    width_m: float | None = None  # largest equipmentWidth of the standard points


@dataclass
class Row:
    dataset: str
    part: str
    converted: str
    operation: str
    records: str
    totals: str
    verdict: str
    message: str


# ------------------------------------------------------------------ discovery
def discover(folders: list[Path], shared: Path | None = SHARED_DATA) -> list[DataSet]:
    """Every data set with a manifest, in a stable order (``shared=None``: tests/data and *folders* only)."""
    sets = [
        DataSet(p.parent.name, p.parent, json.loads(p.read_text()), "tests/data")
        for p in sorted(TESTS_DATA.glob("*/facts.json"))
    ]
    if shared is not None and shared.is_dir():
        for p in sorted(SHARED_MANIFESTS.glob("*.json")):
            m = json.loads(p.read_text())
            if (shared / m["path"]).is_dir():
                sets.append(DataSet(m["name"], shared / m["path"], m, "shared"))
    seen = {s.name for s in sets}
    for folder in folders:
        for p in sorted(folder.glob("*/facts.json")):
            m = json.loads(p.read_text())
            if m["name"] not in seen:
                sets.append(DataSet(m["name"], p.parent, m, str(folder)))
                seen.add(m["name"])
    return sets


def zip_set(ds: DataSet, target: Path) -> Path:
    """Zip the set's files (not its manifest), paths relative to the set folder."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(ds.folder.rglob("*")):
            if p.is_file() and p.name != "facts.json":
                zf.write(p, p.relative_to(ds.folder).as_posix())
    return target


# ------------------------------------------------------------------ running leafnb
def convert(
    ds: DataSet, tmp: Path, config: dict[str, Any]
) -> tuple[dict[str, Any], list[FileResult]]:
    """Upload the set to a fresh workspace; return the batch and one result per file."""
    from leafnb import Workspace

    ws = Workspace(tmp / "ws", executor="inline")
    if config:
        ws.set_config(config)
    batch = ws.upload_batch(
        zip_set(ds, tmp / f"{ds.name}.zip"), "corpus", progress=False
    )
    results = []
    page = 0
    while True:
        files = ws.get_files(batchId=batch["id"], size=100, page=page)
        for f in files:
            status = ws.get_file_status(f["id"])
            failed = [
                f"{step}: {v.get('message', '')}"
                for step, v in status.items()
                if isinstance(v, dict) and v.get("status") == "failed"
            ]
            totals, width = {}, None
            if f["status"] == "processed":
                props = ws.get_file_summary(f["id"])["properties"]
                totals = {
                    k: v
                    for k, v in props.items()
                    if k.startswith("total") and isinstance(v, dict)
                }
                width = _max_width(ws, f["id"])
            results.append(
                FileResult(
                    name=f["fileName"],
                    status=f["status"],
                    operation_type=f["operationType"],
                    records=int(f["recordCount"] or 0),
                    skipped=int(f.get("skippedRecords") or 0),
                    message="; ".join(failed),
                    totals=totals,
                    width_m=width,
                )
            )
        if (page + 1) * 100 >= files.total:
            break
        page += 1
    return dict(batch), results


def _max_width(ws, file_id: str) -> float | None:
    """Largest equipmentWidth of a file's standard points, in metres (None when absent)."""
    import numpy as np

    points = ws.load_points(file_id)
    if not points.has("equipmentWidth"):
        return None
    w = points.array("equipmentWidth")
    w = w[np.isfinite(w)]
    if not len(w):
        return None
    return to_unit(float(w.max()), points.units.get("equipmentWidth"), "m")


# ------------------------------------------------------------------ comparing
def to_unit(value: float, unit: str | None, target: str) -> float | None:
    """*value* in *unit* converted to *target* (None when the units do not convert)."""
    if unit == target or (
        target == "seeds" and unit in ("seeds", "seed", "count", "1", None)
    ):
        return value
    try:
        from leafnb.standard.units import convert as _convert

        return float(_convert([value], unit, target)[0])
    except Exception:
        return None


def _rel(got: float, expected: float) -> float:
    if expected == 0:
        return 0.0 if got == 0 else float("inf")
    return (got - expected) / expected


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


@dataclass
class Check:
    """One fact compared: its name (``converts``, ``operationType``, ``records``,
    ``totals:<key>``, ``width``, ``refused``), whether leafnb agrees, and the details."""

    name: str
    ok: bool
    got: str = ""
    detail: str = ""


def check_names(exp: dict[str, Any]) -> list[str]:
    """The checks an expectation implies (known before running leafnb)."""
    if exp["outcome"] == "refused":
        return ["refused"]
    if exp["outcome"] != "converted":
        return []
    names = ["converts"]
    if exp.get("operationType"):
        names.append("operationType")
    if exp.get("records") is not None:
        names.append("records")
    names += [f"totals:{k}" for k in exp.get("totals") or {}]
    if exp.get("workingWidthM"):
        names.append("width")
    return names


def matching(files: list[FileResult], exp: dict[str, Any]) -> list[FileResult]:
    return [f for f in files if fnmatch.fnmatch(f.name, exp["match"])]


def checks(
    exp: dict[str, Any],
    batch: dict[str, Any],
    default: list[FileResult],
    totals_pass: list[FileResult],
) -> list[Check]:
    """Compare one expectation with what leafnb produced (see :func:`check_names`)."""
    files = matching(default, exp)
    if exp["outcome"] == "refused":
        return [_refusal_check(exp, files, batch)]
    by_name = {f.name: f for f in totals_pass}
    files_b = [by_name[f.name] for f in files if f.name in by_name]
    names = check_names(exp)
    failed = [f for f in files if f.status != "processed"]
    if not files or failed:
        why = (
            "; ".join(f.message or f.status for f in failed)
            or f"no file resource (batch: {batch.get('statusDetails')})"
        )
        return [Check(n, False, "not converted", why) for n in names]
    out = [Check("converts", True, "yes")]
    ops = sorted({f.operation_type or "?" for f in files})
    if "operationType" in names:
        want = exp["operationType"]
        out.append(
            Check(
                "operationType",
                ops == [want],
                "/".join(ops),
                f"expected {want} ({exp.get('operationTypeReason', '')})",
            )
        )
    if "records" in names:
        got = sum(f.records for f in files)
        skipped = sum(f.skipped for f in files)
        want = exp["records"]
        ok = want in (got, got + skipped, got - skipped)
        out.append(
            Check(
                "records",
                ok,
                f"{got:,}" + (f" (+{skipped:,} skipped)" if skipped else ""),
                f"expected {want:,} ({exp.get('recordsSource', '')})",
            )
        )
    for key, want in (exp.get("totals") or {}).items():
        out.append(_total_check(key, want, files_b))
    if "width" in names:
        widths = [f.width_m for f in files_b if f.width_m is not None]
        want = exp["workingWidthM"]
        got = max(widths) if widths else None
        out.append(
            Check(
                "width",
                got is not None and abs(_rel(got, want)) <= 0.01,
                f"{got:.3f} m" if got is not None else "none",
                f"expected working width {want} m",
            )
        )
    return out


def _total_check(key: str, want: dict[str, Any], files_b: list[FileResult]) -> Check:
    vals = [
        to_unit(f.totals[key]["value"], f.totals[key].get("unit"), want["unit"])
        for f in files_b
        if key in f.totals
    ]
    vals = [v for v in vals if v is not None]
    name = f"totals:{key}"
    expected = f"expected {_fmt(want['value'])} {want['unit']} ({want['source']})"
    if not vals:
        return Check(name, not want["value"], "missing", expected)
    got = sum(vals)
    rel = _rel(got, want["value"])
    tol = want.get("tolerance", DEFAULT_TOLERANCE)
    return Check(
        name, abs(rel) <= tol, f"{_fmt(got)} {want['unit']} ({rel:+.1%})", expected
    )


def _refusal_check(exp, files, batch) -> Check:
    keys = [
        k.lower()
        for k in (
            [exp["refusal"]] if isinstance(exp["refusal"], str) else exp["refusal"]
        )
    ]
    converted = [f for f in files if f.status == "processed"]
    if converted:
        f = converted[0]
        return Check(
            "refused",
            False,
            f"converted as {f.operation_type}, {f.records} records",
            f"should be refused: {exp.get('note', '')}",
        )
    msg = (
        "; ".join(f.message for f in files)
        if files
        else str(batch.get("statusDetails") or "")
    )
    named = any(k in msg.lower() for k in keys)
    return Check(
        "refused",
        named,
        msg or "no message",
        ""
        if named
        else f"the message should name one of {keys}: {exp.get('note', '')}",
    )


def evaluate(
    ds: DataSet,
    batch: dict[str, Any],
    default: list[FileResult],
    totals_pass: list[FileResult],
) -> list[Row]:
    """One row per expectation of the manifest, plus one per file no expectation names."""
    rows: list[Row] = []
    claimed: set[str] = set()
    for exp in ds.manifest["expect"]:
        files = matching(default, exp)
        claimed |= {f.name for f in files}
        part = exp["match"].lstrip("*") or "(all)"
        if exp["outcome"] not in ("converted", "refused"):
            rows.append(
                Row(
                    ds.name,
                    part,
                    f"{len(files)} files",
                    "",
                    "",
                    "",
                    "n/a",
                    exp.get("note", ""),
                )
            )
            continue
        cs = {c.name: c for c in checks(exp, batch, default, totals_pass)}
        rows.append(_row(ds.name, part, exp, cs))
    for f in default:
        if f.name not in claimed:
            rows.append(
                Row(
                    ds.name,
                    f.name,
                    f.status,
                    f.operation_type or "?",
                    str(f.records),
                    "",
                    "n/a",
                    "file not in the manifest",
                )
            )
    return rows


def _row(dataset: str, part: str, exp: dict[str, Any], cs: dict[str, Check]) -> Row:
    if "refused" in cs:
        c = cs["refused"]
        verdict = (
            "refused-correctly"
            if c.ok
            else ("wrong" if c.got.startswith("converted") else "refused-unclear")
        )
        return Row(
            dataset,
            part,
            "yes" if c.got.startswith("converted") else "no",
            "",
            "",
            "",
            verdict,
            "; ".join(x for x in (c.got, c.detail) if x),
        )
    conv = cs["converts"]
    if not conv.ok:
        return Row(
            dataset,
            part,
            "no",
            f"- / {exp.get('operationType') or 'n/a'}",
            f"- / {exp.get('records', '-')}",
            "",
            "failed",
            conv.detail,
        )
    op = cs.get("operationType")
    rec = cs.get("records")
    totals = [c for n, c in cs.items() if n.startswith("totals:") or n == "width"]
    bad = [c for c in cs.values() if not c.ok]
    return Row(
        dataset,
        part,
        "yes",
        f"{op.got} / {exp['operationType']}" if op else "not asserted",
        f"{rec.got} / {exp['records']:,}" if rec else "",
        ", ".join(f"{c.name.removeprefix('totals:')} {c.got}" for c in totals),
        "wrong" if bad else "ok",
        "; ".join(f"{c.name}: got {c.got}, {c.detail}" for c in bad),
    )


# ------------------------------------------------------------------ output
HEADERS = (
    "data set",
    "part",
    "converted",
    "operation got / expected",
    "records got / expected",
    "totals vs facts",
    "verdict",
    "message",
)


def render_text(rows: list[Row]) -> str:
    cells = [HEADERS] + [
        (
            r.dataset,
            r.part,
            r.converted,
            r.operation,
            r.records,
            r.totals,
            r.verdict,
            r.message,
        )
        for r in rows
    ]
    widths = [
        min(max(len(c[i]) for c in cells), 48 if i < 7 else 10_000)
        for i in range(len(HEADERS))
    ]
    lines = []
    for c in cells:
        lines.append(
            "  ".join(
                (c[i][: widths[i]]).ljust(widths[i]) for i in range(len(HEADERS))
            ).rstrip()
        )
    return "\n".join(lines)


def render_markdown(rows: list[Row]) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows:
        out.append(
            "| "
            + " | ".join(
                esc(x)
                for x in (
                    r.dataset,
                    r.part,
                    r.converted,
                    r.operation,
                    r.records,
                    r.totals,
                    f"**{r.verdict}**",
                    r.message,
                )
            )
            + " |"
        )
    return "\n".join(out)


TABLE_MARKER = (
    "<!-- corpus table: generated by benchmarks/corpus.py, do not edit below -->"
)


def write_markdown(path: Path, table: str) -> None:
    """Write *table* to *path*; in a file holding :data:`TABLE_MARKER`, replace what follows it."""
    if path.exists() and TABLE_MARKER in path.read_text():
        head = path.read_text().split(TABLE_MARKER)[0]
        path.write_text(f"{head}{TABLE_MARKER}\n\n{table}")
    else:
        path.write_text(table)


def summary(rows: list[Row]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    return ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))


# the second conversion: every record kept (the controller and the raw sums count them all)
TOTALS_CONFIG = {
    "cleanupStandardGeojson": False,
    "operationsFilteredGeojson": False,
    "unitMeasurement": "METRIC",
}


def convert_both(
    ds: DataSet,
) -> tuple[dict[str, Any], list[FileResult], list[FileResult]]:
    """The batch and files with the default configuration, and the files with cleanup off."""
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        batch, default = convert(ds, Path(a), {})
        _, totals_pass = convert(ds, Path(b), TOTALS_CONFIG)
    return batch, default, totals_pass


def crashed(ds: DataSet, exc: BaseException) -> list[Row]:
    """One ``failed`` row per expectation of a set whose conversion raised *exc*."""
    why = f"crashed: {type(exc).__name__}: {exc}"
    return [
        Row(ds.name, e["match"].lstrip("*") or "(all)", "no", "", "", "", "failed", why)
        for e in ds.manifest["expect"]
    ]


def run(sets: list[DataSet], log=print) -> list[Row]:
    """Convert every set and evaluate its manifest; log one line per set to stderr."""
    rows: list[Row] = []
    for ds in sets:
        t0 = time.perf_counter()
        try:
            batch, default, totals_pass = convert_both(ds)
            set_rows = evaluate(ds, batch, default, totals_pass)
        except Exception as exc:  # one set's crash is that set's rows, not the run's
            set_rows = crashed(ds, exc)
        rows.extend(set_rows)
        log(
            f"{ds.name}: {summary(set_rows)} ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "folders",
        nargs="*",
        type=Path,
        help="folders with <set>/facts.json (e.g. /work/corpus-data)",
    )
    ap.add_argument(
        "--shared",
        type=Path,
        default=SHARED_DATA,
        help="the shared real data folder (default ../shared/data)",
    )
    ap.add_argument("--only", action="append", help="run only these set names")
    ap.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        help="write a Markdown table (to FILE or stdout)",
    )
    args = ap.parse_args(argv)
    sets = discover(args.folders, args.shared)
    if args.only:
        sets = [s for s in sets if s.name in set(args.only)]
    rows = run(sets)
    if args.markdown:
        text = render_markdown(rows) + f"\n\nVerdicts: {summary(rows)}.\n"
        if args.markdown == "-":
            print(text)
        else:
            write_markdown(Path(args.markdown), text)
    else:
        print(render_text(rows))
        print(f"\n{summary(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
