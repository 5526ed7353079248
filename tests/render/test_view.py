"""Map views (leafnb.render.view), classification schemes and the browser map data."""

from __future__ import annotations

import numpy as np
import pytest

from leafnb.render.legend import classify_legend, quantile_legend
from leafnb.render.mapdata import encode_points, legend_spec, unit_factors
from leafnb.render.view import nearest_point, render_view, robust_extent, scale_bar


def _field(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    lon = -93.0 + rng.uniform(0, 0.005, n)
    lat = 42.0 + rng.uniform(0, 0.003, n)
    return lon, lat


def test_robust_extent_frames_the_field_not_the_glitch():
    lon, lat = _field()
    lon[10], lat[10] = 10.0, 50.0  # one GPS glitch in Europe
    lon[11] = np.nan
    e = robust_extent(lon, lat)
    assert e.west >= -93.0 and e.east <= -92.995 and e.north <= 42.003
    assert np.flatnonzero(e.outliers).tolist() == [10]
    # a second field 300 m away stays in the frame (within the margin), not an outlier
    lon2 = np.r_[lon[:10], -92.992]
    lat2 = np.r_[lat[:10], 42.001]
    assert robust_extent(lon2, lat2).outliers.sum() == 0


def test_nearest_point_and_scale_bar():
    lon, lat = _field()
    i, d = nearest_point(lon, lat, lon[5] + 1e-7, lat[5])
    assert i == 5 and d < 0.05
    assert nearest_point(lon, lat, 0.0, 0.0, max_distance_m=100)[0] == -1
    px, label = scale_bar(2.0)
    assert label == "200 m" and px == pytest.approx(100)
    assert scale_bar(50.0)[1] == "5 km" and scale_bar(50.0, imperial=True)[1] == "2 mi"


def test_render_view_uses_the_legend_colours():
    lon, lat = _field()
    values = np.linspace(0, 100, len(lon))
    legend = quantile_legend(values)
    from leafnb.render.raster import project

    x, y = project(lon, lat, "EPSG:3857")
    window = (x.min(), y.min(), x.max(), y.max())
    rgba = render_view(lon, lat, values, legend, window, 200, 150)
    assert rgba.shape == (150, 200, 4)
    drawn = rgba[rgba[..., 3] > 0][:, :3]
    colours = {
        tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))
        for c in (r["colorCode"] for r in legend.ranges)
    }
    assert {tuple(p) for p in drawn} <= colours and len(drawn) > 1000


def test_classification_schemes():
    v = np.r_[np.zeros(50), np.full(50, 10.0), np.linspace(100, 200, 100)]
    assert (
        classify_legend(v, warn=False).ranges == quantile_legend(v, warn=False).ranges
    )  # the default is imagesV2
    ei = classify_legend(v, "equal_interval", warn=False)
    assert [r["max"] for r in ei.ranges][-1] == 200 and ei.ranges[0][
        "max"
    ] == pytest.approx(200 / 7)
    nb = classify_legend(v, "natural_breaks", ramp="viridis", warn=False)
    assert nb.ranges[0]["colorCode"] == "#440154"
    assert nb.classify([0.0])[0] != nb.classify([150.0])[0]
    with pytest.raises(ValueError, match="not a valid classification"):
        classify_legend(v, "kmeans", warn=False)
    with pytest.raises(ValueError, match="not a valid ramp"):
        classify_legend(v, ramp="rainbow", warn=False)


def test_map_layer_buffers_and_legend_spec():
    lon, lat = _field(10)
    legend = quantile_legend(np.arange(10.0), unit="bu/ac", property="dryVolumePerArea")
    spec = encode_points(
        "points",
        "p",
        lon,
        lat,
        (-10352000.0, 5160000.0),
        values=np.arange(10.0),
        classes=legend.classify(np.arange(10.0)),
        width_m=np.full(10, 9.1),
    )
    assert spec["width_m"] == pytest.approx(9.1) and "width" not in spec
    assert (
        np.frombuffer(spec["cls"], np.uint8).tolist()
        == legend.classify(np.arange(10.0)).tolist()
    )
    doc = legend_spec(legend, "dryVolumePerArea", "bu/ac", "metric")
    assert doc["title"] == "dryVolumePerArea (m³/ha)" and len(doc["rows"]) == 7
    assert doc["edges"] == pytest.approx(
        legend.edges.tolist()
    )  # browser classes in stored units
    f = unit_factors({"speed": "mm/s"}, "imperial")["speed"]
    assert f["label"] == "mph" and f["factor"] == pytest.approx(3600 / 1609344)
