"""The in-memory standard point set that flows between pipeline steps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.store.derived import float_array, float_values

__all__ = ["PointSet"]


@dataclass(frozen=True)
class PointSet:
    """Standard points of one file or operation.

    ``table`` has ``lon``, ``lat`` (WGS84) and standard property columns; ``units`` maps
    each numeric property to the unit its values are in now; ``source_units`` remembers
    the unit the source file used (what ``unitMeasurement = DEFAULT`` reports);
    ``meta`` carries file-wide facts from the reader (machinery, products, totals...).
    """

    table: pa.Table
    operation_type: str
    units: dict[str, str] = field(default_factory=dict)
    source_units: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    #: :meth:`has` answers of this table
    _has: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def columns(self) -> list[str]:
        """Standard property columns present (without lon/lat)."""
        return [c for c in self.table.schema.names if c not in ("lon", "lat")]

    def has(self, prop: str) -> bool:
        """True when *prop* is a column with at least one non-null value."""
        # once per column and table: steps ask hundreds of times per file, and a
        # column lookup each time cost more than a small file's values
        known = self._has.get(prop)
        if known is None:
            i = self.table.schema.get_field_index(prop)
            known = i >= 0 and self.table.column(i).null_count < self.table.num_rows
            self._has[prop] = known
        return known

    def array(self, prop: str) -> np.ndarray:
        """Return a numeric column as float64 numpy (nulls as NaN)."""
        return float_values(self.table.column(prop))

    def with_column(
        self, prop: str, values, unit: str | None = None, arrow_type=None
    ) -> PointSet:
        """Return a copy with *prop* set (added or replaced) and its unit recorded."""
        if isinstance(values, pa.ChunkedArray | pa.Array):
            arr = values
        elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
            arr = (  # NaN is missing
                float_array(values)
                if arrow_type is None or arrow_type == pa.float64()
                else pa.array(values, mask=np.isnan(values), type=arrow_type)
            )
        else:
            arr = pa.array(values, type=arrow_type, from_pandas=True)
        i = self.table.schema.get_field_index(prop)
        table = (
            self.table.set_column(i, prop, arr)
            if i >= 0
            else self.table.append_column(prop, arr)
        )
        units = dict(self.units) if unit is None else {**self.units, prop: unit}
        # the constructor, not dataclasses.replace (which looks up every field per call)
        return PointSet(table, self.operation_type, units, self.source_units, self.meta)

    def filter(self, mask: np.ndarray) -> PointSet:
        """Return the points where *mask* is True (these points when it keeps them all)."""
        mask = np.asarray(mask, dtype=bool)
        if len(mask) == self.table.num_rows and mask.all():
            return self  # no copy of every column to keep every row
        return replace(self, table=self.table.filter(pa.array(mask)))

    def to_geodataframe(self) -> Any:
        """The points as a GeoDataFrame (EPSG:4326), units in ``.attrs["units"]``.

        Returns
        -------
        geopandas.GeoDataFrame
            Every column but ``lon``/``lat``, with point geometries from them.

        Examples
        --------
        >>> points = PointSet(pa.table({"lon": [1.0], "lat": [2.0], "speed": [3.0]}),
        ...                   "harvested", units={"speed": "m/s"})
        >>> gdf = points.to_geodataframe()
        >>> list(gdf.columns), gdf.crs.to_epsg(), gdf.attrs["units"]
        (['speed', 'geometry'], 4326, {'speed': 'm/s'})
        """
        import geopandas as gpd
        import shapely

        df = self.table.to_pandas()
        geom = shapely.points(df["lon"].to_numpy(), df["lat"].to_numpy())
        gdf = gpd.GeoDataFrame(
            df.drop(columns=["lon", "lat"]), geometry=geom, crs="EPSG:4326"
        )
        gdf.attrs["units"] = dict(self.units)
        return gdf
