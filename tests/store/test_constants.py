"""Columns with one value stored once in a points artifact's metadata (leafnb.store.constants)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leafnb.store.artifacts import (
    PointsWriter,
    leafnb_metadata,
    read_points_table,
    write_geoparquet,
)
from leafnb.store.constants import constant_columns, pack, rebuild

N = 1_000


def _points(**columns) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table(
        {
            "lon": rng.uniform(-94, -93, N),
            "lat": rng.uniform(42, 43, N),
            **columns,
        }
    )


CONSTANT = {
    "crop": pa.array(["corn"] * N),
    "width": pa.array([12.192] * N),
    "zero": pa.array([-0.0] * N),
    "count": pa.array([3] * N, pa.int32()),
    "on": pa.array([True] * N),
    "start": pa.array([1_700_000_000_000] * N, pa.timestamp("ms", tz="UTC")),
    "machinery": pa.array([["combine", "header"]] * N, pa.list_(pa.string())),
    "none": pa.array([None] * N, pa.float64()),
    "empty": pa.array([[]] * N, pa.list_(pa.string())),
}


def test_constant_columns_of_every_flat_type_and_lists():
    assert constant_columns(pa.table(CONSTANT)) == list(CONSTANT)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([0.0] * (N - 1) + [-0.0]),  # equal in value, not in bits
        pa.array([1.0] * (N - 1) + [None]),  # a null among values
        pa.array(["a"] * (N - 1) + ["b"]),  # the last row differs (past the probes)
        pa.array([["a"]] * (N - 1) + [["a", "a"]]),  # a longer list
        pa.array([["a", "b"]] * (N - 1) + [["b", "a"]]),  # items in another order
        pa.array(["a"] * N).dictionary_encode(),  # dictionaries are stored
        pa.array([{"x": 1}] * N),  # structs too
    ],
)
def test_columns_that_vary_or_are_not_flat_are_stored(column):
    assert constant_columns(pa.table({"c": column})) == []


def test_nan_payloads_count_as_bits():
    quiet = np.full(N, np.nan)
    other = quiet.copy()
    other.view(np.uint64)[-1] |= 1  # another NaN payload
    assert constant_columns(pa.table({"q": quiet, "o": other})) == ["q"]


def test_pack_and_rebuild_give_the_exact_types_and_values():
    table = pa.table(CONSTANT)
    rebuilt = rebuild(pack(table), N)
    for name, column in CONSTANT.items():
        assert rebuilt[name].type == column.type, name
        assert rebuilt[name].equals(column), name


def test_artifact_stores_constants_once_and_reads_them_back(tmp_path):
    table = _points(v=np.arange(N, dtype=float), **CONSTANT)
    path = write_geoparquet(tmp_path / "p.parquet", table, {"units": {"v": "m"}})
    stored = pq.read_schema(path).names
    assert not set(CONSTANT) & set(stored)
    assert "constants" in leafnb_metadata(pq.read_schema(path))
    back, meta = read_points_table(path)
    assert back.equals(table)
    assert "constants" not in meta  # storage, not a reader's business
    only, _ = read_points_table(path, columns=["crop", "v"])
    assert only.column_names == ["crop", "v"]
    assert only.column("crop").to_pylist() == ["corn"] * N
    alone, _ = read_points_table(path, columns=["machinery"])
    assert alone.num_rows == N and alone.column("machinery").equals(
        pa.chunked_array([CONSTANT["machinery"]])
    )


def test_an_export_and_a_ranged_file_store_every_column(tmp_path):
    table = _points(v=np.arange(N, dtype=float), crop=CONSTANT["crop"])
    export = write_geoparquet(tmp_path / "e.parquet", table, {}, compact=False)
    assert "crop" in pq.read_schema(export).names
    # constant in a range is not constant in the file: a writer of ranges stores it
    ranged = tmp_path / "r.parquet"
    with PointsWriter(ranged, {}) as writer:
        writer.write(table.slice(0, 400))
        writer.write(table.slice(400))
    assert "crop" in pq.read_schema(ranged).names
    assert read_points_table(ranged)[0].equals(table)


def test_a_copy_of_a_constant_column_is_rebuilt(tmp_path):
    width = pa.array([9.144] * N)
    table = _points(width=width, swath=width, v=np.arange(N, dtype=float))
    path = write_geoparquet(tmp_path / "p.parquet", table, {})
    meta = leafnb_metadata(pq.read_schema(path))
    assert meta["copies"] == {"swath": "width"}
    assert read_points_table(path)[0].equals(table)
    swath, _ = read_points_table(path, columns=["swath"])
    assert swath.column("swath").equals(pa.chunked_array([width]))


@pytest.mark.parametrize("at", [None, 0, 37, 999])
def test_a_long_column_varying_between_its_probed_rows_is_not_constant(at):
    """The probed rows only refuse early; a value between them still counts (lists too)."""
    n = 1000  # the probes: 64 rows spread over it, row 37 not among them
    flat = np.full(n, 2.5)
    lists = [[1, 2]] * n
    if at is not None:
        flat[at] = 3.5
        lists = [*lists[:at], [1, 3], *lists[at + 1 :]]
    table = pa.table({"flat": flat, "lists": pa.array(lists, pa.list_(pa.int32()))})
    assert constant_columns(table) == ([] if at is not None else ["flat", "lists"])


@pytest.mark.parametrize("seed", range(20))
def test_a_small_float_column_is_constant_exactly_as_the_general_rule_says(seed):
    """The small float path of ``_constant`` against ``_all_equal`` of the whole column."""
    from leafnb.store.constants import _PROBES, _all_equal, _constant

    rng = np.random.default_rng(seed)
    nan_payload = np.array([0x7FF8000000000001], np.uint64).view(np.float64)[0]
    pool = np.array([1.5, -0.0, 0.0, np.nan, nan_payload, np.inf, 12.192])
    for n in (1, 2, 3, 10, _PROBES):
        for _ in range(20):
            values = rng.choice(pool[: rng.integers(1, len(pool) + 1)], n)
            dtype = rng.choice([np.float64, np.float32, np.float16])
            chunks = np.array_split(values.astype(dtype), rng.integers(1, 3))
            column = pa.chunked_array([pa.array(c) for c in chunks if len(c)])
            whole = column.combine_chunks()
            assert _constant(column) == _all_equal(whole, whole.slice(0, 1))
