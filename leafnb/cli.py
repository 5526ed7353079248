"""Command line: ``leafnb convert``, ``demo``, ``report`` (and ``serve``/``token`` from :mod:`leafnb.server.cli`).

Every subcommand works on one workspace: ``--workspace PATH``, else the
``LEAFNB_WORKSPACE`` environment variable, else ``./leafnb-workspace``. A workspace that
does not exist is an error (a mistyped path must not silently become an empty
workspace) unless ``--create`` is given; ``convert`` creates the default workspace on
first use. ``demo`` is self-contained: it writes its own workspace under ``--output``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from leafnb._version import __version__
from leafnb.errors import LeafnbError
from leafnb.inputs import prepare_upload, zip_folder

__all__ = [
    "DEFAULT_WORKSPACE",
    "WORKSPACE_ENV",
    "main",
    "resolve_workspace",
    "zip_folder",
]

#: environment variable naming the workspace of every subcommand
WORKSPACE_ENV = "LEAFNB_WORKSPACE"
#: the workspace used when neither ``--workspace`` nor ``LEAFNB_WORKSPACE`` is given
DEFAULT_WORKSPACE = "leafnb-workspace"


class MissingWorkspace(LeafnbError):
    """The named workspace does not exist and ``--create`` was not given."""


def is_workspace(path: Path) -> bool:
    """True when *path* holds a leafnb workspace (its ``catalog.sqlite``)."""
    return (path / "catalog.sqlite").is_file()


def resolve_workspace(
    given: str | None, *, create: bool = False, create_default: bool = False
) -> Path:
    """The workspace folder of a subcommand: ``--workspace``, else ``$LEAFNB_WORKSPACE``, else the default.

    Creates it when *create* (or *create_default* and neither the option nor the variable
    named it); otherwise raises :class:`MissingWorkspace` when it holds no workspace.
    """
    named = given or os.environ.get(WORKSPACE_ENV)
    path = Path(named or DEFAULT_WORKSPACE).expanduser().resolve()
    if is_workspace(path):
        return path
    if create or (create_default and not named):
        from leafnb.workspace import Workspace

        Workspace(path)  # writes the catalog: the folder is a workspace from now on
        print(f"leafnb: created workspace {path}", file=sys.stderr)
        return path
    source = (
        "--workspace"
        if given
        else f"${WORKSPACE_ENV}"
        if named
        else "the default workspace"
    )
    what = (
        "is not a leafnb workspace (no catalog.sqlite)"
        if path.exists()
        else "does not exist"
    )
    raise MissingWorkspace(
        f"{path} ({source}) {what}; check the path, or add --create to start a new workspace there"
    )


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
    """Convert a zip, a folder or one machine file and print the batch (with files, steps, summaries, units)."""
    from leafnb.workspace import Workspace

    ws = Workspace(args.workspace)
    upload = prepare_upload(args.input, temp_dir=ws.path)
    try:
        for line in upload.skipped:
            print(f"left out: {line}", file=sys.stderr)
        batch = ws.upload_batch(
            upload.path,
            args.leaf_user_id,
            args.provider,
            progress=not args.json,
            column_mapping=_column_mapping(args.column_mapping),
        )
    finally:
        upload.cleanup()
    doc = _batch_document(ws, batch)
    doc["workspace"] = str(ws.path)
    doc["leftOut"] = upload.skipped
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
    upload = prepare_upload(sample, out).path
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

    ws = Workspace(args.workspace)
    report = write_report(ws, args.id, Path(args.output or f"report_{args.id[:8]}"))
    print(f"report: {report}")
    return 0


def _workspace_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        help=f"workspace folder (default: ${WORKSPACE_ENV}, else ./{DEFAULT_WORKSPACE})",
    )
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the workspace if it does not exist (otherwise that is an error)",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``leafnb`` command."""
    parser = argparse.ArgumentParser(
        prog="leafnb",
        description="Convert farm machine files locally (Leaf-compatible).",
        epilog=f"Every subcommand uses one workspace: --workspace, else ${WORKSPACE_ENV}, "
        f"else ./{DEFAULT_WORKSPACE}.",
    )
    parser.add_argument("--version", action="version", version=f"leafnb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser(
        "convert",
        help="convert a zip, a folder (zipped, each dataset once) or one file",
    )
    conv.add_argument("input", help="a .zip, a folder or one machine file")
    conv.add_argument("--provider", default="Other")
    conv.add_argument("--leaf-user-id", default="local-user")
    _workspace_options(conv)
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
    conv.set_defaults(func=cmd_convert, create_default=True)
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
    _workspace_options(rep)
    rep.add_argument("--output", help="output folder (default: report_<id prefix>)")
    rep.set_defaults(func=cmd_report)
    from leafnb.server.cli import add_subcommands

    # no FastAPI import here: `serve` reports a missing extra itself
    add_subcommands(sub, _workspace_options)
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "workspace"):
            args.workspace = str(
                resolve_workspace(
                    args.workspace,
                    create=args.create,
                    create_default=getattr(args, "create_default", False),
                )
            )
        return args.func(args)
    except LeafnbError as exc:
        print(f"leafnb: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
