"""The HTML report and exports (library code the panels and ``leafnb report`` call)."""

from __future__ import annotations

import pytest

from leafnb.cli import main
from leafnb.errors import InvalidRequest, NotFound
from leafnb.report import (
    export,
    histogram_svg,
    legend_html,
    resolve,
    steps_table_html,
    write_report,
)

LEAF_COLOURS = (
    "#C80000",
    "#FF2800",
    "#FF9600",
    "#FFF000",
    "#00E600",
    "#00BE00",
    "#008200",
)


def test_batch_report_is_self_contained(converted, tmp_path):
    ws, batch, _fid = converted
    path = write_report(ws, batch["id"], tmp_path / "rep")
    text = path.read_text()
    assert text.count("data:image/png;base64,") == 2  # one map per processed file
    assert "src='http" not in text and "<script" not in text
    for colour in LEAF_COLOURS:
        assert colour in text
    assert "cleanupGeojson" in text and "totalArea" in text and "<svg" in text


def test_report_legend_is_the_quantile_legend(converted, tmp_path):
    legend_mod = pytest.importorskip("leafnb.render.legend")
    ws, _, fid = converted
    text = write_report(ws, fid, tmp_path / "rep").read_text()
    values = ws.load_points(fid).array("dryVolumePerArea")
    legend = legend_mod.quantile_legend(values, k=7)
    assert (
        legend_html(
            legend.ranges,
            ws.get_file_units(fid)["dryVolumePerArea"],
            "dryVolumePerArea",
        )
        in text
    )


def test_report_of_operation(with_operation, tmp_path):
    ws, op_id = with_operation
    text = write_report(ws, op_id, tmp_path / "op").read_text()
    assert "leafnb operation report" in text and "data:image/png;base64," in text


def test_resolve_and_errors(converted, tmp_path):
    ws, batch, fid = converted
    assert resolve(ws, batch["id"])[0] == "batch" and resolve(ws, fid)[0] == "file"
    with pytest.raises(NotFound, match="not a batch, file or operation"):
        resolve(ws, "nope")
    with pytest.raises(InvalidRequest, match="'xls' is not a valid export"):
        export(ws, fid, "xls", tmp_path)
    with pytest.raises(InvalidRequest, match="a batch exports only as html"):
        export(ws, batch["id"], "csv", tmp_path)


def test_csv_export(converted, tmp_path):
    ws, _, fid = converted
    path = export(ws, fid, "csv", tmp_path)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:2] == ["lon", "lat"] and "dryVolumePerArea" in header
    assert len(path.read_text().splitlines()) == len(ws.load_points(fid)) + 1


def test_html_pieces():
    html = steps_table_html(
        {"rawGeojson": {"status": "failed", "message": "bad <bytes>"}}
    )
    assert "✖" in html and "#c62828" in html and "bad &lt;bytes&gt;" in html
    assert histogram_svg([float("nan")]) == "<i>no values</i>"
    assert histogram_svg(list(range(100)), bins=10).count("<rect") == 10


def test_cli_report(converted, tmp_path, capsys, monkeypatch):
    ws, _batch, fid = converted
    assert (
        main(
            [
                "report",
                fid,
                "--workspace",
                str(ws.path),
                "--output",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert (tmp_path / "r" / "report.html").is_file()
    assert "report:" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main(["report", "nope", "--workspace", str(ws.path)]) == 2
    assert "NotFound" in capsys.readouterr().err
    assert not (tmp_path / "report_nope").exists()  # nothing left behind
    assert main(["report", fid, "--workspace", str(tmp_path / "empty")]) == 2
