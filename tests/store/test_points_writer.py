"""Standard points written range by range, and read back column by column (issue 16).

A big file's standard points are never one table in memory: ``PointsWriter`` writes
them range by range and ``StoredColumns`` hands the later steps one column at a time.
Both must give exactly the table the ranges make up.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leafnb.pipeline.steps import FileJob, convert_file
from leafnb.store import derived
from leafnb.store.artifacts import PointsWriter, read_points_table, write_geoparquet
from leafnb.store.stored_columns import StoredColumns
from leafnb.testing import make_points, write_as


@pytest.fixture(scope="module")
def standard(tmp_path_factory):
    """A converted harvest log's standard points (with derived columns) and its metadata."""
    tmp = tmp_path_factory.mktemp("ranged_writer")
    path = write_as(make_points("harvested", 1200, seed=8), "agleader_text", tmp)
    out = tmp / "out"
    outcome = convert_file(FileJob("f", "agleader_text", str(path), None, str(out), {}))
    assert not outcome.failed, outcome.steps
    table, _ = read_points_table(out / "standard.parquet")
    meta = {
        k.decode()[len("leafnb.") :]: json.loads(v)
        for k, v in pq.read_schema(out / "standard.parquet").metadata.items()
        if k.startswith(b"leafnb.") and k != b"leafnb.columns"
    }
    assert meta.get("derived"), "the log has derived columns"
    return table, meta


def test_ranges_read_back_as_the_table(standard, tmp_path):
    table, meta = standard
    path = tmp_path / "ranged.parquet"
    with PointsWriter(path, meta) as writer:
        for start in range(0, table.num_rows, 500):
            writer.write(table.slice(start, 500))
    assert writer.rows == table.num_rows
    back, back_meta = read_points_table(path)
    assert back.equals(table)
    assert back_meta["units"] == meta["units"]
    # derived columns are rebuilt on read, as in a file written whole
    stored = pq.read_schema(path).names
    steps = [s["column"] for s in meta["derived"]["steps"]]
    assert not set(steps) & set(stored)
    assert not list(tmp_path.glob(".*tmp"))


def test_a_column_equal_only_in_one_range_is_stored(tmp_path):
    """Equal in the first range (an offset left at 0) is not equal in the file."""
    n = 1000
    offset = np.zeros(n)
    offset[700:] = 1.5
    table = pa.table(
        {
            "lon": np.linspace(-93.0, -92.99, n),
            "lat": np.full(n, 42.0),
            "xOffset": np.zeros(n),
            "yOffset": offset,
        }
    )
    path = tmp_path / "p.parquet"
    with PointsWriter(path, {"units": {}}) as writer:
        writer.write(table.slice(0, 500))
        writer.write(table.slice(500))
    assert read_points_table(path)[0].equals(table)
    assert b"leafnb.copies" not in pq.read_schema(path).metadata


def test_a_range_stored_otherwise_leaves_no_file(tmp_path):
    table = pa.table({"lon": [1.0, 2.0], "lat": [3.0, 4.0], "v": [1.0, 2.0]})
    path = tmp_path / "p.parquet"
    writer = PointsWriter(path, {})
    writer.write(table)
    with pytest.raises(ValueError, match="stored differently"):
        writer.write(table.set_column(2, "v", pa.array([1, 2], pa.int64())))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_ranged_file_is_geoparquet_without_bbox(standard, tmp_path):
    """GeoParquet's bbox is optional: the ranged file has none, geopandas reads it."""
    gpd = pytest.importorskip("geopandas")
    table, meta = standard
    path = tmp_path / "ranged.parquet"
    with PointsWriter(path, meta) as writer:
        writer.write(table.slice(0, 600))
        writer.write(table.slice(600))
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "point" and "bbox" not in column
    frame = gpd.read_parquet(path)
    assert len(frame) == table.num_rows
    assert np.array_equal(frame.geometry.x.to_numpy(), table.column("lon").to_numpy())


def test_stored_columns_are_the_table(standard, tmp_path):
    table, meta = standard
    path = tmp_path / "whole.parquet"
    write_geoparquet(path, table, meta)
    stored = StoredColumns(path, table.schema, table.num_rows)
    assert stored.column_names == table.column_names and len(stored) == len(table)
    for i, name in enumerate(table.column_names):
        assert stored.column(name).equals(table.column(name)), name
        assert stored.column(i).equals(table.column(i))
    keep = pa.array(np.arange(table.num_rows) % 3 == 0)
    part = stored.filter(keep)
    assert part.num_rows == table.filter(keep).num_rows
    again = pa.array(np.arange(part.num_rows) % 2 == 0)
    assert (
        part.filter(again)
        .column("lat")
        .equals(table.filter(keep).filter(again).column("lat"))
    )


def test_stored_columns_refuse_another_type(standard, tmp_path):
    table, meta = standard
    path = tmp_path / "whole.parquet"
    write_geoparquet(path, table, meta)
    field = table.schema.field("lat")
    schema = table.schema.set(
        table.schema.get_field_index("lat"), field.with_type(pa.float32())
    )
    with pytest.raises(TypeError, match="reads back as double"):
        StoredColumns(path, schema, table.num_rows).column("lat")


def test_one_derived_column_is_rebuilt_alone(standard):
    """Reading one derived column computes it and what it is made from, nothing else."""
    table, meta = standard
    recipe = meta["derived"]
    made = [s["column"] for s in recipe["steps"]]
    stored = table.drop_columns(made)
    last = made[-1]
    rebuilt = derived.apply(stored, recipe, [last])
    assert last in rebuilt.column_names
    assert rebuilt.column(last).equals(table.column(last))
    needed = derived._derived_inputs(recipe, [last])
    assert set(rebuilt.column_names) - set(stored.column_names) == needed
    assert derived.apply(stored, recipe, []).equals(stored)
