"""Crop names, crop codes and what an unknown crop means for the yield conversions."""

from __future__ import annotations

import pytest

from leafnb.standard.crops import (
    crop_notes,
    get_crop,
    list_crop_codes,
    list_crops,
    resolve_crop_code,
)
from leafnb.testing import make_points, write_as
from tests.conftest import zip_files


def test_code_table_targets_are_crops_or_said_to_be_missing():
    codes = list_crop_codes()
    assert codes[("usda_cdl", "1")] == "corn"
    assert codes[("usda_cdl", "24")] == "winter wheat"
    assert codes[("eppo", "GLXMA")] == "soybeans"
    # every target is a crop-table name, except a few crops Leaf's table lacks
    missing = {c for c in codes.values() if c not in list_crops()}
    assert missing <= {"tobacco", "camelina", "rapeseed", "oilseed rape winter"} | {
        c for c in missing if get_crop(c) is not None
    }


@pytest.mark.parametrize(
    ("value", "scheme", "expected"),
    [
        ("zeamx", None, "corn"),
        ("trzaw", None, "winter wheat"),
        ("5", "usda_cdl", "soybeans"),
        ("5", None, "5"),  # a number without a known scheme stays a number
        ("174", "usda_cdl", "174"),  # not a CDL crop code
        ("corn", None, "corn"),
        ("wheat", None, "wheat"),  # a name that looks like nothing else stays
    ],
)
def test_resolve_crop_code(value, scheme, expected):
    assert resolve_crop_code(value, scheme) == expected


def test_crop_notes():
    assert crop_notes(["corn", None]) == []
    (note,) = crop_notes(["174"])
    assert note.startswith("crop '174' is not in the crop table: dry values equal wet")
    (cotton,) = crop_notes(["cotton"])
    assert "no standard moisture" in cotton


def _jd_with_crop(tmp_path, value):
    import geopandas as gpd

    path = write_as(make_points("harvested", 120, seed=5), "jd_shapefile", tmp_path)
    gdf = gpd.read_file(path)
    gdf["Crop"] = value
    gdf.to_file(path)
    meta = path.parent / f"{path.stem}-Deere-Metadata.json"  # without the crop's name
    meta.write_text(
        meta.read_text().replace('"CropToken": "CORN"', '"CropToken": null')
    )
    return path


def test_numeric_jd_crop_is_kept_and_reported(workspace, tmp_path):
    path = _jd_with_crop(tmp_path, 174)
    files = [path, *(path.with_suffix(s) for s in (".dbf", ".shx", ".prj"))]
    files.append(path.parent / f"{path.stem}-Deere-Metadata.json")
    batch = workspace.upload_batch(
        zip_files(tmp_path / "jd.zip", files), "g", progress=False
    )
    f = workspace.get_file(batch["leafFiles"][0])
    assert f["status"] == "processed"
    assert f["summary"]["properties"]["crop"] == ["174"]
    assert any(
        n.startswith("crop '174' is not in the crop table: dry values equal wet")
        for n in f["notes"]
    )
    status = workspace.get_file_status(f["id"])["normalizedGeojson"]["detail"]
    assert "crop '174' is not in the crop table" in status
    pts = workspace.load_points(f["id"])
    assert set(pts.table["crop"].to_pylist()) == {"174"}
