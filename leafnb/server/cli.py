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
    serve.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to bind (0: one chosen by the OS; the bound port is printed)",
    )
    serve.add_argument(
        "--max-upload-bytes", type=int, default=None, help="upload limit (default 3 GB)"
    )
    serve.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="let webhooks target loopback, private and link-local addresses "
        "(off by default: a webhook could otherwise reach this machine's network)",
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
    """``leafnb token create|list|revoke``: manage the server's API-owner tokens."""
    from pathlib import Path

    from leafnb.store.server_state import ServerStore

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
    """Serve until SIGINT/SIGTERM.

    The line ``leafnb serve: listening on URL`` (stderr) gives the bound address (useful
    with ``--port 0``).
    """
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
        args.workspace,
        max_upload_bytes=args.max_upload_bytes or DEFAULT_MAX_UPLOAD,
        webhook_options={"allow_private": args.allow_private_webhooks},
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: binding {args.host}: the API is reachable from other machines (use TLS in front)",
            file=sys.stderr,
        )
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    print(f"leafnb serve: listening on {url}", file=sys.stderr, flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=args.log_level,
            # requests still running this long after SIGINT/SIGTERM are cut off
            timeout_graceful_shutdown=10,
        )
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it handled
        pass
    finally:
        # conversions still running must not keep the process alive: their batches are
        # interrupted and marked so when the workspace is opened again
        close = getattr(app.state.workspace.executor, "close", None)
        if close is not None:
            try:
                close(kill=True)
            except TypeError:  # a custom runner without kill
                close()
        sock.close()
    return 0


def _bind(host: str, port: int):
    """A listening socket on *host*:*port* (port 0: the OS picks a free one)."""
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
