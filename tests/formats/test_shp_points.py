"""Shapefile positions read by numpy from the .shp: GDAL's positions, bit for bit, or GDAL reads."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import shapely

from leafnb.formats import shapefile
from leafnb.formats.shapefile import ogr_point_ranges, read_ogr_points
from leafnb.formats.shp_points import ShpPoints, write_points


def _write(tmp_path: Path, geoms: list, name: str = "p") -> Path:
    """A shapefile written by GDAL of *geoms* with an attribute per record."""
    import geopandas as gpd

    out = tmp_path / name / f"{name}.shp"
    out.parent.mkdir()
    gpd.GeoDataFrame(
        {
            "k": np.arange(len(geoms), dtype=float),
            "s": [f"r{i}" for i in range(len(geoms))],
        },
        geometry=geoms,
        crs="EPSG:4326",
    ).to_file(out)
    return out


def _by_gdal(path: Path, monkeypatch, **kw):
    """What :func:`read_ogr_points` gives with GDAL reading the geometries."""
    with monkeypatch.context() as m:
        m.setattr(shapefile, "_shp_points", lambda path, layer: None)
        return read_ogr_points(path, layer=None, reader="shapefile", **kw)


def _same(a, b) -> None:
    table_a, lon_a, lat_a, meta_a, issues_a = a
    table_b, lon_b, lat_b, meta_b, issues_b = b
    assert table_a.equals(table_b)
    assert np.array_equal(lon_a.view("u8"), lon_b.view("u8"))
    assert np.array_equal(lat_a.view("u8"), lat_b.view("u8"))
    assert meta_a["crs"] == meta_b["crs"] and issues_a == issues_b


def _points(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return list(shapely.points(rng.uniform(-96, -93, n), rng.uniform(40, 43, n)))


def test_positions_are_gdal_s_with_null_shapes(tmp_path, monkeypatch):
    geoms = _points(40)
    geoms[0] = geoms[7] = geoms[39] = None
    path = _write(tmp_path, geoms)
    points = ShpPoints.open(path)
    assert points is not None and points.null is not None
    _same(
        read_ogr_points(path, layer=None, reader="shapefile"),
        _by_gdal(path, monkeypatch),
    )


def test_point_z_positions_are_gdal_s(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    geoms = list(shapely.points(rng.uniform(0, 1, (30, 3))))
    path = _write(tmp_path, geoms)
    assert struct.unpack("<i", path.read_bytes()[32:36])[0] == 11  # PointZ
    assert ShpPoints.open(path).stride == 8 + 4 + 8 * 3  # GDAL writes x, y, z
    _same(
        read_ogr_points(path, layer=None, reader="shapefile"),
        _by_gdal(path, monkeypatch),
    )


def test_a_deleted_record_shifts_nothing(tmp_path, monkeypatch):
    """GDAL skips a record flagged deleted in the .dbf: positions follow the FIDs."""
    path = _write(tmp_path, _points(20))
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    header, record = struct.unpack("<HH", data[8:12])
    data[header + 5 * record] = ord("*")
    dbf.write_bytes(bytes(data))
    fast = read_ogr_points(path, layer=None, reader="shapefile")
    assert fast[0].num_rows == 19 and "r5" not in fast[0]["s"].to_pylist()
    _same(fast, _by_gdal(path, monkeypatch))
    expected = shapely.get_coordinates(np.array(_points(20)))
    assert fast[1].tolist() == np.delete(expected[:, 0], 5).tolist()


def test_ranges_are_gdal_s(tmp_path, monkeypatch):
    geoms = _points(50, seed=2)
    geoms[12] = None
    path = _write(tmp_path, geoms)
    fast = list(
        ogr_point_ranges(path, layer=None, reader="shapefile", rows=16, batches=4)
    )
    with monkeypatch.context() as m:
        m.setattr(shapefile, "_shp_points", lambda path, layer: None)
        slow = list(ogr_point_ranges(path, layer=None, reader="shapefile", rows=16))
    assert [r[0].num_rows for r in fast] == [16, 16, 16, 2]
    for a, b in zip(fast, slow, strict=True):
        _same(a, b)


@pytest.mark.parametrize(
    "spoil",
    [
        "multipoint",
        "line",
        "truncated",
        "short_index",
        "no_index",
        "bad_offset",
        "magic",
    ],
)
def test_anything_else_is_left_to_gdal(tmp_path, spoil):
    points = _points(10)
    if spoil == "multipoint":
        path = _write(tmp_path, [shapely.multipoints([p, p]) for p in points])
    elif spoil == "line":
        path = _write(tmp_path, [shapely.linestrings([[0, 0], [1, 1]])] * 3)
    else:
        path = write_points(tmp_path / "w.shp", [(p.x, p.y) for p in points])
        assert ShpPoints.open(path) is not None
        shp, shx = path.read_bytes(), path.with_suffix(".shx").read_bytes()
        if spoil == "truncated":
            path.write_bytes(shp[:-30])
        elif spoil == "short_index":
            path.with_suffix(".shx").write_bytes(shx[:-8])
            path.with_suffix(".shx").write_bytes(shx[:-3])
        elif spoil == "no_index":
            path.with_suffix(".shx").unlink()
        elif spoil == "bad_offset":  # the last record's offset beyond the file
            path.with_suffix(".shx").write_bytes(
                shx[:-8] + struct.pack(">ii", 10**6, 10)
            )
        elif spoil == "magic":
            path.write_bytes(b"\0\0\0\0" + shp[4:])
    assert ShpPoints.open(path) is None


def test_a_record_of_another_type_is_left_to_gdal(tmp_path):
    path = write_points(tmp_path / "w.shp", [(1.0, 2.0), (3.0, 4.0)])
    data = bytearray(path.read_bytes())
    data[100 + 8 : 100 + 12] = struct.pack("<i", 8)  # the first record a multipoint
    path.write_bytes(bytes(data))
    assert ShpPoints.open(path) is None


def test_fids_beyond_the_index_are_refused(tmp_path):
    path = write_points(tmp_path / "w.shp", [(1.0, 2.0), None])
    points = ShpPoints.open(path)
    with pytest.raises(IndexError):
        points.xy(np.array([2]))
    table = pa.table({"OGC_FID": pa.array([0, 5])})
    assert shapefile._positions_by_fid(table, {"fid_column": "OGC_FID"}, points) is None
    x, y = points.xy(np.array([1, 0]))
    assert np.isnan(x[0]) and (x[1], y[1]) == (1.0, 2.0)


def test_every_real_point_shapefile_reads_as_gdal_reads_it(shared_data, monkeypatch):
    """The positions and attributes of every real shapefile, fast path or not, as GDAL's."""
    fast = 0
    for path in sorted(shared_data.rglob("*.shp")):
        if ShpPoints.open(path) is None:
            continue
        fast += 1
        try:
            expected = _by_gdal(path, monkeypatch)
        except Exception as exc:  # what GDAL refuses, the fast path refuses alike
            with pytest.raises(type(exc)):
                read_ogr_points(path, layer=None, reader="shapefile")
            continue
        _same(read_ogr_points(path, layer=None, reader="shapefile"), expected)
    assert fast >= 5  # the SMS and Ag Leader exports, the CSIRO points


def test_files_read_in_pieces_agree(tmp_path, monkeypatch):
    """The index and records read a few at a time (a 10M-record file's pieces)."""
    from leafnb.formats import shp_points

    geoms = _points(50, seed=3)
    path = _write(tmp_path, geoms)
    expected = _by_gdal(path, monkeypatch)
    monkeypatch.setattr(shp_points, "CHUNK_RECORDS", 7)
    points = ShpPoints.open(path)
    assert points.stride == 28 and points.null is None
    _same(read_ogr_points(path, layer=None, reader="shapefile"), expected)
    data = bytearray(path.read_bytes())
    data[100 + 28 * 45 + 8 : 100 + 28 * 45 + 12] = struct.pack("<i", 8)  # 46th record
    path.write_bytes(bytes(data))
    assert ShpPoints.open(path) is None  # found in the last piece
