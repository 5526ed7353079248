"""TASKDATA.XML is parsed once per upload, not once per task (issue 14, item 6)."""

from __future__ import annotations

import os
import re

import numpy as np

from leafnb.formats.detect import detect
from leafnb.formats.isoxml import taskdata
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.writer import write_taskdata
from tests.formats.isoxml.builders import DlvSpec, TimeLogSpec, track

TASKS = 2_000


def _many_tasks(folder):
    t, lat, lon = track(5)
    log = TimeLogSpec("TLG00001", t, lat, lon, dlvs=[DlvSpec(84, values=np.ones(5))])
    path = write_taskdata(folder, [log])
    text = path.read_text()
    task = re.search(r"  <TSK .*?</TSK>\n", text, re.S).group(0)
    tasks = "".join(
        task.replace('A="TSK1"', f'A="TSK{i}"') for i in range(1, TASKS + 1)
    )
    path.write_text(text.replace(task, tasks))
    return path


def test_taskdata_with_2000_tasks_is_parsed_once(tmp_path, monkeypatch):
    path = _many_tasks(tmp_path / "upload" / "TASKDATA")
    taskdata.clear_cache()
    calls = []
    original = taskdata.parse_xml
    monkeypatch.setattr(
        taskdata, "parse_xml", lambda p: calls.append(p.name) or original(p)
    )
    found = detect(tmp_path / "upload")
    assert len(found.candidates) == TASKS
    assert {c.operation_type for c in found.candidates} == {"harvested"}
    reader = IsoxmlReader()
    for part in ("TSK1", "TSK999", f"TSK{TASKS}"):
        assert reader.read(path, part=part).table.num_rows == 5
    assert calls == ["TASKDATA.XML"]
    # a changed file is parsed again
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert reader.parts(path)[-1] == f"TSK{TASKS}"
    assert calls == ["TASKDATA.XML", "TASKDATA.XML"]
