"""Command line: ``leafnb convert``, ``leafnb demo``, ``leafnb report``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from leafnb.errors import LeafnbError

__all__ = ["main"]


def _batch_document(ws, batch) -> dict:
    files = []
    for fid in batch["leafFiles"]:
        f = dict(ws.get_file(fid))
        f["status_steps"] = dict(ws.get_file_status(fid))
        f["units"] = (
            dict(ws.get_file_units(fid)) if f["status"] == "processed" else None
        )
        files.append(f)
    return {"batch": dict(batch), "files": files}


def cmd_convert(args) -> int:
    """Convert one zip and print the batch (with files, steps, summaries, units)."""
    from leafnb.workspace import Workspace

    workdir = args.workspace or tempfile.mkdtemp(prefix="leafnb-")
    ws = Workspace(workdir)
    batch = ws.upload_batch(
        args.input,
        args.leaf_user_id,
        args.provider,
        progress=not args.json,
        column_mapping=_column_mapping(args.column_mapping),
    )
    doc = _batch_document(ws, batch)
    doc["workspace"] = str(ws.path)
    if args.json:
        json.dump(doc, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        print(
            f"batch {batch['id']}: {batch['status']} {batch.get('statusDetails', '')}"
        )
        for f in doc["files"]:
            print(
                f"  {f['status']:9} {f['operationType'] or '?':9} {f['recordCount']:>8} records  {f['fileName']}"
            )
        print(f"workspace: {ws.path}")
    return 0 if batch["status"] == "PROCESSED" else 1


def _column_mapping(text: str | None) -> dict | None:
    """``--column-mapping``: inline JSON or ``@file.json``."""
    if not text:
        return None
    from leafnb.errors import InvalidRequest

    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"--column-mapping is not valid JSON: {exc}") from None


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip a folder (e.g. a monitor card or sample_data/) the way a user would."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and path.suffix.lower() not in (".md", ".py")
                and "__pycache__" not in path.parts
            ):
                zf.write(path, path.relative_to(folder).as_posix())
    return target


def cmd_demo(args) -> int:
    """Convert the bundled sample data and write an HTML report with maps."""
    from leafnb.report import write_report
    from leafnb.workspace import Workspace

    sample = Path(args.sample_data)
    if not sample.is_dir():
        print(f"sample data folder {sample} not found", file=sys.stderr)
        return 2
    out = Path(args.output)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    upload = zip_folder(sample, out / "sample_upload.zip")
    ws = Workspace(out / "workspace")
    batch = ws.upload_batch(upload, "demo-user", progress=True)
    report = write_report(ws, batch["id"], out)
    (out / "batch.json").write_text(
        json.dumps(_batch_document(ws, batch), indent=1, default=str)
    )
    print(f"batch {batch['id']}: {batch['status']}, {len(batch['leafFiles'])} files")
    for fid in batch["leafFiles"]:
        f = ws.get_file(fid)
        print(
            f"  {f['status']:9} {f['operationType'] or '?':9} {f['recordCount']:>6} records  {f['fileName']}"
        )
    print(f"report: {report}")
    return 0 if batch["status"] == "PROCESSED" else 1


def cmd_report(args) -> int:
    """Write the self-contained HTML report of a batch, file or operation of a workspace."""
    from leafnb.report import write_report
    from leafnb.workspace import Workspace

    workdir = Path(args.workspace)
    if not (workdir / "catalog.sqlite").is_file():
        print(
            f"{workdir} is not a leafnb workspace (no catalog.sqlite)", file=sys.stderr
        )
        return 2
    ws = Workspace(workdir)
    report = write_report(ws, args.id, Path(args.output or f"report_{args.id[:8]}"))
    print(f"report: {report}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``leafnb`` command."""
    parser = argparse.ArgumentParser(
        prog="leafnb",
        description="Convert farm machine files locally (Leaf-compatible).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="convert a zip of machine files")
    conv.add_argument("input", help="the .zip to convert")
    conv.add_argument("--provider", default="Other")
    conv.add_argument("--leaf-user-id", default="local-user")
    conv.add_argument(
        "--workspace", help="workspace folder (default: a new temporary one)"
    )
    conv.add_argument(
        "--json",
        action="store_true",
        help="print the batch, files, steps, summaries and units as JSON",
    )
    conv.add_argument(
        "--column-mapping",
        metavar="JSON",
        help='what source columns mean, e.g. \'{"Mass_Yield": "wetMassPerArea"}\' '
        "or @mapping.json (overrides column inference)",
    )
    conv.set_defaults(func=cmd_convert)
    demo = sub.add_parser(
        "demo", help="convert the bundled sample data and write a report"
    )
    demo.add_argument(
        "--sample-data",
        default=str(Path(__file__).resolve().parent.parent / "sample_data"),
    )
    demo.add_argument("--output", default="demo_output")
    demo.set_defaults(func=cmd_demo)
    rep = sub.add_parser(
        "report", help="write the HTML report of a batch, file or operation"
    )
    rep.add_argument("id", help="batch, file or operation id")
    rep.add_argument(
        "--workspace",
        default=".",
        help="workspace folder (default: the current folder)",
    )
    rep.add_argument("--output", help="output folder (default: report_<id prefix>)")
    rep.set_defaults(func=cmd_report)
    from leafnb.server.cli import add_subcommands

    add_subcommands(
        sub
    )  # no FastAPI import here: `serve` reports a missing extra itself
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LeafnbError as exc:
        print(f"leafnb: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
