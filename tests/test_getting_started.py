"""What README promises a new user: ``./run demo``, ``./run lab``, ``./run test``, and the extras behind them."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUN = (ROOT / "run").read_text()
README = (ROOT / "README.md").read_text()


def _name(requirement: str) -> str:
    return (
        re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
    )


def _extra(name: str) -> set[str]:
    """Distribution names an extra installs (self-references such as ``leafnb[widgets]`` resolved)."""
    out: set[str] = set()
    for req in PYPROJECT["project"]["optional-dependencies"][name]:
        if _name(req) == "leafnb":
            for inner in re.search(r"\[(.*)\]", req).group(1).split(","):
                out |= _extra(inner.strip())
        else:
            out.add(_name(req))
    return out


def _case(command: str) -> str:
    """The body of ``./run COMMAND``."""
    return re.search(rf"\n  {command}\)\n(.*?)\n    ;;", RUN, re.S).group(1)


def test_run_lab_opens_the_quickstart_notebook():
    body = _case("lab")
    assert "setup lab" in body and 'jupyter lab "$QUICKSTART"' in body
    quickstart = re.search(r"\nQUICKSTART=(\S+)", RUN).group(1)
    assert (ROOT / quickstart).is_file(), quickstart
    assert {"jupyterlab", "ipywidgets", "anywidget"} <= _extra("lab")


def test_demo_sets_up_everything_the_panels_use():
    """Every third-party module leafnb imports (but the server's and Dask's) comes with ``./run demo``."""
    assert "setup lab" in _case("demo")
    provided = {_name(r) for r in PYPROJECT["project"]["dependencies"]} | _extra("lab")
    dists = importlib.metadata.packages_distributions()
    optional_elsewhere = {"dask", "distributed", "dask_geopandas"}  # the dask executor
    missing = {}
    for path in (ROOT / "leafnb").rglob("*.py"):
        if "server" in path.relative_to(ROOT / "leafnb").parts:
            continue  # the server extra
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if (
                    top in sys.stdlib_module_names
                    or top == "leafnb"
                    or top in optional_elsewhere
                ):
                    continue
                names = {d.lower().replace("_", "-") for d in dists.get(top, [top])}
                if not names & provided:
                    missing.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert missing == {}, missing
    # the two the demo environment used to miss
    assert {"rasterio", "rioxarray", "xarray", "mapclassify"} <= provided


def test_readme_says_how_to_start():
    for command in ("./run demo", "./run lab", "./run test"):
        assert command in README, command
    for command in ("demo", "lab", "test"):
        assert re.search(rf"\n  {command}\)\n", RUN), command
    assert "LEAFNB_WORKSPACE" in README and "--create" in README
