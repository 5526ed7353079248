"""A third-party decoder registered under ``leafnb.readers`` replaces a recognised-only format."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import tomllib
from pathlib import Path

import pytest

import leafnb
from leafnb.formats.registry import ENTRY_POINT_GROUP
from tests.conftest import make_zip

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "plugin_acme"
T0 = int(dt.datetime(2024, 10, 1, 12, tzinfo=dt.UTC).timestamp() * 1000)


def _records(n=40):
    # lon, lat, epoch ms, wet mass lb, moisture %, width ft, distance ft, elevation ft
    return [
        (
            -93.6 + i * 0.00003,
            42.0,
            T0 + i * 1000,
            55.0 + i % 5,
            18.5,
            30.0,
            4.4,
            900.0 + i % 3,
        )
        for i in range(n)
    ]


@pytest.fixture
def acme_plugin(tmp_path, monkeypatch):
    """Install the fixture plugin as if pip had: a dist-info with the entry points of its pyproject."""
    project = tomllib.loads((FIXTURE / "pyproject.toml").read_text())["project"]
    eps = project["entry-points"][ENTRY_POINT_GROUP]
    site = tmp_path / "site"
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
    )
    monkeypatch.syspath_prepend(str(FIXTURE))  # the package itself, importable in place
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    leafnb.refresh_readers()
    yield importlib.import_module("leafnb_acme.reader")
    monkeypatch.undo()
    for mod in [
        m for m in sys.modules if m == "leafnb_acme" or m.startswith("leafnb_acme.")
    ]:
        del sys.modules[mod]
    importlib.invalidate_caches()
    leafnb.refresh_readers()


def _yld_zip(tmp_path: Path, data: bytes) -> Path:
    return make_zip(
        tmp_path / "yld.zip", {"PF3000/North 40.yld": data, ".DS_Store": b"x"}
    )


def _yld_bytes(tmp_path: Path) -> bytes:
    """The toy .yld bytes, encoded by the plugin's own writer (imported without installing it)."""
    sys.path.insert(0, str(FIXTURE))
    try:
        from leafnb_acme.reader import encode

        return encode(_records())
    finally:
        sys.path.remove(str(FIXTURE))
        for mod in [m for m in sys.modules if m.startswith("leafnb_acme")]:
            del sys.modules[mod]


def test_without_plugin_yld_is_recognised_not_decodable(workspace, tmp_path):
    leafnb.refresh_readers()
    assert "acme_yld" not in leafnb.list_readers()
    batch = workspace.upload_batch(_yld_zip(tmp_path, _yld_bytes(tmp_path)), "g")
    assert batch["status"] == "FAILED"
    assert batch["statusDetails"].startswith("Files found but unable to read")
    (fid,) = batch["leafFiles"]
    f = workspace.get_file(fid)
    assert (f["provider"], f["fileFormat"], f["operationType"], f["status"]) == (
        "AgLeader",
        "YLD",
        "harvested",
        "failed",
    )
    steps = workspace.get_file_status(fid)
    assert steps["rawGeojson"]["status"] == "failed"
    assert steps["rawGeojson"]["message"] == (
        "'North 40.yld' is an Ag Leader PF Advantage/PF3000/YM2000 yield monitor file (YLD), recognised but "
        "not decodable by leafnb: export the data as ISOXML or shapefile from Ag Leader SMS, "
        "or install a leafnb reader plugin for 'agleader_yld'."
    )


def test_plugin_decodes_yld_end_to_end(acme_plugin, workspace, tmp_path):
    readers = leafnb.list_readers()
    assert type(readers["acme_yld"]).__name__ == "AcmeYldReader"
    assert (
        readers["agleader_yld"].decodes is False
    )  # the built-in stays, the plugin outbids it
    batch = workspace.upload_batch(
        _yld_zip(tmp_path, acme_plugin.encode(_records())), "g"
    )
    assert batch["status"] == "PROCESSED", workspace.get_file_status(
        batch["leafFiles"][0]
    )
    (fid,) = batch["leafFiles"]
    f = workspace.get_file(fid)
    assert (f["provider"], f["fileFormat"], f["operationType"], f["status"]) == (
        "AgLeader",
        "YLD",
        "harvested",
        "processed",
    )
    assert f["recordCount"] == 40
    steps = workspace.get_file_status(fid)
    assert all(s["status"] == "processed" for s in steps.values()), steps
    props = workspace.get_file_summary(fid)["properties"]
    assert props["crop"] == ["corn"]
    assert props["totalArea"]["value"] == pytest.approx(40 * 4.4 * 30 * 0.09290304)
    gdf = workspace.points(fid)
    assert len(gdf) == 40 and {
        "wetMass",
        "harvestMoisture",
        "equipmentWidth",
        "elevation",
    } <= set(gdf.columns)


def test_plugin_uninstalled_again():
    leafnb.refresh_readers()
    assert "acme_yld" not in leafnb.list_readers()
