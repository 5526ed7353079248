import numpy as np
import pyarrow as pa
import pytest

from leafnb.clean.cleanup import cleanup_mask, validate_rules
from leafnb.config import DEFAULT_CLEANUP_RULES
from leafnb.errors import InvalidRequest
from leafnb.formats.base import Column, RawRead
from leafnb.standard.normalize import normalize
from leafnb.standard.points import PointSet


def test_default_rules_with_reasons():
    table = pa.table(
        {
            "lon": np.zeros(6),
            "lat": np.zeros(6),
            "wetMass": [1.0, 0.0, 2.0, 3.0, None, 4.0],
            "harvestMoisture": [20.0, 20.0, 100.0, 15.0, 15.0, 15.0],
            "recordingStatus": ["On", "On", "On", "Off", "On", "On"],
        }
    )
    keep, removed = cleanup_mask(PointSet(table, "harvested"), DEFAULT_CLEANUP_RULES)
    assert keep.tolist() == [True, False, False, False, False, True]
    assert removed == {"wetMass": 2, "harvestMoisture": 1, "recordingStatus": 1}


def test_products_rule_uses_every_product_rate():
    raw = RawRead(
        pa.table(
            {
                "lon": [0.0, 0.0],
                "lat": [0.0, 0.0],
                "rate": [5.0, -1.0],
                "prod": ["UAN", "UAN"],
            }
        ),
        {
            "columns": {
                "rate": Column("appliedRate", "gal/ac"),
                "prod": Column("productName"),
            }
        },
    )
    ps = normalize(raw)
    keep, removed = cleanup_mask(ps, {"products": [{"operator": "GTE", "value": 0.0}]})
    assert keep.tolist() == [True, False] and removed == {"products": 1}


def test_custom_rules_validated():
    with pytest.raises(InvalidRequest, match="'speed' cannot be filtered"):
        validate_rules({"speed": [{"operator": "GT", "value": 1}]})
    with pytest.raises(InvalidRequest, match="operator must be one of EQ, NE"):
        validate_rules({"crop": [{"operator": "GT", "value": 1}]})
    assert validate_rules({"area": [{"operator": "GT", "value": 0.5}]})


def test_rule_values_are_in_canonical_units_whatever_the_points_carry():
    """A rule's number is in the property's canonical unit (kg for a mass): the points
    may carry their source's unit (pounds), as compute_area_and_yield leaves them."""
    pounds = np.array([10.0, 12.0, 2.0])  # 4.54, 5.44 and 0.91 kg
    table = pa.table(
        {"lon": [0.0, 0.0, 0.0], "lat": [0.0, 0.0, 0.0], "wetMass": pounds}
    )
    in_lb = PointSet(table, "harvested", units={"wetMass": "lb"})
    in_kg = PointSet(
        table.set_column(2, "wetMass", pa.array(pounds * 0.45359237)),
        "harvested",
        units={"wetMass": "kg"},
    )
    rules = {"wetMass": [{"operator": "GT", "value": 5.0}]}
    for points in (in_lb, in_kg):
        keep, removed = cleanup_mask(points, rules)
        assert keep.tolist() == [False, True, False] and removed == {"wetMass": 2}
