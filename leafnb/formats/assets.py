"""Machines and operators that tabular exports name in per-record columns.

ISOXML names the machine in its device description (``DVC``, serial number in ``E``) and
the driver as a worker (``WKR``). Monitor and farm-software exports write the same facts
as ordinary columns, repeated on every record:

* Ag Leader advanced export (shapefile / text): ``SERIAL`` — the display's serial number
  (one value per logging display; the ISU sets hold ``2007713498`` and ``976285``);
* John Deere / Climate / SMS exports: ``Machine``, ``Machine ID``, ``Vehicle``,
  ``Vehicle Name``, ``Serial Number``;
* operator columns: ``Operator``, ``Operator Name``, ``Driver``.

Rule: a column whose normalised name is one of those words and that holds at most
:data:`MAX_DISTINCT` distinct non-empty values becomes the file's ``machinery`` (one
``machine`` per value, the value as its ``serialNumber`` when the column names a serial)
and ``operators`` (one per value). A column with more distinct values than that is not
naming an asset (e.g. an id per record) and is ignored. What a reader found in the file's
own metadata (JD's JSON, ISOXML) takes precedence over these columns.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"SERIAL": [976285, 976285], "Operator": ["Ann", None]})
>>> found = assets_from_columns(t)
>>> found["machinery"][0]["serialNumber"], found["operators"]
('976285', [{'id': 'Ann', 'name': 'Ann'}])
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MAX_DISTINCT", "assets_from_columns"]

#: more distinct values than this and a column is not naming the file's machines/operators
MAX_DISTINCT = 20

_SERIAL = {"serial", "serialno", "serialnumber", "machineserial", "displayserial"}
_MACHINE = {
    "machine",
    "machineid",
    "machinename",
    "vehicle",
    "vehicleid",
    "vehiclename",
}
_OPERATOR = {"operator", "operatorid", "operatorname", "driver", "drivername"}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _values(column: pa.ChunkedArray) -> list[str] | None:
    """Distinct non-empty values as text, in first-seen order; None when too many."""
    distinct = pc.unique(column.drop_null())
    if len(distinct) > MAX_DISTINCT:
        return None
    out = []
    for v in distinct.to_pylist():
        text = (f"{v:g}" if isinstance(v, float) else str(v)).strip()
        if text and text not in out:
            out.append(text)
    return out


def assets_from_columns(table: pa.Table) -> dict[str, Any]:
    """``{"machinery": [...], "operators": [...]}`` named by *table*'s columns (keys only if found)."""
    machinery: list[dict[str, Any]] = []
    operators: list[dict[str, str]] = []
    for name in table.column_names:
        key = _key(name)
        if key not in _SERIAL | _MACHINE | _OPERATOR:
            continue
        values = _values(table[name])
        if not values:
            continue
        if key in _OPERATOR:
            operators += [{"id": v, "name": v} for v in values]
            continue
        for v in values:
            item: dict[str, Any] = {"name": v, "type": "machine", "brand": "unknown"}
            if key in _SERIAL:
                item["serialNumber"] = v
            machinery.append(item)
    out: dict[str, Any] = {}
    if machinery:
        out["machinery"] = machinery
    if operators:
        out["operators"] = operators
    return out
