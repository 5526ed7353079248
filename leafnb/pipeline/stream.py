"""Converting a big file in record ranges: neither its raw table nor its standard points are whole (issue 16).

A file's steps from ``rawGeojson`` to ``standardGeojson`` — read, normalise, area and
yield, cleanup, unit system, derived-column recipe — run one range of
:data:`STREAM_ROWS` records at a time (:meth:`~leafnb.formats.base.Reader.read_ranges`),
and each range's standard points are appended to ``standard.parquet``
(:class:`~leafnb.store.artifacts.PointsWriter`; the file's units map, known only at
the end, in its footer). The filter, summary and units steps then run as on a file
read whole, on points whose columns are read from that file
when a step asks for one (:class:`~leafnb.store.stored_columns.StoredColumns`). The
peak is one range's raw and intermediate columns, or the few columns a later step
works on, instead of the raw table plus every intermediate copy (docs/streaming.md has
the measurements). While the ranges are read, GDAL reads no batch ahead
(:func:`_one_reader_thread`); from the first file read in ranges on, freed big buffers
go back to the system at once (:func:`~leafnb.pipeline.memory.big_buffers_unpooled`).

The result is the in-memory one, exactly, or the file is read whole. Every decision the
in-memory conversion makes over the whole file is checked range by range, and the first
difference (:class:`Unstreamable`) sends the file back to the in-memory path:

- **the reader's**: each range is read as if alone (its own column inference, units,
  operation type, file facts, notes, the order of its slash dates); all must equal the
  first range's, except what a range passed over (records without a position,
  lines that are not records, unreadable cells: ``meta["skips"]``), which is summed
  and written as the file read whole writes it (:func:`~leafnb.formats.tabular.add_skips`,
  :func:`~leafnb.formats.tabular.skip_notes`);
- **machine totals** (the totals a machine recorded, e.g. an ISOXML task's ``TIM``):
  the reader gives the whole file's in every range; the totals over every record before
  cleanup they are reconciled with (``all_record_totals``) are summed at the end over
  the columns they need, kept range by range in a temporary file (:class:`_AllRecords`:
  the same sums over the same values as the file read whole);
- **normalising and the derivations**: each range's properties, units, notes and
  derivation rules must equal the first's; so must the required properties it lacks,
  and the derived-column recipe (its crops included) that rebuilds stored columns;
- **values carried from the records before**: SMS durations (each record's time is the
  sum of the durations before it) and the held values of a time log decoded to CSV run
  on from range to range (:class:`~leafnb.formats.tabular.RangeCarry`);
- **steps between records**: distance, heading and the speed window need the records
  before a range, so each range is computed with the end of the previous one in front
  (every record of the last :data:`~leafnb.standard.area_yield.SPEED_WINDOW_S`, and one
  before), which needs time to run forward (no missing or decreasing timestamp);
- **the storage**: each range's column types, and the derived-column recipe verified
  on its rows (:class:`~leafnb.store.artifacts.PointsWriter`), must be the first's;
- **the typical record interval** (the median positive interval that caps pauses in
  flow integration) is the first range's; the file's median must be exactly that value,
  checked on counts kept over every range (at the end, before anything is written).

Any other error also sends the file to the in-memory path, which reports it as a
failed step with its message; ``standard.parquet`` is in place only when every range
has been converted (the ranges go to a temporary file until then).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leafnb.clean.cleanup import cleanup_message, cleanup_step
from leafnb.errors import RangedReadWarning
from leafnb.formats.base import NotRanged, RawRead, Reader
from leafnb.formats.tabular import add_skips, skip_notes
from leafnb.keys import Step
from leafnb.pipeline.memory import big_buffers_unpooled, release_memory
from leafnb.pipeline.warned import warnings_of_this_thread
from leafnb.standard.area_yield import (
    SPEED_WINDOW_S,
    canonical_array,
    compute_area_and_yield,
    running_distance,
)
from leafnb.standard.coverage import BLOCK_POSITIONS
from leafnb.standard.normalize import normalize
from leafnb.standard.points import PointSet
from leafnb.standard.summary import TOTALS, totals, units_map
from leafnb.store.artifacts import PointsWriter, units_entry
from leafnb.store.layout import STANDARD
from leafnb.store.stored_columns import StoredColumns

__all__ = [
    "STREAM_ABOVE",
    "STREAM_ROWS",
    "Streamed",
    "Unstreamable",
    "stream_standard",
]

log = logging.getLogger(__name__)

#: records per range: the coverage's blocks, so a file in ranges and read whole give the
#: same footprint (:mod:`leafnb.standard.coverage`)
STREAM_ROWS = BLOCK_POSITIONS
#: a file of more records than this is converted in ranges. Below it, reading whole is
#: faster (ranges cost about 15 % more CPU: each range infers its columns again, and
#: later steps read columns in chunks) and peaks under 0.7 GB
STREAM_ABOVE = 1_048_576


#: what a defect of the ranged path raises (not a file's bytes, which readers report as
#: :class:`~leafnb.errors.CorruptFile`): it warns (:class:`~leafnb.errors.RangedReadWarning`)
_DEFECTS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    NameError,
    TypeError,
)


class Unstreamable(Exception):
    """A whole-file decision differs between ranges: the file is converted whole."""


@dataclass
class Streamed:
    """What the ranged steps made: each step's message, the file facts, the standard points."""

    messages: dict[Step, str | None]
    facts: dict[str, Any]
    points: PointSet


def stream_standard(
    reader: Reader,
    path: Path,
    part: str | None,
    config: dict[str, Any],
    out: Path,
    rows: int | None = None,
) -> Streamed | None:
    """Run the steps up to ``standardGeojson`` range by range, or ``None`` (read whole).

    Only a file of more than :data:`STREAM_ABOVE` records (as its reader counts them)
    is converted in ranges, of *rows* records (default :data:`STREAM_ROWS`). Writes
    ``standard.parquet`` into *out* when every range decided as the first did (module
    docstring); otherwise writes nothing and returns ``None``.
    """
    count = reader.record_count(path, part)
    if count is None or count <= STREAM_ABOVE:
        return None
    big_buffers_unpooled()  # what a big file's steps free goes back at once
    ranges = reader.read_ranges(
        path, part=part, options=config, rows=rows or STREAM_ROWS
    )
    run = _Run(config, out)
    streamed = None
    try:
        with _one_reader_thread():
            run.convert(ranges)
        streamed = run.finish()
    except (Unstreamable, NotRanged) as exc:
        log.info("%s is converted whole: %s", path.name, exc)
    except _DEFECTS as exc:
        # the same results, whole, but said: an UnboundLocalError once had every ISOXML
        # log of more than 32 MiB read whole, unnoticed (3.5 GB for 10M records)
        log.warning("ranged conversion of %s failed", path.name, exc_info=True)
        warnings.warn(
            f"{path.name}: converting it in record ranges failed "
            f"({type(exc).__name__}: {exc}); converted whole, in more memory",
            RangedReadWarning,
            stacklevel=2,
        )
    except Exception as exc:  # a file broken at some range: the whole read reports it
        log.info(
            "%s is converted whole after %s: %s", path.name, type(exc).__name__, exc
        )
    finally:
        close = getattr(ranges, "close", None)
        if close is not None:
            close()  # the reader's file handle, when a range failed
        if streamed is None and run.writer is not None:
            run.writer.abort()  # nothing is written
        if run.all_records is not None:
            run.all_records.remove()
    return streamed


@contextlib.contextmanager
def _one_reader_thread() -> Iterator[None]:
    """GDAL's GeoPackage driver reads the next record batches in worker threads: not here.

    ``OGR_GPKG_NUM_THREADS`` (GDAL ≥ 3.8.3; default min(4, CPUs)) is the number of
    threads that read a table ahead through the Arrow interface, each holding a batch
    of a range's records, and a ranged conversion's peak is what one range holds: one
    thread brought GDAL's part of reading the 4M-point GeoPackage from 0.34 to 0.19 GB
    (the same CPU; 1.3 s more wall time on two cores). A GDAL configuration option is
    the process's, so it is set for the ranged read and then put back.
    """
    import pyogrio

    before = pyogrio.get_gdal_config_option(_GPKG_THREADS)
    pyogrio.set_gdal_config_options({_GPKG_THREADS: "1"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({_GPKG_THREADS: before})


_GPKG_THREADS = "OGR_GPKG_NUM_THREADS"


def _time_s(points: PointSet) -> np.ndarray | None:
    """Seconds of each record as :func:`~leafnb.standard.area_yield.compute_area_and_yield` reads them."""
    if not points.has("timestamp"):
        return None
    values = pc.cast(points.table.column("timestamp"), pa.int64())
    return values.to_numpy(zero_copy_only=False).astype("float64") / 1000.0


def _owned(table: pa.Table) -> pa.Table:
    """*table* with buffers of its own.

    A column normalising takes over unchanged still points into the reader's buffers,
    and a reader's record batch is freed whole or not at all (pyogrio's batches hold
    every source column): kept, one column keeps every source column of its range in
    memory (0.3 GB at 4M points). A file read whole does not copy (0.19 CPU s a
    million points): its raw table is one, freed when its points are.
    """
    columns = [
        pa.chunked_array([pa.concat_arrays(c.chunks)], c.type) if c.num_chunks else c
        for c in table.columns  # concat_arrays copies the values, not whole buffers
    ]
    return pa.Table.from_arrays(columns, schema=table.schema)


def _decisions(meta: dict[str, Any]) -> dict[str, Any]:
    """A range's reader metadata without the evidence quoted for its column mapping.

    The mapping's ``basis`` and ``score`` quote the values that were looked at (e.g.
    "median 6.5 ft"), which differ from range to range; what was decided must not.
    Nor does a derivation recorded as ``None`` (a column filled in part, e.g. the
    first record of an ISOXML running total, which only the first range has): the
    derived-column recipe skips it as it skips a column that was not filled
    (:func:`~leafnb.standard.area_yield.exact_derived`).
    """
    derivations = meta.get("derivations")
    if isinstance(derivations, dict) and None in derivations.values():
        kept = {k: v for k, v in derivations.items() if v is not None}
        meta = {**meta, "derivations": kept}
    mapping = meta.get("column_mapping")
    if not isinstance(mapping, dict) or not isinstance(mapping.get("columns"), dict):
        return meta
    columns = {
        name: {k: v for k, v in how.items() if k not in ("basis", "score")}
        if isinstance(how, dict)
        else how
        for name, how in mapping["columns"].items()
    }
    return {**meta, "column_mapping": {**mapping, "columns": columns}}


#: what :func:`~leafnb.standard.summary.totals` sums
_TOTALLED = ("area", "distance", *TOTALS.values(), "seedRate", "appliedRate")


class _AllRecords:
    """The columns of the all-record totals, range by range in a temporary file.

    A file with machine totals reconciles them with totals over every record before
    cleanup (``pipeline.steps``: ``all_record_totals``). They are computed at the end
    by :func:`~leafnb.standard.summary.totals` on the same values, a column at a time,
    so each sum is the whole file's, to the last bit.
    """

    def __init__(self, out: Path, points: PointSet):
        names = [c for c in _TOTALLED if c in points.table.column_names]
        self.schema = points.table.select(names).schema
        self.template = replace(points, table=points.table.slice(0, 0).select(names))
        fd, name = tempfile.mkstemp(prefix=".all-records-", suffix=".parquet", dir=out)
        os.close(fd)
        self.path = Path(name)
        self.rows = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.path, self.schema, compression="none"
        )

    def write(self, points: PointSet) -> None:
        table = points.table.select(self.schema.names)
        if not table.schema.equals(self.schema):
            raise Unstreamable("the column types differ between record ranges")
        assert self._writer is not None
        self._writer.write_table(table)
        self.rows += table.num_rows

    def totals(self) -> dict[str, Any]:
        self.close()
        columns = _FileColumns(self.path, self.schema, self.rows)
        return totals(replace(self.template, table=cast(pa.Table, columns)), "METRIC")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


@dataclass
class _FileColumns:
    """A parquet file's columns, each read when asked for (what ``PointSet.array`` uses).

    The last one read is kept: a step asks whether a column has values, then for them.
    """

    path: Path
    schema: pa.Schema
    num_rows: int
    _last: tuple[str, pa.ChunkedArray] | None = None

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def column(self, i: int | str) -> pa.ChunkedArray:
        name = self.schema.field(i).name
        if self._last is None or self._last[0] != name:
            self._last = (name, pq.read_table(self.path, columns=[name]).column(name))
        return self._last[1]


@dataclass
class _Run:
    """The state of one file's ranged conversion."""

    config: dict[str, Any]
    #: the file's output folder
    out: Path
    first: dict[str, Any] = field(default_factory=dict)
    #: records read (skipped ones included), and the rows of the ranges' raw tables
    records: int = 0
    rows: int = 0
    #: what the ranges passed over, summed (:func:`~leafnb.formats.tabular.add_skips`)
    skips: dict[str, Any] | None = None
    excluded: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    total: int = 0
    #: normalised records in front of the next range (area and yield), their
    #: distances, and the file's running distance at the first of them
    tail: pa.Table | None = None
    lead_distance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    distance_before: float = 0.0
    #: the first range's typical interval, and counts of positive intervals below / at it
    typical: float | None = None
    intervals: list[int] = field(default_factory=lambda: [0, 0, 0])
    #: writes ``standard.parquet`` range by range (opened with the first range's points)
    writer: PointsWriter | None = None
    template: PointSet | None = None
    #: the stored properties with a value in some range (the file's units map)
    valued: set[str] = field(default_factory=set)
    #: the columns of the all-record totals (a file with machine totals)
    all_records: _AllRecords | None = None

    def same(self, what: str, value: Any) -> None:
        """Record the first range's *value* of a decision; raise when a later one differs.

        A copy is kept, so that nothing done to *value* afterwards (a range's metadata
        goes on to normalising) changes what the later ranges are compared with.
        """
        if what not in self.first:
            self.first[what] = copy.deepcopy(value)
        elif self.first[what] != value:
            raise Unstreamable(f"{what} differs between record ranges")

    def convert(self, ranges: Iterator[RawRead]) -> None:
        """Convert every range (raises :class:`Unstreamable`)."""
        while True:
            with warnings_of_this_thread() as caught:
                raw = next(ranges, None)
            if raw is None:
                return
            self.read(raw, caught)
            del raw
            # numpy arrays do not count toward the collector's thresholds, so garbage
            # cycles of a range's steps would wait; collecting the young generations
            # per range kept 1.28 instead of 1.52 GB after reading 4M points
            gc.collect(1)
            release_memory()

    def read(self, raw: RawRead, warned: list[str]) -> None:
        meta = dict(raw.meta)
        # what the range passed over is summed over the ranges, and its notes are
        # written for the whole file at the end; the rest must be the first range's
        skips = meta.pop("skips", None)
        skipped = int(meta.pop("skipped_records", 0))
        bad = meta.pop("bad_cells", None)
        if skipped != (skips["invalid"] + skips["unparsed"] if skips else 0) or (
            bad and not skips
        ):
            raise Unstreamable("records or cells were skipped (not counted by range)")
        rows = raw.table.num_rows
        if rows == 0:
            raise Unstreamable("a range without records")
        self.records += int(meta.pop("record_count", rows))
        self.rows += rows
        own = skip_notes(skips) if skips else []
        issues = [i for i in raw.issues if i not in own]
        warned = [w for w in warned if w not in raw.issues]
        self.same("reader", (_decisions(meta), issues, warned))
        self.skips = add_skips(self.skips, skips)
        self.first.setdefault("meta", meta)
        # the file's record count is set at the end
        points = normalize(replace(raw, meta=meta))
        del raw  # the unmapped source columns go now
        # the mapping lists columns by the strength of their evidence, which varies by
        # range: keep the first range's column order
        names = self.first.setdefault("columns", points.table.column_names)
        if sorted(names) != sorted(points.table.column_names):
            raise Unstreamable("the columns differ between record ranges")
        points = replace(points, table=_owned(points.table.select(names)))
        self.same(
            "normalized",
            (
                points.operation_type,
                points.units,
                points.source_units,
                _decisions(points.meta),
            ),
        )
        self.area_and_yield(points)

    def area_and_yield(self, points: PointSet) -> None:
        lead = 0 if self.tail is None else self.tail.num_rows
        if lead:
            points = replace(points, table=pa.concat_tables([self.tail, points.table]))
        time_s = _time_s(points)
        start = len(points) - 1  # where the next range's lead begins
        if time_s is None:
            if points.table.schema.get_field_index("timestamp") >= 0:
                raise Unstreamable("a range without timestamps")
        else:
            dt = np.diff(time_s)
            if np.isnan(time_s).any() or (dt < 0).any():
                raise Unstreamable("time does not run forward")
            mine = dt[max(lead - 1, 0) :]  # the intervals of this range's records
            if not lead and len(dt):
                mine = np.concatenate([dt[:1], mine])  # the first takes the second's
            self.count_intervals(mine[mine > 0], first=not lead)
            # the last record at least SPEED_WINDOW_S before the end, and all after it
            last = np.searchsorted(time_s, time_s[-1] - SPEED_WINDOW_S, "right") - 1
            start = max(int(last), 0)
        table = points.table
        points = compute_area_and_yield(
            points,
            lead=lead,
            typical_interval=self.typical,
            distance_before=self.distance_before,
        )
        # the running distance at the next lead's first record, summed as in one pass
        distance = np.concatenate(
            [self.lead_distance, canonical_array(points, "distance")]
        )
        self.distance_before = float(
            running_distance(distance[: start + 1], self.distance_before)[-1]
        )
        self.tail, self.lead_distance = table.slice(start), distance[start:]
        self.excluded += points.meta.get("excluded_steps", 0)
        meta = {k: v for k, v in points.meta.items() if k != "excluded_steps"}
        points = replace(points, meta=meta)
        self.same("area", (points.units, _decisions(meta)))
        self.standard(points)

    def count_intervals(self, positive: np.ndarray, *, first: bool) -> None:
        """Fix the typical interval on the *first* range; count intervals below and at it."""
        if first:
            self.typical = float(np.median(positive)) if len(positive) else None
        if len(positive) and self.typical is None:
            raise Unstreamable("the first range has no positive interval")
        if self.typical is not None:
            self.intervals[0] += len(positive)
            self.intervals[1] += int((positive < self.typical).sum())
            self.intervals[2] += int((positive == self.typical).sum())

    def standard(self, points: PointSet) -> None:
        from leafnb.pipeline.steps import (  # steps calls this module
            missing_essential,
            missing_required,
            standard_metadata,
            standard_points,
        )

        config = self.config
        if points.meta.get("machine_totals"):
            if self.all_records is None:
                self.all_records = _AllRecords(self.out, points)
            self.all_records.write(points)
        # what the file lacks is judged on every record, before cleanup
        essential = missing_essential(points, config)
        missing = missing_required(points, config)
        self.same("missing", (essential, missing))
        if essential or (missing and not config.get("outOfStandardOperations", True)):
            raise Unstreamable("required properties are missing")
        if config.get("cleanupStandardGeojson", True):
            keep, facts, _ = cleanup_step(points, config.get("cleanupRules") or {})
            for prop, n in facts["removed"].items():
                self.removed[prop] = self.removed.get(prop, 0) + n
            self.kept += facts["kept"]
            self.total += facts["total"]
            points = points.filter(keep)
        if len(points) == 0:
            return
        points, recipe = standard_points(points, config)
        self.same("recipe", recipe)
        self.same(
            "stored", (points.units, points.source_units, _decisions(points.meta))
        )
        if self.template is None:
            self.template = replace(points, table=points.table.slice(0, 0))
            _, missing = self.first["missing"]
            self.writer = PointsWriter(
                self.out / STANDARD, standard_metadata(points, recipe, missing)
            )
        elif not points.table.schema.equals(self.template.table.schema):
            raise Unstreamable("the column types differ between record ranges")
        assert self.writer is not None
        self.valued.update(units_map(points))
        try:
            self.writer.write(points.table)
        except ValueError as exc:  # a copy or derivation does not hold in this range
            raise Unstreamable(str(exc)) from exc

    def finish(self) -> Streamed | None:
        """Check the whole-file decisions, finish ``standard.parquet``; None: read whole."""
        from leafnb.pipeline.steps import (
            FileOutcome,
            area_message,
            noted_message,
            raw_facts,
            raw_message,
            standard_stored,
        )

        n, below, at = self.intervals
        if self.typical is not None and not (
            below <= (n - 1) // 2 and below + at > n // 2
        ):
            log.info("the typical interval differs between ranges: converted whole")
            return None
        if self.template is None or self.writer is None:
            return None  # no point passed cleanup: the in-memory run says so
        meta, (_, issues, warned) = self.first["meta"], self.first["reader"]
        # the notes of the file read whole: the reader's, what it passed over (of every
        # record read, also by ranges that passed over nothing), warnings
        passed = skip_notes({**self.skips, "read": self.records}) if self.skips else []
        notes = issues + passed + warned
        skipped = self.skips["invalid"] + self.skips["unparsed"] if self.skips else 0
        points = self.template
        file_meta = {**points.meta, "record_count": self.records}
        if self.excluded:
            file_meta["excluded_steps"] = self.excluded
        if self.all_records is not None:
            file_meta["all_record_totals"] = self.all_records.totals()
        # the units map of the whole file: a property with a value in any range
        units = {p: u for p, u in points.units.items() if p in self.valued}
        path = self.writer.close(footer=units_entry(units))
        # the points are read back column by column by the steps after (filter,
        # summary): never one table in memory
        table = StoredColumns(path, points.table.schema, self.writer.rows)
        points = replace(points, meta=file_meta, table=cast(pa.Table, table))
        outcome = FileOutcome()
        outcome.facts.update(
            raw_facts(
                {**meta, "record_count": self.records, "skipped_records": skipped}
            )
        )
        if notes:
            outcome.facts["notes"] = list(notes)
        normalized = [n for n in points.meta.get("notes") or [] if n not in notes]
        if normalized:
            outcome.facts.setdefault("notes", []).extend(normalized)
        outcome.facts["operationType"] = points.operation_type
        messages: dict[Step, str | None] = {
            Step.RAW_GEOJSON: raw_message(self.rows, skipped, notes),
            Step.NORMALIZED_GEOJSON: noted_message(normalized),
            Step.AREA_AND_YIELD: area_message(self.excluded),
            Step.CLEANUP_GEOJSON: None,
        }
        if self.config.get("cleanupStandardGeojson", True):
            order = list(self.config.get("cleanupRules") or {})
            removed = {p: self.removed[p] for p in order if self.removed.get(p)}
            facts = {"removed": removed, "kept": self.kept, "total": self.total}
            outcome.facts["cleanup"] = facts
            messages[Step.CLEANUP_GEOJSON] = cleanup_message(facts)
        _, missing = self.first["missing"]
        messages[Step.STANDARD_GEOJSON] = standard_stored(missing, self.out, outcome)
        return Streamed(messages, outcome.facts, points)
