"""Out-of-core summaries/cleaning/grids from GeoParquet partitions equal the in-memory results."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leafnb import Workspace
from leafnb.clean.cleanup import cleanup_mask
from leafnb.datagen import generate, zip_dataset
from leafnb.scale import (
    clean_partitions,
    grid_partitions,
    iter_point_batches,
    partition_meta,
    summarize_partitions,
)
from leafnb.standard.points import PointSet
from leafnb.standard.summary import summarize


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A medium season (≈120k points, 10 files) converted in-process: standard.parquet per file."""
    out = tmp_path_factory.mktemp("medium")
    files = generate(
        out,
        120_000,
        10,
        ["sms_shapefile", "sms_csv", "agleader_text", "isoxml", "jd_shapefile"],
        seed=5,
    )
    ws = Workspace(out / "ws", executor="inline")
    batch = ws.upload_batch(zip_dataset(out, files), "g", progress=False)
    by_op: dict[str, list] = {}
    for fid in batch["leafFiles"]:
        f = ws.get_file(fid)
        assert f["status"] == "processed", ws.get_file_status(fid)
        by_op.setdefault(f["operationType"], []).append(f["standardGeoparquet"])
    return by_op


def _in_memory(paths) -> PointSet:
    """Reference: every partition loaded and converted to the first one's units, concatenated."""
    units: dict[str, str] = {}
    for p in paths:
        for k, u in partition_meta(p)["units"].items():
            units.setdefault(k, u)
    tables = [
        pts.table
        for p in paths
        for pts in iter_point_batches(p, units=units, batch_size=10**9)
    ]
    table = pa.concat_tables(tables, promote_options="default")
    meta = partition_meta(paths[0])
    return PointSet(table, meta["operation_type"], units=units, meta=meta)


def _close(a, b, path="") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (
            f"{path}: keys {sorted(a)} != {sorted(b)}"
        )
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.mark.parametrize("op", ["harvested", "applied", "planted"])
def test_summarize_partitions_equals_summarize(converted, op):
    paths = converted[op]
    ref = summarize(_in_memory(paths), geometry="CONVEX_HULL")
    got = summarize_partitions(
        paths, geometry="CONVEX_HULL", batch_size=7_000
    )  # many row batches per file
    _close(ref["properties"], got["properties"])
    assert got["properties"]["recordCount"] == sum(
        pq.read_metadata(p).num_rows for p in paths
    )
    # the hull of partition hulls is the hull of all points
    import shapely.geometry

    assert shapely.geometry.shape(got["geometry"]).equals_exact(
        shapely.geometry.shape(ref["geometry"]), 1e-9
    ) or math.isclose(
        shapely.geometry.shape(got["geometry"]).area,
        shapely.geometry.shape(ref["geometry"]).area,
        rel_tol=1e-9,
    )


def test_summarize_partitions_buffer_geometry_and_executor(converted):
    from concurrent.futures import ThreadPoolExecutor

    import shapely.geometry

    paths = converted["harvested"]
    ref = summarize(_in_memory(paths))
    with ThreadPoolExecutor(2) as pool:
        got = summarize_partitions(paths, executor=pool)
    _close(ref["properties"], got["properties"])
    a, b = (
        shapely.geometry.shape(ref["geometry"]),
        shapely.geometry.shape(got["geometry"]),
    )
    # per-batch buffers differ only at batch seams: same covered area within 1 %
    assert abs(a.area - b.area) / a.area < 0.01


def test_clean_partitions_matches_cleanup_mask(converted, tmp_path):
    paths = converted["harvested"]
    rules = {
        "speed": [{"operator": "GT", "value": 0.5}],
        "harvestMoisture": [{"operator": "LT", "value": 40}],
    }
    res = clean_partitions(paths, rules, tmp_path / "clean", batch_size=5_000)
    expect_kept = expect_total = 0
    expect_removed: dict[str, int] = {}
    for p in paths:
        (pts,) = iter_point_batches(p, batch_size=10**9)
        keep, removed = cleanup_mask(pts, rules)
        expect_kept += int(keep.sum())
        expect_total += len(keep)
        for k, v in removed.items():
            expect_removed[k] = expect_removed.get(k, 0) + v
    assert (res["kept"], res["total"], res["removed"]) == (
        expect_kept,
        expect_total,
        expect_removed,
    )
    assert sum(pq.read_metadata(p).num_rows for p in res["paths"]) == expect_kept
    assert partition_meta(res["paths"][0]) == partition_meta(paths[0])


def test_grid_partitions_mean(converted):
    paths = converted["harvested"][:2]
    grid = grid_partitions(paths, "harvestMoisture", cell_size=20.0)
    ref = _in_memory(paths)
    v = ref.array("harvestMoisture")
    assert grid["count"].sum() == np.isfinite(v).sum()
    weighted = np.nansum(grid["values"] * grid["count"])
    assert math.isclose(weighted, np.nansum(v), rel_tol=1e-9)
