"""A real ``leafnb serve`` in a subprocess, for the tests that must go over the wire.

The server binds port 0 (the OS picks the port) and prints ``leafnb serve: listening
on URL`` on stderr; :class:`LiveServer` reads the URL from that line, so no port is
ever guessed. Output goes to a log file (never a pipe that could fill up).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from leafnb.server.auth import ServerStore

OPS = "/services/operations/api"
CONFIG = "/services/config/api"
ALERTS = "/services/alerts/api"
FIELDS = "/services/fields/api"
_LISTENING = re.compile(r"leafnb serve: listening on (http://\S+)")


class LiveServer:
    """``leafnb serve --port 0`` over *workspace*, with tokens for *owners*."""

    def __init__(
        self,
        workspace: Path,
        owners: tuple[str, ...] = ("alice", "bob"),
        *,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL,
    ):
        self.workspace = Path(workspace)
        self.workspace.mkdir(parents=True, exist_ok=True)
        store = ServerStore.for_workspace(self.workspace)
        self.tokens = {o: store.create_token(o) for o in owners}
        store.close()
        self.log = self.workspace.parent / f"{self.workspace.name}-serve.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "leafnb.cli",
                    "serve",
                    "--workspace",
                    str(self.workspace),
                    "--create",
                    "--port",
                    "0",
                    "--log-level",
                    "warning",
                    *args,
                ],
                stdin=stdin,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "LEAFNB_EXECUTOR": "inline", **(env or {})},
                start_new_session=True,
            )
        self.url = self._wait_for_url(60)
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = _LISTENING.search(self.log.read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"leafnb serve did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def headers(self, owner: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[owner]}"}

    def request(self, owner: str, method: str, path: str, **kw) -> httpx.Response:
        return self.client.request(method, path, headers=self.headers(owner), **kw)

    def upload(
        self, owner: str, zip_path: Path, leaf_user_id: str, provider: str = "Other"
    ) -> httpx.Response:
        with open(zip_path, "rb") as fh:
            return self.request(
                owner,
                "POST",
                f"{OPS}/batch",
                params={"leafUserId": leaf_user_id, "provider": provider},
                files={"file": (zip_path.name, fh, "application/zip")},
            )

    def wait_batch(self, owner: str, batch_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            batch = self.request(owner, "GET", f"{OPS}/batch/{batch_id}").json()
            if batch["status"] in ("PROCESSED", "FAILED"):
                return batch
            if time.monotonic() > deadline:
                raise AssertionError(f"batch still {batch['status']}: {batch}")
            time.sleep(0.05)

    def interrupt(self, timeout: float = 60) -> int:
        """Send SIGINT (Ctrl+C) and return the exit code (AssertionError if it hangs)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"leafnb serve ignored SIGINT for {timeout} s:\n{self.output()[-3000:]}"
            ) from None

    def stop(self) -> None:
        """Kill the server and whatever it started (its own process group)."""
        if hasattr(self, "client"):
            self.client.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
