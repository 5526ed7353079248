"""Render live ipywidgets in headless Chromium from locally installed JavaScript (no CDN, no network).

The page is ``ipywidgets.embed.embed_data`` (widget state + view specs) in our own template:

- require.js and ``@jupyter-widgets/html-manager/dist/embed-amd.js`` (the widget manager, which
  defines ``@jupyter-widgets/base``/``controls``/``output``) come from ``tests/ui/js/node_modules``
  (``npm ci`` there; package-lock.json pins them);
- ``anywidget`` (the front end of leafnb's map, whose ES module travels with the widget
  state) is the AMD bundle the Python package ``anywidget`` ships as a classic-notebook
  extension (``anywidget/nbextension/index.js``), served the same way;
- ``jupyter-leaflet`` (ipyleaflet's front end) is the AMD bundle that the Python package
  ``jupyter-leaflet`` — installed with, and pinned by, ipyleaflet — ships as a classic-notebook
  extension (``share/jupyter/nbextensions/jupyter-leaflet/index.js``); a require.js ``paths`` entry
  points the manager's loader at it, so it never falls back to its CDN.

Everything is served by a 127.0.0.1 ``http.server`` in a thread. Nothing may leave the machine:

- the page's Content-Security-Policy allows its own origin only (plus ``data:``/``blob:``); the probe
  reports every violation as an error, so a CDN load fails the test;
- the manager's CDN fallback is pointed at the server (``data-jupyter-widgets-cdn="/_cdn/"``);
- Chromium gets the server as its proxy: loopback bypasses a proxy, so a request for any other host
  (Chromium's own services: time, accounts, search) reaches the server as a proxy request, is refused
  and recorded in :attr:`Render.external`.

A probe script in the page waits until the views are rendered and a test-given ``ready`` JavaScript
expression holds, runs a test-given ``collect`` function body, and POSTs its JSON result (with any
JavaScript errors) to the server; the screenshot is taken over DevTools once the probe has
answered (:func:`render`).
"""

from __future__ import annotations

import html
import http.server
import importlib.metadata
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.ui.conftest import CHROMIUM

JS_DIR = Path(__file__).resolve().parent / "js"
NODE_MODULES = JS_DIR / "node_modules"
REQUIRE_JS = NODE_MODULES / "requirejs" / "require.js"
EMBED_AMD = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js"
#: the page may load nothing but its own origin (violations are reported by the probe)
CSP = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:"


def leaflet_nbextension() -> Path | None:
    """Folder of the installed ``jupyter-leaflet`` AMD bundle (``index.js``), or None."""
    try:
        dist = importlib.metadata.distribution("jupyter-leaflet")
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.as_posix().endswith("share/jupyter/nbextensions/jupyter-leaflet/index.js"):
            path = Path(dist.locate_file(f)).resolve()
            return path.parent if path.is_file() else None
    return None


def anywidget_nbextension() -> Path | None:
    """Folder of the installed ``anywidget`` AMD bundle (``index.js``), or None.

    anywidget's front end loads a widget's ES module from a ``blob:`` URL (allowed by
    :data:`CSP`), so no other file is fetched.
    """
    try:
        import anywidget
    except ImportError:
        return None
    folder = Path(anywidget.__file__).resolve().parent / "nbextension"
    return folder if (folder / "index.js").is_file() else None


def missing_requirements() -> str | None:
    """Why the widget pages cannot be rendered here (None when they can)."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not (REQUIRE_JS.is_file() and EMBED_AMD.is_file()):
        return f"widget JavaScript not installed: run `npm ci` in {JS_DIR}"
    if leaflet_nbextension() is None:
        return "the jupyter-leaflet nbextension (installed with ipyleaflet) is missing"
    return None


_PROBE = r"""
(function () {
  const errors = [];
  window.addEventListener("error", (e) => errors.push("error: " + (e.message || e.type)));
  document.addEventListener("securitypolicyviolation", (e) =>
    errors.push("blocked by CSP: " + e.blockedURI + " (" + e.violatedDirective + ")"));
  window.addEventListener("unhandledrejection", (e) =>
    errors.push("unhandled rejection: " + ((e.reason && (e.reason.stack || e.reason.message)) || e.reason)));
  const consoleError = console.error;
  console.error = (...args) => { errors.push("console.error: " + args.map(String).join(" ")); consoleError.apply(console, args); };
  const ready = () => { %(ready)s };
  const collect = async () => { %(collect)s };
  const started = performance.now();
  function rendered() {
    return [...document.querySelectorAll("[data-leafnb-view]")].every(
      (v) => v.querySelector(".widget-subarea > *") !== null);
  }
  function send(result) {
    fetch("/_probe", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(result)});
  }
  function poll() {
    let ok = false;
    try { ok = rendered() && !!ready(); } catch (e) { errors.push("ready(): " + e); }
    const waited = performance.now() - started;
    if (!ok && waited < %(timeout_ms)d) { setTimeout(poll, 100); return; }
    // two frames so that layout and SVG paths are final before measuring
    requestAnimationFrame(() => requestAnimationFrame(() => {
      // collect() may return a Promise (a test that interacts with the page)
      Promise.resolve().then(collect).then(
        (data) => send({ready: ok, waited_ms: waited, errors: errors, data: data}),
        (e) => { errors.push("collect(): " + (e.stack || e)); send({ready: ok, waited_ms: waited, errors: errors, data: null}); });
    }));
  }
  window.addEventListener("DOMContentLoaded", poll);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>{title}</title>
<meta http-equiv="Content-Security-Policy" content="{csp}">
<link rel="icon" href="data:,">
<script>{probe}</script>
<script src="/requirejs/require.js"></script>
<script>require.config({{paths: {{"jupyter-leaflet": "/_leaflet/index", "anywidget": "/_anywidget/index"}}}});</script>
<script src="/@jupyter-widgets/html-manager/dist/embed-amd.js" data-jupyter-widgets-cdn="/_cdn/"></script>
<style>body {{ margin: 8px; font-family: sans-serif; }}</style>
</head>
<body>
<script type="application/vnd.jupyter.widget-state+json">
{state}
</script>
{views}
</body>
</html>
"""


def widget_page(
    views: dict[str, Any],
    ready: str = "return true;",
    collect: str = "return null;",
    title: str = "leafnb panels",
    timeout_ms: int = 60000,
) -> str:
    """HTML embedding *views* (name → widget) in ``<div id="view-NAME" data-leafnb-view>`` blocks.

    *ready* and *collect* are JavaScript function bodies: the probe polls ``ready`` (after every
    view rendered) for at most *timeout_ms*, then posts ``collect()``'s JSON-able result. The
    limit is generous on purpose: a ready page answers at once, and a loaded CI machine
    must not turn a slow first paint into a failure.
    """
    from ipywidgets.embed import dependency_state, embed_data

    widgets = list(views.values())
    # the full state, as a kernel sends it when it opens a widget: anywidget's ``_esm``
    # is a trait default, which a "drop defaults" embedding would leave out
    data = embed_data(
        views=widgets, state=dependency_state(widgets, drop_defaults=False)
    )
    blocks = "\n".join(
        f'<div id="view-{html.escape(name)}" data-leafnb-view>'
        f'<script type="application/vnd.jupyter.widget-view+json">{json.dumps(spec)}</script></div>'
        for name, spec in zip(views, data["view_specs"], strict=True)
    )
    # "</" cannot occur inside a <script> element (HTML, widget values)
    state = json.dumps(data["manager_state"]).replace("</", "<\\/")
    probe = _PROBE % {"ready": ready, "collect": collect, "timeout_ms": timeout_ms}
    return _PAGE.format(
        title=html.escape(title), csp=CSP, probe=probe, state=state, views=blocks
    )


@dataclass
class Render:
    """What one Chromium run of a widget page produced."""

    png: Path
    probe: dict[str, Any] | None
    requests: list[tuple[str, int]] = field(default_factory=list)
    """``(path, status)`` of every loopback request served."""
    external: list[str] = field(default_factory=list)
    """Requests for any other host, refused by the proxy: Chromium's own services (the page's
    Content-Security-Policy already blocks the page from other origins)."""
    seconds: float = 0.0
    console_errors: list[str] = field(default_factory=list)
    """``console.error`` messages the page logged (DevTools)."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, list[Path]]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = sorted(routes.items(), key=lambda kv: -len(kv[0]))
        self.requests: list[tuple[str, int]] = []
        self.external: list[str] = []
        self.probe: dict[str, Any] | None = None
        self.probe_received = threading.Event()


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _Server

    def _is_external(self) -> bool:
        # a proxy request names an absolute URI (or CONNECTs for https)
        if self.command == "CONNECT" or not self.path.startswith("/"):
            self.server.external.append(f"{self.command} {self.path}")
            self.send_error(403, "leafnb UI tests: no network beyond 127.0.0.1")
            return True
        return False

    def do_CONNECT(self) -> None:
        self._is_external()

    def do_GET(self) -> None:
        if not self._is_external():
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._is_external():
            super().do_HEAD()

    def do_POST(self) -> None:
        if self._is_external():
            return
        if self.path != "/_probe":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.probe = json.loads(body)
        self.send_response(204)
        self.end_headers()
        self.server.probe_received.set()

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, roots in self.server.routes:
            if path.startswith(prefix):
                for root in roots:
                    target = (root / path[len(prefix) :]).resolve()
                    # stay inside the route's folders
                    if target.is_relative_to(root.resolve()) and target.exists():
                        return str(target)
                break
        return str(Path("/nonexistent"))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        self.server.requests.append(
            (self.path, int(code) if str(code).isdigit() else 0)
        )

    def log_message(self, format: str, *args: Any) -> None:
        pass


def render(
    page_html: str,
    workdir: Path,
    width: int = 1200,
    height: int = 1400,
    timeout_s: float = 120,
) -> Render:
    """Serve *page_html* on 127.0.0.1, open it in headless Chromium, return the probe, requests and a screenshot.

    Chromium is driven over DevTools (:class:`tests.ui.cdp.Chromium`) in real time: the
    screenshot is taken once the page has posted its probe result, however long a busy
    machine takes to get there (at most *timeout_s*). (``--virtual-time-budget`` with
    ``--screenshot`` raced: virtual time could run through the probe's whole wait before a
    loaded machine drew one frame.)
    """
    from tests.ui.cdp import Chromium

    workdir.mkdir(parents=True, exist_ok=True)
    page_dir = workdir / "page"
    page_dir.mkdir(exist_ok=True)
    (page_dir / "index.html").write_text(page_html, encoding="utf-8")
    leaflet = leaflet_nbextension()
    # the page at the root, next to the node modules: the manager's icon fonts are page-relative
    routes = {"/": [page_dir, NODE_MODULES]}
    if leaflet is not None:
        routes["/_leaflet/"] = [leaflet]
    anywidget_js = anywidget_nbextension()
    if anywidget_js is not None:
        routes["/_anywidget/"] = [anywidget_js]
    server = _Server(routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    png = workdir / "shot.png"
    png.unlink(missing_ok=True)
    start = time.perf_counter()
    errors: list[str] = []
    try:
        with Chromium(
            workdir / "profile",
            width=width,
            height=height,
            extra_args=(f"--proxy-server=http://127.0.0.1:{port}",),
        ) as browser:
            browser.goto(f"http://127.0.0.1:{port}/index.html")
            # the probe posts when the page is ready, or when its own wait is over
            if server.probe_received.wait(timeout_s):
                browser.screenshot(png)
            errors = browser.console_errors
    finally:
        server.shutdown()
        server.server_close()
    return Render(
        png=png,
        probe=server.probe,
        requests=list(server.requests),
        external=list(server.external),
        seconds=time.perf_counter() - start,
        console_errors=errors,
    )
