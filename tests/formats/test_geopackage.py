from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from leafnb.errors import CorruptFile
from leafnb.formats.geopackage import GeoPackageReader
from leafnb.testing import make_points, write_as

R = GeoPackageReader()


def test_planting_gpkg(tmp_path):
    path = write_as(make_points("planted", 200), "geopackage", tmp_path)
    assert R.sniff(path) == 0.9
    assert R.describe(path)["operation_type"] == "planted"
    raw = R.read(path)
    assert raw.meta["columns"]["Product"].property == "variety"
    assert raw.meta["provider"] == "AgLeader"


def test_line_only_gpkg(tmp_path):
    out = tmp_path / "abline.gpkg"
    gpd.GeoDataFrame(
        {"id": ["a"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=4326
    ).to_file(out)
    assert R.sniff(out) == 0.0
    with pytest.raises(CorruptFile, match="no point layer"):
        R.read(out)


def test_several_point_layers_become_parts(tmp_path):
    out = tmp_path / "two.gpkg"
    for layer in ("a", "b"):
        gpd.GeoDataFrame(
            {"seedRate": [30000.0]}, geometry=[Point(-93.6, 42.0)], crs=4326
        ).to_file(out, layer=layer)
    assert R.parts(out) == ["a", "b"]
    assert R.read(out, part="b").meta["layer"] == "b"


def test_not_sqlite(tmp_path):
    p = tmp_path / "x.gpkg"
    p.write_text("hello")
    assert R.sniff(p) == 0.0
