"""The one table from leafnb errors to HTTP status codes, and the problem bodies it gives."""

from __future__ import annotations

import pytest

from leafnb import errors
from tests.server.conftest import OPS, auth

CONFIG = "/services/config/api"

#: the documented answer of every leafnb error (docs/architecture-edges.md)
EXPECTED = {
    "TokenError": 401,
    "OwnerConflict": 403,
    "NotFound": 404,
    "BatchBusy": 409,
    "UploadTooLarge": 413,
    "InvalidRequest": 400,
    "UnsafeArchive": 400,
    "MalformedRequest": 400,
    "EventRegisteredTwice": 400,
    "StoreError": 503,
    "WorkspaceBusy": 503,
    "LeafnbError": 500,
    "FormatError": 500,
    "UnsupportedFormat": 500,
    "CorruptFile": 500,
    "UnsafeReference": 500,
    "MissingProperties": 500,
    "NoPointsPassed": 500,
    "ReaderRegistrationError": 500,
    "OriginalUnavailable": 500,  # the kept upload is missing or damaged: a server fault
}
ERRORS = sorted(
    name
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
    and issubclass(getattr(errors, name), errors.LeafnbError)
)


def _instance(cls: type) -> errors.LeafnbError:
    if cls is errors.MissingProperties:
        return cls(["crop"])
    if cls is errors.NoPointsPassed:
        return cls()
    return cls("message")


def test_every_error_is_listed():
    assert sorted(EXPECTED) == ERRORS


@pytest.mark.parametrize("name", ERRORS)
def test_status_of_every_error(name):
    from leafnb.server.problems import status_of

    assert status_of(_instance(getattr(errors, name))) == EXPECTED[name]


def test_server_errors_mix_in_builtins():
    assert issubclass(errors.TokenError, PermissionError)
    assert issubclass(errors.OwnerConflict, PermissionError)
    assert issubclass(errors.MalformedRequest, ValueError)


def test_problem_members(client, tokens):
    h = auth(tokens["alice"])
    # a request refused before the Workspace: no errorKey
    r = client.post(f"{OPS}/files/merge", json={"ids": []}, headers=h)
    body = r.json()
    assert r.status_code == 400 and "errorKey" not in body
    assert body["message"] == "error.http.400" and body["title"] == "Bad Request"
    # the Workspace's own refusal: errorKey names the error class
    r = client.patch(f"{CONFIG}/configs", json={"unitMeasurement": "NOPE"}, headers=h)
    assert r.status_code == 400 and r.json()["errorKey"] == "InvalidRequest"
    # an unknown route keeps Starlette's status, in the same body shape
    r = client.get("/services/nope", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == "Not Found"
