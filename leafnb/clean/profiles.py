"""Filter pipelines and named profiles (``leaf``, ``standard``, ``aggressive``, ``custom``).

>>> from leafnb.clean.profiles import FilterPipeline
>>> p = FilterPipeline.profile("leaf")
>>> [s.filter for s in p.steps]
['minVelocity', 'globalSD']
>>> p = FilterPipeline().add("minVelocity", threshold=3, unit="mi/hr").add("globalSD", k=2.5, iterative=True)
>>> p.to_config()[0]
{'filter': 'minVelocity', 'params': {'threshold': 3, 'unit': 'mi/hr'}}
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.clean.filters import FILTERS, mass_weights
from leafnb.clean.passes import Track
from leafnb.clean.report import CleaningReport
from leafnb.errors import InvalidRequest
from leafnb.standard.points import PointSet

__all__ = [
    "PROFILES",
    "VALUE_FILTERS",
    "FilterPipeline",
    "FilterResult",
    "FilterStep",
    "filter_pointset",
    "reason_codes",
    "replay",
    "resolve_pipeline",
    "split_points",
]

PROFILES = ("leaf", "standard", "aggressive", "custom")


@functools.cache
def _parameters(name: str) -> frozenset[str]:
    """The parameters filter *name* accepts (its signature: read once, not per file)."""
    accepted = set(inspect.signature(FILTERS[name].func).parameters)
    return frozenset(accepted - {"track", "alive"})


@dataclass(frozen=True)
class FilterStep:
    """One filter of a pipeline: the registered filter name, its parameters and an optional label."""

    filter: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None

    def __post_init__(self):
        if self.filter not in FILTERS:
            raise InvalidRequest(
                f"unknown filter {self.filter!r}; filters: {', '.join(FILTERS)}"
            )
        accepted = _parameters(self.filter)
        bad = set(self.params) - accepted
        if bad:
            raise InvalidRequest(
                f"filter {self.filter}: unknown parameter(s) {', '.join(sorted(bad))}; "
                f"accepted: {', '.join(sorted(accepted))}"
            )

    @property
    def label(self) -> str:
        """The name recorded as ``filterReason`` and in the report."""
        return self.name or self.filter


class FilterResult:
    """Kept points, removed points (with ``filterReason``) and the report of one pipeline run.

    ``reasons``: per point of the input, in table order, the filter that removed it
    ("" = kept). A run's result (:meth:`deferred`) keeps them as one small code a
    point (:meth:`reason_codes`: 0 kept, else 1 + the index of the filter's label)
    and makes the kept and removed point sets the first time either is asked for:
    storing a run needs only the codes and the report, not two more copies of every
    column (nor a Python string reference a point: 8 B each).
    """

    def __init__(
        self,
        kept: PointSet,
        removed: PointSet,
        report: CleaningReport,
        reasons: np.ndarray | None = None,
    ):
        self._sets: tuple[PointSet, PointSet] | None = (kept, removed)
        self._split: Callable[[], tuple[PointSet, PointSet]] | None = None
        self.report = report
        self._reasons = reasons
        self._codes: tuple[np.ndarray, list[str]] | None = None

    @classmethod
    def deferred(
        cls,
        split: Callable[[], tuple[PointSet, PointSet]],
        report: CleaningReport,
        codes: np.ndarray,
        labels: list[str],
    ) -> FilterResult:
        """A result whose (kept, removed) point sets *split* makes when first asked for."""
        result = cls.__new__(cls)
        result._sets, result._split = None, split
        result.report, result._reasons = report, None
        result._codes = (codes, labels)
        return result

    @property
    def reasons(self) -> np.ndarray | None:
        """Per point, in table order, the label of the filter that removed it ("" = kept)."""
        if self._reasons is None and self._codes is not None:
            codes, labels = self._codes
            self._reasons = np.array(["", *labels], dtype=object)[codes]
        return self._reasons

    def reason_codes(self) -> tuple[np.ndarray, list[str]] | None:
        """(code per point, labels): 0 = kept, *c* = removed by ``labels[c - 1]``; None without reasons."""
        if self._codes is None and self._reasons is not None:
            self._codes = reason_codes(self._reasons)
        return self._codes

    def _both(self) -> tuple[PointSet, PointSet]:
        if self._sets is None:
            assert self._split is not None
            self._sets, self._split = self._split(), None
        return self._sets

    @property
    def kept(self) -> PointSet:
        """The points no filter removed (with the values filters changed)."""
        return self._both()[0]

    @property
    def removed(self) -> PointSet:
        """The removed points, with a ``filterReason`` column."""
        return self._both()[1]

    def __iter__(self):
        return iter((self.kept, self.removed, self.report))


@dataclass(frozen=True)
class FilterPipeline:
    """An ordered list of filters. Build one in code, or take a named profile.

    Every point removed is attributed to the first filter that removed it.
    """

    steps: tuple[FilterStep, ...] = ()
    name: str = "custom"
    boundary: Any = None

    # -------------------------------------------------------------- construction
    def add(
        self, filter: str, name: str | None = None, **params: Any
    ) -> FilterPipeline:
        """Return a copy with one more filter at the end."""
        return replace(self, steps=(*self.steps, FilterStep(filter, params, name)))

    def without(self, *labels: str) -> FilterPipeline:
        """Return a copy without the filters labelled *labels*."""
        return replace(
            self, steps=tuple(s for s in self.steps if s.label not in labels)
        )

    def with_params(self, label: str, **params: Any) -> FilterPipeline:
        """Return a copy with *params* updated on the filter labelled *label*."""
        if label not in [s.label for s in self.steps]:
            raise InvalidRequest(
                f"no filter {label!r} in this pipeline ({', '.join(s.label for s in self.steps)})"
            )
        return replace(
            self,
            steps=tuple(
                FilterStep(s.filter, {**s.params, **params}, s.name)
                if s.label == label
                else s
                for s in self.steps
            ),
        )

    def with_boundary(self, geometry: Any, buffer_m: float = 0.0) -> FilterPipeline:
        """Return a copy that also removes points outside *geometry* (shapely, WKT or GeoJSON; lon/lat) or within *buffer_m* of its edge."""
        pipe = replace(self, boundary=geometry)
        if not any(s.filter == "boundary" for s in self.steps):
            pipe = replace(
                pipe,
                steps=(FilterStep("boundary", {"buffer_m": buffer_m}), *self.steps),
            )
        return pipe

    def to_config(self) -> list[dict[str, Any]]:
        """The JSON form stored in the ``filterPipeline`` config option."""
        out = []
        for s in self.steps:
            d: dict[str, Any] = {
                "filter": s.filter,
                "params": {k: v for k, v in s.params.items() if k != "geometry"},
            }
            if s.name:
                d["name"] = s.name
            out.append(d)
        return out

    @classmethod
    def from_config(cls, items: Any, name: str = "custom") -> FilterPipeline:
        """Build a pipeline from its JSON form (list of ``{"filter", "params"?, "name"?}``); raise InvalidRequest."""
        if not isinstance(items, list):
            raise InvalidRequest(
                "filterPipeline must be a list of {filter, params, name}"
            )
        steps = []
        for item in items:
            if isinstance(item, str):
                item = {"filter": item}
            if (
                not isinstance(item, dict)
                or "filter" not in item
                or set(item) - {"filter", "params", "name"}
            ):
                raise InvalidRequest(
                    f"filterPipeline item must be {{filter, params, name}}, got {item!r}"
                )
            params = item.get("params") or {}
            if not isinstance(params, dict):
                raise InvalidRequest(
                    f"filterPipeline: params of {item['filter']} must be an object"
                )
            steps.append(FilterStep(item["filter"], dict(params), item.get("name")))
        return cls(tuple(steps), name)

    @classmethod
    def profile(
        cls, name: str = "leaf", config: dict[str, Any] | None = None
    ) -> FilterPipeline:
        """A named profile.

        ``leaf`` reads ``operationsRemoveOutliers``/``operationsOutliersLimit`` and
        ``custom`` reads ``filterPipeline`` from *config*.
        """
        config = config or {}
        if name == "leaf":
            steps = [FilterStep("minVelocity", {"threshold": 0.5, "unit": "m/s"})]
            if config.get("operationsRemoveOutliers", True):
                steps.append(
                    FilterStep(
                        "globalSD",
                        {
                            "k": config.get("operationsOutliersLimit", 3),
                            "iterative": False,
                            "harvest_only": True,
                        },
                    )
                )
            return cls(tuple(steps), "leaf")
        if name == "standard":
            return cls(tuple(FilterStep(f, p) for f, p in _STANDARD), "standard")
        if name == "aggressive":
            return cls(tuple(FilterStep(f, p) for f, p in _AGGRESSIVE), "aggressive")
        if name == "custom":
            items = config.get("filterPipeline")
            if not items:
                raise InvalidRequest(
                    "filterProfile 'custom' needs a filterPipeline (list of {filter, params})"
                )
            return cls.from_config(items, "custom")
        raise InvalidRequest(
            f"unknown filter profile {name!r}; profiles: {', '.join(PROFILES)}"
        )

    # -------------------------------------------------------------- running
    def run(self, points: PointSet, boundary: Any = None) -> FilterResult:
        """Apply the pipeline to *points* (pure: nothing is written)."""
        return filter_pointset(points, self, boundary=boundary)

    def describe(self) -> list[dict[str, Any]]:
        """Each filter with its parameters (defaults filled in) and description — for menus and docs."""
        return [
            {
                "name": s.label,
                "filter": s.filter,
                "params": {**FILTERS[s.filter].defaults, **s.params},
                "operationTypes": list(FILTERS[s.filter].operation_types),
                "description": FILTERS[s.filter].description,
            }
            for s in self.steps
        ]


_STANDARD: list[tuple[str, dict[str, Any]]] = [
    ("recordingStatus", {}),
    ("gpsQuality", {"min_quality": 1}),
    ("duplicatePosition", {"tolerance_m": 0.01}),
    ("position", {"jump_factor": 5.0, "min_jump_m": 10.0, "radius_factor": 4.0}),
    ("flowDelay", {"seconds": "auto", "max_seconds": 20}),
    ("minVelocity", {"threshold": "auto", "percentile": 10, "factor": 0.5}),
    ("maxVelocity", {"threshold": "auto", "percentile": 90, "factor": 1.5}),
    ("smoothVelocity", {"max_change": 0.25}),
    ("startPassDelay", {"seconds": 4}),
    ("endPassDelay", {"seconds": 2}),
    ("minSwath", {"threshold": "auto", "percentile": 95, "factor": 0.5}),
    ("overlap", {"max_overlap": 0.5}),
    ("minYield", {"threshold": "auto", "percentile": 2, "factor": 0.5}),
    ("maxYield", {"threshold": "auto", "percentile": 98, "factor": 1.5}),
    ("globalSD", {"k": 3.0, "iterative": False}),
    ("localSD", {"k": 3.0, "min_neighbours": 5}),
]

_AGGRESSIVE: list[tuple[str, dict[str, Any]]] = [
    ("recordingStatus", {}),
    ("gpsQuality", {"min_quality": 2, "max_pdop": 4.0, "max_hdop": 2.0}),
    ("duplicatePosition", {"tolerance_m": 0.05}),
    ("position", {"jump_factor": 3.0, "min_jump_m": 5.0, "radius_factor": 3.0}),
    ("flowDelay", {"seconds": "auto", "max_seconds": 20}),
    ("moistureDelay", {"seconds": "auto", "max_seconds": 30}),
    ("minVelocity", {"threshold": "auto", "percentile": 10, "factor": 0.7}),
    ("maxVelocity", {"threshold": "auto", "percentile": 90, "factor": 1.3}),
    ("smoothVelocity", {"max_change": 0.15, "max_heading_change": 20.0}),
    ("startPassDelay", {"seconds": "auto", "max_seconds": 15}),
    ("endPassDelay", {"seconds": 3}),
    ("minSwath", {"threshold": "auto", "percentile": 95, "factor": 0.75}),
    ("overlap", {"max_overlap": 0.25}),
    ("minYield", {"threshold": "auto", "percentile": 5, "factor": 0.6}),
    ("maxYield", {"threshold": "auto", "percentile": 95, "factor": 1.3}),
    ("globalSD", {"k": 2.5, "iterative": True}),
    ("localSD", {"k": 2.5, "min_neighbours": 5}),
]


def resolve_pipeline(
    profile: str | FilterPipeline | list | None, config: dict[str, Any] | None = None
) -> FilterPipeline:
    """A pipeline from a profile name, a pipeline object, a JSON list, or (None) the config's ``filterProfile``."""
    config = config or {}
    if isinstance(profile, FilterPipeline):
        return profile
    if isinstance(profile, list):
        return FilterPipeline.from_config(profile)
    return FilterPipeline.profile(
        profile or config.get("filterProfile", "leaf"), config
    )


def filter_pointset(
    points: PointSet, pipeline: FilterPipeline, boundary: Any = None
) -> FilterResult:
    """Run *pipeline* over *points*: the pure core shared by files (pipeline step) and operations."""
    n = len(points)
    track = Track.from_points(points)
    alive = np.ones(n, dtype=bool)
    # the filter that removed each point, as a code (FilterResult.reason_codes)
    labels: list[str] = []
    code = np.zeros(n, dtype=_code_type(len(pipeline.steps)))
    weights = mass_weights(track)
    total_mass = float(weights.sum()) if weights is not None else 0.0
    boundary = boundary if boundary is not None else pipeline.boundary
    entries, not_applied = [], []
    for step in pipeline.steps:
        spec = FILTERS[step.filter]
        if points.operation_type not in spec.operation_types:
            not_applied.append(
                {
                    "name": step.label,
                    "reason": f"only for {', '.join(spec.operation_types)}",
                }
            )
            continue
        params = {**spec.defaults, **step.params}
        if step.filter == "boundary" and params.get("geometry") is None:
            params["geometry"] = boundary
        out = spec.func(track, alive.copy(), **params) if n else "no points"
        if isinstance(out, str):
            not_applied.append({"name": step.label, "reason": out})
            continue
        remove, resolved = out
        new = alive & np.asarray(remove, dtype=bool)
        del remove, out
        if step.label not in labels:
            labels.append(step.label)
        code[new] = labels.index(step.label) + 1
        alive &= ~new
        removed = int(new.sum())
        entry = {
            "name": step.label,
            "filter": step.filter,
            "parameters": resolved,
            "removed": removed,
            "percentRemoved": round(100.0 * removed / n, 4) if n else 0.0,
            "percentMass": round(100.0 * float(weights[new].sum()) / total_mass, 4)
            if weights is not None and total_mass > 0
            else None,
        }
        entries.append(entry)
    kept = int(alive.sum())
    del alive, weights
    report = CleaningReport(
        profile=pipeline.name,
        operationType=points.operation_type,
        total=n,
        kept=kept,
        removed=n - kept,
        filters=entries,
    )
    for key in ("flowDelay", "moistureDelay"):
        if key in track.info:
            report[key] = track.info[key]
    if not_applied:
        report["notApplied"] = not_applied
    return split_points(points, track, track.put(code), labels, report)


def _code_type(filters: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned integer that numbers *filters* filters and "kept"."""
    return np.uint8 if filters < 255 else np.uint16


def reason_codes(reasons: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(code per point, labels) of per-point filter names ("" = kept): see :class:`FilterResult`.

    Labels in the order they first occur:

    >>> codes, labels = reason_codes(np.array(["", "b", "a", "b"], dtype=object))
    >>> codes.tolist(), labels
    ([0, 1, 2, 1], ['b', 'a'])
    """
    encoded = pa.array(
        np.asarray(reasons, dtype=object), pa.string()
    ).dictionary_encode()
    names = encoded.dictionary.to_pylist()
    labels = [name for name in names if name]
    number = np.array(
        [labels.index(name) + 1 if name else 0 for name in names],
        dtype=_code_type(len(labels)),
    )
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return number[indices] if len(names) else np.zeros(0, np.uint8), labels


#: filters that change values (the others only remove points), by name: their
#: resolved parameter is all a replay needs (see :func:`replay`)
VALUE_FILTERS = ("flowDelay", "moistureDelay")


def split_points(
    points: PointSet,
    track: Track,
    codes: np.ndarray,
    labels: list[str],
    report: CleaningReport,
) -> FilterResult:
    """Kept points (with the values filters changed) and removed points, in table order.

    *codes*: per point in table order, 0 when kept, else 1 + the index in *labels*
    of the filter that removed it.
    """
    modified = {col: track.put(track.values[col]) for col in sorted(track.modified)}

    def split() -> tuple[PointSet, PointSet]:
        keep = codes == 0
        shifted = points
        for col, arr in modified.items():
            shifted = shifted.with_column(col, arr)
        names = np.array(["", *labels], dtype=object)[codes[~keep]]
        removed = points.filter(~keep).with_column(
            "filterReason", pa.array(names.tolist(), pa.string())
        )
        return shifted.filter(keep), removed

    return FilterResult.deferred(split, report, codes, labels)


def replay(
    points: PointSet, reasons: np.ndarray, report: CleaningReport
) -> FilterResult:
    """The result of a past run from its per-point *reasons* ("" = kept) and *report*.

    Only the value-changing filters (:data:`VALUE_FILTERS`) run again, with the delays
    the run resolved, in the run's order: on the same points they give the same values,
    so a filtered point set need not be stored beside the standard one.
    """
    track = Track.from_points(points)
    alive = np.ones(len(points), dtype=bool)
    for entry in report.get("filters") or ():
        if entry.get("filter") not in VALUE_FILTERS:
            continue
        params = dict(entry.get("parameters") or {})
        kwargs = {"seconds": params["resolved"]}
        if params.get("column"):
            kwargs["column"] = params["column"]
        FILTERS[entry["filter"]].func(track, alive.copy(), **kwargs)
    codes, labels = reason_codes(np.asarray(reasons, dtype=object))
    return split_points(points, track, codes, labels, report)
