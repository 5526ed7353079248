"""leafnb.inputs: a zip, a folder or one machine file as the zip to upload, each dataset once."""

from __future__ import annotations

import zipfile

import pytest

from leafnb.errors import InvalidRequest
from leafnb.inputs import dataset_files, prepare_upload, zip_folder
from leafnb.testing import make_points, write_as
from tests.conftest import SMS_CSV, make_zip

OTHER_CSV = SMS_CSV.replace(b",Corn\n", b",Soybeans\n")


def names(path):
    with zipfile.ZipFile(path) as zf:
        return sorted(zf.namelist())


def test_zip_is_uploaded_as_it_is(harvest_csv_zip):
    up = prepare_upload(harvest_csv_zip)
    assert up.path == harvest_csv_zip and not up.temporary and up.skipped == []
    up.cleanup()
    assert harvest_csv_zip.is_file()  # never the user's own zip


@pytest.mark.parametrize("source", ["", "   "])
def test_empty_source_is_refused(source):
    with pytest.raises(InvalidRequest, match="give the path"):
        prepare_upload(source)


def test_missing_source_is_refused(tmp_path):
    with pytest.raises(InvalidRequest, match="does not exist"):
        prepare_upload(tmp_path / "nope")


def test_folder_with_files_and_their_zip_holds_each_dataset_once(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    (card / "harvest.csv").write_bytes(SMS_CSV)
    (card / "readme.txt").write_text("field notes")
    make_zip(card / "harvest.zip", {"export/harvest.csv": SMS_CSV})
    up = prepare_upload(card)
    assert up.temporary and up.path.name == "card.zip"
    assert names(up.path) == ["harvest.csv", "readme.txt"]
    assert up.skipped == ["harvest.zip: every dataset in it is already in the upload"]
    up.cleanup()
    assert not up.path.exists()


def test_identical_copies_under_other_names_are_one_dataset(tmp_path):
    card = tmp_path / "card"
    (card / "a").mkdir(parents=True)
    (card / "a" / "harvest.csv").write_bytes(SMS_CSV)
    (card / "harvest (1).csv").write_bytes(SMS_CSV)
    (card / "soy.csv").write_bytes(OTHER_CSV)
    up = prepare_upload(card, tmp_path / "out")
    assert not up.temporary
    assert names(up.path) == ["a/harvest.csv", "soy.csv"]
    assert up.skipped == ["harvest (1).csv: same content as a dataset already in"]


def test_zip_with_some_new_datasets_contributes_only_those(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    (card / "corn.csv").write_bytes(SMS_CSV)
    make_zip(card / "season.zip", {"corn.csv": SMS_CSV, "soy.csv": OTHER_CSV})
    up = prepare_upload(card, tmp_path / "out")
    assert names(up.path) == ["corn.csv", "season/soy.csv"]
    assert up.skipped == ["season.zip/corn.csv: same content as a dataset already in"]


def test_zip_of_only_new_datasets_goes_in_unchanged(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    (card / "corn.csv").write_bytes(SMS_CSV)
    inner = make_zip(card / "soy.zip", {"soy.csv": OTHER_CSV})
    up = prepare_upload(card, tmp_path / "out")
    assert names(up.path) == ["corn.csv", "soy.zip"]
    with zipfile.ZipFile(up.path) as zf:
        assert zf.read("soy.zip") == inner.read_bytes()
    assert up.skipped == []


def test_shapefiles_sharing_a_prj_are_two_datasets(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    write_as(make_points("harvested", 50, seed=1), "sms_shapefile", card, name="north")
    write_as(make_points("harvested", 50, seed=2), "sms_shapefile", card, name="south")
    prj = sorted(card.glob("*.prj"))
    assert len(prj) == 2 and prj[0].read_bytes() == prj[1].read_bytes()
    up = prepare_upload(card, tmp_path / "out")
    assert up.skipped == []
    assert names(up.path) == sorted(p.name for p in card.iterdir())


def test_a_shapefile_repeated_in_a_zip_is_left_out(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    write_as(make_points("harvested", 50, seed=1), "sms_shapefile", card, name="north")
    parts = {p.name: p for p in card.iterdir()}
    make_zip(card / "north.zip", {f"x/{n}": p for n, p in parts.items()})
    up = prepare_upload(card, tmp_path / "out")
    assert names(up.path) == sorted(parts)
    assert up.skipped == ["north.zip: every dataset in it is already in the upload"]


def test_one_file_is_zipped_with_its_sidecars(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write_as(
        make_points("harvested", 50, seed=1), "sms_shapefile", folder, name="north"
    )
    (folder / "other.csv").write_bytes(SMS_CSV)
    shp = folder / "north.shp"
    assert {p.name for p in dataset_files(shp)} == {
        p.name for p in folder.glob("north.*")
    }
    up = prepare_upload(shp)
    assert up.temporary and names(up.path) == sorted(
        p.name for p in folder.glob("north.*")
    )
    up.cleanup()
    csv = prepare_upload(folder / "other.csv")
    assert names(csv.path) == ["other.csv"]
    csv.cleanup()


def test_a_broken_zip_in_the_folder_is_an_error(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    (card / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InvalidRequest, match=r"bad\.zip is not a valid zip"):
        prepare_upload(card)


def test_zip_folder_leaves_out_readme_scripts_and_litter(tmp_path):
    folder = tmp_path / "sample"
    (folder / "__MACOSX").mkdir(parents=True)
    (folder / "README.md").write_text("#")
    (folder / "make.py").write_text("")
    (folder / ".DS_Store").write_bytes(b"")
    (folder / "__MACOSX" / "._x").write_bytes(b"")
    (folder / "harvest.csv").write_bytes(SMS_CSV)
    assert names(zip_folder(folder, tmp_path / "s.zip")) == ["harvest.csv"]


def test_uploaded_folder_converts_each_dataset_once(workspace, tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    (card / "harvest.csv").write_bytes(SMS_CSV)
    make_zip(card / "harvest.zip", {"harvest.csv": SMS_CSV})
    # without deduplication the batch has two leaf files with the same points
    twice = workspace.upload_batch(zip_folder(card, tmp_path / "all.zip"), "g")
    assert len(twice["leafFiles"]) == 2
    up = prepare_upload(card)
    once = workspace.upload_batch(up.path, "g")
    up.cleanup()
    assert once["status"] == "PROCESSED" and len(once["leafFiles"]) == 1
