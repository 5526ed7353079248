"""Stored GeoParquet (standard and filtered points) against the GeoParquet 1.1 spec and its readers.

The geometry is GeoArrow's native point encoding (``"encoding": "point"``, a
``struct<x, y>`` column), which the 1.1 schema allows.

The ``geo`` metadata is validated with the spec's own JSON schema (``tests/data/geoparquet``,
Apache-2.0), then the files are read by geopandas, pyogrio (GDAL, when its build has the Parquet driver: the
pyogrio wheel has only ADBC) and duckdb (also through its spatial extension), which must agree on the rows, the CRS
(OGC:CRS84) and the coordinates.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from leafnb.testing import make_points, write_as
from tests.conftest import make_zip

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "geoparquet"
    / "schema-1.1.0.json"
)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Paths of a converted file's standard.parquet and filtered.parquet."""
    from leafnb import Workspace

    tmp = tmp_path_factory.mktemp("geoparquet")
    ws = Workspace(tmp / "ws", executor="inline")
    src = write_as(make_points("harvested", 400, seed=2), "sms_csv", tmp / "gen")
    batch = ws.upload_batch(make_zip(tmp / "u.zip", {src.name: src}), "grower-1")
    (fid,) = batch["leafFiles"]
    return [
        Path(ws.get_file_standard_geoparquet(fid)["standardGeoparquet"]),
        Path(ws.get_file_filtered_geoparquet(fid)["filteredGeoparquet"]),
    ]


def _projjson_schema() -> dict:
    """PROJJSON's schema as installed with PROJ (pyproj's data folder): no network."""
    import pyproj

    path = Path(pyproj.datadir.get_data_dir()) / "projjson.schema.json"
    if not path.is_file():
        pytest.skip(f"PROJ's projjson.schema.json is not installed ({path})")
    return json.loads(path.read_text())


def test_geo_metadata_passes_the_geoparquet_1_1_schema(stored):
    from referencing import Registry, Resource

    schema = json.loads(SCHEMA.read_text())
    # the GeoParquet schema refers to PROJJSON's by URL: resolve it locally
    registry = Registry().with_resource(
        "https://proj.org/schemas/v0.7/projjson.schema.json",
        Resource.from_contents(_projjson_schema()),
    )
    validator = jsonschema.Draft7Validator(schema, registry=registry)
    for path in stored:
        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        errors = sorted(validator.iter_errors(geo), key=str)
        assert errors == [], [e.message for e in errors]
        column = geo["columns"][geo["primary_column"]]
        assert column["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
        # GeoArrow native points: the column is struct<x: double, y: double>
        assert column["encoding"] == "point"
        field = pq.read_schema(path).field(geo["primary_column"])
        assert [(f.name, str(f.type)) for f in field.type] == [
            ("x", "double"),
            ("y", "double"),
        ]
    # the validator does reject a broken document (the test can fail)
    assert list(validator.iter_errors({"version": "1.1.0", "columns": {}}))


def test_geopandas_reads_crs84_points(stored):
    import geopandas

    for path in stored:
        gdf = geopandas.read_parquet(path)
        assert gdf.crs is not None and gdf.crs.equals("OGC:CRS84")
        assert len(gdf) == pq.read_metadata(path).num_rows
        assert set(gdf.geometry.geom_type) == {"Point"}


def test_downloads_hold_every_property(stored):
    """The stored points leave out what they rebuild; the downloads are complete."""
    import geopandas

    from leafnb.store.artifacts import read_points_table

    export, filtered = stored
    kept = export.parent.parent / "standard.parquet"
    table, _ = read_points_table(kept)
    stored_names = set(pq.read_schema(kept).names)
    assert "dryMass" in table.column_names and "dryMass" not in stored_names
    gdf = geopandas.read_parquet(export)
    assert set(table.column_names) - {"lon", "lat"} <= set(gdf.columns)
    for name in ("dryMass", "wetMass", "area", "harvestMoisture"):
        np.testing.assert_array_equal(gdf[name].to_numpy(), table[name].to_numpy())
    np.testing.assert_array_equal(gdf.geometry.x.to_numpy(), table["lon"].to_numpy())
    assert "dryMass" in geopandas.read_parquet(filtered).columns


def test_gdal_reads_the_same_points(stored):
    import geopandas
    import pyogrio
    import shapely

    if "Parquet" not in pyogrio.list_drivers():
        pytest.skip(
            f"this GDAL ({pyogrio.__gdal_version_string__}) has no Parquet driver"
        )
    for path in stored:
        gdf = geopandas.read_parquet(path)
        info = pyogrio.read_info(path)
        assert info["features"] == len(gdf) and info["geometry_type"] == "Point"
        assert "CRS84" in info["crs"] or info["crs"] == "EPSG:4326"
        ogr = pyogrio.read_dataframe(path)
        np.testing.assert_allclose(
            shapely.get_coordinates(ogr.geometry), shapely.get_coordinates(gdf.geometry)
        )


def test_duckdb_reads_the_same_points(stored):
    import geopandas
    import shapely

    duckdb = pytest.importorskip("duckdb")
    for path in stored:
        gdf = geopandas.read_parquet(path)
        con = duckdb.connect()
        rows = con.execute(
            "SELECT geometry FROM read_parquet(?)", [str(path)]
        ).fetchall()
        kv = con.execute(
            "SELECT value FROM parquet_kv_metadata(?) WHERE key = 'geo'", [str(path)]
        ).fetchone()
        assert len(rows) == len(gdf) and json.loads(kv[0])["version"] == "1.1.0"
        # native point encoding: duckdb (without its spatial extension) sees struct<x, y>
        xy = np.array([[r[0]["x"], r[0]["y"]] for r in rows])
        np.testing.assert_allclose(xy, shapely.get_coordinates(gdf.geometry))


def test_duckdb_spatial_reads_the_points(stored):
    """duckdb's spatial extension (the PyPI wheel, loaded from disk) reads the point column."""
    import geopandas
    import shapely

    duckdb = pytest.importorskip("duckdb")
    spatial = pytest.importorskip("duckdb_extension_spatial")
    ext = next(Path(spatial.__path__[0]).glob("extensions/*/spatial.duckdb_extension"))
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")
    for path in stored:
        gdf = geopandas.read_parquet(path)
        # GeoArrow's native point is duckdb's POINT_2D (struct<x, y>)
        xy = con.execute(
            "SELECT ST_X(geometry::POINT_2D), ST_Y(geometry::POINT_2D) "
            "FROM read_parquet(?)",
            [str(path)],
        ).fetchall()
        np.testing.assert_array_equal(
            np.array(xy), shapely.get_coordinates(gdf.geometry)
        )
        (wkt,) = con.execute(
            "SELECT ST_AsText(ST_Extent_Agg(geometry::POINT_2D::GEOMETRY)) "
            "FROM read_parquet(?)",
            [str(path)],
        ).fetchone()
        extent = shapely.from_wkt(wkt).bounds
        np.testing.assert_allclose(extent, gdf.total_bounds)
