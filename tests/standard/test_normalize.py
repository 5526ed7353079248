"""Raw read -> standard points (leafnb.standard.normalize) against spec §1 and §3.

The expectations come from the spec's property tables and messages, and from code lists
outside leafnb (the USDA NASS Cropland Data Layer legend: 1 Corn, 5 Soybeans, 24 Winter
Wheat), not from leafnb's own output.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from leafnb.errors import FormatError, LeafnbWarning
from leafnb.formats.base import Column, RawRead
from leafnb.standard.normalize import UnsupportedOperationType, normalize


def _raw(columns: dict[str, list], mapping: dict[str, Column], **meta) -> RawRead:
    n = len(next(iter(columns.values())))
    table = pa.table(
        {"lon": [-93.0 + i * 1e-5 for i in range(n)], "lat": [42.0] * n, **columns}
    )
    return RawRead(table, {"columns": mapping, **meta})


@pytest.mark.parametrize(
    ("column", "prop", "optype"),
    [
        # spec §1.3-§1.6: the property that only one operation type has
        ("Rt_Apd_Ct_", "seedRate", "planted"),
        ("Rate_Appli", "appliedRate", "applied"),
        ("Yld_Mass_W", "wetMass", "harvested"),
        ("Depth", "tillageDepthActual", "tillage"),
    ],
)
def test_operation_type_detected_from_the_types_own_property(column, prop, optype):
    pts = normalize(_raw({column: [1.0, 2.0]}, {column: Column(prop, "m")}))
    assert pts.operation_type == optype
    # spec §1.2: every point carries operationType
    assert pts.table.column("operationType").to_pylist() == [optype, optype]


def test_no_operation_property_is_leafs_unsupported_message():
    # spec §3: "unsupported operation type: {type}" (e.g. guidance, unknown)
    raw = _raw({"Speed": [1.0]}, {"Speed": Column("speed", "km/h")})
    with pytest.raises(
        UnsupportedOperationType, match=r"^unsupported operation type: unknown$"
    ):
        normalize(raw)
    raw = _raw(
        {"Speed": [1.0]},
        {"Speed": Column("speed", "km/h")},
        original_operation_type="guidance",
    )
    with pytest.raises(
        UnsupportedOperationType, match="unsupported operation type: guidance"
    ):
        normalize(raw)


def test_columns_renamed_values_and_declared_units_kept():
    # normalising renames and attaches units; unit conversion is a later step
    raw = _raw(
        {"VRYIELDMAS": [150.0, 160.0], "Moisture": [18.5, 19.0]},
        {
            "VRYIELDMAS": Column("wetMassPerArea", "lb/ac"),
            "Moisture": Column("harvestMoisture", "%"),
        },
    )
    pts = normalize(raw)
    assert pts.array("wetMassPerArea").tolist() == [150.0, 160.0]
    assert pts.array("harvestMoisture").tolist() == [18.5, 19.0]
    assert pts.units == {"wetMassPerArea": "lb/ac", "harvestMoisture": "%"}
    assert "VRYIELDMAS" not in pts.table.column_names


def test_a_unit_pint_cannot_read_fails_naming_the_column():
    raw = _raw({"Y": [1.0]}, {"Y": Column("wetMass", "bushels-ish")})
    with pytest.raises(FormatError, match="column 'Y' has unit 'bushels-ish'"):
        normalize(raw)


def test_properties_of_another_operation_type_are_dropped():
    # spec §1.4: appliedRate is applied-only; a harvest file does not carry it
    raw = _raw(
        {"Yield": [5.0], "Rate": [3.0]},
        {"Yield": Column("wetMass", "kg"), "Rate": Column("appliedRate", "l/ha")},
        operation_type="harvested",
    )
    pts = normalize(raw)
    assert "wetMass" in pts.table.column_names
    assert "appliedRate" not in pts.table.column_names


def test_first_mapping_of_a_property_wins():
    raw = _raw(
        {"Yld_A": [1.0], "Yld_B": [2.0]},
        {"Yld_A": Column("wetMass", "kg"), "Yld_B": Column("wetMass", "lb")},
    )
    pts = normalize(raw)
    assert pts.array("wetMass").tolist() == [1.0]
    assert pts.units["wetMass"] == "kg"


def test_unknown_property_is_warned_and_ignored():
    raw = _raw(
        {"Yield": [1.0], "Odd": [7.0]},
        {"Yield": Column("wetMass", "kg"), "Odd": Column("notAProperty")},
    )
    with pytest.warns(LeafnbWarning, match="maps to unknown property 'notAProperty'"):
        pts = normalize(raw)
    assert "notAProperty" not in pts.table.column_names


def test_recording_status_is_on_or_off_strings():
    # spec §1.2 [conflict]: cleanup compares recordingStatus to the string "On"
    raw = _raw(
        {"Yield": [1.0] * 6, "Status": ["1", "0", "TRUE", "off", "Logging", None]},
        {"Yield": Column("wetMass", "kg"), "Status": Column("recordingStatus")},
    )
    pts = normalize(raw)
    assert pts.table.column("recordingStatus").to_pylist() == [
        "On",
        "Off",
        "On",
        "Off",
        "On",
        None,
    ]


def test_text_that_is_not_a_number_is_missing_and_counted():
    # "n/a" is a missing-value token; "x" is a malformed cell: skipped and counted
    raw = _raw(
        {"Yield": ["1.5", "n/a", "2", "3", "4", "x"]},
        {"Yield": Column("wetMass", "kg")},
    )
    pts = normalize(raw)
    assert pts.table.column("wetMass").to_pylist() == [1.5, None, 2.0, 3.0, 4.0, None]
    assert (
        "1 cells of 'Yield' are not numbers ('x'); read as missing" in pts.meta["notes"]
    )


def test_a_text_column_mapped_to_a_number_is_missing_and_noted():
    raw = _raw({"Yield": ["high", "low"]}, {"Yield": Column("wetMass", "kg")})
    pts = normalize(raw)
    assert pts.table.column("wetMass").to_pylist() == [None, None]
    assert "column 'Yield' holds no numbers; read as missing" in pts.meta["notes"]


def test_integer_properties_are_rounded():
    # spec §8.4: sectionId is an int
    raw = _raw(
        {"Yield": [1.0, 1.0], "Sec": [3.0, 2.6]},
        {"Yield": Column("wetMass", "kg"), "Sec": Column("sectionId")},
    )
    pts = normalize(raw)
    assert pa.types.is_integer(pts.table.column("sectionId").type)
    assert pts.table.column("sectionId").to_pylist() == [3, 3]


def test_crop_codes_of_a_cdl_column_are_usda_crop_names():
    # USDA NASS Cropland Data Layer legend: 1 Corn, 5 Soybeans, 24 Winter Wheat
    raw = _raw(
        {"Yield": [1.0, 1.0, 1.0], "CDL_Code": ["1", "5", "24"]},
        {"Yield": Column("wetMass", "kg"), "CDL_Code": Column("crop")},
    )
    pts = normalize(raw)
    assert pts.table.column("crop").to_pylist() == ["corn", "soybeans", "winter wheat"]


def test_file_wide_facts_fill_every_point():
    raw = _raw(
        {"Rate": [30000.0, 32000.0]},
        {"Rate": Column("seedRate", "seeds/ac")},
        crop="Corn",
        variety="P1197",
        original_operation_type="SeedingPlanting",
        machinery=[{"name": "8R 370", "type": "machine"}, "DB60"],
    )
    pts = normalize(raw)
    t = pts.table
    assert t.column("crop").to_pylist() == ["corn", "corn"]
    assert t.column("variety").to_pylist() == ["P1197", "P1197"]
    assert t.column("originalOperationType").to_pylist() == ["SeedingPlanting"] * 2
    # spec §1.1: machinery is a list of strings (machine and implement names)
    assert t.column("machinery").to_pylist() == [["8R 370", "DB60"]] * 2


def test_tank_mix_products_carry_the_combined_rate():
    # spec §1.1/§1.4: products is a list of {name, rate: {value}} per point
    raw = _raw(
        {"Rate": [10.0, 12.5]},
        {"Rate": Column("appliedRate", "gal/ac")},
        products=[{"name": "Glyphosate"}, {"name": "AMS"}],
    )
    pts = normalize(raw)
    assert pts.table.column("products").to_pylist() == [
        [{"name": "Glyphosate + AMS", "rate": {"value": 10.0}}],
        [{"name": "Glyphosate + AMS", "rate": {"value": 12.5}}],
    ]


def test_harvest_without_crop_is_noted():
    raw = _raw({"Yield": [1.0]}, {"Yield": Column("wetMass", "kg")})
    pts = normalize(raw)
    assert "no crop is recorded: dry values equal wet" in pts.meta["notes"]


def test_timestamps_become_utc_milliseconds():
    raw = _raw(
        {
            "Yield": [1.0],
            "timestamp": pa.array([1_600_000_000_123], pa.timestamp("ms")),
        },
        {"Yield": Column("wetMass", "kg")},
    )
    pts = normalize(raw)
    assert pts.table.column("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert pts.table.column("timestamp").cast(pa.int64()).to_pylist() == [
        1_600_000_000_123
    ]
