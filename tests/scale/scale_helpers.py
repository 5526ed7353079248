"""Module-level functions for worker processes (importable by spawned children)."""

from __future__ import annotations

import os

from leafnb.pipeline.steps import FileJob, FileOutcome, convert_file


def crash_on_marker(job: FileJob) -> FileOutcome:
    """convert_file, except that a file whose name contains 'crash' kills its worker process."""
    if "crash" in os.path.basename(job.path):
        os._exit(13)
    return convert_file(job)


def raise_on_marker(job: FileJob) -> FileOutcome:
    """convert_file, except that a file whose name contains 'crash' raises outside any step."""
    if "crash" in os.path.basename(job.path):
        raise MemoryError("simulated")
    return convert_file(job)


def pid_outcome(job: FileJob) -> FileOutcome:
    """No conversion: the outcome names the process that ran the job."""
    return FileOutcome(facts={"pid": os.getpid()})


def exit_now(job: object) -> FileOutcome:
    """Kill the worker process at once (a crash in a native library, an OOM kill)."""
    os._exit(13)
