"""Real ISOXML TASKDATA through the whole pipeline: counts, outcomes and machine-total reconciliation."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA, zip_files

pytestmark = pytest.mark.real_data


def _upload(workspace, tmp_path, folder: str):
    root = SHARED_DATA / "isoxml" / folder
    if not root.is_dir():
        pytest.skip("../shared/data is absent")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return workspace.upload_batch(
        zip_files(tmp_path / f"{folder}.zip", files, root=root),
        "grower",
        progress=False,
    )


def test_cci_converts_and_reconciles_with_the_task_controller(workspace, tmp_path):
    batch = _upload(workspace, tmp_path, "cci_forage_harvester_yield")
    assert batch["status"] == "PROCESSED"
    files = workspace.get_files(batchId=batch["id"], size=100)
    assert files.total == 19  # one leaf file per task with time logs
    assert all(
        f["status"] == "processed" and f["operationType"] == "harvested" for f in files
    )
    assert sum(f["recordCount"] for f in files) == 61_314  # data/README.md
    assert all(f["fileFormat"] == "ISO11783" for f in files)
    # the task that holds TLG00002: DDI 90 total 242,461 kg (data/README.md) = the TIM total
    rows = {}
    for f in files:
        for row in f["summary"]["properties"].get("machineTotals", []):
            if row["key"] == "totalWetMass" and row["value"] == pytest.approx(242_461):
                rows = {
                    r["key"]: r for r in f["summary"]["properties"]["machineTotals"]
                }
    assert rows, "no task reports the 242,461 kg TIM total"
    mass = rows["totalWetMass"]
    assert mass["leafnbAllRecordsValue"] == pytest.approx(242_461)
    assert mass["allRecordsRelativeDifference"] == pytest.approx(0, abs=1e-9)
    assert (
        mass["leafnbValue"] < mass["value"]
    )  # cleanup drops records, the machine counts them all
    assert abs(rows["totalArea"]["allRecordsRelativeDifference"]) < 1e-3
    # partfields became fields and the tasks became field operations
    assert len(workspace.get_fields(leafUserId="grower", size=100)) >= 19
    assert workspace.get_operations(leafUserId="grower").total >= 1


def test_krone_road_travel_keeps_counts_and_machine_totals(workspace, tmp_path):
    """Mostly road travel with yield logged as 0: every record decodes, none is a harvest point."""
    batch = _upload(workspace, tmp_path, "krone_forage_harvester_roading")
    (f,) = workspace.get_files(batchId=batch["id"], size=100)
    assert f["recordCount"] + f["skippedRecords"] == 4_677
    steps = workspace.get_file_status(f["id"])
    assert (
        steps["cleanupGeojson"]["detail"]
        == "ok: removed 4677 of 4677 points (wetMass: 4677)"
    )
    assert steps["standardGeojson"] == {
        "status": "failed",
        "message": "no points passed the filter",
    }
    # the task controller's totals stay on the file resource (data/README.md)
    totals = f["machineTotals"]
    assert totals["DDI010F"]["value"] == pytest.approx(561_780)
    assert totals["DDI0078"]["value"] == pytest.approx(4_531)
    assert totals["DDI00B7"]["value"] == pytest.approx(2_000)


def test_aef_empty_logs_fail_clearly(workspace, tmp_path):
    batch = _upload(workspace, tmp_path, "kverneland_aef_conformance_empty_tlgs")
    assert batch["status"] == "FAILED"
    assert batch["statusDetails"].startswith("Files found but unable to read")
    for f in workspace.get_files(batchId=batch["id"], size=100):
        raw = workspace.get_file_status(f["id"])["rawGeojson"]
        assert raw["status"] == "failed" and "no usable record" in raw["message"]


def test_kverneland_position_jump_is_excluded_from_area(workspace, tmp_path):
    """A 2-minute seeding log jumps 2,264 km once (a 1,019 ha area before): the impossible
    steps are excluded and counted, and the area stays near the controller's 288 m²."""
    batch = _upload(workspace, tmp_path, "kverneland_imtpro_benchtest")
    (f,) = workspace.get_files(batchId=batch["id"], size=100)
    assert f["operationType"] == "planted"
    steps = workspace.get_file_status(f["id"])
    assert steps["areaAndYield"]["message"] == "ok"  # Leaf's; leafnb's text: detail
    assert steps["areaAndYield"]["detail"] == (
        "ok: 1 impossible position step (faster than the machine drives) excluded "
        "from distance and area"
    )
    rows = {
        r["key"]: r
        for r in workspace.get_file_summary(f["id"])["properties"]["machineTotals"]
    }
    area = rows["totalArea"]
    assert area["value"] == 288
    assert abs(area["allRecordsRelativeDifference"]) < 0.1  # model: -7.9 % (bench test)
