"""Alert webhooks: registration rules (spec §9) and signed, retried, owner-scoped delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.server.conftest import Receiver, auth, upload, wait_batch

HOOKS = "/services/alerts/api/alerts/webhooks"


def test_registration_rules(client, tokens):
    h = auth(tokens["alice"])
    body = {
        "events": ["uploadedFileProcessingFinished", "batchUploadProcessingFinished"],
        "name": "n",
        "secret": "s",
        "url": "http://127.0.0.1:9/hook",
    }
    r = client.post(HOOKS, json=body, headers=h)
    assert r.status_code == 201 and "message" in r.json()
    wid = r.headers["Location"].rsplit("/", 1)[1]
    twice = client.post(
        HOOKS, json={**body, "events": ["batchUploadProcessingFinished"]}, headers=h
    )
    assert (
        twice.status_code == 400 and twice.json()["errorKey"] == "eventRegisteredTwice"
    )
    # another owner may bind the same event
    assert client.post(HOOKS, json=body, headers=auth(tokens["bob"])).status_code == 201
    for bad in (
        {**body, "events": ["noSuchEvent"]},
        {**body, "events": []},
        {**body, "url": "ftp://x"},
        {**body, "secret": ""},
        {"name": "x"},
    ):
        assert client.post(HOOKS, json=bad, headers=h).status_code == 400, bad
    got = client.get(f"{HOOKS}/{wid}", headers=h).json()
    assert got["events"] == body["events"] and "secret" not in got
    assert [w["id"] for w in client.get(HOOKS, headers=h).json()] == [wid]
    assert client.delete(f"{HOOKS}/{wid}", headers=h).status_code == 204
    assert client.get(f"{HOOKS}/{wid}", headers=h).status_code == 404
    # the event is free again
    assert client.post(HOOKS, json=body, headers=h).status_code == 201


def test_signed_delivery_only_to_the_owner(client, tokens, receiver, harvest_csv_zip):
    bob_receiver = Receiver()
    try:
        for who, rec in (("alice", receiver), ("bob", bob_receiver)):
            r = client.post(
                HOOKS,
                headers=auth(tokens[who]),
                json={
                    "events": [
                        "uploadedFileProcessingFinished",
                        "batchUploadProcessingFinished",
                    ],
                    "name": who,
                    "secret": f"secret-{who}",
                    "url": rec.url,
                },
            )
            assert r.status_code == 201
        batch = wait_batch(
            client,
            tokens["alice"],
            upload(client, tokens["alice"], harvest_csv_zip, "grower-a").json()["id"],
        )
        got = receiver.wait(2)
        assert len(got) == 2
        types = sorted(json.loads(b)["type"] for _, b in got)
        assert types == [
            "batchUploadProcessingFinished",
            "uploadedFileProcessingFinished",
        ]
        for headers, body in got:
            expected = base64.b64encode(
                hmac.new(b"secret-alice", body, hashlib.sha256).digest()
            ).decode()
            assert headers["X-Leaf-Signature"] == expected
            payload = json.loads(body)
            assert payload["leafUserId"] == "grower-a"
            assert (
                body == json.dumps(payload).encode()
            )  # compact: one space after ':' and ','
            assert (
                payload["timestamp"].endswith("Z")
                and len(payload["timestamp"].split(".")[1]) == 7
            )
        assert {json.loads(b).get("batchId") for _, b in got} >= {batch["id"]}
        assert bob_receiver.wait(1, timeout=0.5) == []
    finally:
        bob_receiver.close()


def test_failed_deliveries_are_retried_with_backoff(
    client, app, tokens, harvest_csv_zip
):
    flaky = Receiver(fail_first=2)
    try:
        client.post(
            HOOKS,
            headers=auth(tokens["alice"]),
            json={
                "events": ["batchUploadProcessingFinished"],
                "name": "f",
                "secret": "k",
                "url": flaky.url,
            },
        )
        wait_batch(
            client,
            tokens["alice"],
            upload(client, tokens["alice"], harvest_csv_zip, "grower-a").json()["id"],
        )
        assert len(flaky.wait(1)) == 1 and flaky.attempts == 3
    finally:
        flaky.close()


def test_unreachable_webhook_is_dropped_after_bounded_tries(
    client, app, tokens, harvest_csv_zip
):
    dead = Receiver(fail_first=100)
    try:
        client.post(
            HOOKS,
            headers=auth(tokens["alice"]),
            json={
                "events": ["batchUploadProcessingFinished"],
                "name": "d",
                "secret": "k",
                "url": dead.url,
            },
        )
        wait_batch(
            client,
            tokens["alice"],
            upload(client, tokens["alice"], harvest_csv_zip, "grower-a").json()["id"],
        )
        import time

        deadline = time.monotonic() + 10
        while not app.state.dispatcher.dropped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (
            app.state.dispatcher.dropped and dead.attempts == 4
        )  # max_tries of the fixture
    finally:
        dead.close()


def test_events_of_unclaimed_users_are_not_delivered(
    app, tokens, receiver, harvest_csv_zip
):
    ws = app.state.workspace
    app.state.store.add_webhook(
        "alice", "n", receiver.url, "s", ["batchUploadProcessingFinished"]
    )
    ws.upload_batch(harvest_csv_zip, "notebook-user")  # a notebook upload, no API owner
    assert receiver.wait(1, timeout=0.5) == []


# ---------------------------------------------------------------- SSRF (issue 14 item 10)
def _dispatcher(tmp_path, url: str, allow_private: bool):
    from leafnb.server.auth import ServerStore
    from leafnb.server.webhooks import WebhookDispatcher

    store = ServerStore(tmp_path / "server.sqlite")
    store.claim("alice", "grower-a")
    # stored directly, as if it had been registered when the name was public
    store.add_webhook("alice", "n", url, "s", ["batchUploadProcessingFinished"])
    dispatcher = WebhookDispatcher(
        store,
        max_tries=2,
        base_delay=0.01,
        max_total=5,
        timeout=2,
        allow_private=allow_private,
    )
    dispatcher.start()
    return dispatcher


def _wait_settled(dispatcher, timeout: float = 20):
    import time

    deadline = time.monotonic() + timeout
    while not (dispatcher.delivered or dispatcher.dropped):
        assert time.monotonic() < deadline, "the delivery never settled"
        time.sleep(0.02)


def test_delivery_checks_the_resolved_address(tmp_path, receiver):
    # 'localhost' resolves to loopback at send time: refused, nothing is sent
    url = receiver.url.replace("127.0.0.1", "localhost")
    dispatcher = _dispatcher(tmp_path, url, allow_private=False)
    try:
        dispatcher.handle(
            {"type": "batchUploadProcessingFinished", "leafUserId": "grower-a"}
        )
        _wait_settled(dispatcher)
        assert receiver.attempts == 0 and dispatcher.delivered == []
        assert "loopback address" in dispatcher.dropped[0][1]
    finally:
        dispatcher.close()


def test_redirects_are_not_followed(tmp_path, receiver):
    redirector = Receiver(redirect_to=receiver.url)
    dispatcher = _dispatcher(tmp_path, redirector.url, allow_private=True)
    try:
        dispatcher.handle(
            {"type": "batchUploadProcessingFinished", "leafUserId": "grower-a"}
        )
        _wait_settled(dispatcher)
        assert redirector.attempts == 2  # tried twice (max_tries), never followed
        assert receiver.attempts == 0
        assert dispatcher.dropped[0][1] == "HTTP 302 (redirects are not followed)"
    finally:
        dispatcher.close()
        redirector.close()


def test_allow_private_delivers_to_loopback(tmp_path, receiver):
    dispatcher = _dispatcher(tmp_path, receiver.url, allow_private=True)
    try:
        dispatcher.handle(
            {"type": "batchUploadProcessingFinished", "leafUserId": "grower-a"}
        )
        assert len(receiver.wait(1)) == 1
    finally:
        dispatcher.close()
