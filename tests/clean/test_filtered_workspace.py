"""filteredGeojson end to end through upload_batch, and the Workspace filtering methods."""

import json
from pathlib import Path

import numpy as np
import pytest

from leafnb.clean.profiles import FilterPipeline
from leafnb.clean.report import CleaningReport
from leafnb.errors import InvalidRequest, NotFound
from leafnb.testing import make_points, write_as
from tests.conftest import zip_files


@pytest.fixture
def harvest_zip(tmp_path):
    shp = write_as(
        make_points("harvested", 1500, seed=7),
        "sms_shapefile",
        tmp_path / "src",
        name="harvest",
    )
    return zip_files(tmp_path / "harvest.zip", sorted(shp.parent.glob("harvest.*")))


def test_leaf_profile_end_to_end(workspace, harvest_zip):
    batch = workspace.upload_batch(harvest_zip, "grower-1")
    fid = batch["leafFiles"][0]
    steps = workspace.get_file_status(fid)
    assert (
        list(steps).index("filteredGeojson") == list(steps).index("standardGeojson") + 1
    )
    assert steps["filteredGeojson"]["status"] == "processed"
    assert steps["filteredGeojson"]["message"] == "ok"  # Leaf's; leafnb's in detail
    assert steps["filteredGeojson"]["detail"].startswith("ok: kept ")
    assert steps["summary"]["status"] == "processed"

    report = workspace.get_cleaning_report(fid)
    assert isinstance(report, CleaningReport) and report["profile"] == "leaf"
    assert [f["name"] for f in report["filters"]] == ["minVelocity", "globalSD"]
    std = workspace.points(fid)
    filtered = workspace.points(fid, filtered=True)
    removed = workspace.removed_points(fid)
    assert report["total"] == len(std) and report["kept"] == len(filtered)
    assert len(filtered) + len(removed) == len(std)
    assert set(removed.table.column("filterReason").to_pylist()) <= {
        "minVelocity",
        "globalSD",
    }
    # the Leaf speed rule works on m/s: the SMS file logs mi/hr
    assert workspace.get_file_units(fid)["speed"] == "mi/hr"
    assert (filtered["speed"].to_numpy() * 0.44704 >= 0.5).all()
    # outliers: two-sided k·SD on wetVolumePerArea
    gsd = report["filters"][1]["parameters"]
    assert gsd["column"] == "wetVolumePerArea" and gsd["k"] == 3
    kept_v = filtered["wetVolumePerArea"].to_numpy()
    assert (np.abs(kept_v - gsd["mean"]) <= 3 * gsd["sd"] + 1e-6).all()

    gj = workspace.get_file_filtered_geojson(fid)
    doc = json.loads(Path(gj["filteredGeojson"]).read_text())
    assert len(doc["features"]) == len(filtered) and gj[
        "downloadFilteredGeojson"
    ].startswith("file://")
    gp = workspace.get_file_filtered_geoparquet(fid)
    assert Path(gp["filteredGeoparquet"]).name == "filtered.parquet" and gp[
        "downloadFilteredGeoparquet"
    ].startswith("file://")
    with pytest.raises(NotFound):
        workspace.get_operation_filtered_geojson(fid)


def test_filter_points_interactive_and_save(workspace, harvest_zip):
    fid = workspace.upload_batch(harvest_zip, "g")["leafFiles"][0]
    before = workspace.get_cleaning_report(fid)
    kept, removed, rep = workspace.filter_points(fid, "standard")
    assert (
        rep["profile"] == "standard"
        and rep["kept"] == len(kept)
        and len(kept) + len(removed) == rep["total"]
    )
    assert 0.02 < rep["removed"] / rep["total"] < 0.5
    assert workspace.get_cleaning_report(fid) == before  # not saved
    pipe = FilterPipeline().add("minVelocity", threshold=4, unit="mi/hr")
    kept, _, rep = workspace.filter_points(fid, pipe, save=True)
    assert workspace.get_cleaning_report(fid)["profile"] == "custom"
    assert len(workspace.points(fid, filtered=True)) == len(kept)
    assert (workspace.points(fid, filtered=True)["speed"].to_numpy() >= 4).all()


def test_filter_profile_config(workspace, harvest_zip):
    with pytest.raises(InvalidRequest):
        workspace.set_config({"filterProfile": "fancy"})
    with pytest.raises(InvalidRequest):
        workspace.set_config({"filterPipeline": [{"filter": "nope"}]})
    workspace.set_config(
        {
            "filterProfile": "custom",
            "filterPipeline": FilterPipeline()
            .add("duplicatePosition")
            .add("globalSD", k=2)
            .to_config(),
        }
    )
    fid = workspace.upload_batch(harvest_zip, "g")["leafFiles"][0]
    rep = workspace.get_cleaning_report(fid)
    assert rep["profile"] == "custom" and [f["name"] for f in rep["filters"]] == [
        "duplicatePosition",
        "globalSD",
    ]
    workspace.set_config({"filterProfile": "standard"})
    _, _, rep = workspace.filter_points(fid)
    assert rep["profile"] == "standard"


def test_filtering_off(workspace, harvest_zip):
    workspace.set_config({"operationsFilteredGeojson": False})
    fid = workspace.upload_batch(harvest_zip, "g")["leafFiles"][0]
    assert workspace.get_file_status(fid)["filteredGeojson"]["status"] == "skipped"
    assert workspace._make_filtered(fid) is None
    with pytest.raises(NotFound, match="operationsFilteredGeojson"):
        workspace.get_file_filtered_geojson(fid)
    # turned on later: built on demand
    workspace.set_config({"operationsFilteredGeojson": True})
    assert workspace.get_file_filtered_geoparquet(fid)["filteredGeoparquet"].endswith(
        "filtered.parquet"
    )


def test_make_filtered_for_an_operation_folder(workspace, harvest_zip):
    """The operations engineer writes operations/<id>/standard.parquet and calls _make_filtered."""
    import shutil

    fid = workspace.upload_batch(harvest_zip, "g")["leafFiles"][0]
    op_dir = workspace.path / "operations" / "op-1"
    op_dir.mkdir(parents=True)
    shutil.copy(
        workspace.path / "files" / fid / "standard.parquet", op_dir / "standard.parquet"
    )
    report = workspace._make_filtered("op-1")
    # written once: a reason per point; the point tables only when asked for
    assert report["profile"] == "leaf" and (op_dir / "filter.parquet").exists()
    assert not (op_dir / "filtered.parquet").exists()
    assert not (op_dir / "removed.parquet").exists()
    assert workspace.get_operation_filtered_geojson("op-1")["filteredGeojson"].endswith(
        "filtered.geojson"
    )
    assert workspace.get_operation_filtered_geoparquet("op-1")[
        "filteredGeoparquet"
    ] == str(op_dir / "filtered.parquet")
    assert len(workspace.points("op-1", filtered=True)) == report["kept"]
    with pytest.raises(NotFound):
        workspace.get_file_filtered_geojson("op-1")


def test_the_report_lives_in_the_mask_and_an_older_folder_still_reads(
    workspace, harvest_zip
):
    """One file a filter result (creating files is what small ones cost); cleaning.json of before still read."""
    import pyarrow.parquet as pq

    from leafnb.clean.output import MASK, REPORT, REPORT_KEY, read_filtered, read_report

    fid = workspace.upload_batch(harvest_zip, "g")["leafFiles"][0]
    folder = workspace.path / "files" / fid
    assert not (folder / REPORT).exists()
    report = workspace.get_cleaning_report(fid)
    meta = pq.read_schema(folder / MASK).metadata
    assert json.loads(meta[REPORT_KEY]) == dict(report) == dict(read_report(folder))
    assert report["filters"][1]["parameters"]["k"] == 3
    kept = len(read_filtered(folder).kept)
    # a folder of an earlier leafnb: the mask without the report, cleaning.json beside
    mask = pq.read_table(folder / MASK)
    pq.write_table(
        mask.replace_schema_metadata(
            {k: v for k, v in meta.items() if k != REPORT_KEY}
        ),
        folder / MASK,
    )
    (folder / REPORT).write_text(json.dumps(dict(report)))
    assert dict(read_report(folder)) == dict(report)
    assert len(read_filtered(folder).kept) == kept == report["kept"]
    # filtering again writes the new layout and drops the old report
    workspace._make_filtered(fid)
    assert not (folder / REPORT).exists()
    assert REPORT_KEY in pq.read_schema(folder / MASK).metadata
    (folder / MASK).unlink()
    with pytest.raises(FileNotFoundError):
        read_report(folder)
