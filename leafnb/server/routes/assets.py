"""Machines, implements, operators and sessions (spec §5.3, §8.1, §8.2).

- Per operation (operations service): ``GET /operations/{id}/machines`` and its kind,
  ``/sessions``.
- Look-ups by id (Leaf's beta assets service, ``/services/beta/api``), which the
  operations documentation links to: ``GET /users/{leafUserId}/machines[/{id}[/files]]``,
  ``/implements[/{id}]``, ``/operators[/{id}]``. leafnb's assets are the ones the
  leafUserId's processed files name (ISOXML devices and workers, shapefile/JSON
  machinery), with the same stable ids as the per-operation lists and the sessions, so
  every ``machineId`` a session names is found here.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query

from leafnb.errors import NotFound
from leafnb.leafwire import asset_wire
from leafnb.operations.sessions import asset_id, file_assets
from leafnb.resources import ResourceList
from leafnb.server.context import Auth, Caller, all_pages
from leafnb.server.routes.views import View, add_operation_views
from leafnb.server.routing import BETA, OPS, OPS_TAG, service_router
from leafnb.workspace import Workspace

__all__ = ["ASSET_VIEWS", "beta_router", "router"]

router = service_router(OPS, OPS_TAG)
beta_router = service_router(BETA, "assets (beta)")

#: GET /operations/{operation_id}/<suffix> → Workspace method
ASSET_VIEWS: tuple[View, ...] = (
    ("machines", Workspace.get_operation_machines, "Machine ids"),
    ("implements", Workspace.get_operation_implements, "Implement ids"),
    ("operators", Workspace.get_operation_operators, "Operator ids"),
    ("sessions", Workspace.get_operation_sessions, "Sessions per machine"),
)
add_operation_views(router, ASSET_VIEWS)

_KINDS = {"machines": "machine", "implements": "implement", "operators": "operator"}


def _catalogue(caller: Caller, uid: str, kinds: str) -> dict[str, dict[str, Any]]:
    """``{asset id: {"asset": wire resource, "files": [file resources]}}`` of *uid*."""
    uid = caller.require_uid(uid)
    ws = caller.workspace
    out: dict[str, dict[str, Any]] = {}
    for f in all_pages(ws.get_files, leafUserId=uid, status="processed"):
        for item in file_assets(ws.ctx, f["id"])[kinds]:
            entry = out.setdefault(
                item["id"],
                {"asset": asset_wire(_KINDS[kinds], item, uid, f), "files": []},
            )
            entry["files"].append(f)
    return out


def _page(caller: Caller, items: list, page: int, size: int):
    return caller.paged(
        ResourceList(items[page * size : (page + 1) * size], len(items), page, size)
    )


def _one(caller: Caller, uid: str, kinds: str, asset: str) -> dict[str, Any]:
    found = _catalogue(caller, uid, kinds).get(asset)
    if found is None:
        raise NotFound(f"{_KINDS[kinds]} {asset!r} not found")
    return found


def _machine_file(uid: str, machine_id: str, f: dict[str, Any]) -> dict[str, Any]:
    props = (f.get("summary") or {}).get("properties") or {}
    distance = props.get("totalDistance")
    fuel = props.get("totalFuelUsed")
    return {
        "id": asset_id(uid, "machineFile", f"{machine_id}/{f['id']}"),
        "leafFileId": f["id"],
        "machineId": machine_id,
        "startTime": f.get("startTime"),
        "endTime": f.get("endTime"),
        "distance": distance,
        "fuelConsumption": fuel,
    }


def _add_kind(kinds: str) -> None:
    kind = _KINDS[kinds]

    def list_assets(
        leaf_user_id: str,
        page: int = Query(0, ge=0),
        size: int = Query(20, ge=1, le=100),
        caller: Caller = Auth,
    ):
        items = [e["asset"] for e in _catalogue(caller, leaf_user_id, kinds).values()]
        return _page(caller, items, page, size)

    def get_asset(leaf_user_id: str, asset_id_: str, caller: Caller = Auth):
        return caller.reply(_one(caller, leaf_user_id, kinds, asset_id_)["asset"])

    list_assets.__name__ = f"list_{kinds}"
    get_asset.__name__ = f"get_{kind}"
    beta_router.add_api_route(
        f"/users/{{leaf_user_id}}/{kinds}",
        list_assets,
        methods=["GET"],
        summary=f"The leafUserId's {kinds} (named by its files)",
    )
    beta_router.add_api_route(
        f"/users/{{leaf_user_id}}/{kinds}/{{asset_id_}}",
        get_asset,
        methods=["GET"],
        summary=f"A {kind} by id",
    )


for _kinds in _KINDS:
    _add_kind(_kinds)


@beta_router.get(
    "/users/{leaf_user_id}/machines/{machine_id}/files",
    summary="The files a machine logged",
)
def machine_files(
    leaf_user_id: str,
    machine_id: str,
    page: int = Query(0, ge=0),
    size: int = Query(20, ge=1, le=100),
    caller: Caller = Auth,
):
    entry = _one(caller, leaf_user_id, "machines", machine_id)
    items = [_machine_file(leaf_user_id, machine_id, f) for f in entry["files"]]
    return _page(caller, items, page, size)
