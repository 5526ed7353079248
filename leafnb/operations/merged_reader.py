"""Reader of merged files: the standard points of several converted files as one dataset.

A merged (manual merge) or automerged (field operation) file has as its "original file" a
manifest ``merge.json`` written by :mod:`leafnb.operations.merge`::

    {"operationType": "harvested",
     "sources": [{"id": "<file id>", "path": "files/<id>/standard.parquet"}, ...],
     "clip": <GeoJSON (Multi)Polygon in WGS84> | null}

The reader concatenates the sources' standard points (each property converted to the unit
of the first source that has it), keeps only points inside ``clip`` when given, and maps
every column to its own standard property, so the usual steps (normalize, area & yield,
cleanup, standard, summary, units) run on the merged points unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from leafnb.errors import CorruptFile
from leafnb.formats.base import Column, RawRead, Reader
from leafnb.standard.schema import NUMERIC_PROPERTIES, PROPERTIES
from leafnb.standard.units import convert
from leafnb.store.artifacts import read_json, read_points_table

__all__ = ["MergedReader", "clip_mask"]


def clip_mask(lon: np.ndarray, lat: np.ndarray, geom) -> np.ndarray:
    """True for points inside (or on the edge of) *geom* (WGS84)."""
    if geom is None:
        return np.ones(len(lon), dtype=bool)
    shapely.prepare(geom)
    return shapely.intersects_xy(geom, lon, lat)


def _workspace_root(manifest: Path) -> Path:
    # manifest lives in <workspace>/files/<id>/merge.json
    return manifest.parent.parent.parent


class MergedReader(Reader):
    """Reads ``merge.json`` manifests (origin ``merged`` / ``automerged`` files)."""

    name = "merged"
    description = (
        "standard points of several converted files (manual merge / field operation)"
    )
    provider = None
    file_format = "MERGED"
    extensions = ()

    def sniff(self, path: Path) -> float:
        # never offered uploaded files: merge manifests are written by leafnb only
        return 0.0

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        try:
            manifest = read_json(path)
        except (OSError, json.JSONDecodeError) as exc:
            raise CorruptFile(
                f"merge manifest {path.name} is unreadable: {exc}",
                path=path,
                reader=self.name,
            ) from None
        root = _workspace_root(path)
        clip = (
            shapely.geometry.shape(manifest["clip"]) if manifest.get("clip") else None
        )
        tables, units_out = [], {}
        machinery: list[dict[str, Any]] = []
        seen_machines: set[tuple] = set()
        originals: list[str] = []
        record_count = 0
        for src in manifest["sources"]:
            table, meta = read_points_table(root / src["path"])
            record_count += table.num_rows
            units = meta.get("units", {})
            for prop, unit in units.items():
                if (
                    prop not in table.column_names
                    or prop not in NUMERIC_PROPERTIES
                    or not unit
                ):
                    continue
                target = units_out.setdefault(prop, unit)
                if target != unit:
                    values = (
                        table.column(prop)
                        .to_numpy(zero_copy_only=False)
                        .astype("float64")
                    )
                    conv = convert(values, unit, target)
                    table = table.set_column(
                        table.column_names.index(prop),
                        prop,
                        pa.array(conv, mask=np.isnan(conv)),
                    )
            if clip is not None and table.num_rows:
                mask = clip_mask(
                    table.column("lon").to_numpy(zero_copy_only=False),
                    table.column("lat").to_numpy(zero_copy_only=False),
                    clip,
                )
                table = table.filter(pa.array(mask))
            tables.append(table)
            for m in src.get("machinery") or []:
                key = (m.get("name"), m.get("serialNumber"), m.get("type"))
                if key not in seen_machines:
                    seen_machines.add(key)
                    machinery.append(m)
            if src.get("originalOperationType"):
                originals.append(src["originalOperationType"])
        table = (
            pa.concat_tables(tables, promote_options="permissive")
            if tables
            else pa.table({"lon": [], "lat": []})
        )
        if "timestamp" in table.column_names and table.num_rows:
            table = table.sort_by([("timestamp", "ascending")])
        columns = {
            c: Column(c, units_out.get(c) if c in NUMERIC_PROPERTIES else None)
            for c in table.column_names
            if c in PROPERTIES and c not in ("lon", "lat", "timestamp", "operationType")
        }
        meta: dict[str, Any] = {
            "columns": columns,
            "operation_type": manifest["operationType"],
            "record_count": table.num_rows,
            "skipped_records": 0,
            "machinery": machinery,
            "file_format": self.file_format,
            "sources": [s["id"] for s in manifest["sources"]],
            "source_record_count": record_count,
        }
        if originals and "originalOperationType" not in table.column_names:
            meta["original_operation_type"] = originals[0]
        if manifest.get("provider"):
            meta["provider"] = manifest["provider"]
        return RawRead(table, meta)
