"""Real third-party files through the whole pipeline (zipped as a user would), checked against
facts from ../shared/data/README.md and totals computed independently from the raw columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from tests.conftest import SHARED_DATA, zip_files

pytestmark = pytest.mark.real_data

SMS = "shapefile/isu_strips_yield/sms_shapefile_export_2013"
ALX = "shapefile/isu_strips_yield/agleader_advanced_export"
GPKG = "shapefile/datacarpentry_trial_lesson_gpkg"
CSV = "csv/csiro_pyprecag"

# (files to zip, expected operation type, expected record count) — counts from data/README.md
CASES: dict[str, tuple[list[str], str, int]] = {
    "sms_moble": (
        [
            f"{SMS}/GARY_WILDIFE_2999 MOBLE_2013_SOYBEANS_1.{e}"
            for e in ("shp", "dbf", "shx", "prj")
        ],
        "harvested",
        1525,
    ),
    "sms_north": (
        [
            f"{SMS}/GARY_WILDIFE_ORB NORTH 2999_2013_SOYBEANS_1.{e}"
            for e in ("shp", "dbf", "shx", "prj")
        ],
        "harvested",
        2078,
    ),
    "sms_south": (
        [
            f"{SMS}/GARY_WILDIFE_ORB SOUTH 2999_2013_SOYBEANS_1.{e}"
            for e in ("shp", "dbf", "shx", "prj")
        ],
        "harvested",
        858,
    ),
    "alx_2007_shp": (
        [f"{ALX}/2007-basswood.{e}" for e in ("shp", "dbf", "shx", "prj")],
        "harvested",
        2970,
    ),
    "alx_2010_shp": (
        [f"{ALX}/2010-orbweaver.{e}" for e in ("shp", "dbf", "shx", "prj")],
        "harvested",
        4023,
    ),
    "alx_2012_shp_no_prj": (
        [f"{ALX}/2012-basswood.{e}" for e in ("shp", "dbf", "shx")],
        "harvested",
        4240,
    ),
    "alx_2007_txt": ([f"{ALX}/2007-basswood.txt"], "harvested", 2970),
    "alx_2010_txt": ([f"{ALX}/2010-orbweaver.txt"], "harvested", 4023),
    "alx_2012_txt": ([f"{ALX}/2012-basswood.txt"], "harvested", 4240),
    "gpkg_planted": ([f"{GPKG}/asplanted.gpkg"], "planted", 6382),
    "gpkg_applied": ([f"{GPKG}/asapplied.gpkg"], "applied", 9913),
    "csv_area2_latin1": ([f"{CSV}/area2_yield_ISO-8859-1.csv"], "harvested", 1543),
    "csv_area1_logger": ([f"{CSV}/area1_yield_ascii_wgs84.csv"], "harvested", 14756),
}

# Files that lack a property Leaf requires: leafnb converts them and flags them
# (outOfStandard); with outOfStandardOperations=false they fail as Leaf's do.
MISSING = {
    "gpkg_planted": "crop",  # the planter export names hybrids, not the crop
    # its DateStamp column says 2032 (anonymised dates): implausible, read as missing
    "csv_area2_latin1": "timestamp, crop, wetVolume, wetVolumePerArea, dryVolume, dryVolumePerArea",
    "csv_area1_logger": "crop, harvestMoisture, wetVolume, wetVolumePerArea, dryVolume, dryVolumePerArea",
}


def _zip(tmp_path: Path, rels: list[str]) -> Path:
    files = [SHARED_DATA / r for r in rels]
    if not all(f.exists() for f in files):
        pytest.skip("../shared/data is absent")
    return zip_files(tmp_path / "upload.zip", files)


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_file_converts(workspace, tmp_path, case):
    rels, optype, count = CASES[case]
    batch = workspace.upload_batch(_zip(tmp_path, rels), "grower", progress=False)
    assert len(batch["leafFiles"]) == 1, batch
    f = workspace.get_file(batch["leafFiles"][0])
    steps = workspace.get_file_status(f["id"])
    if case in MISSING:
        # converted by default, flagged; Leaf's strict rule fails them naming what is missing
        assert f["outOfStandard"] == MISSING[case].split(", ")
        strict = workspace.set_config(
            {"outOfStandardOperations": False}, leaf_user_id="strict"
        )
        assert strict["outOfStandardOperations"] is False
        sid = workspace.upload_batch(_zip(tmp_path, rels), "strict", progress=False)[
            "leafFiles"
        ][0]
        # Leaf's text first, then the file and what its columns were understood as
        message = f"missing required properties: {MISSING[case]}; "
        step = workspace.get_file_status(sid)["standardGeojson"]
        assert step["status"] == "failed"
        assert step["message"].startswith(message)
        assert f"{Path(rels[0]).name}: columns understood:" in step["message"]
    assert f["status"] == "processed", steps
    assert f["operationType"] == optype
    assert f["recordCount"] + f["skippedRecords"] == count
    summary = workspace.get_file_summary(f["id"])["properties"]
    assert summary["operationType"] == optype
    assert summary["totalArea"]["value"] > 0
    assert workspace.get_file_summary(f["id"])["geometry"]["type"] == "MultiPolygon"


def _sms_independent(shp: Path) -> dict[str, float]:
    """SMS exports: per-area yields × (swath ft × distance ft) / 43,560 ft² per acre."""
    df = pyogrio.read_dataframe(shp, read_geometry=False)
    acres = (
        df["Swth_Wdth_"].to_numpy(float) * df["Distance_f"].to_numpy(float) / 43_560.0
    )
    return {
        "totalDryVolume": float(np.nansum(df["Yld_Vol_Dr"].to_numpy(float) * acres)),
        "totalWetVolume": float(np.nansum(df["Yld_Vol_We"].to_numpy(float) * acres)),
        "totalWetMass": float(np.nansum(df["Yld_Mass_W"].to_numpy(float) * acres)),
        "totalDryMass": float(np.nansum(df["Yld_Mass_D"].to_numpy(float) * acres)),
        "totalArea": float(acres.sum() * 4046.8564224),  # m² per international acre
    }


def _alx_independent(txt: Path) -> dict[str, float]:
    """Ag Leader advanced export: wet mass = flow (lb/s) × cycle (s); area = distance (in) × swath (in)."""
    df = pd.read_csv(txt, header=None)
    return {
        "totalWetMass": float((df[2] * df[4]).sum()),
        "totalArea": float((df[5] * df[6]).sum() * 0.0254**2),
    }


@pytest.mark.parametrize(
    ("case", "independent"),
    [
        ("sms_north", _sms_independent),
        ("sms_moble", _sms_independent),
        ("alx_2007_txt", _alx_independent),
    ],
)
def test_totals_match_raw_columns(workspace, tmp_path, case, independent):
    """Totals over every record (cleanup off) equal totals computed from the raw columns."""
    workspace.set_config({"cleanupStandardGeojson": False})
    rels = CASES[case][0]
    fid = workspace.upload_batch(_zip(tmp_path, rels), "grower", progress=False)[
        "leafFiles"
    ][0]
    props = workspace.get_file_summary(fid)["properties"]
    expected = independent(SHARED_DATA / rels[0])
    for key, value in expected.items():
        mine = props[key]
        want_unit = (
            "m2"
            if key == "totalArea"
            else {"totalDryVolume": "bu", "totalWetVolume": "bu"}.get(key, "lb")
        )
        assert mine["unit"] == want_unit, (key, mine)
        assert mine["value"] == pytest.approx(value, rel=1e-6), key


def test_non_machine_files_create_no_leaf_files(workspace, tmp_path):
    rels = [
        f"shapefile/isu_strips_yield/boundaries_original/basswood1.{e}"
        for e in ("shp", "dbf", "shx", "prj")
    ]
    rels += [
        "shapefile/isu_strips_yield/boundaries_original/FieldOps.xml",
        f"{GPKG}/boundary.gpkg",
        f"{GPKG}/abline.gpkg",
    ]
    batch = workspace.upload_batch(_zip(tmp_path, rels), "grower", progress=False)
    assert batch["leafFiles"] == []
    assert batch["statusDetails"] == "No valid files found"
