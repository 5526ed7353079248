"""Real JupyterLab driven by headless Chromium (Debian's ``/usr/bin/chromium``) through Playwright, offline.

- :func:`jupyter_lab` starts ``jupyter lab`` from this environment on 127.0.0.1 with a
  port the OS assigns (``--port=0``, read back from the server's runtime file: no
  free-port race), a random token, its own config/data/runtime/settings folders (nothing
  from the user's ``~/.jupyter``), and every online feature off: no news feed, no update
  check, the read-only extension manager.
- :class:`LabPage` drives one JupyterLab tab in Debian's headless Chromium
  (:class:`tests.ui.cdp.Chromium`: background services off, every host name but 127.0.0.1
  unresolvable) and records **the page's own requests** — the page target's network
  events, which never include Chromium's housekeeping traffic: the tests assert those stay
  on 127.0.0.1, whatever a given Chromium build does in the background.

Screenshots go to ``test-artifacts/screenshots/`` (gitignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.ui.cdp import Chromium
from tests.ui.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOOPBACK = ("127.0.0.1", "localhost")


def missing_requirements() -> str | None:
    """Why JupyterLab cannot be driven here (None when it can)."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    for module in ("jupyterlab", "notebook", "anywidget", "websocket"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    return None


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    app: str = "lab"
    """``lab`` (JupyterLab) or ``notebook`` (Notebook 7)."""

    def notebook_url(self, name: str) -> str:
        """URL opening notebook *name* (relative to :attr:`root`)."""
        path = "lab/tree" if self.app == "lab" else "notebooks"
        return f"{self.url}/{path}/{name}?token={self.token}"


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code *cells* with the Python 3 kernel."""
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))
    return path


@contextmanager
def jupyter_lab(
    root: Path, home: Path, app: str = "lab", timeout: float = 180
) -> Iterator[Lab]:
    """Run ``jupyter lab`` (or Notebook 7: *app* ``"notebook"``) serving *root*.

    Its config, data, runtime and settings files live under *home*.
    """
    token = secrets.token_hex(16)
    runtime = home / "runtime"
    settings = home / "user-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    # no "get news?" prompt, no news fetch
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false"})
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "IPYTHONDIR": str(home / "ipython"),
        # the kernel is this environment's python (its ipykernel spec says "python")
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("JUPYTER_PATH", None)
    log = home / "jupyter.log"
    module, cls = {
        "lab": ("jupyterlab", "LabApp"),
        "notebook": ("notebook", "JupyterNotebookApp"),
    }[app]
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
        f"--{cls}.expose_app_in_browser=True",
        f"--{cls}.user_settings_dir={settings}",
        f"--{cls}.workspaces_dir={home / 'workspaces'}",
    ]
    if app == "lab":  # Notebook 7 has no news feed or update check to turn off
        cmd += [
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its kernels and their workers: one group to stop
        )
    try:
        url = _wait_for_server(proc, runtime, token, log, timeout)
        yield Lab(url=url, token=token, root=root, process=proc, log=log, app=app)
    finally:
        _stop(proc)


def _wait_for_server(
    proc: subprocess.Popen, runtime: Path, token: str, log: Path, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    info = runtime / f"jpserver-{proc.pid}.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited ({proc.returncode}):\n{log.read_text()[-4000:]}"
            )
        if info.is_file():
            try:
                port = json.loads(info.read_text())["port"]
                url = f"http://127.0.0.1:{port}"
                with urllib.request.urlopen(
                    f"{url}/api/status?token={token}", timeout=5
                ) as r:
                    if r.status == 200:
                        return url
            except (OSError, ValueError, KeyError):
                pass
        time.sleep(0.2)
    raise RuntimeError(
        f"jupyter lab did not start in {timeout:.0f} s:\n{log.read_text()[-4000:]}"
    )


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server (it shuts its kernels down), then anything left in its process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(30)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(10)


class LabPage:
    """A JupyterLab tab in :class:`~tests.ui.cdp.Chromium`: open a notebook, run it, screenshot it.

    The page's requests are recorded from the start (DevTools ``Network`` domain); a test
    pauses the recording around a large transfer (:meth:`Chromium.record`), which is what
    keeps the transfer as fast as in a user's browser.
    """

    def __init__(self, browser: Chromium, lab: Lab):
        self.browser, self.lab = browser, lab

    @classmethod
    def open(cls, browser: Chromium, lab: Lab, notebook: str) -> LabPage:
        """Open *notebook* and wait until its kernel is idle."""
        self = cls(browser, lab)
        browser.record(True)
        browser.goto(lab.notebook_url(notebook))
        browser.wait_for(
            "(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; })()",
            timeout=180,
        )
        return self

    def run_all(self) -> None:
        """Run every cell of the open notebook."""
        self.browser.evaluate(
            "window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => true)"
        )

    def outside_requests(self) -> list[str]:
        """Recorded requests of the page to any host but the loopback (must be none)."""
        return [
            u
            for u in self.browser.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in LOOPBACK
        ]

    def screenshot(
        self, name: str, selector: str | None = None, index: int = 0
    ) -> Path:
        """Save ``test-artifacts/screenshots/<name>.png`` (the viewport, or one element)."""
        return self.browser.screenshot(SCREENSHOTS / f"{name}.png", selector, index)


def remove(path: Path) -> None:
    """Delete a file or folder (big test data must not outlive the test)."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
