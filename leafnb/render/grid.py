"""Rasterised properties as an ``xarray.Dataset`` (xarray imported lazily)."""

from __future__ import annotations

import json

import numpy as np

from leafnb.render.legend import Legend
from leafnb.render.raster import GridSpec

__all__ = ["to_dataset"]

RULE = "mean of the points whose swath footprint (equipmentWidth, SQUARE) covers the cell; NaN where no point"


def to_dataset(
    spec: GridSpec,
    arrays: dict[str, np.ndarray],
    *,
    units: dict[str, str] | None = None,
    legends: dict[str, Legend] | None = None,
    attrs: dict | None = None,
):
    """Build a CF / rioxarray-compatible Dataset.

    It has ``y``/``x`` cell-centre coordinates, a ``spatial_ref`` grid-mapping variable
    (``crs_wkt``, ``spatial_ref``, ``GeoTransform``), and one float32 variable per
    property with ``units``, ``legend`` (JSON string, so it survives ``to_netcdf``) and
    ``grid_mapping`` attributes.
    """
    import xarray as xr
    from pyproj import CRS

    crs = CRS.from_user_input(spec.crs)
    cf = crs.to_cf()
    cf["spatial_ref"] = crs.to_wkt()
    cf["crs_wkt"] = cf["spatial_ref"]
    cf["GeoTransform"] = " ".join(repr(float(v)) for v in spec.geotransform)
    units = units or {}
    legends = legends or {}
    is_geo = crs.is_geographic
    x_attrs = {
        "standard_name": "longitude" if is_geo else "projection_x_coordinate",
        "units": "degrees_east" if is_geo else "m",
        "axis": "X",
    }
    y_attrs = {
        "standard_name": "latitude" if is_geo else "projection_y_coordinate",
        "units": "degrees_north" if is_geo else "m",
        "axis": "Y",
    }
    coords = {
        "y": ("y", spec.y_centres(), y_attrs),
        "x": ("x", spec.x_centres(), x_attrs),
        "spatial_ref": (
            (),
            np.int32(0),
            cf,
        ),  # int32: netCDF3 (scipy engine) has no int64
    }
    data_vars = {}
    for prop, arr in arrays.items():
        a = {
            "long_name": prop,
            "grid_mapping": "spatial_ref",
            "cell_methods": "area: mean",
            "rasterization": RULE,
        }
        if units.get(prop):
            a["units"] = units[prop]
        if prop in legends:
            a["legend"] = json.dumps(legends[prop].to_dict())
        data_vars[prop] = (("y", "x"), arr.astype(np.float32), a)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(
        {
            "crs": spec.crs,
            "resolution": spec.res_x,
            "rasterization": RULE,
            "Conventions": "CF-1.8",
        }
    )
    if spec.note:
        ds.attrs["note"] = spec.note
    ds.attrs.update(attrs or {})
    return ds
