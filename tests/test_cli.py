import json

import pytest

from leafnb.cli import DEFAULT_WORKSPACE, WORKSPACE_ENV, main
from tests.conftest import SMS_CSV, make_zip


def test_convert_json(tmp_path, harvest_csv_zip, capsys):
    code = main(
        [
            "convert",
            str(harvest_csv_zip),
            "--workspace",
            str(tmp_path / "ws"),
            "--create",
            "--json",
            "--leaf-user-id",
            "u",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["batch"]["status"] == "PROCESSED"
    (f,) = doc["files"]
    assert f["status_steps"]["summary"]["status"] == "processed"
    assert f["summary"]["properties"]["crop"] == ["corn"]
    assert f["units"]["speed"] == "mi/hr"


def test_convert_rejects_unsafe_zip(tmp_path, capsys):
    bad = tmp_path / "x.zip"
    bad.write_text("nope")
    assert (
        main(["convert", str(bad), "--workspace", str(tmp_path / "ws"), "--create"])
        == 2
    )
    assert "not a valid zip" in capsys.readouterr().err


# ---------------------------------------------------------------- version, inputs
def test_version(capsys):
    import leafnb

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"leafnb {leafnb.__version__}"


def test_convert_a_folder_each_dataset_once(tmp_path, capsys):
    card = tmp_path / "card"
    card.mkdir()
    (card / "harvest.csv").write_bytes(SMS_CSV)
    make_zip(card / "harvest.zip", {"export/harvest.csv": SMS_CSV})
    code = main(
        [
            "convert",
            str(card),
            "--workspace",
            str(tmp_path / "ws"),
            "--create",
            "--json",
        ]
    )
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert code == 0 and doc["batch"]["status"] == "PROCESSED"
    assert [f["fileName"] for f in doc["files"]] == ["harvest.csv"]
    assert doc["leftOut"] == [
        "harvest.zip: every dataset in it is already in the upload"
    ]
    assert "left out: harvest.zip" in out.err


def test_convert_one_file(tmp_path, capsys):
    csv = tmp_path / "harvest.csv"
    csv.write_bytes(SMS_CSV)
    code = main(["convert", str(csv), "--workspace", str(tmp_path / "ws"), "--create"])
    out = capsys.readouterr().out
    assert code == 0 and "PROCESSED" in out and "harvest.csv" in out
    # the temporary zip is gone; the workspace keeps its own copy
    assert csv.is_file() and not list(tmp_path.glob("harvest.zip"))


# ---------------------------------------------------------------- one workspace
@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(WORKSPACE_ENV, raising=False)
    return tmp_path


def test_every_subcommand_uses_the_default_workspace(in_tmp, harvest_csv_zip, capsys):
    assert main(["convert", str(harvest_csv_zip), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    default = in_tmp / DEFAULT_WORKSPACE
    assert doc["workspace"] == str(default) and (default / "catalog.sqlite").is_file()
    # report and token find it without being told
    assert main(["report", doc["batch"]["id"], "--output", str(in_tmp / "r")]) == 0
    assert (in_tmp / "r" / "report.html").is_file()
    assert main(["token", "create", "--owner", "carol"]) == 0
    from leafnb.server.auth import ServerStore

    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert ServerStore.for_workspace(default).verify_token(token) == "carol"


def test_workspace_from_the_environment(in_tmp, harvest_csv_zip, monkeypatch, capsys):
    ws = in_tmp / "season"
    monkeypatch.setenv(WORKSPACE_ENV, str(ws))
    # named by the variable and missing: an error, nothing created
    assert main(["convert", str(harvest_csv_zip)]) == 2
    err = capsys.readouterr().err
    assert f"${WORKSPACE_ENV}" in err and "--create" in err and not ws.exists()
    assert main(["convert", str(harvest_csv_zip), "--create", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workspace"] == str(ws)
    assert main(["token", "list"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "some-id"],
        ["token", "list"],
        ["serve"],
        ["convert", "x.zip"],
    ],
)
def test_a_mistyped_workspace_is_an_error(in_tmp, argv, capsys):
    typo = in_tmp / "my-seasn"
    assert main([*argv, "--workspace", str(typo)]) == 2
    err = capsys.readouterr().err
    assert f"{typo} (--workspace) does not exist" in err and "--create" in err
    assert not typo.exists()


def test_a_folder_that_is_not_a_workspace_is_an_error(in_tmp, capsys):
    (in_tmp / "docs").mkdir()
    assert main(["report", "x", "--workspace", str(in_tmp / "docs")]) == 2
    assert "is not a leafnb workspace (no catalog.sqlite)" in capsys.readouterr().err


def test_report_of_the_missing_default_workspace(in_tmp, capsys):
    assert main(["report", "x"]) == 2
    assert "the default workspace" in capsys.readouterr().err


def test_demo_is_self_contained(in_tmp, capsys):
    out = in_tmp / "demo"
    assert main(["demo", "--output", str(out)]) == 0
    assert (out / "report.html").is_file() and (
        out / "workspace" / "catalog.sqlite"
    ).is_file()
    assert "PROCESSED, 5 files" in capsys.readouterr().out
    assert not (
        in_tmp / DEFAULT_WORKSPACE
    ).exists()  # its own workspace, not the default
