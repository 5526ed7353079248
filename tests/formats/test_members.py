"""File references inside an upload resolve inside it, by plain name, to regular files only.

Issue 14 item 1/2: ``<TLG A="/abs/TLG00002">``, ``A="../../<other batch>/TLG00001"`` and
``<XFR A="/dev/stdin">`` converted (or blocked on) files outside the upload.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from leafnb.errors import LeafnbError, UnsafeReference
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.writer import DlvSpec, TimeLogSpec, write_taskdata
from leafnb.formats.members import check_member_name, find_member


def _log(name: str, n: int = 5) -> TimeLogSpec:
    t = 1_700_000_000_000 + np.arange(n) * 1000
    return TimeLogSpec(
        name=name,
        time_ms=t,
        lat=np.full(n, 52.0) + np.arange(n) * 1e-5,
        lon=np.full(n, 9.0),
        dlvs=[DlvSpec(ddi=0x54, values=np.full(n, 1000))],
    )


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../x", "a/b", "a\\b", "C:evil", "..", ".", "", "x\x00y", "  "],
)
def test_names_that_are_paths_are_refused(name):
    with pytest.raises(UnsafeReference, match="not a plain file name") as info:
        check_member_name(name, what="TLG reference")
    # the message repeats neither the reference nor a path
    if name.strip() not in ("", ".", ".."):
        assert name not in str(info.value)


def test_lookup_is_case_insensitive_and_regular_files_only(tmp_path):
    (tmp_path / "TLG00001.BIN").write_bytes(b"x")
    assert find_member(tmp_path, "tlg00001.bin").name == "TLG00001.BIN"
    os.mkfifo(tmp_path / "TLG00002.bin")
    (tmp_path / "target").write_bytes(b"x")
    os.symlink(tmp_path / "target", tmp_path / "TLG00003.bin")
    (tmp_path / "TLG00004.bin").mkdir()
    for name in ("TLG00002.bin", "TLG00003.bin", "TLG00004.bin", "TLG00005.bin"):
        assert find_member(tmp_path, name) is None


def _rewrite(taskdata, old, new):
    taskdata.write_text(taskdata.read_text().replace(old, new))


@pytest.mark.parametrize("kind", ["absolute", "traversal"])
def test_tlg_reference_outside_the_upload_is_refused(tmp_path, kind):
    other = tmp_path / "other_batch" / "TASKDATA"
    write_taskdata(other, [_log("TLG00001")])
    upload = tmp_path / "upload" / "TASKDATA"
    td = write_taskdata(upload, [_log("TLG00009")])
    shutil.rmtree(
        tmp_path / "other_batch" / "TASKDATA" / "__pycache__", ignore_errors=True
    )
    target = (
        str(other / "TLG00001")
        if kind == "absolute"
        else "../../other_batch/TASKDATA/TLG00001"
    )
    _rewrite(td, 'A="TLG00009"', f'A="{target}"')
    reader = IsoxmlReader()
    with pytest.raises(LeafnbError) as info:
        reader.read(td, part="TSK1")
    assert "not a plain file name" in str(info.value)
    assert str(tmp_path) not in str(info.value) and "other_batch" not in str(info.value)


def test_xfr_to_a_device_or_fifo_never_blocks(tmp_path):
    upload = tmp_path / "TASKDATA"
    td = write_taskdata(upload, [_log("TLG00001")])
    _rewrite(
        td, "</ISO11783_TaskData>", '<XFR A="/dev/stdin" B="1"/></ISO11783_TaskData>'
    )
    with pytest.raises(UnsafeReference):
        IsoxmlReader().read(td, part="TSK1")
    # a FIFO inside the upload with the referenced name is not a regular file: absent
    _rewrite(td, 'A="/dev/stdin"', 'A="EXT00001"')
    os.mkfifo(upload / "EXT00001.XML")
    raw = IsoxmlReader().read(
        td, part="TSK1"
    )  # returns instead of blocking on the FIFO
    assert raw.meta["record_count"] == 5
