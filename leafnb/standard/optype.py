"""Operation types and their detection from content."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["OperationType", "detect_operation_type"]


class OperationType(StrEnum):
    """Leaf's operation types (lower-case in every public JSON)."""

    PLANTED = "planted"
    APPLIED = "applied"
    HARVESTED = "harvested"
    TILLAGE = "tillage"

    @classmethod
    def _missing_(cls, value: object):
        if isinstance(value, str):
            low = value.strip().lower()
            for member in cls:
                if member.value == low:
                    return member
            alias = _ALIASES.get(low)
            if alias:
                return cls(alias)
        return None


# Names providers use for the same activity (ISOXML/ADAPT, SMS, JD).
_ALIASES = {
    "harvest": "harvested",
    "harvesting": "harvested",
    "yield": "harvested",
    "planting": "planted",
    "seeding": "planted",
    "sowingandplanting": "planted",
    "asplanted": "planted",
    "application": "applied",
    "applications": "applied",
    "cropprotection": "applied",
    "fertilizing": "applied",
    "asapplied": "applied",
    "spraying": "applied",
    "tilling": "tillage",
}

# Evidence, strongest first: a property that only one operation type has.
_EVIDENCE: tuple[tuple[str, OperationType], ...] = (
    ("wetMass", OperationType.HARVESTED),
    ("wetVolume", OperationType.HARVESTED),
    ("wetMassPerArea", OperationType.HARVESTED),
    ("wetVolumePerArea", OperationType.HARVESTED),
    ("dryMass", OperationType.HARVESTED),
    ("dryMassPerArea", OperationType.HARVESTED),
    ("dryVolumePerArea", OperationType.HARVESTED),
    ("cropFlow", OperationType.HARVESTED),
    ("harvestMoisture", OperationType.HARVESTED),
    ("seedRate", OperationType.PLANTED),
    ("seedRateTarget", OperationType.PLANTED),
    ("singulation", OperationType.PLANTED),
    ("appliedRate", OperationType.APPLIED),
    ("appliedRateTarget", OperationType.APPLIED),
    ("products", OperationType.APPLIED),
    ("tillageDepthActual", OperationType.TILLAGE),
    ("tillageDepthTarget", OperationType.TILLAGE),
)


def detect_operation_type(properties: Iterable[str]) -> OperationType | None:
    """Return the operation type implied by the mapped standard *properties*, or None.

    Each type scores the number of its own evidence properties present; the highest
    score wins (ties go to the order harvested, planted, applied, tillage).

    Examples
    --------
    >>> detect_operation_type(["wetMass", "harvestMoisture", "speed"])
    <OperationType.HARVESTED: 'harvested'>
    >>> detect_operation_type(["speed"]) is None
    True
    """
    present = set(properties)
    scores: dict[OperationType, int] = {}
    for prop, optype in _EVIDENCE:
        if prop in present:
            scores[optype] = scores.get(optype, 0) + 1
    if not scores:
        return None
    return max(scores, key=lambda t: (scores[t], -list(OperationType).index(t)))
