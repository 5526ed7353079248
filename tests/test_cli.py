import json

from leafnb.cli import main


def test_convert_json(tmp_path, harvest_csv_zip, capsys):
    code = main(
        [
            "convert",
            str(harvest_csv_zip),
            "--workspace",
            str(tmp_path / "ws"),
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
    assert main(["convert", str(bad), "--workspace", str(tmp_path / "ws")]) == 2
    assert "not a valid zip" in capsys.readouterr().err
