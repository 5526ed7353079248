"""The reader contract: what every format converter (built-in or plugin) provides.

A reader turns one detected dataset into a :class:`RawRead`: an Arrow table of the
records *as the source wrote them* (source column names, source units) plus metadata
saying how each source column maps to a standard property. The pipeline does the rest
(renaming, unit conversion, area and yield, cleanup, summary), so a reader never
needs to know about unit systems, cleanup rules or the catalog.

Table conventions (every reader):

- ``lon``, ``lat``: float64, WGS84 degrees (reproject before returning);
- ``timestamp`` (optional): ``timestamp[ms, tz=UTC]``;
- any number of source columns, named as in the source (or e.g. ``DDI0054`` for ISOXML).

``meta`` keys the pipeline understands (all optional except ``columns``):

- ``columns``: ``{source_column: Column(property, unit)}`` — the mapping to standard
  properties; ``unit`` is a Leaf unit string or any pint-parsable string
  (see :func:`leafnb.standard.units.parse_unit`), ``None`` for unitless values;
- ``operation_type``: ``"harvested" | "planted" | "applied" | "tillage"`` when the
  reader knows it (otherwise detected from the mapped properties);
- ``original_operation_type``, ``operation_description``, ``crop``, ``variety``
  (file-wide values used when no per-point column maps to them);
- ``machinery``: list of ``{"name", "type": "machine"|"implement", "brand", "serialNumber"?}``;
- ``operators``: list of ``{"id", "name"}``; ``products``: list of
  ``{"name", "type", "rate": {"value", "unit"}}``;
- ``original_operation_data``: ``{originalOperationFarm, originalOperationField, ...}``;
- ``machine_totals``: ``{summary_total_key: {"value", "unit"}}`` totals the machine
  itself recorded (e.g. ``{"totalArea": {"value": 12.0, "unit": "m2"}}``), reconciled
  against leafnb's own totals;
- ``partfields``: list of GeoJSON Features (polygons) the source carried as fields;
- ``crs``: the source CRS (string) before reprojection;
- ``record_count``: records read; ``skipped_records``: malformed records passed over;
- ``modelled_properties``: mapped properties the reader derived from a model rather
  than read (e.g. ISOXML area from positions x working width);
- ``provider`` / ``file_format``: refine the reader's class-level values for this file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

__all__ = ["Column", "NotRanged", "RawRead", "Reader"]


class NotRanged(ValueError):
    """A dataset that cannot be read in record ranges exactly as whole (:meth:`Reader.read_ranges`).

    The pipeline then reads it whole (:mod:`leafnb.pipeline.stream`), quietly: the
    results are the same.
    """


@dataclass(frozen=True)
class Column:
    """How one source column maps to a standard property.

    Parameters
    ----------
    property : str
        Standard property name (spec §1), e.g. ``"wetMass"``.
    unit : str or None
        Unit of the source values (Leaf unit string or pint-parsable), ``None`` if unitless.
    """

    property: str
    unit: str | None = None


@dataclass(frozen=True)
class RawRead:
    """The result of :meth:`Reader.read`: source records plus metadata."""

    table: pa.Table
    meta: dict[str, Any] = field(default_factory=dict)
    issues: tuple[str, ...] = ()


class Reader:
    """Base class of every format reader.

    Subclasses set the class attributes and implement :meth:`sniff` and :meth:`read`.
    Readers are stateless; the registry creates one instance per class.
    """

    #: registry name (snake_case; equals the entry-point name for plugins)
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    url: ClassVar[str] = ""
    #: Leaf provider string (``AgLeader``, ``JohnDeere``, ...) or None when unknown
    provider: ClassVar[str | None] = None
    #: Leaf ``fileFormat`` value, e.g. ``SHAPEFILE``, ``ISO11783``
    file_format: ClassVar[str] = ""
    #: False for recognised-only (proprietary) formats: read() raises UnsupportedFormat
    decodes: ClassVar[bool] = True
    #: lower-case file name endings this reader's main file can have, e.g. (".shp",)
    extensions: ClassVar[tuple[str, ...]] = ()
    #: True when a malformed file can only make :meth:`read` raise, never crash the
    #: process: the file's bytes are parsed in Python, or by code written for hostile
    #: input (Arrow's CSV parser, leafnb's bounds-checked TLG kernel). A batch's small
    #: files of such readers may be converted by the calling process beside the
    #: workers (:class:`~leafnb.pipeline.executors.ProcessPoolRunner`); files of the
    #: others (GDAL's drivers) always convert on a worker, where a crash fails only
    #: the file. False by default: a plugin's reader is isolated unless it says so.
    in_process_safe: ClassVar[bool] = False

    def sniff(self, path: Path) -> float:
        """Return 0.0–1.0 confidence that *path* is the main file of this format.

        Must be cheap (read at most a few KB) and should not raise; the registry turns
        exceptions into a warning and a score of 0.
        """
        return 0.0

    def explain(self, path: Path) -> str | None:
        """Say why this reader does not take *path*, a file of its extension (None: no reason).

        Used for the batch's ``ignoredReasons`` (e.g. "polygon shapefile: a boundary").
        Must be cheap and should not raise.
        """
        return None

    def sidecars(self, path: Path) -> list[Path]:
        """Return the companion files that belong to the dataset whose main file is *path*.

        They are claimed together with it, so detection does not offer them to other readers.
        """
        return []

    def parts(self, path: Path) -> list[str | None]:
        """Split one dataset into several leaf files (e.g. one per ISOXML task).

        Each returned value is passed back to :meth:`read` as ``part``; the default is
        one leaf file for the dataset.
        """
        return [None]

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        """Return cheap facts known before reading: ``provider``, ``file_format``, ``operation_type``.

        Used to fill the file resource at detection time; the default is the class values.
        """
        return {"provider": self.provider, "file_format": self.file_format}

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        """Read the dataset whose main file is *path* and return a :class:`RawRead`.

        Raises
        ------
        leafnb.errors.CorruptFile
            The bytes cannot be decoded.
        leafnb.errors.UnsupportedFormat
            The format is recognised but cannot be decoded.
        """
        raise NotImplementedError

    def record_count(self, path: Path, part: str | None = None) -> int | None:
        """How many records the dataset has, when it can be read in ranges (else None).

        Only for readers with :meth:`read_ranges`, and only when the count is cheap;
        ``None`` (the default) reads the dataset whole. The pipeline reads a dataset of
        many records in ranges (:mod:`leafnb.pipeline.stream`). Should not raise.
        """
        return None

    def read_ranges(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
        rows: int,
    ) -> Iterator[RawRead]:
        """Read the dataset in runs of at most *rows* records (when :meth:`record_count` says how many).

        Each :class:`RawRead` is what :meth:`read` would give for those records alone
        (its own column inference and metadata); the pipeline checks that every range
        decided as the first did and otherwise reads the file whole
        (:mod:`leafnb.pipeline.stream`).

        Raises
        ------
        NotRanged
            The ranges cannot be read exactly as the whole dataset (read whole).
        leafnb.errors.CorruptFile
            The bytes of some range cannot be decoded (the whole read reports it).
        """
        raise NotImplementedError
