"""Benchmark: what creating a small file costs on a file system (kernel CPU per call).

    python benchmarks/bench_fs_creates.py [DIR ...]   (default: the temp dir and /dev/shm)

A batch of small machine files is mostly file creations: each file gets a folder and
its artifacts (``docs/performance.md``, "a file's folder holds four files"). Per
folder given, 600 of each (in 100 fresh subfolders, as a batch's ``files/<id>/``): an
empty file created, 1 kB written, 15 kB written, 1 kB written under a temporary name
and renamed (an artifact's atomic write), a folder made. Prints wall and kernel
(``os.times().system``) microseconds per call. Asserts nothing; the numbers drift with
the machine (8× within an hour here).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

N = 600


def _empty(d: str, i: int) -> None:
    open(f"{d}/d{i // 6}/f{i}", "wb").close()


def _small(d: str, i: int) -> None:
    with open(f"{d}/d{i // 6}/f{i}", "wb") as f:
        f.write(b"x" * 1000)


def _page(d: str, i: int) -> None:
    with open(f"{d}/d{i // 6}/f{i}", "wb") as f:
        f.write(b"x" * 15000)


def _renamed(d: str, i: int) -> None:
    with open(f"{d}/d{i // 6}/.t{i}", "wb") as f:
        f.write(b"x" * 1000)
    os.rename(f"{d}/d{i // 6}/.t{i}", f"{d}/d{i // 6}/f{i}")


def _folder(d: str, i: int) -> None:
    os.mkdir(f"{d}/m{i}")


def bench(base: str, name: str, fn: Callable[[str, int], None]) -> str:
    d = tempfile.mkdtemp(dir=base)
    try:
        for i in range(N // 6):
            os.mkdir(f"{d}/d{i}")
        c, t = os.times(), time.perf_counter()
        for i in range(N):
            fn(d, i)
        c2, wall = os.times(), time.perf_counter() - t
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return (
        f"| {base} | {name} | {wall / N * 1e6:.0f} | "
        f"{(c2.system - c.system) / N * 1e6:.0f} |"
    )


def main(argv: list[str]) -> None:
    bases = argv or [tempfile.gettempdir(), "/dev/shm"]
    print("| folder | call | wall µs | kernel CPU µs |\n|---|---|---|---|")
    for base in bases:
        if not os.path.isdir(base):
            continue
        for name, fn in (
            ("create (empty)", _empty),
            ("create + 1 kB", _small),
            ("create + 15 kB", _page),
            ("create + 1 kB + rename", _renamed),
            ("mkdir", _folder),
        ):
            print(bench(base, name, fn), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
