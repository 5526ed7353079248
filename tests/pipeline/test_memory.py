"""Freed memory goes back to the system (leafnb.pipeline.memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_BIG_BUFFERS = """
import numpy as np, pyarrow as pa
from leafnb.pipeline.memory import big_buffers_unpooled

def anon_mb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) // 1024

big_buffers_unpooled()
big_buffers_unpooled()  # once is enough; a second call changes nothing
assert pa.default_memory_pool().backend_name == "system"
pa.array(np.ones(10)).cast(pa.float32())  # the code paths, once
before = anon_mb()
kept = []
for i in range(40):  # 8 MB arrays freed among small ones that stay
    big = np.ones(1 << 20) * 2.0
    kept.append(np.ones(100))
    del big
after_numpy = anon_mb()
column = pa.array(np.arange(4 << 20, dtype=np.float64)).cast(pa.float32())
del column  # 16 MB from Arrow's pool
print(after_numpy - before, anon_mb() - before)
"""


def test_big_buffers_are_given_back_when_freed():
    """Without it, glibc's heap kept 8 MB here and Arrow's mimalloc 16 MB more."""
    # in a process of its own: the setting is the process's, for good
    out = subprocess.run(
        [sys.executable, "-c", _BIG_BUFFERS],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    numpy_kept, arrow_kept = map(int, out.stdout.split())
    assert numpy_kept < 4 and arrow_kept < 4, out.stdout


class _FakeLibc:
    def __init__(self) -> None:
        self.trims = 0

    def malloc_trim(self, pad: int) -> int:
        self.trims += 1
        return 1


def test_memory_is_released_only_from_a_big_process(monkeypatch):
    """A small process keeps what a step frees for the next; a big one gives it back."""
    from leafnb.pipeline import memory

    libc = _FakeLibc()
    monkeypatch.setattr(memory, "_libc", lambda: libc)
    monkeypatch.setattr(memory, "_UNPOOLED", False)
    resident = memory._resident()
    assert resident is not None and resident > 0
    monkeypatch.setattr(memory, "RELEASE_ABOVE", resident * 4)
    memory.release_memory()
    assert libc.trims == 0
    memory.release_memory(force=True)
    assert libc.trims == 1
    monkeypatch.setattr(memory, "_UNPOOLED", True)  # after a file read in ranges
    memory.release_memory()
    assert libc.trims == 2
    monkeypatch.setattr(memory, "_UNPOOLED", False)
    monkeypatch.setattr(memory, "RELEASE_ABOVE", resident // 4)
    memory.release_memory()
    assert libc.trims == 3
