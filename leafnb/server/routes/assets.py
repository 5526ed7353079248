"""Machines, implements, operators and sessions of a field operation (spec §5).

The asset look-ups Leaf documents by id (a machine, an implement, an operator) belong
here too, beside the per-operation lists.
"""

from __future__ import annotations

from leafnb.server.routes.views import View, add_operation_views
from leafnb.server.routing import OPS, OPS_TAG, service_router
from leafnb.workspace import Workspace

__all__ = ["ASSET_VIEWS", "router"]

router = service_router(OPS, OPS_TAG)

#: GET /operations/{operation_id}/<suffix> → Workspace method
ASSET_VIEWS: tuple[View, ...] = (
    ("machines", Workspace.get_operation_machines, "Machine ids"),
    ("implements", Workspace.get_operation_implements, "Implement ids"),
    ("operators", Workspace.get_operation_operators, "Operator ids"),
    ("sessions", Workspace.get_operation_sessions, "Sessions per machine"),
)
add_operation_views(router, ASSET_VIEWS)
