"""A batch keeps its upload once; originals and raw tables are made on request (issue 18, issue 16).

The facts checked come from outside leafnb's output: the bytes of the zip's entries
(read with :mod:`zipfile`) and the reader called directly on a copy of the original.
"""

from __future__ import annotations

import json
import threading
import time
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from leafnb import Workspace
from leafnb.errors import OriginalUnavailable
from leafnb.formats.registry import get_reader
from leafnb.leafwire import artifact_file, ensure_artifact
from leafnb.pipeline.executors import crash_outcome
from leafnb.pipeline.originals import EXTRACTED, restore
from leafnb.pipeline.steps import FileJob
from leafnb.store.artifacts import read_points_table
from tests.conftest import REPO, SMS_CSV, make_zip

SAMPLE = REPO / "sample_data"


@pytest.fixture
def season(tmp_path):
    """A zip of a CSV, a shapefile (with its sidecars) and an ISOXML TASKDATA in folders."""
    entries: dict[str, bytes | Path] = {"csv/harvest.csv": SMS_CSV}
    for p in sorted(SAMPLE.glob("jd_planting_corn*")):
        entries[f"shp/{p.name}"] = p
    for p in sorted((SAMPLE / "isoxml" / "TASKDATA").iterdir()):
        entries[f"iso/TASKDATA/{p.name}"] = p
    return make_zip(tmp_path / "season.zip", entries)


@pytest.fixture
def converted(tmp_path, season):
    ws = Workspace(tmp_path / "ws", executor="inline")
    batch = ws.upload_batch(season, "g", progress=False)
    assert batch["status"] == "PROCESSED", ws.get_batch_status(batch["id"])
    files = {ws.get_file(f)["fileFormat"]: ws.get_file(f) for f in batch["leafFiles"]}
    return ws, batch, files


def _doc(ws: Workspace, file_id: str) -> dict:
    row = ws.catalog.query("SELECT doc FROM files WHERE id=?", (file_id,))[0]
    return json.loads(row["doc"])


def _member(zip_path: Path, original: str) -> tuple[str, bytes]:
    """(entry name, bytes) of the zip entry an original path was extracted from."""
    rel = original.split(f"/{EXTRACTED}/", 1)[1]
    with zipfile.ZipFile(zip_path) as zf:
        return rel, zf.read(rel)


def test_extracted_is_gone_after_a_batch_and_only_the_upload_is_kept(converted, season):
    ws, batch, files = converted
    bdir = ws.path / "batches" / batch["id"]
    assert not (bdir / EXTRACTED).exists()
    assert (bdir / "upload.zip").read_bytes() == season.read_bytes()
    assert not list((ws.path / "files").rglob("raw.parquet"))
    for f in files.values():
        # the links stay: the original and the raw table are made when asked for
        assert f["downloadOriginalFile"] and f["rawGeoparquet"] and f["rawGeojson"]
        steps = ws.get_file_status(f["id"])
        assert steps["rawGeojson"]["status"] == "processed"
        assert steps["rawGeojson"]["detail"].startswith(f"ok: {f['recordCount']} ")


def test_original_file_is_extracted_again_with_the_uploaded_bytes(converted, season):
    ws, batch, files = converted
    for f in files.values():
        rel, data = _member(season, f["originalFile"])
        assert ensure_artifact(f["originalFile"]).read_bytes() == data, rel
    # only the folders of the datasets asked for were extracted, nothing else
    extracted = ws.path / "batches" / batch["id"] / EXTRACTED
    assert sorted(p.parent.name for p in extracted.rglob("*") if p.is_file()) == sorted(
        ["csv"] + ["shp"] * 6 + ["TASKDATA"] * 3
    )


def test_one_files_original_extracts_only_its_folder(converted, season):
    ws, batch, files = converted
    f = files[next(k for k in files if "shape" in k.lower())]
    with artifact_file(f["originalFile"]) as path:
        assert path.read_bytes() == _member(season, f["originalFile"])[1]
        assert sorted(p.name for p in path.parent.iterdir()) == sorted(
            p.name for p in SAMPLE.glob("jd_planting_corn*")
        )
        assert not (path.parent.parent / "csv").exists()
        tmp = path.parent.parent
    assert not tmp.exists()  # a private extraction is deleted after use
    assert not (ws.path / "batches" / batch["id"] / EXTRACTED).exists()


def test_raw_tables_made_on_request_are_the_readers_tables(converted, season, tmp_path):
    ws, _batch, files = converted
    options = dict(ws.get_config("g"))
    for f in files.values():
        doc = _doc(ws, f["id"])
        # the reader called directly on a copy of the original taken from the zip
        rel = f["originalFile"].split(f"/{EXTRACTED}/", 1)[1]
        with zipfile.ZipFile(season) as zf:
            folder = str(Path(rel).parent)
            zf.extractall(
                tmp_path / "own",
                [n for n in zf.namelist() if n.startswith(folder + "/")],
            )
        expected = (
            get_reader(doc["reader"])
            .read(tmp_path / "own" / rel, part=doc.get("part"), options=options)
            .table
        )
        # read as leafnb stores points (lon/lat live in the native geometry column)
        raw, _ = read_points_table(ensure_artifact(f["rawGeoparquet"]))
        assert raw.schema.equals(expected.schema, check_metadata=False)
        # NaN where the reader has NaN (a time log's first delta), exact elsewhere
        pd.testing.assert_frame_equal(
            raw.to_pandas(), expected.to_pandas(), check_exact=True
        )
        assert raw.num_rows == f["recordCount"]
        geo = json.loads(ensure_artifact(f["rawGeojson"]).read_text())
        assert len(geo["features"]) == expected.num_rows
        assert [ft["geometry"]["coordinates"] for ft in geo["features"][:50]] == [
            list(xy)
            for xy in zip(
                expected.column("lon").to_pylist()[:50],
                expected.column("lat").to_pylist()[:50],
                strict=True,
            )
        ]


def test_retry_and_reprocess_work_after_extracted_is_gone(tmp_path):
    bad = SMS_CSV.replace(b",18.5,", b",0,")  # every point fails cleanup
    z = make_zip(tmp_path / "mixed.zip", {"good.csv": SMS_CSV, "bad.csv": bad})
    ws = Workspace(tmp_path / "ws", executor="inline")
    batch = ws.upload_batch(z, "g", progress=False)
    bdir = ws.path / "batches" / batch["id"]
    by_name = {ws.get_file(f)["fileName"]: f for f in batch["leafFiles"]}
    assert ws.get_file(by_name["bad.csv"])["status"] == "failed"
    assert not (bdir / EXTRACTED).exists()
    # a retry extracts the upload again, converts, and deletes it again
    ws.set_config({"cleanupStandardGeojson": False}, leaf_user_id="g")
    ws.retry_batch(batch["id"])
    assert ws.get_file(by_name["bad.csv"])["status"] == "processed"
    assert not (bdir / EXTRACTED).exists()
    # a reprocess with a new column mapping reads the original again with it
    f = ws.reprocess_file(
        by_name["good.csv"],
        column_mapping={"Swth Wdth(ft)": {"property": "equipmentWidth", "unit": "m"}},
    )
    assert f["status"] == "processed"
    assert f["columnMapping"]["columns"]["Swth Wdth(ft)"]["unit"] == "m"
    assert not (bdir / EXTRACTED).exists()
    raw = pq.read_table(ensure_artifact(f["rawGeoparquet"]))
    assert raw.num_rows == 40


def test_a_failed_re_extraction_gives_a_clear_message(converted, tmp_path):
    ws, batch, files = converted
    f = next(iter(files.values()))
    upload = ws.path / "batches" / batch["id"] / "upload.zip"
    upload.write_bytes(upload.read_bytes()[:200])  # truncated on disk
    with pytest.raises(OriginalUnavailable, match="could not be extracted again"):
        ensure_artifact(f["originalFile"])
    with pytest.raises(OriginalUnavailable, match="could not be extracted again"):
        ensure_artifact(f["rawGeoparquet"])
    ws.reprocess_file(f["id"])
    steps = ws.get_file_status(f["id"])
    assert steps["originalFile"]["status"] == "failed"
    assert "could not be extracted again" in steps["originalFile"]["message"]
    got = ws.get_batch(batch["id"])
    assert got["status"] == "PROCESSED"  # the other files keep their results
    assert "could not be extracted again" in got["statusDetails"]
    upload.unlink()
    with pytest.raises(OriginalUnavailable, match=r"upload \(upload.zip\) is missing"):
        ensure_artifact(f["originalFile"])
    assert ws.get_file(f["id"])["downloadOriginalFile"] is None


def test_a_hostile_upload_is_refused_again_when_extracted_again(converted):
    """A stored upload swapped for a zip bomb is refused by the same limits."""
    from tests.fuzz import zips

    ws, batch, files = converted
    f = next(iter(files.values()))
    upload = ws.path / "batches" / batch["id"] / "upload.zip"
    zips.zeros_zip(upload, {"csv/harvest.csv": 80 * 2**20})  # 80 MB of zeros
    with pytest.raises(OriginalUnavailable, match="zip bomb"):
        ensure_artifact(f["originalFile"])
    extracted = ws.path / "batches" / batch["id"] / EXTRACTED
    assert not any(p.is_file() for p in extracted.rglob("*"))
    assert not list(upload.parent.glob(".extract-*"))


def test_concurrent_restores_of_one_folder_do_not_corrupt_each_other(converted, season):
    ws, batch, files = converted
    f = files[next(k for k in files if "shape" in k.lower())]
    bdir = ws.path / "batches" / batch["id"]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(folder: str | None) -> None:
        try:
            barrier.wait(30)
            restore(bdir, folder)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(x,)) for x in ("shp", "shp", None, "csv")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with zipfile.ZipFile(season) as zf:
        for name in zf.namelist():
            assert (bdir / EXTRACTED / name).read_bytes() == zf.read(name), name
    assert not list(bdir.glob(".extract-*"))
    assert Path(f["originalFile"]).is_file()


def test_crash_outcome_tells_how_far_a_conversion_got_without_the_raw_table(tmp_path):
    original = tmp_path / "a.csv"
    original.write_bytes(SMS_CSV)
    job = FileJob("f", "csv", str(original), None, str(tmp_path / "files" / "f"), {})
    steps = [(s.step, s.status) for s in crash_outcome(job, "boom").steps[:3]]
    assert steps == [
        ("originalFile", "processed"),
        ("rawGeojson", "failed"),
        ("normalizedGeojson", "skipped"),
    ]
    (tmp_path / "files" / "f").mkdir(parents=True)
    (tmp_path / "files" / "f" / "raw.json").write_text("{}")
    steps = [(s.step, s.status) for s in crash_outcome(job, "boom").steps[:3]]
    assert steps == [
        ("originalFile", "processed"),
        ("rawGeojson", "processed"),
        ("normalizedGeojson", "failed"),
    ]


def test_raw_json_is_written_once_the_original_was_read(tmp_path, monkeypatch):
    """A worker dying inside the reader (GDAL on a broken file) must fail rawGeojson.

    ``raw.json`` (how the raw table is read again) is written after the read: while
    the read runs, and after one that failed, the folder says the read did not happen
    (and an earlier conversion's ``raw.json`` is gone).
    """
    from leafnb.pipeline.steps import convert_file
    from leafnb.store.layout import RAW_SOURCE

    original = tmp_path / "a.csv"
    original.write_bytes(SMS_CSV)
    out = tmp_path / "files" / "f"
    job = FileJob("f", "csv", str(original), None, str(out), {})
    assert not convert_file(job).failed
    assert json.loads((out / RAW_SOURCE).read_text())["reader"] == "csv"
    seen = []
    reader = type(get_reader("csv"))

    def dying(self, path, part=None, options=None):
        seen.append((out / RAW_SOURCE).exists())
        raise MemoryError("the worker would die here")

    monkeypatch.setattr(reader, "read", dying)
    outcome = convert_file(job)  # converted again: the earlier raw.json goes first
    assert seen == [False] and not (out / RAW_SOURCE).exists()
    assert [(s.step, s.status) for s in outcome.steps[:2]] == [
        ("originalFile", "processed"),
        ("rawGeojson", "failed"),
    ]
    steps = [(s.step, s.status) for s in crash_outcome(job, "died").steps[:2]]
    assert steps == [("originalFile", "processed"), ("rawGeojson", "failed")]


def test_discard_renames_extracted_away_at_once_and_deletes_it_in_the_background(
    tmp_path, monkeypatch
):
    """The batch sees no ``extracted/`` when discard returns; the files go after."""
    from leafnb.pipeline import originals

    bdir = tmp_path / "b"
    (bdir / EXTRACTED / "TASKDATA").mkdir(parents=True)
    (bdir / EXTRACTED / "TASKDATA" / "TLG00001.bin").write_bytes(b"x" * 100)
    started, release = threading.Event(), threading.Event()
    real_remove = originals.remove_tree

    def slow_remove(path):
        started.set()
        release.wait(30)  # the deletion is held until the test has looked
        real_remove(path)

    monkeypatch.setattr(originals, "remove_tree", slow_remove)
    originals.discard(bdir)
    assert not (bdir / EXTRACTED).exists()
    assert started.wait(30)
    (trash,) = bdir.glob(".discarded-*")  # being deleted: the sweep leaves it
    assert originals.sweep(bdir) == []
    assert trash.exists()
    release.set()
    originals.wait_deleted()
    assert not trash.exists()
    assert sorted(p.name for p in bdir.iterdir()) == [".originals.lock"]


def test_sweep_removes_a_discarded_folder_a_killed_process_left(tmp_path):
    from leafnb.pipeline import originals

    leftover = tmp_path / ".discarded-0123" / "TASKDATA"
    leftover.mkdir(parents=True)
    (leftover / "TLG00001.bin").write_bytes(b"x")
    assert originals.sweep(tmp_path) == [tmp_path / ".discarded-0123"]
    assert not (tmp_path / ".discarded-0123").exists()


def test_a_forked_child_does_not_wait_for_the_parent_s_deletions(tmp_path, monkeypatch):
    import os

    from leafnb.pipeline import originals

    release = threading.Event()
    real_remove = originals.remove_tree
    monkeypatch.setattr(
        originals, "remove_tree", lambda p: (release.wait(30), real_remove(p))
    )
    (tmp_path / "old").mkdir()
    originals.delete_later(tmp_path / "old")  # held: still pending when we fork
    pid = os.fork()
    if pid == 0:  # the child: its wait returns at once, then it exits
        originals.wait_deleted()
        os._exit(0)
    try:
        for _ in range(300):  # 30 s at most: a child waiting for the parent never ends
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child waited for the parent's deletions")
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
    originals.wait_deleted()
    assert not (tmp_path / "old").exists()
