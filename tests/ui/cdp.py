"""A small Chrome DevTools Protocol client for Debian's headless Chromium (no browser download).

Why not Playwright: it keeps the DevTools ``Network`` domain enabled for the page's whole
life, and with it Chromium copies every WebSocket frame, base64-encoded, to the driver —
a 1 GB upload through the kernel's WebSocket became half as fast and twice the CPU. Here
``Network`` is on only while the test records the page's requests (:meth:`Chromium.record`),
so a transfer runs as it would in a user's browser.

The page's own requests are told apart from Chromium's: ``Network.requestWillBeSent``
events of the page's target are the page's; Chromium's housekeeping (updates, time,
accounts) belongs to no page and never shows up there. Whatever Chromium does, nothing
leaves the machine anyway: every host name but 127.0.0.1 is unresolvable
(``--host-resolver-rules``).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from tests.ui.conftest import CHROMIUM

__all__ = ["CHROMIUM_ARGS", "Chromium", "JavaScriptError"]

#: Chromium switches: headless, no GPU, no sandbox (root in CI), no background services,
#: and no name resolution beyond the loopback
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


class JavaScriptError(RuntimeError):
    """An expression evaluated in the page threw."""


class Chromium:
    """One headless Chromium with one page, driven over its DevTools WebSocket.

    Use as a context manager; :meth:`goto`, :meth:`evaluate`, :meth:`wait_for`,
    :meth:`set_files`, :meth:`screenshot`; :attr:`requests` holds the page's requests
    seen while :meth:`record` was on.
    """

    def __init__(
        self,
        profile: Path,
        width: int = 1280,
        height: int = 1800,
        timeout: float = 60,
        extra_args: tuple[str, ...] = (),
    ):
        self.profile = profile
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self._ids = itertools.count(1)
        if profile.exists():
            shutil.rmtree(profile)
        profile.mkdir(parents=True)
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                *CHROMIUM_ARGS,
                *extra_args,
                "--remote-debugging-port=0",  # the OS picks; Chromium writes it down
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._ws = websocket.create_connection(
                self._page_socket(timeout), timeout=timeout, suppress_origin=True
            )
            self.call("Page.enable")
            self.call("Runtime.enable")
            # a headless page has no focus, and JupyterLab's current widget follows focus
            self.call("Emulation.setFocusEmulationEnabled", enabled=True)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop Chromium."""
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def _page_socket(self, timeout: float) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited ({self.process.returncode})")
            if port_file.is_file() and port_file.read_text().strip():
                port = port_file.read_text().split()[0]
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/json/list", timeout=5
                    ) as r:
                        pages = [t for t in json.load(r) if t["type"] == "page"]
                except OSError:
                    pages = []
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise RuntimeError(f"chromium gave no DevTools page in {timeout:.0f} s")

    # ------------------------------------------------------------------ protocol
    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events met meanwhile are handled)."""
        msg_id = next(self._ids)
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg: dict[str, Any]) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.console_errors.append(
                " ".join(
                    str(a.get("value", a.get("description", "")))
                    for a in params["args"]
                )
            )

    def record(self, on: bool) -> None:
        """Start/stop recording the page's requests (the DevTools Network domain)."""
        self.call("Network.enable" if on else "Network.disable")

    # ------------------------------------------------------------------ page
    def goto(self, url: str) -> None:
        """Navigate the page to *url*."""
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise JavaScriptError(
                details.get("exception", {}).get("description") or details.get("text")
            )
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 120) -> Any:
        """Poll *expression* until it is truthy; return its value (a bounded wait, not a measurement)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except JavaScriptError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true after {timeout:.0f} s: {expression}")
            time.sleep(0.2)

    def set_files(self, selector: str, paths: list[Path], index: int = 0) -> None:
        """Choose *paths* in the *index*-th ``<input type=file>`` matching *selector* (fires ``change``)."""
        self.evaluate(
            f"window.__leafnbInput = document.querySelectorAll({json.dumps(selector)})[{index}]"
        )
        obj = self.call("Runtime.evaluate", expression="window.__leafnbInput")
        self.call(
            "DOM.setFileInputFiles",
            files=[str(p) for p in paths],
            objectId=obj["result"]["objectId"],
        )

    def screenshot(
        self, path: Path, selector: str | None = None, index: int = 0
    ) -> Path:
        """Save a PNG of the viewport, or of the *index*-th element matching *selector*."""
        params: dict[str, Any] = {"format": "png"}
        if selector:
            box = self.evaluate(
                f"""(() => {{
                  const el = document.querySelectorAll({json.dumps(selector)})[{index}];
                  el.scrollIntoView({{block: "start"}});
                  const r = el.getBoundingClientRect();
                  // what is visible of it (JupyterLab scrolls inside its own panels)
                  const y = Math.max(r.y, 0), h = Math.min(r.bottom, innerHeight) - y;
                  return {{x: r.x, y: y, width: r.width, height: Math.max(h, 1), scale: 1}};
                }})()"""
            )
            params.update(clip=box)
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
