"""How points artifacts are encoded (issue 18: a workspace ≤ ~1.5× its upload), losslessly.

Every float a reader gets back is bit-identical to what was written — NaN payloads,
``-0.0``, infinities, subnormals and nulls included — whichever encoding a column
ends up with (dictionary, plain or byte-stream-split, chosen on a sample); a column
equal to another is stored once; the GeoParquet ``geo`` metadata still passes the
1.1 schema and geopandas and duckdb read the file. Summary geometries are written to
1e-7°, nothing else in a JSON artifact is rounded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leafnb.store.artifacts import (
    DICTIONARY_PAGE_BYTES,
    copied_columns,
    float_encodings,
    iter_points_tables,
    read_json,
    read_points_table,
    write_geoparquet,
    write_json,
)

SCHEMA = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "geoparquet"
    / "schema-1.1.0.json"
)

N = 5_000

#: awkward float64 bit patterns: NaN with a payload and its sign, signed zeros,
#: infinities, the smallest subnormal, the largest finite
SPECIAL = np.array(
    [0x7FF8000000000001, 0xFFF8000000000000, 0x8000000000000000, 0x0000000000000000,
     0x7FF0000000000000, 0xFFF0000000000000, 0x0000000000000001, 0x7FEFFFFFFFFFFFFF],
    dtype=np.uint64,
).view(np.float64)  # fmt: skip


def _bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def _table() -> pa.Table:
    rng = np.random.default_rng(18)
    # every value distinct: byte-stream-split (chosen on the sample)
    many = rng.normal(10.0, 3.0, N)
    many[: len(SPECIAL)] = SPECIAL
    few = rng.choice([0.0, 1.5, 2.25, -0.0, np.nan], N)  # dictionary-encoded
    lat = 42.0 + np.cumsum(rng.uniform(0, 1e-5, N))
    with np.errstate(over="ignore"):
        f32 = many.astype(np.float32)  # the largest double → inf
    return pa.table(
        {
            "lon": pa.array(np.full(N, -93.5) + rng.normal(0, 1e-4, N)),
            "lat": pa.array(lat),
            "many": pa.array(many),
            "few": pa.array(few),
            "copy": pa.array(many.copy()),  # stored once: same bits as "many"
            "signed": pa.array(np.where(many == 0.0, 0.0, many)),  # -0.0 → +0.0 here
            "nulls": pa.array(many, mask=np.arange(N) % 7 == 0),  # same bits, nulls
            "nulls2": pa.array(many, mask=np.arange(N) % 7 == 0),  # copy of "nulls"
            "f32": pa.array(f32),
        }
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("enc") / "standard.parquet"
    table = _table()
    write_geoparquet(path, table, {"units": {"many": "kg"}})
    return path, table


def test_every_float_reads_back_bit_identical(written):
    path, table = written
    back, meta = read_points_table(path)
    assert back.column_names == table.column_names and back.schema == table.schema
    for name in table.column_names:
        a, b = table.column(name), back.column(name)
        assert a.is_null().equals(b.is_null()), name
        x, y = (np.asarray(c.to_numpy(zero_copy_only=False)) for c in (a, b))
        assert np.array_equal(x.view(f"u{x.itemsize}"), y.view(f"u{y.itemsize}")), name
    assert meta == {"units": {"many": "kg"}}  # storage details stay inside
    assert np.array_equal(_bits(back.column("many"))[: len(SPECIAL)], _bits(SPECIAL))


def test_dictionary_only_while_values_repeat(written):
    path, table = written
    md = pq.ParquetFile(path).metadata.row_group(0)
    chunks = {md.column(i).path_in_schema: md.column(i) for i in range(md.num_columns)}
    assert {c.compression for c in chunks.values()} == {"ZSTD"}
    # "few" (five values): a dictionary of a few bytes
    few = chunks["few"]
    assert few.has_dictionary_page
    assert few.data_page_offset - few.dictionary_page_offset < 200
    # "many" (5,000 distinct values), the point's x and y: no dictionary
    for name in ("many", "geometry.x", "geometry.y"):
        assert not chunks[name].has_dictionary_page, name
        # byte-stream-split here: the other tests' readers (duckdb, geopandas) read it
        assert "BYTE_STREAM_SPLIT" in chunks[name].encodings, name
    assert float_encodings(table)["many"] == "BYTE_STREAM_SPLIT"
    assert "few" not in float_encodings(table)


def test_a_dictionary_stops_at_its_page_limit(tmp_path):
    # five values where the encoding is chosen (the sample's 8 blocks of 4,096 rows,
    # the first at row 0, the next at 13,700), 3,000 distinct ones between them: past
    # 2,048 distinct values (16 KiB) the dictionary gives way to plain pages
    rng = np.random.default_rng(1)
    values = rng.choice([0.0, 1.5, 2.25, 3.0, 4.5], 100_000)
    values[5_000:8_000] = rng.normal(size=3_000)
    table = pa.table({"lon": np.zeros(100_000), "lat": np.zeros(100_000), "v": values})
    assert "v" not in float_encodings(table)  # a dictionary for "v"
    write_geoparquet(tmp_path / "p.parquet", table)
    v = pq.ParquetFile(tmp_path / "p.parquet").metadata.row_group(0).column(0)
    assert v.path_in_schema == "v" and v.has_dictionary_page and "PLAIN" in v.encodings
    assert v.data_page_offset - v.dictionary_page_offset < DICTIONARY_PAGE_BYTES + 512
    back, _ = read_points_table(tmp_path / "p.parquet")
    assert np.array_equal(_bits(back.column("v")), _bits(values))


def test_a_column_equal_to_another_is_stored_once(written):
    path, table = written
    stored = pq.read_schema(path).names
    assert "copy" not in stored and "nulls2" not in stored
    # not equal bit for bit: stored (a signed zero, nulls, another type)
    assert {"many", "signed", "nulls", "f32"} <= set(stored)
    assert copied_columns(table, skip=["lon", "lat"]) == {
        "copy": "many",
        "nulls2": "nulls",
    }
    # asked for alone, a copy is read through its source
    alone, _ = read_points_table(path, columns=["copy"])
    assert alone.column_names == ["copy"]
    assert np.array_equal(_bits(alone.column("copy")), _bits(table.column("many")))
    parts = list(iter_points_tables(path, columns=["nulls2", "lat"], batch_size=999))
    assert [p.column_names for p in parts[:1]] == [["nulls2", "lat"]]
    got = pa.concat_tables(parts).column("nulls2")
    assert got.is_null().equals(table.column("nulls").is_null())
    assert np.array_equal(_bits(got), _bits(table.column("nulls")))


def test_copies_and_nan_payloads_are_not_confused(tmp_path):
    payload = np.array([0x7FF8000000000001], dtype=np.uint64).view(np.float64)
    t = pa.table(
        {
            "lon": [1.0],
            "lat": [2.0],
            "a": pa.array(payload),
            "b": [float("nan")],  # the canonical NaN: other bits
            "c": pa.array(payload),
        }
    )
    assert copied_columns(t) == {"c": "a"}
    write_geoparquet(tmp_path / "p.parquet", t)
    back, _ = read_points_table(tmp_path / "p.parquet")
    for name in "abc":
        assert _bits(back.column(name)) == _bits(t.column(name))


def test_geo_metadata_stays_valid_and_other_readers_agree(written):
    jsonschema = pytest.importorskip("jsonschema")
    geopandas = pytest.importorskip("geopandas")
    from referencing import Registry, Resource

    from tests.store.test_geoparquet_valid import _projjson_schema

    path, table = written
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    registry = Registry().with_resource(
        "https://proj.org/schemas/v0.7/projjson.schema.json",
        Resource.from_contents(_projjson_schema()),
    )
    validator = jsonschema.Draft7Validator(
        json.loads(SCHEMA.read_text()), registry=registry
    )
    assert [e.message for e in validator.iter_errors(geo)] == []
    gdf = geopandas.read_parquet(path)
    assert gdf.crs.equals("OGC:CRS84") and len(gdf) == N
    assert np.array_equal(_bits(gdf.geometry.y), _bits(table.column("lat")))
    assert np.array_equal(_bits(gdf["few"]), _bits(table.column("few")))
    duckdb = pytest.importorskip("duckdb")
    many = (
        duckdb.connect()
        .execute("SELECT many FROM read_parquet(?)", [str(path)])
        .fetchnumpy()["many"]
    )
    assert np.array_equal(_bits(many), _bits(table.column("many")))


def test_json_geometries_to_a_centimetre_other_numbers_untouched(tmp_path):
    ring = [[-93.56691604958532, 42.01348371078068], [-93.5669160510348, 42.0121025],
            [-93.56692148884518, 42.01208482577429], [-93.56691604958532, 42.01348371078068]]  # fmt: skip
    doc = {
        "type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
        "properties": {
            "area": 12.345678901234567,
            "boundary": {"type": "Polygon", "coordinates": [ring]},
            "list": [0.1234567891234, {"type": "Point", "coordinates": ring[0]}],
        },
    }
    before = json.dumps(doc)
    write_json(tmp_path / "summary.json", doc)
    assert json.dumps(doc) == before  # the caller's document is not changed
    back = read_json(tmp_path / "summary.json")
    props = back["properties"]
    assert props["area"] == 12.345678901234567 and props["list"][0] == 0.1234567891234
    for got in (
        back["geometry"]["coordinates"][0][0],
        props["boundary"]["coordinates"][0],
        [props["list"][1]["coordinates"]],
    ):
        want = np.array(ring[: len(got)])
        assert np.abs(np.array(got) - want).max() <= 5e-8
        assert all(len(repr(v).split(".")[1]) <= 7 for xy in got for v in xy)


def test_coordinate_rounding_of_every_geojson_shape():
    """Rings take a fast path; every shape rounds as position-by-position rounding does."""
    from leafnb.store.geojson_text import _round_coordinates

    def reference(coords):
        if isinstance(coords, float):
            return round(coords, 7)
        if isinstance(coords, list | tuple):
            return [reference(c) for c in coords]
        return coords

    ring2d = [
        (-93.56691604958532, 42.0),
        (-93.1, 42.123456789),
        (-93.56691604958532, 42.0),
    ]
    ring3d = [(1.123456789, 2.0, 300.98765432), [4, 5.000000049, 6]]
    mixed = [(1.0, 2.0), (3.123456789, 4.5, 7.25)]  # a 3-D position after 2-D ones
    for coords in (
        [],
        (1.123456789, 2),
        ring2d,
        ring3d,
        mixed,
        [ring2d, ring3d],
        [[ring2d], [mixed, []]],
        [[], ring2d],
    ):
        assert _round_coordinates(coords, 7) == reference(coords)
