from __future__ import annotations

import pytest

from leafnb.formats.base import Column
from leafnb.formats.columns import RULES, dedupe_names, split_header_unit
from leafnb.formats.inference import match_columns
from leafnb.formats.transforms import normalise_crop
from leafnb.standard.schema import PROPERTIES
from leafnb.standard.units import parse_unit


def test_every_rule_unit_parses_and_property_is_standard():
    for rule in RULES:
        if rule.unit is not None:
            parse_unit(rule.unit)
        assert (
            rule.property in (None, "timestamp", "productName")
            or rule.property in PROPERTIES
        )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Yld Mass(Dry)(tonne/ha)", ("Yld Mass(Dry)", "tonne/ha")),
        ("Crop Flw(V)(m³/s)", ("Crop Flw(V)", "m³/s")),
        ("Speed(mph)", ("Speed", "mph")),
        ("Yld Mass(Dry)", ("Yld Mass(Dry)", None)),
        ("Obj. Id", ("Obj. Id", None)),
    ],
)
def test_split_header_unit(header, expected):
    assert split_header_unit(header) == expected


def test_sms_shapefile_names():
    m = match_columns(
        ["Yld_Vol_Dr", "yld_mass_d", "MOISTURE__", "Speed_mph_", "Product", "Obj__Id"]
    )
    assert m.family == "sms"
    assert m.provider == "AgLeader"
    assert m.operation_type == "harvested"
    assert m.columns["Yld_Vol_Dr"] == Column("dryVolumePerArea", "bu/ac")
    assert m.columns["yld_mass_d"] == Column("dryMassPerArea", "lb/ac")
    assert m.columns["Product"] == Column("crop", None)
    assert m.transforms["Product"] == "crop"


def test_header_units_win_and_crop_flow_m_is_not_molar():
    m = match_columns(
        ["Crop Flw(M)(tonne/h)", "Moisture(%)", "Speed(km/h)", "Crop Flw(M)"],
        header_units=True,
    )
    assert m.columns["Crop Flw(M)(tonne/h)"] == Column("cropFlow", "tonne/h")
    assert m.columns["Moisture(%)"] == Column("harvestMoisture", "%")
    assert m.columns["Speed(km/h)"] == Column("speed", "km/h")
    assert "Crop Flw(M)" not in m.columns  # cropFlow already taken by an earlier column


@pytest.mark.parametrize(
    ("product_optype", "prop"),
    [("planted", "variety"), ("applied", "productName"), ("harvested", "crop")],
)
def test_product_depends_on_operation_type(product_optype, prop):
    m = match_columns(
        ["Product", "Speed_mph_", "Swth_Wdth_"], operation_type=product_optype
    )
    assert m.columns["Product"].property == prop


def test_standard_names_are_generic_not_a_vendor():
    m = match_columns(
        ["wetMass(kg)", "distance(m)", "heading", "crop"], header_units=True
    )
    assert m.family == "generic"
    assert m.columns["wetMass(kg)"] == Column("wetMass", "kg")


def test_unit_overrides_win():
    m = match_columns(
        ["Elevation", "VRYIELDVOL", "SWATHWIDTH", "WetMass"],
        family="jd",
        unit_overrides={"elevation": "m"},
    )
    assert m.columns["Elevation"] == Column("elevation", "m")


def test_dedupe_and_crop():
    assert dedupe_names(["a", "b", "a", "a", "a.1"]) == ["a", "b", "a.2", "a.3", "a.1"]
    assert normalise_crop('"SOYBEANS"') == "soybeans"
    assert normalise_crop(" Corn ") == "corn"
    assert normalise_crop("") is None
