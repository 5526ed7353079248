"""``leafnb serve`` and ``leafnb token`` subcommands (wired into :mod:`leafnb.cli`)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_subcommands", "cmd_serve", "cmd_token"]

DEFAULT_WORKSPACE = "leafnb-workspace"


def _default_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        default=DEFAULT_WORKSPACE,
        help=f"workspace folder (default: {DEFAULT_WORKSPACE})",
    )


def add_subcommands(
    sub: argparse._SubParsersAction, workspace_options=_default_workspace_option
) -> None:
    """Add ``serve`` and ``token`` to the ``leafnb`` argument parser (no FastAPI import here).

    *workspace_options(parser)* adds the workspace options (``leafnb.cli`` passes its own,
    so every subcommand resolves the workspace the same way).
    """
    serve = sub.add_parser(
        "serve", help="serve the Leaf-compatible HTTP API over a workspace"
    )
    workspace_options(serve)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--max-upload-bytes", type=int, default=None, help="upload limit (default 3 GB)"
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser(
        "token", help="manage API-owner bearer tokens of `leafnb serve`"
    )
    tsub = token.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser(
        "create", help="issue a token for an API owner (printed once)"
    )
    create.add_argument("--owner", required=True)
    workspace_options(create)
    create.set_defaults(func=cmd_token)
    lst = tsub.add_parser("list", help="list token ids (never the tokens)")
    lst.add_argument("--owner")
    workspace_options(lst)
    lst.set_defaults(func=cmd_token)
    revoke = tsub.add_parser(
        "revoke", help="revoke a token by id (or by the token itself)"
    )
    revoke.add_argument("token_id")
    workspace_options(revoke)
    revoke.set_defaults(func=cmd_token)


def cmd_token(args) -> int:
    from pathlib import Path

    from leafnb.server.auth import ServerStore

    Path(args.workspace).mkdir(parents=True, exist_ok=True)
    store = ServerStore.for_workspace(args.workspace)
    try:
        if args.token_command == "create":
            try:
                print(store.create_token(args.owner))
            except ValueError as exc:
                print(f"leafnb: {exc}", file=sys.stderr)
                return 2
        elif args.token_command == "list":
            for t in store.list_tokens(args.owner):
                print(
                    f"lnb_{t['id']}  {t['owner']}  {t['created']}  {'revoked' if t['revoked'] else 'active'}"
                )
        elif args.token_command == "revoke" and not store.revoke_token(args.token_id):
            print(f"leafnb: no token {args.token_id!r}", file=sys.stderr)
            return 1
        return 0
    finally:
        store.close()


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from leafnb.server.app import DEFAULT_MAX_UPLOAD, create_app
    except ImportError as exc:
        print(
            f"leafnb serve needs the server extra ({exc.name} is missing): pip install 'leafnb[server]'",
            file=sys.stderr,
        )
        return 2
    app = create_app(
        args.workspace, max_upload_bytes=args.max_upload_bytes or DEFAULT_MAX_UPLOAD
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: binding {args.host}: the API is reachable from other machines (use TLS in front)",
            file=sys.stderr,
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
