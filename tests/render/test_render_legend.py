"""The 7-class quantile legend: ordering, the tie rule, colours."""

import itertools

import numpy as np
import pytest

from leafnb.errors import TiedClassesWarning
from leafnb.render.legend import LEAF_COLORS, Legend, quantile_legend


def check_ranges(legend: Legend):
    r = legend.ranges
    assert len(r) == 7
    assert [x["colorCode"] for x in r] == list(LEAF_COLORS)
    for a in r:
        assert set(a) == {"colorCode", "min", "max"} and a["min"] <= a["max"]
    for a, b in itertools.pairwise(r):
        assert a["max"] == b["min"]
    return np.array([r[0]["min"]] + [x["max"] for x in r])


def test_plain_quantiles_no_warning_and_match_mapclassify():
    rng = np.random.default_rng(0)
    v = rng.normal(180, 30, 5000)
    legend = quantile_legend(v)  # no warning: pytest turns LeafnbWarnings into errors
    edges = check_ranges(legend)
    assert np.all(np.diff(edges) > 0) and not legend.tied
    assert edges[0] == v.min() and edges[-1] == v.max()
    cls = legend.classify(v)
    assert np.bincount(cls, minlength=7).min() >= 700  # ~5000/7 each


def test_same_classes_as_mapclassify_quantiles_without_ties():
    mapclassify = pytest.importorskip("mapclassify")
    v = np.random.default_rng(0).normal(180, 30, 5000)
    legend = quantile_legend(v)
    edges, cls = legend.edges, legend.classify(v)
    q = mapclassify.Quantiles(v, k=7)
    np.testing.assert_allclose(q.bins, edges[1:])
    assert np.array_equal(q.yb, cls)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(np.full(50, 7.5), id="constant"),
        pytest.param(np.r_[np.zeros(600), np.linspace(1, 300, 400)], id="60pct-zeros"),
        pytest.param(np.minimum(np.linspace(0, 120, 1000), 80.0), id="capped"),
        pytest.param(np.repeat([1.0, 2.0, 3.0], 30), id="3-distinct"),
        pytest.param(np.r_[np.zeros(900), 5.0], id="one-outlier"),
        pytest.param(np.array([0.0, 1.0] * 50), id="binary"),
    ],
)
def test_tie_rule_always_gives_seven_ordered_ranges(values):
    with pytest.warns(TiedClassesWarning):
        legend = quantile_legend(values)
    edges = check_ranges(legend)
    assert legend.tied and legend.to_dict()["tiedClasses"] is True
    if values.min() == values.max():
        assert legend.constant and np.all(
            legend.classify(values) == 3
        )  # constant -> middle class
    else:
        assert np.all(np.diff(edges) > 0)  # strictly increasing after the rule
        assert edges[0] == values.min() and edges[-1] == values.max()
    cls = legend.classify(values)
    assert cls.min() >= 0 and cls.max() <= 6
    # a tied value sits wholly in one class; classes are monotone in value
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(cls[order]) >= 0)
    for u in np.unique(values):
        assert len(np.unique(cls[values == u])) == 1
    # deterministic
    with pytest.warns(TiedClassesWarning):
        assert quantile_legend(values).ranges == legend.ranges


def test_sixty_percent_zeros_edges():
    v = np.r_[np.zeros(600), np.linspace(1, 300, 400)]
    legend = quantile_legend(v, warn=False)
    assert legend.tied
    assert legend.classify([0.0])[0] == 0 and legend.classify([300.0])[0] == 6
    # the untied upper quantile edges (5/7, 6/7) are kept as they are
    q = np.quantile(v, [5 / 7, 6 / 7])
    assert set(np.round(q, 9)) <= set(np.round(legend.edges, 9))


def test_nan_and_inf_ignored_and_transparent():
    v = np.r_[np.arange(70.0), [np.nan] * 10, [np.inf]]
    legend = quantile_legend(v)
    check_ranges(legend)
    assert legend.count == 70 and legend.ranges[-1]["max"] == 69.0
    cls = legend.classify(v[:80])
    assert np.all(cls[70:] == -1) and np.all(cls[:70] >= 0)
    rgba = legend.rgba(np.array([np.nan, 0.0, 69.0]))
    assert rgba.dtype == np.uint8 and rgba.shape == (3, 4)
    assert rgba[0].tolist() == [0, 0, 0, 0]
    assert rgba[1].tolist() == [0xC8, 0, 0, 255] and rgba[2].tolist() == [
        0,
        0x82,
        0,
        255,
    ]


def test_fewer_than_seven_distinct_values_without_ties():
    legend = quantile_legend(
        [1.0, 2.0, 3.0]
    )  # linear quantiles are distinct: no tie, no warning
    check_ranges(legend)
    assert legend.classify([1.0, 2.0, 3.0]).tolist() == [0, 3, 6]


def test_empty_and_out_of_range():
    legend = quantile_legend([np.nan, np.nan])
    assert len(legend.ranges) == 7 and legend.ranges[0]["min"] is None
    assert legend.classify([np.nan]).tolist() == [-1]
    legend = quantile_legend(np.arange(14.0))
    assert legend.classify([-100.0, 1e9]).tolist() == [0, 6]


def test_round_trip_dict_and_colours():
    rng = np.random.default_rng(3)
    v = rng.gamma(2.0, 50.0, 1000)
    legend = quantile_legend(v, unit="bu/ac", property="dryVolumePerArea")
    back = Legend.from_dict(legend.to_dict())
    probe = np.r_[v[:100], np.nan, legend.edges]
    assert np.array_equal(back.rgba(probe), legend.rgba(probe))
    hexes = [
        "#{:02X}{:02X}{:02X}".format(*tuple(c[:3]))
        for c in legend.rgba(legend.edges[1:])
    ]
    assert hexes == list(LEAF_COLORS)  # each class's upper edge is in that class
    with pytest.raises(ValueError, match="a legend has 7 ranges, got 6"):
        Legend(legend.ranges[:6])
