"""Point GeoJSON: Farmobile exports and generic point FeatureCollections.

Farmobile GeoJSON carries no units; Leaf assumes "Farmobile default units" (spec §4.4).
No public Farmobile property list could be found, so the ``farmobile`` rules in
:mod:`leafnb.formats.columns` are an **assumed** schema (snake_case names such as
``yield_dry_volume`` bu/ac, ``yield_wet_mass`` lb/ac, ``moisture`` %, ``speed_mph``,
``swath_width_ft``, ``distance_ft``, ``elevation_ft``, ``seed_rate`` seeds/ac,
``applied_rate`` gal/ac, ``operation`` = ``harvest``/``planting``/``application``,
ISO ``timestamp``); :func:`leafnb.testing.write_as` writes exactly these. Generic point
GeoJSON maps properties named like standard properties (spec §1) with Leaf's imperial
defaults. Polygon/line GeoJSON (boundaries) sniffs 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.formats.base import RawRead, Reader
from leafnb.formats.inference import infer_columns, match_columns
from leafnb.formats.shapefile import ogr_point_ranges, read_ogr_points, region_hints
from leafnb.formats.tabular import RangeCarry, finish_table
from leafnb.standard.optype import OperationType

__all__ = ["GeoJSONReader", "feature_count"]

_GEOM_TYPE = re.compile(
    r'"type"\s*:\s*"(Point|MultiPoint|Polygon|MultiPolygon|LineString|MultiLineString)"'
)
_PROPS = re.compile(r'"properties"\s*:\s*\{(.*?)\}', re.S)
_KEY = re.compile(r'"([^"\\]+)"\s*:')


def _head(path: Path, n: int = 8192) -> str:
    with open(path, "rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")


#: bytes of the file read at a time by :func:`feature_count`
_SCAN_BYTES = 8 << 20
_FEATURE = b'"Feature"'


def feature_count(path: Path) -> int:
    """The features of a GeoJSON file as a byte scan counts them: each ``"Feature"`` token.

    GDAL counts a GeoJSON layer's features only by parsing the whole file (9 s for
    600 MB, before the read parses it again); the token ``"Feature"`` (with its quotes:
    not ``"FeatureCollection"``) starts each feature's ``"type"``. A property whose text
    is exactly ``Feature`` counts too: the count is what deciding to read in ranges needs,
    not the number of records.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a.geojson"
    >>> _ = path.write_text('{"type": "FeatureCollection", "features": ['
    ...     '{"type": "Feature", "geometry": null, "properties": {}},'
    ...     '{"type":"Feature","geometry":null,"properties":{}}]}')
    >>> feature_count(path)
    2
    """
    keep = len(_FEATURE) - 1  # bytes of a token that can be cut off at a chunk's end
    count, tail = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_SCAN_BYTES):
            # the tokens inside the chunk, and one cut by its start (begun in the tail);
            # no copy of the chunk
            count += chunk.count(_FEATURE) + (tail + chunk[:keep]).count(_FEATURE)
            tail = (tail + chunk[-keep:])[-keep:]
    return count


def _property_names(text: str) -> list[str]:
    m = _PROPS.search(text)
    return _KEY.findall(m.group(1)) if m else []


class GeoJSONReader(Reader):
    """Point FeatureCollections (Farmobile and generic)."""

    name: ClassVar[str] = "geojson"
    description: ClassVar[str] = (
        "Point GeoJSON (Farmobile exports, generic point features)"
    )
    url: ClassVar[str] = "https://datatracker.ietf.org/doc/html/rfc7946"
    provider: ClassVar[str | None] = None
    file_format: ClassVar[str] = "GEOJSON"
    extensions: ClassVar[tuple[str, ...]] = (".geojson", ".json")

    def sniff(self, path: Path) -> float:
        try:
            path = Path(path)
            if path.suffix.lower() not in self.extensions or not path.is_file():
                return 0.0
            text = _head(path)
            if '"Feature' not in text:
                return 0.0
            types = _GEOM_TYPE.findall(text)
            if not any("Point" in t for t in types):
                return 0.0
            if not all("Point" in t for t in types):
                return 0.3  # mixed: the points are read, the other features counted
            m = match_columns(_property_names(text))
            if m.family == "farmobile" and m.recognised >= 3:
                return 0.9
            if "farmobile" in text.lower():
                return 0.8
            return 0.6 if m.columns else 0.3
        except Exception:
            return 0.0

    def explain(self, path: Path) -> str | None:
        try:
            text = _head(Path(path))
        except OSError:
            return None
        if '"Feature' not in text and '"type"' not in text:
            return "JSON without GeoJSON features"
        types = sorted(set(_GEOM_TYPE.findall(text)))
        if not types:
            return "GeoJSON whose features have no geometry (all null)"
        if not any("Point" in t for t in types):
            return (
                f"GeoJSON of {'/'.join(types)} features: a boundary or guidance line, "
                "not machine points"
            )
        return None

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        try:
            text = _head(Path(path))
            m = match_columns(_property_names(text))
            farmobile = m.family == "farmobile" or "farmobile" in text.lower()
            return m.facts(self.file_format, "Farmobile" if farmobile else None)
        except Exception:
            return {"provider": None, "file_format": self.file_format}

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        return self._finish(
            path, *read_ogr_points(path, layer=None, reader=self.name), options
        )

    def record_count(self, path: Path, part: str | None = None) -> int | None:
        try:
            return feature_count(Path(path))
        except OSError:  # unreadable here: the full read says why
            return None

    def read_ranges(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
        rows: int,
    ) -> Iterator[RawRead]:
        path = Path(path)
        ranges = ogr_point_ranges(path, layer=None, reader=self.name, rows=rows)
        carry = RangeCarry()  # durations and held values run on across ranges
        return (self._finish(path, *r, options, carry) for r in ranges)

    def _finish(
        self,
        path: Path,
        table: pa.Table,
        lon: np.ndarray,
        lat: np.ndarray,
        ogr_meta: dict[str, Any],
        issues: list[str],
        options: Mapping[str, Any] | None,
        carry: RangeCarry | None = None,
    ) -> RawRead:
        """The :class:`RawRead` of an OGR point table of this file (or of a range of it)."""
        meta: dict[str, Any] = {"crs": ogr_meta.get("crs")}
        optype = None
        if options and options.get("operation_type"):
            optype = str(OperationType(options["operation_type"]))
        pre = match_columns(table.column_names)
        if pre.family == "farmobile" or "farmobile" in _head(path).lower():
            meta["provider"] = "Farmobile"
            for name in table.column_names:
                if name.lower() in ("operation", "operation_type", "type"):
                    val = _most_common_text(table[name])
                    if val is not None:
                        try:
                            optype = optype or str(OperationType(val))
                            meta["original_operation_type"] = val
                        except ValueError:
                            pass
            if optype:
                meta["operation_type"] = optype
        lon_hint, lat_hint = region_hints(lon, lat)
        match = infer_columns(
            table.column_names,
            table=table,
            family="farmobile" if meta.get("provider") == "Farmobile" else None,
            operation_type=optype,
            user_mapping=(options or {}).get("columnMapping"),
            lon_hint=lon_hint,
            lat_hint=lat_hint,
        )
        return finish_table(
            table,
            lon,
            lat,
            match,
            path=path,
            reader=self.name,
            meta=meta,
            issues=issues,
            carry=carry,
        )


def _most_common_text(col: pa.ChunkedArray) -> str | None:
    """The most frequent text value of *col* (first seen wins a tie); None without text."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return None
    counts = pc.value_counts(pc.drop_null(col))
    if len(counts) == 0:
        return None
    n = counts.field("counts")
    return counts.field("values")[pc.index(n, pc.max(n)).as_py()].as_py()
