"""The per-file conversion: Leaf's steps in order, each with a status and a message (spec §3).

:func:`convert_file` is a pure function of a :class:`FileJob` (paths + config) that
writes artifacts into the job's folder and returns a :class:`FileOutcome`; it touches
no catalog, so it can run in a worker process or on a Dask cluster.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from leafnb.clean.cleanup import cleanup_step
from leafnb.errors import LeafnbError, MissingProperties, NoPointsPassed
from leafnb.formats.members import is_regular_file
from leafnb.formats.registry import get_reader
from leafnb.keys import FILE_STEPS, Step, StepStatus
from leafnb.pages import no_hugepage_advice
from leafnb.pipeline.checkpoints import checkpoint
from leafnb.pipeline.memory import release_memory
from leafnb.pipeline.originals import raw_source
from leafnb.pipeline.stream import stream_standard
from leafnb.pipeline.warned import warnings_of_this_thread
from leafnb.standard.area_yield import (
    compute_area_and_yield,
    exact_derived,
    to_unit_system,
)
from leafnb.standard.normalize import UnsupportedOperationType, normalize
from leafnb.standard.optype import OperationType
from leafnb.standard.points import PointSet
from leafnb.standard.schema import REQUIRED
from leafnb.standard.summary import summarize, units_map
from leafnb.standard.units import convert
from leafnb.store.artifacts import (
    stored_units,
    units_entry,
    write_geoparquet,
    write_json,
)
from leafnb.store.layout import RAW, RAW_SOURCE, STANDARD, STANDARD_EXPORT, UNITS

__all__ = [
    "FileJob",
    "FileOutcome",
    "StepResult",
    "convert_file",
    "missing_essential",
    "missing_required",
    "warm_up",
    "write_summary",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileJob:
    """Everything needed to convert one detected file."""

    file_id: str
    reader: str
    path: str
    part: str | None
    out_dir: str
    config: dict[str, Any]


@dataclass(frozen=True)
class StepResult:
    """One step's status and message."""

    step: str
    status: str
    message: str = ""


@dataclass
class FileOutcome:
    """What converting one file produced: step results plus facts for the file resource."""

    steps: list[StepResult] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when any step failed."""
        return any(s.status == StepStatus.FAILED for s in self.steps)

    @property
    def message(self) -> str:
        """The first failure message ('' when processed)."""
        return next(
            (s.message for s in self.steps if s.status == StepStatus.FAILED), ""
        )


def missing_required(points: PointSet, config: dict[str, Any]) -> list[str]:
    """Required properties (spec §1 ``*``) absent from *points*, honouring cropOptional/seedRateOptional."""
    optype = OperationType(points.operation_type)
    required = list(REQUIRED[optype])
    planted_opts = {}
    for key in ("cropOptional", "seedRateOptional"):
        value = config.get(key)
        if isinstance(value, dict):
            planted_opts.update(value.get("standardGeoJson", {}).get("planted", {}))
        elif value == "optional":
            planted_opts[
                {"cropOptional": "crop", "seedRateOptional": "seedRate"}[key]
            ] = "optional"
    if optype is OperationType.PLANTED:
        required = [p for p in required if planted_opts.get(p) != "optional"]
    if (
        optype is OperationType.HARVESTED
        and points.has("crop")
        and set(pc.unique(points.table.column("crop")).to_pylist()) <= {"sugar cane"}
    ):
        required = [
            p for p in required if "Volume" not in p
        ]  # spec "$": not for sugarcane
    return [p for p in required if not points.has(p)]


# What makes a file an operation of its type at all: without one of these there is
# nothing to convert, whatever ``outOfStandardOperations`` says.
ESSENTIAL: dict[OperationType, tuple[tuple[str, ...], ...]] = {
    OperationType.HARVESTED: (
        (
            "wetMass",
            "wetMassPerArea",
            "wetVolume",
            "wetVolumePerArea",
            "dryMass",
            "dryMassPerArea",
            "dryVolume",
            "dryVolumePerArea",
        ),
    ),
    OperationType.PLANTED: (("seedRate",),),
    OperationType.APPLIED: (("appliedRate",),),
    OperationType.TILLAGE: (),
}


def missing_essential(points: PointSet, config: dict[str, Any]) -> list[str]:
    """Essential properties absent from *points* (one name per unmet group)."""
    optype = OperationType(points.operation_type)
    missing = []
    for group in ESSENTIAL[optype]:
        if not any(points.has(p) for p in group):
            missing.append(group[0] if len(group) == 1 else " or ".join(group[:2]))
    if (
        optype is OperationType.PLANTED
        and "seedRate" in missing
        and "seedRate" not in missing_required(points, config)
    ):
        missing.remove("seedRate")  # seedRateOptional
    return missing


def write_summary(
    points: PointSet, config: dict[str, Any], out: Path
) -> dict[str, Any]:
    """Write ``summary.json`` of *points*; return the file facts it gives (times, crop, area)."""
    summary = summarize(
        points,
        unit_system=config.get("unitMeasurement", "DEFAULT"),
        geometry=config.get("summaryGeometry", "BUFFER"),
        original_operation_data=config.get("originalOperationData", True),
    )
    write_json(out / "summary.json", summary)
    props = summary["properties"]
    facts = {
        "startTime": props.get("startTime"),
        "endTime": props.get("endTime"),
        "crop": (props.get("crop") or [None])[0],
    }
    area = props.get("totalArea")
    if area:
        facts["totalAreaM2"] = float(
            convert(np.array([area["value"]]), area["unit"], "m2")[0]
        )
    return facts


def run_steps(
    runners: Mapping[Step, Callable[[], str | None]], what: str
) -> list[StepResult]:
    """Run Leaf's file steps (:data:`~leafnb.keys.FILE_STEPS`) in order, each with a status.

    A runner returns its message, or ``None`` when configuration disables it (status
    SKIPPED). A runner that raises fails its step with the error's message (a
    :class:`~leafnb.errors.LeafnbError`'s step message, otherwise "internal error: ...",
    logged with *what* names the file), and the later steps are skipped: nothing raises.

    Examples
    --------
    >>> def broken():
    ...     raise NoPointsPassed()
    >>> runners = {s: (lambda: "ok") for s in FILE_STEPS}
    >>> runners[Step.CLEANUP_GEOJSON] = broken
    >>> [r.status for r in run_steps(runners, "f1")][3:6]
    ['processed', 'failed', 'skipped']
    """
    results: list[StepResult] = []
    failed = False
    for step in FILE_STEPS:
        if failed:
            results.append(StepResult(step.value, StepStatus.SKIPPED.value, "skipped"))
            continue
        try:
            message = runners[step]()
        except LeafnbError as exc:
            message, failed = exc.step_message, True
        except Exception as exc:  # never escapes: becomes this file's failure
            log.error(
                "internal error in %s of %s:\n%s", step, what, traceback.format_exc()
            )
            message, failed = f"internal error: {type(exc).__name__}: {exc}", True
        if message is None:
            status, message = StepStatus.SKIPPED, "skipped: disabled by configuration"
        else:
            status = StepStatus.FAILED if failed else StepStatus.PROCESSED
        results.append(StepResult(step.value, status.value, message))
        release_memory(between_steps=True)  # (a big file's, before the next step)
    release_memory()  # what the file's steps freed, before the next file
    return results


def write_standard(
    points: PointSet,
    keep: np.ndarray,
    config: dict[str, Any],
    out: Path,
    outcome: FileOutcome,
    missing: list[str],
    recipe: dict[str, Any] | None,
) -> tuple[PointSet, str]:
    """The ``standardGeojson`` step after the property checks: keep, convert, write.

    Writes ``standard.parquet`` of the *keep* points in the config's unit system, with the
    derived-column *recipe* (:mod:`leafnb.store.derived`; ``None``: computed here from the
    points' derivations, :func:`~leafnb.standard.area_yield.exact_derived`) and the
    *missing* required properties (``outOfStandard``). Returns the stored points and the
    step's message; raises :class:`~leafnb.errors.NoPointsPassed`.
    """
    points = points.filter(keep)
    if len(points) == 0:
        raise NoPointsPassed()
    points, recipe = standard_points(points, config, recipe)
    return points, store_standard(points, recipe, missing, out, outcome)


def standard_points(
    points: PointSet, config: dict[str, Any], recipe: dict[str, Any] | None = None
) -> tuple[PointSet, dict[str, Any] | None]:
    """*points* in the config's unit system, with their derived-column recipe.

    The recipe is computed from the points' derivations
    (:func:`~leafnb.standard.area_yield.exact_derived`) unless one is given.
    """
    points = to_unit_system(points, config.get("unitMeasurement", "DEFAULT"))
    if recipe is None:
        points, recipe = exact_derived(points)  # what a reader of the file gets back
    return points, recipe


def store_standard(
    points: PointSet,
    recipe: dict[str, Any] | None,
    missing: list[str],
    out: Path,
    outcome: FileOutcome,
) -> str:
    """Write *points* (from :func:`standard_points`) as ``standard.parquet``; the step message.

    Their ``{property: unit}`` map goes in the file's footer (the ``units`` step's
    result, :func:`~leafnb.store.artifacts.stored_units`).
    """
    write_geoparquet(
        out / STANDARD,
        points.table,
        standard_metadata(points, recipe, missing),
        footer=units_entry(units_map(points)),
    )
    return standard_stored(missing, out, outcome)


def standard_metadata(
    points: PointSet, recipe: dict[str, Any] | None, missing: list[str]
) -> dict[str, Any]:
    """What ``standard.parquet`` records beside the points: units, operation, recipe, missing properties."""
    meta: dict[str, Any] = {
        "units": points.units,
        "operation_type": points.operation_type,
    }
    if recipe:
        meta["derived"] = recipe
    if missing:
        meta["outOfStandard"] = missing
    return meta


def standard_stored(missing: list[str], out: Path, outcome: FileOutcome) -> str:
    """After ``standard.parquet`` is written: stale exports go; the step's message."""
    if missing:
        outcome.facts["outOfStandard"] = missing
    # exports made on request from earlier standard points would disagree (and the
    # units map of an earlier layout: it is in the points' footer now)
    for name in ("standard.geojson", STANDARD_EXPORT, UNITS):
        (out / name).unlink(missing_ok=True)
    if missing:
        return f"ok (out of standard: missing {', '.join(missing)})"
    return "ok"


def units_step(out: Path) -> str:
    """The ``units`` step: the ``{property: unit}`` map of the standard points is stored.

    It was written with them (:func:`store_standard`; a file converted in record ranges:
    at the end, :mod:`leafnb.pipeline.stream`), in ``standard.parquet``'s footer; this
    reads it back (``FileNotFoundError`` fails the step when it is not there).
    """
    stored_units(out)
    return "ok"


def raw_facts(meta: dict[str, Any]) -> dict[str, Any]:
    """The file facts a reader's metadata gives (record counts, provider, mapping, ...)."""
    facts: dict[str, Any] = {
        "recordCount": int(meta.get("record_count", 0)),
        "skippedRecords": int(meta.get("skipped_records", 0)),
    }
    for key in ("provider", "file_format"):
        if meta.get(key):
            facts[key] = meta[key]
    for key, fact in (
        ("partfields", "partfields"),
        ("operators", "operators"),
        ("machine_totals", "machineTotals"),
    ):
        if meta.get(key):
            facts[fact] = meta[key]
    if meta.get("column_mapping"):
        facts["columnMapping"] = meta["column_mapping"]
    return facts


def raw_message(rows: int, skipped: int, notes: list[str]) -> str:
    """The ``rawGeojson`` step's message.

    >>> raw_message(10, 2, ["a note"])
    'ok: 10 records, 2 malformed records skipped (a note)'
    """
    msg = f"ok: {rows} records"
    if skipped:
        msg += f", {skipped} malformed records skipped"
    return msg + (f" ({'; '.join(notes[:5])})" if notes else "")


def noted_message(notes: list[str]) -> str:
    """A step's message with the notes it made: "ok" or "ok (note; note)"."""
    return f"ok ({'; '.join(notes[:5])})" if notes else "ok"


def area_message(excluded: int) -> str:
    """The ``areaAndYield`` step's message for *excluded* impossible position steps."""
    if not excluded:  # position glitches: see leafnb.standard.area_yield
        return "ok"
    return (
        f"ok: {excluded} impossible position step{'s' * (excluded != 1)} "
        "(faster than the machine drives) excluded from distance and area"
    )


def filter_step(
    points: PointSet, config: dict[str, Any], out: Path
) -> tuple[str | None, dict[str, Any] | None]:
    """The ``filteredGeojson`` step: the config's filter profile over *points*.

    Returns the step's message and the cleaning report; ``(None, None)`` when
    ``operationsFilteredGeojson`` is off (the step is skipped).
    """
    if not config.get("operationsFilteredGeojson", True):
        return None, None
    from leafnb.clean.output import make_filtered

    report = make_filtered(points, config, out)
    kept, total, profile = report["kept"], report["total"], report["profile"]
    return f"ok: kept {kept} of {total} points (profile {profile})", dict(report)


def warm_up() -> None:
    """Pay now what a process's first conversion pays whatever its file (about 0.5 s).

    pandas (pyarrow imports it at its first ``pa.array``), pint and its registry, the
    CRS of the GeoParquet metadata. A worker process does it before its first job
    (:meth:`~leafnb.pipeline.executors.ProcessPoolRunner.prepare`).
    """
    import pyarrow as pa

    from leafnb.standard.units import get_registry
    from leafnb.store.artifacts import geoparquet_metadata

    pa.array(np.zeros(1))
    get_registry()
    geoparquet_metadata(pa.table({"lon": [0.0], "lat": [0.0]}))


def convert_file(job: FileJob) -> FileOutcome:
    """Run every step for one file; a failing step marks the later ones skipped."""
    checkpoint("convert")
    out = Path(job.out_dir)
    outcome = FileOutcome()
    state: dict[str, Any] = {}
    config = job.config

    def step_original():
        if not Path(job.path).exists():
            raise LeafnbError(
                f"original file {Path(job.path).name} is missing from the workspace"
            )
        if not is_regular_file(Path(job.path)):  # never open a FIFO, device or link
            raise LeafnbError(
                f"original file {Path(job.path).name} is not a regular file; not read"
            )
        return "ok"

    def step_raw():
        reader = get_reader(job.reader)
        # the raw table is not kept: how to read it again is (raw.json, written once the
        # original was read: leafnb.pipeline.originals); what an earlier conversion left
        # (and a raw table or its GeoJSON made on request from it) is stale
        for name in (RAW, "raw.geojson", RAW_SOURCE):
            (out / name).unlink(missing_ok=True)
        streamed = stream_standard(reader, Path(job.path), job.part, config, out)
        if streamed is not None:  # a big file, converted in record ranges
            write_json(out / RAW_SOURCE, raw_source(job))
            outcome.facts.update(streamed.facts)
            state["streamed"], state["points"] = streamed.messages, streamed.points
            return streamed.messages[Step.RAW_GEOJSON]
        with warnings_of_this_thread() as caught:
            raw = reader.read(Path(job.path), part=job.part, options=config)
        # only now: a worker that dies while reading leaves no sign that the read
        # succeeded (crash_outcome then fails rawGeojson, not the step after it)
        write_json(out / RAW_SOURCE, raw_source(job))
        outcome.facts.update(
            raw_facts({"record_count": raw.table.num_rows, **raw.meta})
        )
        state["raw"] = raw
        notes = list(raw.issues) + [w for w in caught if w not in raw.issues]
        if notes:
            outcome.facts["notes"] = list(notes)
        if raw.table.num_rows == 0:
            raise NoPointsPassed(f"no records could be read from {Path(job.path).name}")
        return raw_message(raw.table.num_rows, outcome.facts["skippedRecords"], notes)

    def step_normalized():
        try:
            # the raw table is not needed after this: its unmapped columns are freed
            points = normalize(state.pop("raw"))
        except UnsupportedOperationType as exc:
            # Leaf's text, then what the columns were understood as
            exc.args = (f"{exc}; {_understood()}",)
            raise
        outcome.facts["operationType"] = points.operation_type
        state["points"] = points
        notes = [
            n
            for n in points.meta.get("notes") or []
            if n not in outcome.facts.get("notes", [])
        ]
        if notes:
            outcome.facts.setdefault("notes", []).extend(notes)
        return noted_message(notes)

    def step_area_yield():
        state["points"] = compute_area_and_yield(state["points"])
        return area_message(state["points"].meta.get("excluded_steps", 0))

    def step_cleanup():
        points = state["points"]
        if not config.get("cleanupStandardGeojson", True):
            state["keep"] = np.ones(len(points), dtype=bool)
            return None  # skipped by configuration
        state["keep"], outcome.facts["cleanup"], message = cleanup_step(
            points, config.get("cleanupRules") or {}
        )
        return message

    def step_standard():
        points = state["points"]
        essential = missing_essential(points, config)
        if essential:
            raise _missing(essential)
        missing = missing_required(points, config)
        if missing and not config.get("outOfStandardOperations", True):
            raise _missing(missing)
        if points.meta.get("machine_totals"):
            # the machine counts every record: keep all-record totals for the reconciliation
            from leafnb.standard.summary import totals

            points = replace(
                points,
                meta={**points.meta, "all_record_totals": totals(points, "METRIC")},
            )
        state["points"], message = write_standard(
            points, state.pop("keep"), config, out, outcome, missing, recipe=None
        )
        return message

    def step_filtered():
        message, report = filter_step(state["points"], config, out)
        if report is not None:
            outcome.facts["cleaning"] = {
                k: report[k] for k in ("profile", "kept", "total")
            }
        return message

    def step_summary():
        outcome.facts.update(write_summary(state["points"], config, out))
        return "ok"

    def step_units():
        return units_step(out)

    def _understood() -> str:
        """The file and what its columns were understood as (for failure messages)."""
        mapping = outcome.facts.get("columnMapping")
        detail = f"{Path(job.path).name}"
        if mapping:
            cols = mapping.get("columns") or {}
            used = "; ".join(
                f"{s} → {c['property']}" + (f" ({c['unit']})" if c.get("unit") else "")
                for s, c in list(cols.items())[:15]
            )
            unused = "; ".join(
                f"{s} ({why})"
                for s, why in list((mapping.get("unused") or {}).items())[:15]
            )
            detail += f": columns understood: {used or 'none'}"
            if unused:
                detail += f"; not used: {unused}"
            detail += " — a columnMapping can say what a column means"
        return detail

    def _missing(props: list[str]) -> MissingProperties:
        """Leaf's message, then the file and what its columns were understood as."""
        exc = MissingProperties(props, path=Path(job.path))
        exc.args = (f"{exc}; {_understood()}",)
        return exc

    def ranged(step: Step, run: Callable[[], str | None]) -> Callable[[], str | None]:
        """*run*, or the message of its step when the file was converted in ranges."""
        return lambda: state["streamed"][step] if "streamed" in state else run()

    runners = {
        Step.ORIGINAL_FILE: step_original,
        Step.RAW_GEOJSON: step_raw,
        Step.NORMALIZED_GEOJSON: ranged(Step.NORMALIZED_GEOJSON, step_normalized),
        Step.AREA_AND_YIELD: ranged(Step.AREA_AND_YIELD, step_area_yield),
        Step.CLEANUP_GEOJSON: ranged(Step.CLEANUP_GEOJSON, step_cleanup),
        Step.STANDARD_GEOJSON: ranged(Step.STANDARD_GEOJSON, step_standard),
        Step.FILTERED_GEOJSON: step_filtered,
        Step.SUMMARY: step_summary,
        Step.UNITS: step_units,
    }
    with no_hugepage_advice():  # (huge pages cost more than they gain here)
        outcome.steps.extend(run_steps(runners, job.file_id))
    return outcome
