"""Named points of the batch pipeline where a crash test can freeze a process.

Crash recovery is tested by killing a real process (``kill -9``) at a known point of
its work. To make that deterministic, the pipeline calls :func:`checkpoint` at named
points; when the environment variable ``LEAFNB_PAUSE_AT`` names that point, the process
(or pool worker) appends its pid to the file named by ``LEAFNB_PAUSE_FILE`` and then
sleeps forever, so the test knows it is there and kills it. Without the variable a
checkpoint is one dictionary look-up. Never set it in production.

Points (in pipeline order):

``extract``
    after the first file of an upload is written (extraction half done);
``detect``
    after extraction, before the batch's files are recorded;
``convert``
    in the process converting a file, before it starts (a pool worker when the batch
    runs on worker processes);
``record``
    after the first file's outcome is recorded, before the batch settles.

Examples
--------
>>> checkpoint("extract")  # LEAFNB_PAUSE_AT unset: returns at once
"""

from __future__ import annotations

import os
import time

__all__ = ["PAUSE_AT", "PAUSE_FILE", "POINTS", "checkpoint"]

PAUSE_AT = "LEAFNB_PAUSE_AT"
PAUSE_FILE = "LEAFNB_PAUSE_FILE"
POINTS = ("extract", "detect", "convert", "record")


def checkpoint(name: str) -> None:
    """Freeze this process here when ``LEAFNB_PAUSE_AT == name`` (crash tests only)."""
    if os.environ.get(PAUSE_AT) != name:
        return
    path = os.environ.get(PAUSE_FILE)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    while True:  # until killed
        time.sleep(3600)
