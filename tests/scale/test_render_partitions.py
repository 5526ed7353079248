"""Out-of-core imagesV2 (``render_partitions``) equals the in-memory imagesV2 of the concatenated points."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from leafnb.errors import TiedClassesWarning
from leafnb.render.images import build_v2, prepare
from leafnb.render.legend import legend_from_edges, quantile_legend
from leafnb.scale import iter_point_batches, partition_meta, render_partitions
from leafnb.scale.quantiles import lerp, quantile_plan
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import write_geoparquet
from leafnb.testing import make_points, point_units

N_PARTS = 5
N_POINTS = 6_000  # per partition: 30k points in all


def _set(t: pa.Table, name: str, values) -> pa.Table:
    arr = pa.array(values)
    i = t.schema.get_field_index(name)
    return t.set_column(i, name, arr) if i >= 0 else t.append_column(name, arr)


def _write_parts(out: Path, *, width: bool = True) -> list[Path]:
    """Partitions of one season: 0, 2, 4 share a field (cells hold points of several partitions),
    1 and 3 lie beside it; partition 3 stores equipmentWidth in feet; a few points have no
    position or no value; extra columns exercise ties and the exact-selection refinement."""
    paths = []
    for i in range(N_PARTS):
        rng = np.random.default_rng(i)
        t = make_points("harvested", N_POINTS, seed=i)
        units = point_units(t)
        t = t.replace_schema_metadata(None)
        lon = t.column("lon").to_numpy().copy() + (i % 2) * 0.0045
        lat = t.column("lat").to_numpy().copy() + (i == 3) * 0.001
        lon[rng.choice(N_POINTS, 5, replace=False)] = np.nan  # no position
        t = _set(t, "lon", lon)
        t = _set(t, "lat", lat)
        moist = t.column("harvestMoisture").to_numpy().copy()
        moist[rng.choice(N_POINTS, 50, replace=False)] = np.nan
        t = _set(t, "harvestMoisture", moist)
        t = _set(
            t,
            "zeros",
            np.where(rng.random(N_POINTS) < 0.6, 0.0, rng.gamma(2.0, 3.0, N_POINTS)),
        )
        t = _set(t, "constant", np.full(N_POINTS, 7.25))
        few = rng.random(N_POINTS)
        if i == 1:
            few[0] = (
                1e9  # one far outlier: every other value falls in the first histogram bin
            )
        t = _set(t, "outlier", few)
        t = _set(
            t, "rounded", rng.integers(0, 4, N_POINTS).astype(float) * 2.5
        )  # 4 distinct values: tied edges
        if i == 3:
            t = _set(
                t, "equipmentWidth", t.column("equipmentWidth").to_numpy() / 0.3048
            )
            units = {**units, "equipmentWidth": "ft"}
        if not width:
            t = t.drop_columns(["equipmentWidth"])
        paths.append(
            write_geoparquet(
                out / f"part-{i}.parquet",
                t,
                {"units": units, "operation_type": "harvested"},
            )
        )
    return paths


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    return _write_parts(tmp_path_factory.mktemp("render_parts"))


@pytest.fixture(scope="module")
def parts_no_width(tmp_path_factory):
    return _write_parts(tmp_path_factory.mktemp("render_parts_nw"), width=False)


def _in_memory(paths) -> PointSet:
    """Reference: every partition loaded, converted to the first one's units, concatenated in order."""
    units: dict[str, str] = {}
    for p in paths:
        for k, u in partition_meta(p)["units"].items():
            units.setdefault(k, u)
    tables = [
        pts.table
        for p in paths
        for pts in iter_point_batches(p, units=units, batch_size=10**9)
    ]
    return PointSet(
        pa.concat_tables(tables, promote_options="default"), "harvested", units=units
    )


@pytest.fixture(scope="module")
def reference(parts, parts_no_width, tmp_path_factory):
    """In-memory imagesV2 items (legend, extent, PNG path) of every test property."""
    out = {}
    for key, paths in (("width", parts), ("no_width", parts_no_width)):
        prep = prepare(_in_memory(paths))
        props = [
            "harvestMoisture",
            "wetMass",
            "zeros",
            "constant",
            "outlier",
            "rounded",
        ]
        items, _ = build_v2(prep, tmp_path_factory.mktemp(f"ref_{key}"), props)
        out[key] = {it["property"]: (it, prep.values(it["property"])) for it in items}
    return out


def _same_png(ref_item, got) -> None:
    assert got["legend"] == ref_item["legend"]
    assert got["extent"] == ref_item["extent"]
    ref_png, png = Path(ref_item["path"]), Path(got["url"])
    assert (
        png.read_bytes() == ref_png.read_bytes()
    )  # same pixels, same encoder: same bytes
    aux = ".aux.xml"
    assert (
        Path(str(png) + aux).read_text() == Path(str(ref_png) + aux).read_text()
    )  # same grid / georeferencing


@pytest.mark.parametrize(
    "prop", ["harvestMoisture", "wetMass", "zeros", "constant", "outlier", "rounded"]
)
def test_render_partitions_equals_in_memory_v2(parts, reference, tmp_path, prop):
    ref_item, values = reference["width"][prop]
    # small batches (many per partition) and a small selection limit (forces refinement rounds)
    got = render_partitions(parts, prop, tmp_path, batch_rows=1_500, select_limit=200)
    assert set(got) == {"property", "legend", "extent", "url", "downloadUrl"}
    assert got["property"] == prop and got["downloadUrl"].startswith("file://")
    _same_png(ref_item, got)
    # the out-of-core legend is quantile_legend of all values, tie rule included
    assert got["legend"] == quantile_legend(values, warn=False).to_dict()
    if prop in ("zeros", "constant", "rounded"):
        assert got["legend"].get("tiedClasses") is True


@pytest.mark.parametrize("prop", ["harvestMoisture", "zeros"])
def test_render_partitions_without_swath_widths(
    parts_no_width, reference, tmp_path, prop
):
    ref_item, _ = reference["no_width"][prop]
    _same_png(
        ref_item, render_partitions(parts_no_width, prop, tmp_path, batch_rows=4_000)
    )


def test_render_partitions_executor(parts, reference, tmp_path):
    ref_item, _ = reference["width"]["harvestMoisture"]
    with ThreadPoolExecutor(2) as pool:
        got = render_partitions(
            parts, "harvestMoisture", tmp_path, batch_rows=2_000, executor=pool
        )
    _same_png(ref_item, got)


def test_render_partitions_errors(parts, tmp_path):
    with pytest.raises(ValueError, match="no GeoParquet partitions"):
        render_partitions([], "speed", tmp_path)
    # a property no partition has: transparent image, empty legend (as quantile_legend of nothing)
    got = render_partitions(parts[:1], "nope", tmp_path)
    assert all(r["min"] is None and r["max"] is None for r in got["legend"]["ranges"])


@pytest.mark.parametrize(
    "n", [1, 2, 3, 7, 8, 9, 13, 14, 15, 50, 99, 1000, 12345, 100_003]
)
def test_quantile_plan_is_numpys_arithmetic(n):
    rng = np.random.default_rng(n)
    q = np.linspace(0.0, 1.0, 8)
    for v in (
        rng.normal(0, 1e3, n),
        rng.integers(0, 5, n).astype(float),
        np.exp(rng.normal(0, 20, n)),
    ):
        s = np.sort(v)
        prev, nxt, gamma = quantile_plan(n, q)
        assert np.array_equal(lerp(s[prev], s[nxt], gamma), np.quantile(v, q))


def test_legend_from_edges_matches_quantile_legend():
    rng = np.random.default_rng(0)
    q = np.linspace(0.0, 1.0, 8)
    cases = [
        rng.normal(5, 2, 999),
        np.r_[np.zeros(700), rng.random(300)],
        np.full(10, 3.0),
        np.array([1.0, 2.0]),
        np.array([]),
    ]
    for v in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TiedClassesWarning)
            ref = quantile_legend(v)
        edges = np.full(8, np.nan)
        if len(v):
            edges = np.quantile(v, q)
            edges[0], edges[-1] = v.min(), v.max()
        got = legend_from_edges(edges, count=len(v), warn=False)
        assert (got.ranges, got.tied, got.count) == (ref.ranges, ref.tied, ref.count)
    with pytest.warns(TiedClassesWarning):
        legend_from_edges(np.r_[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0], count=100)
