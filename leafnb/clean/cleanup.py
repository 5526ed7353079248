"""Valid-point cleanup of standard points (spec §6.1): ``cleanupRules`` with a reason per removed point."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.errors import InvalidRequest
from leafnb.standard.area_yield import canonical_array
from leafnb.standard.points import PointSet

__all__ = [
    "NUMERIC_RULE_PROPERTIES",
    "STRING_RULE_PROPERTIES",
    "cleanup_mask",
    "cleanup_message",
    "cleanup_step",
    "validate_rules",
]

NUMERIC_RULE_PROPERTIES = frozenset(
    {
        "wetMass",
        "wetMassPerArea",
        "wetVolume",
        "wetVolumePerArea",
        "harvestMoisture",
        "appliedRate",
        "seedRate",
        "tillageDepthActual",
        "area",
        "products",
    }
)
STRING_RULE_PROPERTIES = frozenset({"recordingStatus", "crop"})
_NUMERIC_OPS = {
    "GT": operator.gt,
    "GTE": operator.ge,
    "LT": operator.lt,
    "LTE": operator.le,
}
_STRING_OPS = {"EQ": operator.eq, "NE": operator.ne}


def validate_rules(rules: Any) -> dict[str, list[dict[str, Any]]]:
    """Check a ``cleanupRules`` mapping and return it; raise InvalidRequest naming the problem."""
    if not isinstance(rules, dict):
        raise InvalidRequest(
            "cleanupRules must be an object {property: [{operator, value}, ...]}"
        )
    for prop, items in rules.items():
        if prop in NUMERIC_RULE_PROPERTIES:
            ops, kind = _NUMERIC_OPS, (int, float)
        elif prop in STRING_RULE_PROPERTIES:
            ops, kind = _STRING_OPS, (str,)
        else:
            raise InvalidRequest(
                f"cleanupRules: {prop!r} cannot be filtered; allowed: "
                f"{', '.join(sorted(NUMERIC_RULE_PROPERTIES | STRING_RULE_PROPERTIES))}"
            )
        if not isinstance(items, list):
            raise InvalidRequest(
                f"cleanupRules.{prop} must be a list of {{operator, value}}"
            )
        for rule in items:
            if not isinstance(rule, dict) or rule.get("operator") not in ops:
                raise InvalidRequest(
                    f"cleanupRules.{prop}: operator must be one of {', '.join(ops)}, got {rule!r}"
                )
            if isinstance(rule.get("value"), bool) or not isinstance(
                rule.get("value"), kind
            ):
                raise InvalidRequest(
                    f"cleanupRules.{prop}: value {rule.get('value')!r} has the wrong type"
                )
    return rules


def _values(points: PointSet, prop: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, present) for a rule; ``products`` uses the smallest product rate per point."""
    col = points.table.column(prop)
    if prop == "products":
        flat = pc.list_flatten(col)
        rates = (
            pc.struct_field(pc.struct_field(flat, [1]), [0])
            .to_numpy(zero_copy_only=False)
            .astype(float)
        )
        lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(
            zero_copy_only=False
        )
        out = np.full(len(lengths), np.nan)
        has = lengths > 0
        if has.any():
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[has]
            filled = np.where(np.isnan(rates), np.inf, rates)
            mins = np.minimum.reduceat(filled, starts) if len(filled) else np.array([])
            out[has] = np.where(np.isinf(mins), np.nan, mins)
        return out, ~np.isnan(out)
    if pa.types.is_string(col.type):
        arr = col.to_numpy(zero_copy_only=False)
        return arr, ~pc.is_null(col).to_numpy(zero_copy_only=False)
    # thresholds are in canonical units, whatever units the points carry now
    arr = canonical_array(points, prop)
    return arr, ~np.isnan(arr)


def cleanup_step(
    points: PointSet, rules: dict[str, list[dict[str, Any]]]
) -> tuple[np.ndarray, dict[str, Any], str]:
    """The cleanup step of a file or an operation: (keep mask, ``cleanup`` facts, step message).

    The facts are ``{"removed": {property: n}, "kept": n, "total": n}``; the message is
    ``"ok"`` or ``"ok: removed N of M points (property: n, ...)"``.
    """
    keep, removed = cleanup_mask(points, rules)
    facts = {"removed": removed, "kept": int(keep.sum()), "total": len(points)}
    return keep, facts, cleanup_message(facts)


def cleanup_message(facts: dict[str, Any]) -> str:
    """The cleanup step's message for its ``cleanup`` facts.

    >>> cleanup_message({"removed": {"speed": 2}, "kept": 8, "total": 10})
    'ok: removed 2 of 10 points (speed: 2)'
    """
    removed = facts["removed"]
    if not removed:
        return "ok"
    detail = ", ".join(f"{k}: {v}" for k, v in removed.items())
    return f"ok: removed {facts['total'] - facts['kept']} of {facts['total']} points ({detail})"


def cleanup_mask(
    points: PointSet, rules: dict[str, list[dict[str, Any]]]
) -> tuple[np.ndarray, dict[str, int]]:
    """Return (keep mask, points removed per property) for *rules*.

    Rules apply in the order given; a point is counted against the first property whose
    rule it fails. Choices where the spec is silent (spec §6.1 [gap]):

    - a rule on a property the file does not have is ignored (Leaf only validates what exists);
    - a point whose value is null for a property the file has fails that property's rule
      (null is not > 0);
    - ``products`` is tested on the smallest product rate of the point (every product must pass).
    """
    n = len(points)
    keep = np.ones(n, dtype=bool)
    removed: dict[str, int] = {}
    names = set(points.table.schema.names)  # (``schema.names`` makes a list per call)
    for prop, items in rules.items():
        if prop not in names:
            continue
        values, present = _values(points, prop)
        ok = present.copy()
        for rule in items:
            op = (_NUMERIC_OPS | _STRING_OPS)[rule["operator"]]
            with np.errstate(invalid="ignore"):
                ok &= np.asarray(op(values, rule["value"]), dtype=bool)
        newly = keep & ~ok
        if newly.any():
            removed[prop] = int(newly.sum())
        keep &= ok
    return keep, removed
