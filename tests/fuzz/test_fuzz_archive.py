"""Fuzz target: safe extraction of mutated zips (issue 14: fuzzing in CI, bounded).

Every input is a seed of ``tests/fuzz/corpus/archive`` with random byte edits
(:mod:`tests.fuzz.mutate`); ``LEAFNB_FUZZ_EXAMPLES`` examples, derandomized. Properties:

* :func:`inspect_zip` and :func:`extract_zip` raise nothing but
  :class:`~leafnb.errors.InvalidRequest` (``UnsafeArchive`` included): no crash, no
  ``OSError``/``struct.error``/``zlib.error`` escaping as a server fault;
* a refused or failed extraction leaves nothing behind;
* a successful one wrote only regular files and folders inside the destination, at most
  the upload's budget in total (nested zips included), within the entry limit.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from hypothesis import given

from leafnb.errors import InvalidRequest
from leafnb.formats.archive import ExtractLimits, extract_zip, inspect_zip
from tests.fuzz.mutate import FUZZ_SETTINGS, mutated, seeds

SEEDS = seeds("archive", ".zip")
#: small limits, so budgets, counts and depth are crossed by the seeds themselves
LIMITS = ExtractLimits(
    ratio_floor=1024 * 1024, max_ratio=50, max_entries=64, max_depth=3
)


def test_the_corpus_is_there():
    assert len(SEEDS) >= 20, sorted(SEEDS)


@FUZZ_SETTINGS
@given(data=mutated(list(SEEDS.values())))
def test_extraction_of_mutated_zips_is_safe(data):
    with tempfile.TemporaryDirectory() as tmp:
        upload, dest = Path(tmp) / "upload.zip", Path(tmp) / "out"
        upload.write_bytes(data)
        with contextlib.suppress(InvalidRequest):
            inspect_zip(upload, LIMITS)
        try:
            report = extract_zip(upload, dest, LIMITS)
        except InvalidRequest:
            assert not os.path.lexists(dest)
            return
        budget = LIMITS.budget(len(data))
        assert report.total_bytes <= report.written <= budget
        assert report.entries <= LIMITS.max_entries
        on_disk = 0
        for root, dirs, files in os.walk(dest):
            for name in dirs + files:
                path = Path(root) / name
                mode = os.lstat(path).st_mode
                assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), path
                assert path.resolve().is_relative_to(dest.resolve())
                if stat.S_ISREG(mode):
                    on_disk += os.lstat(path).st_size
        assert on_disk == report.total_bytes
        assert sorted(report.files) == sorted(p for p in dest.rglob("*") if p.is_file())
