"""Alerts (spec §9): the API owner's webhooks; delivery is :mod:`leafnb.server.webhooks`.

Each event may be bound to one webhook of an owner (a second answers Leaf's
``eventRegisteredTwice``), and webhook URLs must be public addresses unless the server
runs with ``--allow-private-webhooks`` (checked again at every delivery).
"""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from leafnb.errors import EventRegisteredTwice, MalformedRequest, NotFound
from leafnb.server.context import Auth, Caller
from leafnb.server.routing import ALERTS, service_router
from leafnb.server.webhooks import ALERT_EVENTS, check_target

__all__ = ["router"]

router = service_router(ALERTS, "alerts")


class WebhookRequest(BaseModel):
    events: list[str]
    name: str
    secret: str
    url: str


@router.post(
    "/alerts/webhooks",
    status_code=201,
    summary="Register a webhook (id in the Location header)",
)
def register_webhook(body: WebhookRequest, caller: Caller = Auth):
    events = list(dict.fromkeys(body.events))
    if not events:
        raise MalformedRequest("events must list at least one event")
    bad = [e for e in events if e not in ALERT_EVENTS]
    if bad:
        raise MalformedRequest(
            f"unknown events {bad}; valid events: {', '.join(ALERT_EVENTS)}"
        )
    if not body.name.strip() or not body.secret:
        raise MalformedRequest("name and secret are required")
    state = caller.state
    check_target(body.url, allow_private=state.dispatcher.allow_private, resolve=False)
    taken = {e for hook in state.store.webhooks(caller.owner) for e in hook["events"]}
    twice = [e for e in events if e in taken]
    if twice:
        raise EventRegisteredTwice(
            f"events already bound to another webhook: {', '.join(twice)}"
        )
    wid = state.store.add_webhook(
        caller.owner, body.name, body.url, body.secret, events
    )
    return JSONResponse(
        {"message": f"Webhook {body.name!r} registered", "id": wid},
        status_code=201,
        headers={"Location": f"{ALERTS}/alerts/webhooks/{wid}"},
    )


@router.get("/alerts/webhooks", summary="The owner's webhooks")
def list_webhooks(caller: Caller = Auth):
    return JSONResponse(caller.state.store.webhooks(caller.owner))


@router.get("/alerts/webhooks/{webhook_id}", summary="A webhook")
def get_webhook(webhook_id: str, caller: Caller = Auth):
    hook = caller.state.store.webhook(caller.owner, webhook_id)
    if hook is None:
        raise NotFound(f"webhook {webhook_id!r} not found")
    return JSONResponse(hook)


@router.delete(
    "/alerts/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook"
)
def delete_webhook(webhook_id: str, caller: Caller = Auth):
    if not caller.state.store.delete_webhook(caller.owner, webhook_id):
        raise NotFound(f"webhook {webhook_id!r} not found")
    return Response(status_code=204)
