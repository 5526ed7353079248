"""Detection of mixed, nested and repaired uploads, end to end through ``upload_batch``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from leafnb.formats.base import RawRead, Reader
from leafnb.formats.detect import detect, is_junk, provider_contradicts
from leafnb.formats.proprietary import READERS
from leafnb.keys import STATUS_DETAILS
from tests.conftest import SMS_CSV, make_zip

B = b"\x00placeholder"
GEN4_NAME = "gen4/JD-Data/log/a.jdl"  # from the nested gen4.zip
JUNK = {
    ".DS_Store": b"\x00\x00\x00\x01Bud1",
    "__MACOSX/RCD/._a.fdd": b"x",
    "Thumbs.db": b"x",
    "docs/manual.pdf": b"%PDF-1.4\n",
    "FieldOps.xml": b'<?xml version="1.0" standalone="yes"?>\n<NewDataSet><Table><Field>N</Field></Table></NewDataSet>',
    "FieldOps.tab": b"x",  # even with a .tab partner a .NET DataSet is not Raven FMIS
}


def _failed_raw_message(ws, fid):
    steps = ws.get_file_status(fid)
    assert steps["rawGeojson"]["status"] == "failed"
    assert all(
        s["status"] in ("skipped", "failed")
        for k, s in steps.items()
        if k not in ("originalFile", "rawGeojson")
    )
    return steps["rawGeojson"]["message"]


def test_is_junk():
    assert (
        is_junk(Path(".DS_Store"))
        and is_junk(Path("a/Thumbs.db"))
        and is_junk(Path("__MACOSX/x"))
    )
    assert not is_junk(Path("RCD/a.fdd"))


def test_junk_only_upload_creates_no_files(workspace, tmp_path):
    batch = workspace.upload_batch(make_zip(tmp_path / "junk.zip", JUNK), "g")
    assert (
        batch["status"] == "FAILED"
        and batch["statusDetails"] == STATUS_DETAILS["no_files"]
    )
    assert batch["leafFiles"] == []
    assert sorted(batch["ignoredEntries"]) == [
        "FieldOps.tab",
        "FieldOps.xml",
        "docs/manual.pdf",
    ]


def test_mixed_zip_split_and_explained(workspace, tmp_path):
    """A renamed, nested, mixed upload: one leaf file per dataset, each failing with its reason."""
    inner = make_zip(tmp_path / "inner.zip", {"JD-Data/log/a.jdl": B})
    entries = {
        "My Card/RCD/global.fdd": B,
        "My Card/RCD/global.fdl": B,
        "climate/harvest_2024.dat": B,
        "climate/field_map_2024.dat": B,
        "backup/Field.cn1/index.vy1": B,
        "backup/Field.cn1/f1.vy1": B,
        "AgData/Tasks/t.agt": B,
        "AgData/Fields/f.agf": B,
        "gen4.zip": inner,
        **JUNK,
    }
    batch = workspace.upload_batch(make_zip(tmp_path / "mixed.zip", entries), "g")
    assert batch["status"] == "FAILED"
    assert batch["statusDetails"] == STATUS_DETAILS["unreadable"]
    files = [workspace.get_file(fid) for fid in batch["leafFiles"]]
    by_name = {f["fileName"]: f for f in files}
    assert sorted(
        (f["fileName"], f["provider"], f["fileFormat"], f["operationType"])
        for f in files
    ) == [
        ("AgData/Tasks/t.agt", "Trimble", "TRIMBLE_AGDATA", None),
        ("My Card/RCD/global.fdd", "JohnDeere", "GS2", None),
        ("backup/Field.cn1/index.vy1", "CNHI", "CN1", None),
        ("climate/field_map_2024.dat", "ClimateFieldView", "CLIMATE_DAT", "planted"),
        ("climate/harvest_2024.dat", "ClimateFieldView", "CLIMATE_DAT", "harvested"),
        (GEN4_NAME, "JohnDeere", "GEN4", None),
    ]
    assert by_name["My Card/RCD/global.fdd"]["provider"] == "JohnDeere"
    for fid in batch["leafFiles"]:
        f = workspace.get_file(fid)
        assert f["status"] == "failed"
        msg = _failed_raw_message(workspace, fid)
        assert f"({f['fileFormat']}), recognised but not decodable by leafnb" in msg
        assert "leafnb reader plugin for" in msg
    assert sorted(batch["ignoredEntries"]) == [
        "FieldOps.tab",
        "FieldOps.xml",
        "docs/manual.pdf",
    ]
    status = workspace.get_batch_status(batch["id"])
    assert sorted(status["failed"]["rawGeojson"]["leafFiles"]) == sorted(
        batch["leafFiles"]
    )


def test_provider_parameter_contradicted_by_content(workspace, tmp_path):
    z = make_zip(tmp_path / "gs2.zip", {"RCD/global.fdd": B, "RCD/global.fdl": B})
    batch = workspace.upload_batch(z, "g", provider="AgLeader")
    (fid,) = batch["leafFiles"]
    f = workspace.get_file(fid)
    assert (f["provider"], f["fileFormat"]) == ("JohnDeere", "GS2")
    assert "'AgLeader' contradicts the content" in f["providerMismatch"]
    assert "JohnDeere GS2" in f["providerMismatch"]
    # the right provider (or auto-detect) records no mismatch
    for provider in ("JohnDeere", "Other"):
        fid = workspace.upload_batch(z, "g", provider=provider)["leafFiles"][0]
        assert "providerMismatch" not in workspace.get_file(fid)


def test_provider_contradicts():
    assert provider_contradicts("AgLeader", "JohnDeere")
    assert not provider_contradicts("Other", "JohnDeere")
    assert not provider_contradicts("Leaf", "JohnDeere")
    assert not provider_contradicts("AgLeader", None)
    assert not provider_contradicts("JohnDeere", "JohnDeere")
    assert not provider_contradicts(
        "PrecisionPlanting", "ClimateFieldView"
    )  # one family
    assert not provider_contradicts("ClimateFieldView", "PrecisionPlanting")


def test_convertible_and_recognised_only_in_one_upload(workspace, tmp_path):
    batch = workspace.upload_batch(
        make_zip(tmp_path / "m.zip", {"harvest.csv": SMS_CSV, "old/north.yld": B}), "g"
    )
    assert batch["status"] == "PROCESSED" and "statusDetails" not in batch
    status = {
        workspace.get_file(fid)["fileFormat"]: workspace.get_file(fid)["status"]
        for fid in batch["leafFiles"]
    }
    assert status == {"CSV": "processed", "YLD": "failed"}


class _Decoder(Reader):
    name = "better_fdd"
    provider = "JohnDeere"
    file_format = "GS2"
    extensions = (".fdd",)

    def __init__(self, score=0.9):
        self.score = score

    def sniff(self, path):
        return self.score

    def sidecars(self, path):  # a decoder plugin claims the rest of the card itself
        return [p for p in path.parent.iterdir() if p != path]

    def read(self, path, *, part=None, options=None):
        return RawRead(pa.table({"lon": [0.0], "lat": [0.0]}))


class _Broken(_Decoder):
    name = "broken"

    def sniff(self, path):
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("score", "winner"), [(0.9, "better_fdd"), (0.5, "jd_gs2"), (0.2, "jd_gs2")]
)
def test_higher_score_wins_ties_go_to_builtins(tmp_path, score, winner):
    (tmp_path / "RCD").mkdir()
    (tmp_path / "RCD" / "a.fdd").write_bytes(B)
    (tmp_path / "RCD" / "a.fdl").write_bytes(B)
    readers = {"jd_gs2": READERS["jd_gs2"](), "better_fdd": _Decoder(score)}
    det = detect(tmp_path, readers)
    assert [c.reader for c in det.candidates] == [winner]


def test_broken_sniffer_warns_and_detection_goes_on(tmp_path):
    (tmp_path / "a.fdd").write_bytes(B)
    with pytest.warns(UserWarning, match="broken"):
        det = detect(tmp_path, {"broken": _Broken(), "jd_gs2": READERS["jd_gs2"]()})
    assert [c.reader for c in det.candidates] == ["jd_gs2"]
