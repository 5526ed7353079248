"""numpy's huge-page advice is off while leafnb converts a file or rasterises (leafnb.pages)."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa


def _advice():
    """numpy's huge-page advice setting, or skip where numpy has no switch."""
    import pytest

    from leafnb.pages import _hugepage_setter

    setter = _hugepage_setter()
    if setter is None:
        pytest.skip("this numpy has no huge-page switch")
    getter = sys.modules[setter.__module__]._get_madvise_hugepage
    return setter, getter


def test_no_hugepage_advice_while_any_conversion_runs():
    import threading

    from leafnb.pages import no_hugepage_advice

    setter, getter = _advice()
    before = setter(True)
    try:
        inside, release, seen = threading.Event(), threading.Event(), []

        def other():  # a second conversion, in another thread, ending later
            with no_hugepage_advice():
                inside.set()
                release.wait(10)
                seen.append(getter())

        thread = threading.Thread(target=other)
        with no_hugepage_advice():
            assert getter() is False
            thread.start()
            assert inside.wait(10)
        assert getter() is False  # the other conversion still runs
        release.set()
        thread.join(10)
        assert seen == [False]
        assert getter() is True  # the last one restored it
        setter(False)  # a process that had turned it off keeps it off
        with no_hugepage_advice():
            pass
        assert getter() is False
    finally:
        setter(before)


def test_a_file_converts_without_hugepage_advice(tmp_path, monkeypatch):
    import leafnb.pipeline.steps as steps
    from leafnb.testing import make_points, write_as

    setter, getter = _advice()
    seen = []
    run_steps = steps.run_steps

    def spy(runners, what):
        seen.append(getter())
        return run_steps(runners, what)

    monkeypatch.setattr(steps, "run_steps", spy)
    path = write_as(make_points("harvested", 20, seed=1), "sms_csv", tmp_path, "f")
    before = setter(True)
    try:
        job = steps.FileJob("f", "csv", str(path), None, str(tmp_path / "o"), {})
        outcome = steps.convert_file(job)
        assert seen == [False] and getter() is True
    finally:
        setter(before)
    assert not outcome.failed


def test_rasterising_and_images_run_without_hugepage_advice(tmp_path, monkeypatch):
    import leafnb.render.images as images
    import leafnb.render.raster as raster
    from leafnb.render.raster import grid_spec, project
    from leafnb.standard.points import PointSet

    setter, getter = _advice()
    seen = []
    cells, write_png = raster._rasterize_cells, images.write_png

    def spy_cells(*args, **kwargs):
        seen.append(("rasterize", getter()))
        return cells(*args, **kwargs)

    def spy_png(*args, **kwargs):
        seen.append(("png", getter()))
        return write_png(*args, **kwargs)

    monkeypatch.setattr(raster, "_rasterize_cells", spy_cells)
    monkeypatch.setattr(images, "write_png", spy_png)
    lon, lat = np.array([10.0, 10.001]), np.array([54.0, 54.001])
    before = setter(True)
    try:
        x, y = project(lon, lat, "EPSG:3857")
        spec = grid_spec(x, y, "EPSG:3857", 1.0)
        raster.rasterize(spec, x, y, {"v": np.array([1.0, 2.0])})
        table = pa.table({"lon": lon, "lat": lat, "wetMass": [1.0, 2.0]})
        points = PointSet(table, "harvested", units={"wetMass": "kg"})
        images.build_v1(images.prepare(points), tmp_path, ["wetMass"])
        assert getter() is True
    finally:
        setter(before)
    assert ("rasterize", False) in seen and ("png", False) in seen, seen
