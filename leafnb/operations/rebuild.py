"""Rebuild one field operation on request: reprocess it, or crop it to its field(s).

Both mark the operation PROCESSING (alert operationUpdated) and build it again from its
member files under the operations lock (:func:`leafnb.operations.automerge.build_operation`,
which renders through :attr:`leafnb.context.Context.render`), before returning.
"""

from __future__ import annotations

from typing import Any

from leafnb.context import Context
from leafnb.errors import InvalidRequest
from leafnb.keys import Event, StepStatus
from leafnb.operations import automerge as am
from leafnb.resources import Resource
from leafnb.store.records import operation_row, set_operation_status

__all__ = ["crop_operation", "reprocess_operation"]


def _rebuild(
    ctx: Context, op_id: str, leaf_user_id: str, doc: dict[str, Any] | None = None
) -> Resource:
    """Mark *op_id* PROCESSING (with *doc* when given), alert, build it; Leaf's answer."""
    set_operation_status(ctx.catalog, op_id, StepStatus.PROCESSING, doc)
    ctx.events.emit(Event.OPERATION_UPDATED, operationId=op_id, leafUserId=leaf_user_id)
    with ctx.lock:
        am.build_operation(ctx, op_id)
    return Resource(
        id=op_id,
        message="Sent operation to be processed.",
        leafFileId=operation_row(ctx.catalog, op_id)["leaf_file_id"],
    )


def reprocess_operation(ctx: Context, op_id: str) -> Resource:
    """Build an operation again from the merge step with the current config.

    Parameters
    ----------
    ctx : Context
        Records, events, lock and configuration.
    op_id : str
        The operation.

    Returns
    -------
    Resource
        ``{"id", "message": "Sent operation to be processed.", "leafFileId"}``.

    Raises
    ------
    NotFound
        Unknown operation.
    """
    row = operation_row(ctx.catalog, op_id)
    return _rebuild(ctx, op_id, row["leaf_user_id"])


def crop_operation(ctx: Context, op_id: str) -> Resource:
    """Keep only the operation's points inside its field(s), from now on, and rebuild it.

    Parameters
    ----------
    ctx : Context
        Records, events, lock and configuration.
    op_id : str
        The operation.

    Returns
    -------
    Resource
        ``{"id", "message": "Sent operation to be processed.", "leafFileId"}``.

    Raises
    ------
    NotFound
        Unknown operation.
    InvalidRequest
        The operation has no field.
    """
    row = operation_row(ctx.catalog, op_id)
    doc = ctx.catalog.loads(row["doc"])
    if not doc.get("fields"):
        raise InvalidRequest(f"operation {op_id} has no field to crop by")
    doc["cropped"] = True
    return _rebuild(ctx, op_id, row["leaf_user_id"], doc)
