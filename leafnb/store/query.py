"""Filters, paging and multi-key sort for list endpoints (spec §10), compiled to SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leafnb.errors import InvalidRequest

__all__ = [
    "BATCH_QUERY",
    "FIELD_QUERY",
    "FILE_QUERY",
    "OPERATION_QUERY",
    "Filter",
    "Query",
    "page_params",
]

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Filter:
    """One query filter: the SQL column and the comparison (``=``, ``>=``, ``<=``)."""

    column: str
    op: str = "="
    kind: str = "str"  # str | time | float | choice
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    """The filters and sort keys one list endpoint accepts."""

    table: str
    filters: dict[str, Filter]
    sorts: dict[str, str]
    default_sort: str

    def compile(
        self,
        filters: dict[str, Any],
        page: int = 0,
        size: int = 20,
        sort: str | list[str] | None = None,
    ) -> tuple[str, list, str, list]:
        """Return (select sql, params, count sql, count params)."""
        page, size = page_params(page, size)
        where, params = [], []
        for key, value in filters.items():
            if value is None:
                continue
            spec = self.filters.get(key)
            if spec is None:
                raise InvalidRequest(
                    f"{key!r} is not a filter of this endpoint; valid filters: {', '.join(sorted(self.filters))}"
                )
            where.append(f"{spec.column} {spec.op} ?")
            params.append(_coerce(key, value, spec))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        order = _order(sort, self.sorts, self.default_sort)
        select = f"SELECT * FROM {self.table}{clause} ORDER BY {order} LIMIT ? OFFSET ?"
        return (
            select,
            [*params, size, page * size],
            f"SELECT COUNT(*) FROM {self.table}{clause}",
            params,
        )


def page_params(page: Any, size: Any) -> tuple[int, int]:
    """Validate ``page`` (0-based) and ``size`` (1–100)."""
    try:
        page, size = int(page), int(size)
    except (TypeError, ValueError):
        raise InvalidRequest(
            f"page and size must be integers, got page={page!r}, size={size!r}"
        ) from None
    if page < 0:
        raise InvalidRequest(f"page must be >= 0, got {page}")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"size must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return page, size


def _coerce(key: str, value: Any, spec: Filter) -> Any:
    if spec.kind == "time":
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(
                f"{key} must be an ISO 8601 date-time, got {value!r}"
            ) from None
        return _normalize_time(text)
    if spec.kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidRequest(f"{key} must be a number, got {value!r}") from None
    if spec.choices and value not in spec.choices:
        raise InvalidRequest(
            f"{value!r} is not a valid option for {key}, must be one of {', '.join(spec.choices)}"
        )
    return str(value)


def _normalize_time(text: str) -> str:
    """Stored times are ``YYYY-MM-DDTHH:MM:SS.mmmZ``; compare in that form."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        from datetime import UTC

        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _order(sort, sorts: dict[str, str], default: str) -> str:
    keys = [sort] if isinstance(sort, str) else list(sort or [])
    parts = []
    for item in keys:
        name, _, direction = str(item).partition(",")
        direction = (direction or "asc").strip().lower()
        if name not in sorts:
            raise InvalidRequest(
                f"cannot sort by {name!r}; valid sort fields: {', '.join(sorts)}"
            )
        if direction not in ("asc", "desc"):
            raise InvalidRequest(
                f"sort direction must be asc or desc, got {direction!r}"
            )
        parts.append(f"{sorts[name]} {direction.upper()}")
    parts.append(default)
    return ", ".join(parts)


FILE_QUERY = Query(
    table="files",
    filters={
        "leafUserId": Filter("leaf_user_id"),
        "provider": Filter("provider"),
        "status": Filter("status", choices=("processed", "failed", "processing")),
        "origin": Filter(
            "origin", choices=("provider", "automerged", "merged", "uploaded")
        ),
        "organizationId": Filter("json_extract(doc, '$.organizationId')"),
        "batchId": Filter("batch_id"),
        "createdTime": Filter("created_time", ">=", "time"),
        "startTime": Filter("start_time", ">=", "time"),
        "updatedTime": Filter("updated_time", ">=", "time"),
        "endTime": Filter("end_time", "<=", "time"),
        "operationType": Filter(
            "operation_type", choices=("applied", "planted", "harvested", "tillage")
        ),
        "minArea": Filter("total_area", ">=", "float"),
        "fileId": Filter("id"),
        "fileFormat": Filter("file_format"),
    },
    sorts={
        "id": "id",
        "fileName": "file_name",
        "createdTime": "created_time",
        "updatedTime": "updated_time",
        "origin": "origin",
        "leafUserId": "leaf_user_id",
        "sizeInBytes": "size_in_bytes",
        "provider": "provider",
        "organizationId": "json_extract(doc, '$.organizationId')",
        "fileFormat": "file_format",
    },
    default_sort="created_time ASC, id ASC",
)

BATCH_QUERY = Query(
    table="batches",
    filters={
        "leafUserId": Filter("leaf_user_id"),
        "status": Filter(
            "status", choices=("RECEIVED", "PROCESSING", "PROCESSED", "FAILED")
        ),
    },
    sorts={
        "id": "id",
        "leafUserId": "leaf_user_id",
        "uploadTimestamp": "upload_timestamp",
        "status": "status",
    },
    default_sort="upload_timestamp ASC, id ASC",
)

#: ``GET /operations`` (spec §10). ``fieldId`` and ``provider`` match one element of the
#: operation's lists: the stored columns are ``,a,b,`` and the API passes ``%,<value>,%``.
OPERATION_QUERY = Query(
    table="operations",
    filters={
        "leafUserId": Filter("leaf_user_id"),
        "provider": Filter("providers", "LIKE"),
        "startTime": Filter("start_time", ">=", "time"),
        "updatedTime": Filter("updated_time", ">=", "time"),
        "endTime": Filter("end_time", "<=", "time"),
        "operationType": Filter(
            "type", choices=("applied", "planted", "harvested", "tillage")
        ),
        "fieldId": Filter("field_ids", "LIKE"),
    },
    sorts={
        "id": "id",
        "leafUserId": "leaf_user_id",
        "startTime": "start_time",
        "endTime": "end_time",
        "type": "type",
        "updatedTime": "updated_time",
    },
    default_sort="start_time ASC, id ASC",
)

#: fields of a leafUserId (``GET /users/{leafUserId}/fields``)
FIELD_QUERY = Query(
    table="fields",
    filters={
        "leafUserId": Filter("leaf_user_id"),
        "name": Filter("name"),
        "source": Filter("source"),
    },
    sorts={
        "id": "id",
        "name": "name",
        "createdTime": "created_time",
        "updatedTime": "updated_time",
        "area": "area_ha",
    },
    default_sort="created_time ASC, id ASC",
)
