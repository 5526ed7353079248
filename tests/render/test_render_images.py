"""V1 PNGs, imagesV2, overlays: georeferencing, colours at known points, config, caching."""

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from leafnb.errors import InvalidRequest, NotFound
from leafnb.render.legend import LEAF_COLORS, Legend
from leafnb.render.ramps import LEAF_RAMP, colorize
from leafnb.render.raster import project
from tests.render.conftest import put_points

rasterio = pytest.importorskip("rasterio")

# three well-separated points (≈ 40 m apart) near Ames, no swath width: each paints one cell
LON = np.array([-93.6250, -93.6245, -93.6240])
LAT = np.array([42.0120, 42.0123, 42.0126])
VALS = np.array([100.0, 150.0, 250.0])


def pixel(png, lon, lat, crs):
    """RGBA of the PNG pixel containing (lon, lat), located through its .aux.xml with rasterio."""
    with rasterio.open(png) as ds:
        x, y = project(np.array([lon]), np.array([lat]), crs)
        row, col = ds.index(x[0], y[0])
        return ds.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0].tolist()


def test_v1_png_georeferenced_and_coloured(workspace):
    put_points(
        workspace,
        "op",
        {"lon": LON, "lat": LAT, "wetMass": VALS, "sectionId": np.array([1, 2, 3])},
        {"wetMass": "kg"},
    )
    items = workspace.get_operation_images("op")
    assert [i["property"] for i in items] == ["wetMass", "sectionId"]
    item = items[0]
    assert (
        set(item) == {"property", "ramp", "url", "downloadUrl"}
        and item["ramp"] == LEAF_RAMP
    )
    assert item["downloadUrl"].startswith("file://") and os.path.exists(
        item["url"] + ".aux.xml"
    )
    root = ET.parse(item["url"] + ".aux.xml").getroot()
    assert (
        root.tag == "PAMDataset"
        and root.find("SRS").text
        and root.find("GeoTransform").text
    )
    with rasterio.open(item["url"]) as ds:
        assert ds.crs.to_epsg() == 3857 and ds.count == 4
        # default 0.00001° -> 1.113 m ground -> /cos(lat) Web-Mercator metres
        assert ds.res[0] == pytest.approx(
            0.00001 * 111320 / np.cos(np.radians(np.median(LAT))), rel=1e-6
        )
        x, y = project(LON, LAT, "EPSG:3857")
        b = ds.bounds
        assert (
            b.left <= x.min()
            and b.right >= x.max()
            and b.bottom <= y.min()
            and b.top >= y.max()
        )
        alpha = ds.read(4)
        assert (alpha > 0).sum() == 3  # one cell per point, the rest transparent
    expected = colorize(VALS, VALS.min(), VALS.max())
    for k in range(3):
        assert pixel(item["url"], LON[k], LAT[k], "EPSG:3857") == expected[k].tolist()
    assert pixel(item["url"], LON[0], LAT[0], "EPSG:3857")[:3] == LEAF_RAMP["0%"]
    assert pixel(item["url"], LON[2], LAT[2], "EPSG:3857")[:3] == LEAF_RAMP["100%"]


def test_v1_config_projection_resolution_shape(workspace):
    put_points(
        workspace,
        "op",
        {"lon": LON, "lat": LAT, "wetMass": VALS, "equipmentWidth": np.full(3, 9.0)},
        {"equipmentWidth": "m"},
    )
    workspace.set_config(
        {
            "geoimagesProjection": "EPSG:4326",
            "geoimagesResolution": 0.00002,
            "geoimagesShape": "SQUARE",
        }
    )
    square = workspace.get_operation_images("op")
    wm = next(i for i in square if i["property"] == "wetMass")
    with rasterio.open(wm["url"]) as ds:
        assert ds.crs.to_epsg() == 4326 and ds.res == pytest.approx((0.00002, 0.00002))
        n_square = int((ds.read(4) > 0).sum())
    assert (
        pixel(wm["url"], LON[1], LAT[1], "EPSG:4326")
        == colorize(VALS, 100, 250)[1].tolist()
    )
    workspace.set_config({"geoimagesShape": "ROUND"})
    wm = next(
        i for i in workspace.get_operation_images("op") if i["property"] == "wetMass"
    )
    with rasterio.open(wm["url"]) as ds:
        n_round = int((ds.read(4) > 0).sum())
    assert 0 < n_round < n_square  # the discs lose the square's corners
    # 9 m swath at 2e-5° (1.67 m × 2.23 m cells): a square of 2*rx+1 by 2*ry+1 cells per point
    rx = int(
        np.floor(4.5 / (0.00002 * 111320 * np.cos(np.radians(np.median(LAT)))) + 0.5)
    )
    ry = int(np.floor(4.5 / (0.00002 * 111320) + 0.5))
    assert n_square == 3 * (2 * rx + 1) * (2 * ry + 1)


def test_v1_colour_ramp_config(workspace):
    put_points(workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS})
    ramp = {"0%": [0, 0, 255], "100%": [255, 255, 255], "nv": [0, 0, 0, 0]}
    workspace.set_config({"geoimagesColorRamp": ramp})
    item = workspace.get_operation_images("op")[0]
    assert item["ramp"] == ramp
    assert pixel(item["url"], LON[0], LAT[0], "EPSG:3857") == [0, 0, 255, 255]


def test_resolution_capped_with_note(workspace):
    # points 50 km apart at 1e-5° would need ~50 000 px: raised to fit 8192 and said so
    put_points(
        workspace,
        "op",
        {
            "lon": np.array([-93.6, -93.0]),
            "lat": np.array([42.0, 42.3]),
            "wetMass": np.array([1.0, 2.0]),
        },
    )
    item = workspace.get_operation_images("op")[0]
    with rasterio.open(item["url"]) as ds:
        assert max(ds.width, ds.height) <= 8192
        assert "resolution raised" in ds.tags()["leafnb_note"]
    manifest = json.loads((workspace.path / "operations/op/images/v1.json").read_text())
    assert "resolution raised" in manifest["note"]


def test_attribute_selection(workspace):
    cols = {
        "lon": LON,
        "lat": LAT,
        "wetMass": VALS,
        "speed": VALS / 50,
        "elevation": VALS + 200,
    }
    put_points(workspace, "op", cols)
    assert [i["property"] for i in workspace.get_operation_images("op")] == [
        "wetMass",
        "speed",
        "elevation",
    ]
    workspace.set_config(
        {
            "operationsImageAttributeCreation": {
                "harvested": {"speed": True, "wetMass": False},
                "planted": {"seedRate": True},
            }
        }
    )
    assert [i["property"] for i in workspace.get_operation_images("op")] == ["speed"]
    assert [i["property"] for i in workspace.get_operation_images_v2("op")] == ["speed"]
    workspace.set_config(
        {"operationsImageAttributeCreation": {"harvested": {"speed": False}}}
    )  # all false -> all numeric
    assert len(workspace.get_operation_images("op")) == 3


def test_v2_legend_extent_and_pixels(workspace):
    rng = np.random.default_rng(1)
    lon = -93.625 + rng.uniform(0, 0.004, 400)
    lat = 42.012 + rng.uniform(0, 0.003, 400)
    vals = np.round(rng.normal(180, 25, 400), 0)
    put_points(
        workspace,
        "op",
        {"lon": lon, "lat": lat, "dryVolumePerArea": vals},
        {"dryVolumePerArea": "bu/ac"},
    )
    [item] = workspace.get_operation_images_v2("op")
    assert set(item) == {"property", "legend", "extent", "url", "downloadUrl"}
    ranges = item["legend"]["ranges"]
    assert [r["colorCode"] for r in ranges] == list(LEAF_COLORS)
    legend = workspace.legend("op", "dryVolumePerArea")
    assert legend.to_dict() == item["legend"]
    e = item["extent"]
    assert (
        e["xmin"] <= lon.min()
        and e["xmax"] >= lon.max()
        and e["ymin"] <= lat.min()
        and e["ymax"] >= lat.max()
    )
    with rasterio.open(item["url"]) as ds:
        assert ds.crs.to_epsg() == 3857
        from leafnb.render.raster import unproject

        (w, east), (s, n) = unproject(
            np.array([ds.bounds.left, ds.bounds.right]),
            np.array([ds.bounds.bottom, ds.bounds.top]),
            "EPSG:3857",
        )
        assert (w, east, s, n) == pytest.approx(
            (e["xmin"], e["xmax"], e["ymin"], e["ymax"]), abs=1e-9
        )
        img = ds.read()
    # every drawn pixel is one of the seven legend colours, and an isolated point's pixel has its class colour
    drawn = img[:, img[3] > 0].T
    allowed = {tuple(legend.rgba(np.array([r["max"]]))[0]) for r in ranges}
    assert {tuple(p) for p in drawn} <= allowed
    x, y = project(lon, lat, "EPSG:3857")
    with rasterio.open(item["url"]) as ds:
        rows, cols = rasterio.transform.rowcol(ds.transform, x, y)
    rows, cols = np.asarray(rows), np.asarray(cols)
    idx = rows * img.shape[2] + cols
    counts = np.bincount(idx, minlength=img.shape[1] * img.shape[2])
    alone = [k for k in range(400) if counts[idx[k]] == 1][:20]
    assert alone
    for k in alone:
        assert (
            img[:, rows[k], cols[k]].tolist()
            == legend.rgba(np.array([vals[k]]))[0].tolist()
        )


def test_v2_uses_filtered_when_present_and_cache(workspace):
    put_points(workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS})
    first = workspace.get_operation_images_v2("op")
    assert first[0]["legend"]["ranges"][-1]["max"] == 250.0
    png = first[0]["url"]
    mtime = os.stat(png).st_mtime_ns
    workspace.get_operation_images_v2("op")
    assert os.stat(png).st_mtime_ns == mtime  # cached
    put_points(
        workspace,
        "op",
        {"lon": LON[:2], "lat": LAT[:2], "wetMass": VALS[:2]},
        kind="filtered",
    )
    again = workspace.get_operation_images_v2("op")
    assert (
        again[0]["legend"]["ranges"][-1]["max"] == 150.0
    )  # rebuilt from filtered.parquet
    # a newer standard.parquet regenerates V1
    v1 = workspace.get_operation_images("op")[0]["url"]
    put_points(workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS * 2})
    src = workspace.path / "operations/op/standard.parquet"
    t = os.stat(src).st_mtime_ns + 10**9
    os.utime(src, ns=(t, t))
    workspace.get_operation_images("op")
    assert os.stat(v1).st_mtime_ns != mtime


def test_overlay(harvest_op):
    ws, op = harvest_op
    out = ws.render_overlay(op, "dryVolumePerArea", max_size=256)
    assert set(out) == {"path", "bounds", "legend"} and isinstance(
        out["legend"], Legend
    )
    (s, w), (n, e) = out["bounds"]
    pts = ws.load_points(op)
    lon, lat = pts.array("lon"), pts.array("lat")
    assert s <= lat.min() and n >= lat.max() and w <= lon.min() and e >= lon.max()
    with rasterio.open(out["path"]) as ds:
        assert max(ds.width, ds.height) <= 256 and ds.crs.to_epsg() == 3857
        img = ds.read()
    assert (img[3] > 0).mean() > 0.05
    assert out["legend"].to_dict() == ws.legend(op, "dryVolumePerArea").to_dict()
    assert (
        ws.render_overlay(op, "dryVolumePerArea", max_size=256)["path"] == out["path"]
    )


def test_files_from_upload(workspace, harvest_csv_zip):
    fid = workspace.upload_batch(harvest_csv_zip, "grower-1")["leafFiles"][0]
    items = workspace.get_file_images(fid)
    props = {i["property"] for i in items}
    assert {"dryVolumePerArea", "speed", "elevation"} <= props
    assert all(
        os.path.exists(i["url"]) and os.path.exists(i["url"] + ".aux.xml")
        for i in items
    )
    assert items[0]["url"].startswith(str(workspace.path / "files" / fid / "images"))
    ds = workspace.grid(fid, properties="dryVolumePerArea")
    assert float(ds["dryVolumePerArea"].max()) > 0


def test_errors(workspace):
    with pytest.raises(NotFound):
        workspace.get_operation_images_v2("nope")
    put_points(
        workspace,
        "op",
        {"lon": LON, "lat": LAT, "wetMass": VALS, "crop": np.array(["corn"] * 3)},
    )
    with pytest.raises(InvalidRequest):
        workspace.legend("op", "crop")
    with pytest.raises(InvalidRequest):
        workspace.grid("op", properties=["nothing"])


def test_tied_legend_recorded_not_raised(workspace):
    put_points(workspace, "op", {"lon": LON, "lat": LAT, "wetMass": np.zeros(3)})
    [item] = workspace.get_operation_images_v2("op")  # no TiedClassesWarning escapes
    assert item["legend"]["tiedClasses"] is True and len(item["legend"]["ranges"]) == 7


def test_make_images_follows_switches(workspace):
    put_points(workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS})
    images = workspace.path / "operations/op/images"
    workspace._make_images("op")
    assert not images.exists()  # defaults: no V1, no filtered -> no V2, no GeoTIFF
    put_points(
        workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS}, kind="filtered"
    )
    workspace._make_images("op")
    assert sorted(p.name for p in images.glob("*.json")) == ["v2.json"]
    workspace.set_config(
        {"operationsImageCreation": True, "operationsImageAsGeoTiff": True}
    )
    workspace._make_images("op")
    assert sorted(p.name for p in images.glob("*.json")) == [
        "geotiff.json",
        "v1.json",
        "v2.json",
    ]


def test_make_images_never_raises(workspace, monkeypatch):
    put_points(
        workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS}, kind="standard"
    )
    put_points(
        workspace, "op", {"lon": LON, "lat": LAT, "wetMass": VALS}, kind="filtered"
    )
    workspace.set_config({"operationsImageAsGeoTiff": True})

    def boom(*a, **k):
        raise ImportError("no rasterio")

    monkeypatch.setattr("leafnb.render.images.build_geotiffs", boom)
    workspace._make_images("op")
    errors = json.loads(
        (workspace.path / "operations/op/images/errors.json").read_text()
    )
    assert list(errors) == ["geotiff"] and "no rasterio" in errors["geotiff"]
    assert (workspace.path / "operations/op/images/v2.json").exists()
