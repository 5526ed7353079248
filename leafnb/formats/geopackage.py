"""GeoPackage point layers (SMS-style exports: as-planted, as-applied, yield).

Polygon/line-only GeoPackages (field boundaries, AB lines) are not machine data: sniff 0.
A GeoPackage with several point layers becomes one leaf file per layer (:meth:`parts`).
Repeated column names are kept with deterministic suffixes (``.1``, ``.2`` …).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from leafnb.errors import CorruptFile
from leafnb.formats.base import RawRead, Reader
from leafnb.formats.inference import infer_columns, match_columns
from leafnb.formats.shapefile import (
    duration_column,
    ogr_point_ranges,
    ogr_record_count,
    read_ogr_points,
    region_hints,
)
from leafnb.formats.tabular import RangeCarry, finish_table
from leafnb.standard.optype import OperationType

__all__ = ["GeoPackageReader"]

_POINT_NAMES = {"POINT", "MULTIPOINT", "POINTZ", "POINTM", "POINTZM", "MULTIPOINTZ"}


def _point_layers(path: Path) -> list[tuple[str, list[str]]]:
    """(layer, column names) of every point layer, from the GeoPackage catalogue tables."""
    uri = f"file:{path.resolve().as_posix()}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True)
    try:
        rows = con.execute(
            "SELECT table_name, geometry_type_name FROM gpkg_geometry_columns"
        ).fetchall()
        out = []
        for table, gtype in rows:
            if str(gtype).upper() not in _POINT_NAMES:
                continue
            cols = [
                r[1] for r in con.execute(f'PRAGMA table_info("{table}")').fetchall()
            ]
            out.append((table, cols))
        return out
    finally:
        con.close()


class GeoPackageReader(Reader):
    """Point layers of GeoPackages (SMS-style exports and any spec §4.4 names)."""

    name: ClassVar[str] = "geopackage"
    description: ClassVar[str] = (
        "GeoPackage point layers (SMS-style as-planted/as-applied/yield)"
    )
    url: ClassVar[str] = "https://www.geopackage.org/"
    provider: ClassVar[str | None] = None
    file_format: ClassVar[str] = "GEOPACKAGE"
    extensions: ClassVar[tuple[str, ...]] = (".gpkg",)

    def sniff(self, path: Path) -> float:
        try:
            path = Path(path)
            if path.suffix.lower() != ".gpkg" or not path.is_file():
                return 0.0
            with open(path, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    return 0.0
            layers = _point_layers(path)
            if not layers:
                return 0.0
            best = 0.3
            for _, cols in layers:
                m = match_columns(cols)
                if m.family not in (None, "generic") and m.recognised >= 3:
                    best = max(best, 0.9)
                elif m.columns:
                    best = max(best, 0.6)
            return best
        except Exception:
            return 0.0

    def explain(self, path: Path) -> str | None:
        try:
            if not _point_layers(Path(path)):
                return "no point layer (boundaries and lines are not machine data)"
        except sqlite3.Error as exc:
            return f"not a readable GeoPackage ({exc})"
        return None

    def parts(self, path: Path) -> list[str | None]:
        try:
            layers = _point_layers(Path(path))
        except Exception:
            return [None]
        return [None] if len(layers) <= 1 else [name for name, _ in layers]

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        try:
            for layer, cols in _point_layers(Path(path)):
                if part is None or part == layer:
                    return match_columns(cols).facts(self.file_format)
        except Exception:
            pass
        return {"provider": None, "file_format": self.file_format}

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        try:
            layers = _point_layers(path)
        except sqlite3.Error as exc:
            raise CorruptFile(
                f"{path.name} is not a readable GeoPackage: {exc}",
                path=path,
                reader=self.name,
            ) from exc
        if not layers:
            raise CorruptFile(
                f"{path.name} has no point layer (boundaries and lines are not machine data)",
                path=path,
                reader=self.name,
            )
        layer = part if part is not None else layers[0][0]
        return self._finish(
            path, layer, *read_ogr_points(path, layer=layer, reader=self.name), options
        )

    def record_count(self, path: Path, part: str | None = None) -> int | None:
        path = Path(path)
        try:
            layers = _point_layers(path)
        except sqlite3.Error:
            return None
        if not layers:
            return None
        return ogr_record_count(path, part if part is not None else layers[0][0])

    def read_ranges(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
        rows: int,
    ) -> Iterator[RawRead]:
        path = Path(path)
        layer = part if part is not None else _point_layers(path)[0][0]
        ranges = ogr_point_ranges(path, layer=layer, reader=self.name, rows=rows)
        carry = RangeCarry()  # durations and held values run on across ranges
        return (self._finish(path, layer, *r, options, carry) for r in ranges)

    def _finish(
        self,
        path: Path,
        layer: str,
        table: pa.Table,
        lon: np.ndarray,
        lat: np.ndarray,
        ogr_meta: dict[str, Any],
        issues: list[str],
        options: Mapping[str, Any] | None,
        carry: RangeCarry | None = None,
    ) -> RawRead:
        """The :class:`RawRead` of an OGR point table of *layer*."""
        # pyogrio returns the fid separately; keep attribute columns only
        optype = None
        if options and options.get("operation_type"):
            optype = str(OperationType(options["operation_type"]))
        lon_hint, lat_hint = region_hints(lon, lat)
        match = infer_columns(
            table.column_names,
            table=table,
            operation_type=optype,
            user_mapping=(options or {}).get("columnMapping"),
            lon_hint=lon_hint,
            lat_hint=lat_hint,
        )
        meta: dict[str, Any] = {"crs": ogr_meta.get("crs"), "layer": layer}
        return finish_table(
            table,
            lon,
            lat,
            match,
            path=path,
            reader=self.name,
            duration_column=duration_column(table.column_names),
            meta=meta,
            issues=issues,
            carry=carry,
        )
