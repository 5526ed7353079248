"""Hostile uploads: TASKDATA.XML is parsed once per upload, not once per task (issue 14,
item 6); the numpy time-log decoder stays linear, skipped records are counted as
records, and notes stay bounded (item 7).

Linearity is asserted on work, not time: the positions the numpy framer examines with
its vectorised tests (speculative walk and resynchronisation windows) are counted, and
must stay within a constant times the file size when the file doubles.
"""

from __future__ import annotations

import os
import re
import struct

import numpy as np
import pytest

from leafnb.errors import CorruptFile
from leafnb.formats.detect import detect
from leafnb.formats.isoxml import taskdata, tlg
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.tlg import MAX_SKIP_NOTES, decode_tlg, parse_tlg_header
from leafnb.formats.isoxml.writer import (
    DlvSpec,
    TimeLogSpec,
    write_taskdata,
    write_tlg,
)
from tests.formats.isoxml.builders import track

T0 = 1_700_000_000_000


def _log(folder, n, *, n_dlv=4, logged="AB", step_ms=1000, seed=0):
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(n, dtype=np.int64) * step_ms
    lat = 54.5 + np.cumsum(rng.uniform(0, 1e-5, n))
    lon = 10.2 + np.cumsum(rng.uniform(0, 1e-5, n))
    dlvs = [DlvSpec(0xE000 + i, values=rng.integers(0, 1000, n)) for i in range(n_dlv)]
    xml, binp = write_tlg(folder, TimeLogSpec("TLG00001", t, lat, lon, dlvs, logged))
    return xml, binp


def _record_size(n_dlv=4, logged="AB"):
    sizes = {"A": 4, "B": 4, "C": 4, "D": 1, "E": 2, "F": 2, "G": 1, "H": 4, "I": 2}
    return 6 + sum(sizes[a] for a in logged) + 1 + 5 * n_dlv


def _bad_indices(binp, every, n_dlv=4):
    data = bytearray(binp.read_bytes())
    size = _record_size(n_dlv)
    for start in range(0, len(data), size * every):
        data[start + size - 5 * n_dlv] = 200  # the first pair's DLV index
    binp.write_bytes(bytes(data))


class _Work:
    """Positions the numpy framer tests at once (speculation steps, resync windows)."""

    def __init__(self, monkeypatch):
        self.positions = 0
        for name in ("bad_index", "_plausible_vec"):
            original = getattr(tlg._Framer, name)

            def counted(framer, q, *rest, _original=original):
                self.positions += len(q)
                return _original(framer, q, *rest)

            monkeypatch.setattr(tlg._Framer, name, counted)


def _decode(binp, header, kernel=False):
    try:
        return decode_tlg(binp, header, kernel=kernel)
    except CorruptFile as exc:
        return exc


def _same(a, b):
    if isinstance(a, Exception):
        assert str(a) == str(b)
        return
    assert (a.n, a.n_framed, a.skipped, a.notes) == (
        b.n,
        b.n_framed,
        b.skipped,
        b.notes,
    )


@pytest.mark.parametrize(
    "case",
    ["bad_indices", "new_day_every_record", "garbage"],
)
def test_numpy_fallback_work_is_linear(tmp_path, monkeypatch, case):
    work = {}
    for n in (3_000, 6_000):
        folder = tmp_path / str(n)
        if case == "bad_indices":  # the 200 kB log that took 148 s
            xml, binp = _log(folder, n)
            _bad_indices(binp, every=3)
        elif case == "new_day_every_record":
            xml, binp = _log(folder, n, step_ms=86_400_000 + 1)
            _bad_indices(binp, every=50)
        else:
            xml, _ = _log(folder, 2)
            binp = folder / "TLG00001.bin"
            rng = np.random.default_rng(n)
            binp.write_bytes(rng.integers(0, 256, n * 35, dtype=np.uint8).tobytes())
        header = parse_tlg_header(xml)
        counter = _Work(monkeypatch)
        numpy_result = _decode(binp, header)
        monkeypatch.undo()
        work[n] = counter.positions / binp.stat().st_size
        if tlg.kernel_available():
            _same(numpy_result, _decode(binp, header, kernel=True))
    assert work[6_000] < 1.3 * work[3_000] + 1  # per byte: constant, not growing
    assert work[6_000] < 200  # positions examined per byte of input


def test_skipped_counts_records_not_resynchronisations(tmp_path):
    """A header declaring nine position fields over a three-field binary: every record
    is lost and reported as such (it used to report 1)."""
    n, n_dlv = 2_000, 26
    rng = np.random.default_rng(3)
    t, lat, lon = T0 + np.arange(n) * 1000, np.full(n, 54.5), np.full(n, 10.2)
    dlvs = [
        DlvSpec(0xE000 + i, values=rng.integers(-(2**31), 2**31 - 1, n),
                present=rng.random(n) < 0.5)
        for i in range(n_dlv)
    ]  # fmt: skip
    xml, binp = write_tlg(tmp_path, TimeLogSpec("TLG00001", t, lat, lon, dlvs, "ABD"))
    header = parse_tlg_header(xml)
    wrong = tlg.TlgHeader(header.name, tuple("ABCDEFGHI"), {}, header.dlvs)
    result = _decode(binp, wrong)
    assert isinstance(result, CorruptFile)
    skipped = int(str(result).split(" skipped")[0].rsplit(" ", 1)[1])
    assert 0.8 * n <= skipped <= 1.2 * n
    if tlg.kernel_available():
        _same(result, _decode(binp, wrong, kernel=True))


def test_bad_records_counted_exactly_and_notes_capped(tmp_path):
    n = 6_000
    xml, binp = _log(tmp_path, n)
    _bad_indices(binp, every=3)  # 2,000 records with an out-of-range DLV index
    header = parse_tlg_header(xml)
    log = decode_tlg(binp, header, kernel=False)
    assert log.n == 4_000 and log.skipped == 2_000
    assert len(log.notes) == MAX_SKIP_NOTES + 1
    more = 2_000 - MAX_SKIP_NOTES
    assert log.notes[-1] == f"... and {more} more passed-over stretches (not listed)"
    if tlg.kernel_available():
        _same(log, decode_tlg(binp, header, kernel=True))


def test_time_of_day_out_of_range_passes_over_exactly_one_record(tmp_path):
    xml, binp = _log(tmp_path, 100)
    data = bytearray(binp.read_bytes())
    data[_record_size() * 10 : _record_size() * 10 + 4] = struct.pack("<I", 90_000_000)
    binp.write_bytes(bytes(data))
    log = decode_tlg(binp, parse_tlg_header(xml), kernel=False)
    assert log.n == 99 and log.skipped == 1


# --------------------------------------------------------------------------------------
# item 6: one parse per upload

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
