"""Entries of one level written by several threads: the same files, the same bounds (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.errors import UnsafeArchive
from leafnb.formats import archive
from leafnb.formats.archive import MB, ExtractLimits, extract_zip
from tests.conftest import make_zip
from tests.fuzz import zips


def _entries(n: int) -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    return {
        f"d{i % 3}/f{i:03d}.bin": rng.bytes(int(rng.integers(0, 300_000)))
        for i in range(n)
    }


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_every_thread_count_writes_the_same_files_in_archive_order(
    tmp_path, monkeypatch, threads
):
    entries = _entries(40)
    inner = make_zip(tmp_path / "inner.zip", {"x/y.txt": b"inner"})
    z = make_zip(tmp_path / "up.zip", {**entries, "card/inner.zip": inner})
    monkeypatch.setattr(archive, "EXTRACT_THREADS", threads)
    seen = []
    report = extract_zip(z, tmp_path / "out", on_file=seen.append)
    names = [p.relative_to(tmp_path / "out").as_posix() for p in report.files]
    assert names == [*entries, "card/inner/x/y.txt"]
    for name, data in entries.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    assert report.total_bytes == sum(map(len, entries.values())) + len(b"inner")
    assert sorted(map(str, seen)) == sorted(
        str(tmp_path / "out" / n)
        for n in [*entries, "card/inner.zip", "card/inner/x/y.txt"]
    )


def test_endless_entries_on_every_thread_stop_at_the_budget(tmp_path, monkeypatch):
    # readers that never stop (CPython's stop at the declared size): the shared
    # counter is the last line, whichever thread crosses it
    monkeypatch.setattr(archive, "EXTRACT_THREADS", 3)
    z = make_zip(tmp_path / "a.zip", {f"f{i}.bin": b"\0" * 1000 for i in range(6)})
    zips.endless_entries(monkeypatch)
    on_disk = []
    real = archive._copy_member

    def spy(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        finally:
            on_disk.append(args[5].written)  # the shared count after each entry

    monkeypatch.setattr(archive, "_copy_member", spy)
    with pytest.raises(UnsafeArchive, match=r"stopped after .* and removed"):
        extract_zip(z, tmp_path / "out", ExtractLimits(ratio_floor=4 * MB))
    assert on_disk and max(on_disk) <= 4 * MB
    assert not (tmp_path / "out").exists()
