"""GeoTIFFs and grid(): CRS, transform, nodata, dtype, cell means, footprints, attrs, netCDF."""

import importlib.util
import json

import numpy as np
import pytest

from leafnb.render.geotiff import NODATA
from leafnb.render.legend import Legend
from tests.render.conftest import put_points, utm_to_lonlat

rasterio = pytest.importorskip("rasterio")
xr = pytest.importorskip("xarray")

# UTM 15N positions: three points in the cell [448000, 448001) x [4650000, 4650001), one 10 m east
X = np.array([448000.2, 448000.5, 448000.8, 448010.5])
Y = np.array([4650000.5, 4650000.3, 4650000.7, 4650000.5])
V = np.array([1.0, 2.0, 6.0, 10.0])


def test_geotiff_profile_and_cell_mean(workspace):
    lon, lat = utm_to_lonlat(X, Y)
    put_points(
        workspace, "op", {"lon": lon, "lat": lat, "wetMass": V}, {"wetMass": "kg"}
    )
    [item] = workspace.get_operation_geotiff_images("op")
    assert (
        set(item) == {"property", "url", "downloadUrl"}
        and item["property"] == "wetMass"
    )
    with rasterio.open(item["url"]) as ds:
        assert ds.crs.to_epsg() == 32615
        assert ds.dtypes == ("float32",) and ds.nodata == NODATA and ds.count == 1
        assert (
            ds.res == (1.0, 1.0) and ds.transform.c % 1 == 0 and ds.transform.f % 1 == 0
        )
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.units == ("kg",) and ds.descriptions == ("wetMass",)
        legend = Legend.from_dict(json.loads(ds.tags(1)["legend"]))
        row, col = ds.index(448000.5, 4650000.5)
        data = ds.read(1, masked=True)
    assert data[row, col] == pytest.approx(3.0)  # mean of 1, 2, 6
    row2, col2 = rasterio.transform.rowcol(ds.transform, 448010.5, 4650000.5)
    assert data[row2, col2] == pytest.approx(10.0)
    assert data.count() == 2  # no width: every other cell is nodata
    assert legend.to_dict() == workspace.legend("op", "wetMass").to_dict()


def test_swath_footprint_fills_with_mean(workspace):
    # two points 2 m apart with a 3 m swath: footprints are 5×5 cells (±2) and overlap
    x = np.array([448000.5, 448002.5])
    y = np.array([4650000.5, 4650000.5])
    lon, lat = utm_to_lonlat(x, y)
    put_points(
        workspace,
        "op",
        {
            "lon": lon,
            "lat": lat,
            "wetMass": np.array([1.0, 5.0]),
            "equipmentWidth": np.array([300.0, 300.0]),
        },
        {"equipmentWidth": "cm"},
    )  # width unit converted to metres
    ds = workspace.grid("op", properties=["wetMass"], resolution=1.0)
    g = ds["wetMass"]
    at = lambda xx: float(g.sel(x=xx, y=4650000.5, method="nearest"))  # noqa: E731
    assert at(447998.5) == 1.0  # only the first footprint
    assert at(448000.5) == at(448001.5) == at(448002.5) == 3.0  # both: mean
    assert at(448004.5) == 5.0
    # the grid is padded by the footprint: it spans exactly x 447998..448005, y ±2 cells
    assert float(ds.x.min()) == 447998.5 and float(ds.x.max()) == 448004.5
    assert int(np.isfinite(g).sum()) == 5 * 7 and g.shape[0] >= 5


def test_grid_dataset_crs_attrs_and_colours(harvest_op):
    ws, op = harvest_op
    ds = ws.grid(op, resolution=2.0, properties=["dryVolumePerArea", "wetMass"])
    assert list(ds.data_vars) == ["dryVolumePerArea", "wetMass"]
    assert ds["wetMass"].dims == ("y", "x") and ds["wetMass"].dtype == np.float32
    assert ds.attrs["crs"] == "EPSG:32615" and ds.attrs["resolution"] == 2.0
    assert np.all(np.diff(ds.x) == 2.0) and np.all(np.diff(ds.y) == -2.0)
    assert (
        ds["wetMass"].attrs["units"] == "kg"
        and ds["wetMass"].attrs["grid_mapping"] == "spatial_ref"
    )
    from pyproj import CRS

    assert CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"]).to_epsg() == 32615
    if importlib.util.find_spec("rioxarray"):
        import rioxarray  # noqa: F401

        assert ds.rio.crs.to_epsg() == 32615
        assert ds.rio.resolution() == (2.0, -2.0)
    # one legend, one colour: grid attrs, GeoTIFF tags, PNG pixels, Legend.rgba
    legend = ws.legend(op, "dryVolumePerArea")
    from_grid = Legend.from_dict(json.loads(ds["dryVolumePerArea"].attrs["legend"]))
    tif = next(
        i
        for i in ws.get_operation_geotiff_images(op)
        if i["property"] == "dryVolumePerArea"
    )
    with rasterio.open(tif["url"]) as t:
        from_tif = Legend.from_dict(json.loads(t.tags(1)["legend"]))
        cells = t.read(1, masked=True).compressed()
    png = next(
        i for i in ws.get_operation_images_v2(op) if i["property"] == "dryVolumePerArea"
    )
    assert (
        from_grid.to_dict() == from_tif.to_dict() == legend.to_dict() == png["legend"]
    )
    probe = np.r_[cells[:500], legend.edges, np.nan]
    ref = legend.rgba(probe)
    assert np.array_equal(from_grid.rgba(probe), ref) and np.array_equal(
        from_tif.rgba(probe), ref
    )
    with rasterio.open(png["url"]) as p:
        img = p.read()
    drawn = {tuple(c) for c in img[:, img[3] > 0].T}
    assert drawn <= {tuple(c) for c in ref[:-1]} | {
        tuple(c) for c in legend.rgba(legend.edges)
    }


def test_grid_geographic_and_all_properties(harvest_op):
    ws, op = harvest_op
    ds = ws.grid(op, crs="EPSG:4326")
    assert ds.attrs["crs"] == "EPSG:4326" and ds.attrs["resolution"] == 0.00001
    assert "wetMass" in ds and "passNumber" in ds and "crop" not in ds


@pytest.mark.skipif(
    not any(importlib.util.find_spec(m) for m in ("netCDF4", "h5netcdf", "scipy")),
    reason="no netCDF engine",
)
def test_grid_netcdf_round_trip(harvest_op, tmp_path):
    ws, op = harvest_op
    ds = ws.grid(op, resolution=3.0, properties=["wetMass", "speed"])
    path = tmp_path / "grid.nc"
    ds.to_netcdf(path)
    back = xr.open_dataset(path)
    try:
        np.testing.assert_array_equal(back["wetMass"].values, ds["wetMass"].values)
        assert back["wetMass"].attrs["units"] == "kg"
        assert json.loads(back["speed"].attrs["legend"]) == json.loads(
            ds["speed"].attrs["legend"]
        )
        assert (
            back["spatial_ref"].attrs["crs_wkt"] == ds["spatial_ref"].attrs["crs_wkt"]
        )
    finally:
        back.close()
