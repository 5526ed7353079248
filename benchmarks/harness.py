"""What the benchmark scripts share: a baseline source tree, fresh-process children, peak RSS.

A baseline is ``git archive <ref>`` unpacked into a folder, with the TLG kernel built in
this checkout copied in. A child is a fresh ``python -c`` that puts a source tree first
on ``sys.path``, imports a benchmark module and prints the JSON of one of its
functions; each measurement thus sees only its own imports and memory. With
:func:`installed_env` it runs as an installed package does: its modules compiled once.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "benchmarks"


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mb(pid: int) -> dict[int, float]:
    """Resident memory (MB) of *pid* and of each of its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    out: dict[int, float] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        out[p] = rss.get(p, 0) / 2**20
        todo.extend(children.get(p, []))
    return out


def baseline_tree(ref: str, where: Path) -> Path:
    """The source tree of *ref* (``git archive``) in *where*, with this checkout's TLG kernel."""
    root = where / f"baseline-{ref}"
    root.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    for so in (REPO / "leafnb" / "formats" / "isoxml").glob("_tlgkernel*.so"):
        shutil.copy(so, root / "leafnb" / "formats" / "isoxml" / so.name)
    return root


def child_command(root: Path, module: str, function: str, *args) -> list[str]:
    """The command that prints ``module.function(*args)`` as JSON with *root*'s leafnb."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(root)!r}); "
        f"sys.path.insert(1, {str(HERE)!r}); import {module} as b; "
        f"print(json.dumps(b.{function}(*{list(args)!r})))"
    )
    return [sys.executable, "-c", code]


def run_child(root: Path, module: str, function: str, *args) -> dict:
    """Run :func:`child_command` in *root* and return its JSON (raise with its stderr)."""
    res = subprocess.run(
        child_command(root, module, function, *args),
        capture_output=True,
        text=True,
        cwd=root,
    )
    if res.returncode != 0:
        raise RuntimeError(f"{function} in {root} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_installed(
    root: Path, module: str, function: str, *args, watch: bool = False
) -> dict:
    """:func:`run_child` as an installed package runs (:func:`installed_env`).

    With *watch*, the child's process tree (its workers, a cluster's processes) is
    sampled from /proc every 0.2 s and the JSON gets ``peak_tree_mb`` (the largest sum)
    and ``peak_process_mb`` (the largest single process).

    The file system's pending writes are flushed first (``os.sync``): a child before
    may have written and deleted gigabytes (a 10M-record log's outputs, a season's
    extraction), whose write-back and discards would otherwise land in this child's
    time — most of all in a batch of small files, which is file creations.
    """
    os.sync()
    proc = subprocess.Popen(
        child_command(root, module, function, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env=installed_env(root),
    )
    peak = {"peak_tree_mb": 0.0, "peak_process_mb": 0.0}

    def sample() -> None:
        while proc.poll() is None:
            rss = tree_rss_mb(proc.pid)
            peak["peak_tree_mb"] = max(peak["peak_tree_mb"], sum(rss.values()))
            peak["peak_process_mb"] = max(
                peak["peak_process_mb"], max(rss.values(), default=0.0)
            )
            time.sleep(0.2)

    if watch:
        threading.Thread(target=sample, daemon=True).start()
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{function} in {root} failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    return {**res, **peak} if watch else res


def installed_env(root: Path) -> dict[str, str]:
    """The environment of a child that imports *root*'s leafnb as an installed package would.

    pip compiles a package's modules when it installs it; a checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` (as this machine's shells are) compiles every module
    it imports again in every process — 0.3 s for leafnb, counted in a child's time.
    So *root*'s modules are compiled here, and the child may use them.
    """
    compileall.compile_dir(root / "leafnb", quiet=1)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
