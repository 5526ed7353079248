"""Cloud-optimised GeoTIFFs of rasterised values (rasterio, imported lazily)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from leafnb.render.legend import Legend
from leafnb.render.raster import GridSpec

__all__ = ["NODATA", "write_geotiff"]

#: nodata of every leafnb GeoTIFF (float32 band; cells covered by no point)
NODATA = -3.4028234663852886e38  # lowest float32; NaN is also mapped to it


def write_geotiff(
    path: str | Path,
    values: np.ndarray,
    spec: GridSpec,
    *,
    prop: str,
    unit: str | None = None,
    legend: Legend | None = None,
    note: str | None = None,
) -> Path:
    """Write one float32 band (NaN -> nodata) as a COG with CRS, transform, units and legend tags."""
    import rasterio
    from rasterio.transform import Affine

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.where(np.isnan(values), NODATA, values).astype(np.float32)
    profile = {
        "driver": "COG",
        "width": spec.width,
        "height": spec.height,
        "count": 1,
        "dtype": "float32",
        "crs": spec.crs,
        "transform": Affine.from_gdal(*spec.geotransform),
        "nodata": NODATA,
        "compress": "DEFLATE",
        "predictor": 3,
        "blocksize": 512,
        "overview_resampling": "average",
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tif")
    os.close(fd)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.set_band_description(1, prop)
            if unit:
                dst.update_tags(1, units=unit)
                dst.set_band_unit(1, unit)
            tags = {
                "property": prop,
                "rasterization": "mean of the points whose swath footprint covers the cell",
            }
            if legend is not None:
                tags["legend"] = json.dumps(legend.to_dict())
            if note:
                tags["note"] = note
            dst.update_tags(1, **tags)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
