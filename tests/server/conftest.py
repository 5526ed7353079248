"""Fixtures of the HTTP API tests: an app over a temporary workspace, two API owners, uploads."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from tests.conftest import SMS_CSV, make_zip

OPS = "/services/operations/api"
MAX_UPLOAD = 2 * 1024 * 1024  # small limit so the 413 test stays cheap


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(tmp_path):
    from leafnb.server.app import create_app

    app = create_app(
        tmp_path / "ws",
        max_upload_bytes=MAX_UPLOAD,
        webhook_options={
            "max_tries": 4,
            "base_delay": 0.05,
            "max_total": 5,
            "timeout": 2,
            "allow_private": True,  # the test receivers listen on 127.0.0.1
        },
    )
    yield app
    app.state.dispatcher.close()
    app.state.workspace.wait(30)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def tokens(app):
    store = app.state.store
    return {"alice": store.create_token("alice"), "bob": store.create_token("bob")}


def upload(
    client, token: str, zip_path: Path, leaf_user_id: str, provider: str = "Other"
):
    with open(zip_path, "rb") as fh:
        return client.post(
            f"{OPS}/batch",
            params={"leafUserId": leaf_user_id, "provider": provider},
            files={"file": (zip_path.name, fh, "application/zip")},
            headers=auth(token),
        )


def wait_batch(client, token: str, batch_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        batch = client.get(f"{OPS}/batch/{batch_id}", headers=auth(token)).json()
        if batch["status"] in ("PROCESSED", "FAILED") or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


@pytest.fixture
def alice_data(client, tokens, tmp_path):
    """Alice (leafUserId grower-a) uploaded two harvest CSVs: batch id and file ids."""
    z = make_zip(
        tmp_path / "alice.zip",
        {"a.csv": SMS_CSV, "b.csv": SMS_CSV.replace(b"2024-10-01", b"2024-10-02")},
    )
    r = upload(client, tokens["alice"], z, "grower-a")
    assert r.status_code == 200, r.text
    batch = wait_batch(client, tokens["alice"], r.json()["id"])
    assert batch["status"] == "PROCESSED", batch
    return {"batch": batch["id"], "files": batch["leafFiles"], "uid": "grower-a"}


class Receiver:
    """A tiny webhook receiver on 127.0.0.1 (http.server in a thread); can fail the first N
    posts, or answer every post with a redirect to *redirect_to*."""

    def __init__(self, fail_first: int = 0, redirect_to: str | None = None):
        self.received: list[tuple[dict, bytes]] = []
        self.attempts = 0
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.attempts += 1
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                if outer.attempts <= outer.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 10) -> list[tuple[dict, bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def payloads(self) -> list[dict]:
        return [json.loads(b) for _, b in self.received]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
