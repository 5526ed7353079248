"""Yield cleaning on real yield maps (ISU strip trials): reports consistent and plausible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATA, zip_files

pytestmark = pytest.mark.real_data

SMS = "shapefile/isu_strips_yield/sms_shapefile_export_2013"
ALX = "shapefile/isu_strips_yield/agleader_advanced_export"
CASES = {
    "alx_2010_txt": [f"{ALX}/2010-orbweaver.txt"],
    "sms_moble": [
        f"{SMS}/GARY_WILDIFE_2999 MOBLE_2013_SOYBEANS_1.{e}"
        for e in ("shp", "dbf", "shx", "prj")
    ],
    "sms_north": [
        f"{SMS}/GARY_WILDIFE_ORB NORTH 2999_2013_SOYBEANS_1.{e}"
        for e in ("shp", "dbf", "shx", "prj")
    ],
    "sms_south": [
        f"{SMS}/GARY_WILDIFE_ORB SOUTH 2999_2013_SOYBEANS_1.{e}"
        for e in ("shp", "dbf", "shx", "prj")
    ],
}


def _consistent(report, removed):
    assert report["kept"] + report["removed"] == report["total"]
    reasons = removed.table.column("filterReason").to_pylist()
    assert len(reasons) == report["removed"]
    assert sum(f["removed"] for f in report["filters"]) == report["removed"]
    for f in report["filters"]:
        assert reasons.count(f["name"]) == f["removed"]
        assert 0 <= f["percentRemoved"] <= 100
        assert f["percentMass"] is None or 0 <= f["percentMass"] <= 100


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_yield_cleaning(workspace, tmp_path, case):
    files = [SHARED_DATA / r for r in CASES[case]]
    if not all(f.exists() for f in files):
        pytest.skip("../shared/data is absent")
    batch = workspace.upload_batch(
        zip_files(tmp_path / "upload.zip", files), "grower", progress=False
    )
    fid = batch["leafFiles"][0]
    assert workspace.get_file_status(fid)["filteredGeojson"]["status"] == "processed"

    leaf = workspace.get_cleaning_report(fid)
    _consistent(leaf, workspace.removed_points(fid))
    assert leaf["profile"] == "leaf" and leaf["removed"] / leaf["total"] < 0.2
    assert len(workspace.points(fid, filtered=True)) == leaf["kept"]

    kept, removed, std = workspace.filter_points(fid, "standard")
    _consistent(std, removed)
    share = std["removed"] / std["total"]
    assert 0.02 <= share <= 0.5, std
    assert std["flowDelay"]["automatic"] and 0 <= std["flowDelay"]["seconds"] <= 20
    # cleaning narrows the yield distribution
    col = next(
        f["parameters"]["column"] for f in std["filters"] if f["name"] == "globalSD"
    )
    before = workspace.load_points(fid).array(col)
    after = kept.array(col)
    assert np.nanstd(after) / np.nanmean(after) <= np.nanstd(before) / np.nanmean(
        before
    )

    _, removed, agg = workspace.filter_points(fid, "aggressive")
    _consistent(agg, removed)
    assert agg["removed"] >= std["removed"] * 0.8
    assert Path(workspace.get_file_filtered_geojson(fid)["filteredGeojson"]).exists()
