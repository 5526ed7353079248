"""Points written once and compactly (issues 16 "write once", 18 workspace size).

A standard artifact stores neither ``lon``/``lat`` beside the native geometry nor the
derived harvest columns; reading it gives back exactly what the pipeline saw. The
derived values are checked against the textbook formulas computed here (not against
leafnb's own output).
"""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leafnb.pipeline.steps import FileJob, convert_file
from leafnb.standard.points import PointSet
from leafnb.store.artifacts import (
    iter_points_tables,
    read_points_table,
    write_geoparquet,
)
from leafnb.testing import make_points, write_as

CORN_LB_PER_BU, CORN_STD_MOISTURE = 56.0, 15.0  # Leaf's crop table (spec §11)
LB, BU = 0.45359237, 0.03523907016688  # kg, m³


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """An Ag Leader text log (mass flow only) of 1,500 harvest points, converted."""
    tmp = tmp_path_factory.mktemp("compact")
    shp = write_as(
        make_points("harvested", 1500, seed=3), "agleader_text", tmp, name="h"
    )
    out = tmp / "out"
    outcome = convert_file(
        FileJob(
            "f",
            "agleader_text",
            str(shp),
            None,
            str(out),
            {"filterProfile": "standard"},
        )
    )
    assert not outcome.failed, outcome.steps
    return out


def test_standard_file_stores_measured_columns_only(converted):
    stored = pq.read_schema(converted / "standard.parquet").names
    table, meta = read_points_table(converted / "standard.parquet")
    assert "lon" not in stored and "lat" not in stored and "geometry" in stored
    derived = {"area", "wetVolume", "dryMass", "dryVolume", "dryVolumePerArea"}
    assert derived <= set(table.column_names) and not derived & set(stored)
    assert table.column_names[:2] == ["lon", "lat"]
    assert (
        "derived" not in meta and "columns" not in meta
    )  # storage detail stays inside
    geometry = pq.read_table(converted / "standard.parquet", columns=["geometry"])
    assert np.array_equal(
        geometry.column("geometry").combine_chunks().field("x").to_numpy(),
        table.column("lon").to_numpy(),
    )


def test_derived_values_follow_the_formulas(converted):
    table, meta = read_points_table(converted / "standard.parquet")
    units = meta["units"]
    col = {
        c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names
    }
    to_kg = {"lb": LB, "kg": 1.0}[units["wetMass"]]
    to_m3 = {"bu": BU, "m3": 1.0}[units["wetVolume"]]
    wet_kg = col["wetMass"] * to_kg
    density = CORN_LB_PER_BU * LB / BU  # kg/m³
    assert np.allclose(col["wetVolume"] * to_m3, wet_kg / density, rtol=1e-12)
    dry = wet_kg * (100 - col["harvestMoisture"]) / (100 - CORN_STD_MOISTURE)
    assert np.allclose(col["dryMass"] * to_kg, dry, rtol=1e-12, equal_nan=True)
    to_m = {"ft": 0.3048, "in": 0.0254, "m": 1.0}
    area = (
        col["distance"]
        * to_m[units["distance"]]
        * col["equipmentWidth"]
        * to_m[units["equipmentWidth"]]
    )
    assert np.allclose(col["area"], area, rtol=1e-12)  # m², in every unit system


def test_round_trip_is_exact_and_smaller(tmp_path):
    table = make_points("harvested", 3000, seed=1).replace_schema_metadata(None)
    recipe = {
        "crops": {"corn": [CORN_LB_PER_BU * LB / BU, CORN_STD_MOISTURE]},
        "moisture": ["harvestMoisture", 1.0],
        "steps": [
            {
                "column": "dryMass",
                "from": "wetMass",
                "factor": 1.0,
                "row": "dry",
                "area": None,
            },
            {
                "column": "dryMassPerArea",
                "from": "dryMass",
                "factor": 1.0,
                "row": None,
                "area": "per",
            },
        ],
    }
    from leafnb.store.derived import apply

    table = apply(table, recipe)  # what the pipeline does before it writes
    write_geoparquet(tmp_path / "a.parquet", table, {"derived": recipe})
    write_geoparquet(tmp_path / "b.parquet", table)
    back, _ = read_points_table(tmp_path / "a.parquet")
    assert back.equals(table.replace_schema_metadata(None))
    assert (tmp_path / "a.parquet").stat().st_size < (
        tmp_path / "b.parquet"
    ).stat().st_size
    parts = list(
        iter_points_tables(tmp_path / "a.parquet", ["lat", "dryMassPerArea"], 1000)
    )
    assert [p.num_rows for p in parts] == [1000, 1000, 1000]
    assert pa.concat_tables(parts).equals(back.select(["lat", "dryMassPerArea"]))


def test_a_table_with_missing_coordinates_keeps_lon_lat(tmp_path):
    table = pa.table({"lon": [1.0, None], "lat": [2.0, 3.0], "speed": [1.0, 2.0]})
    write_geoparquet(tmp_path / "raw.parquet", table)
    assert {"lon", "lat"} <= set(pq.read_schema(tmp_path / "raw.parquet").names)
    assert read_points_table(tmp_path / "raw.parquet")[0].equals(table)


def test_filter_result_is_a_reason_per_point_and_replays_exactly(converted):
    """The standard profile shifts yield by the flow delay; the stored mask + report
    rebuild the same kept values as the run itself."""
    from leafnb.clean.output import MASK, materialize, read_filtered
    from leafnb.clean.profiles import FilterPipeline

    assert (converted / MASK).exists() and not (converted / "filtered.parquet").exists()
    table, meta = read_points_table(converted / "standard.parquet")
    points = PointSet(table, "harvested", units=meta["units"], meta=meta)
    direct = FilterPipeline.profile("standard").run(points)
    stored = read_filtered(converted)
    assert (
        direct.report["flowDelay"]["seconds"] == stored.report["flowDelay"]["seconds"]
    )
    assert stored.kept.table.equals(direct.kept.table)
    assert stored.removed.table.equals(direct.removed.table)
    reasons = pq.read_table(converted / MASK).column("filterReason")
    assert reasons.null_count == direct.report["kept"]
    assert len(reasons) == len(points)
    path = materialize(converted / "filtered.parquet")
    assert read_points_table(path)[0].equals(direct.kept.table)


def test_a_column_the_recipe_does_not_rebuild_exactly_is_stored(tmp_path):
    """Writing never loses a value: a step off by one bit keeps its column."""
    table = pa.table(
        {
            "lon": [1.0, 2.0],
            "lat": [3.0, 4.0],
            "wetMass": [10.0, 20.0],
            "wetMassPerArea": [1.0, np.nextafter(2.0, 3.0)],
        }
    )
    recipe = {
        "steps": [
            {
                "column": "wetMassPerArea",
                "from": "wetMass",
                "factor": 0.1,
                "row": None,
                "area": None,
            }
        ]
    }
    write_geoparquet(tmp_path / "p.parquet", table, {"derived": recipe})
    assert "wetMassPerArea" in pq.read_schema(tmp_path / "p.parquet").names
    assert read_points_table(tmp_path / "p.parquet")[0].equals(table)


def test_merged_operation_keeps_the_members_recipe(tmp_path):
    """Two harvest logs with one unit system merge into an operation whose derived
    columns are rebuilt on read, equal to the members' own."""
    from leafnb.operations.combine import combine, read_member
    from leafnb.operations.merge import build_points

    folders = []
    for seed in (1, 2):
        src = tmp_path / f"src{seed}"
        log = write_as(
            make_points("harvested", 400, seed=seed), "agleader_text", src, name="h"
        )
        out = tmp_path / f"f{seed}"
        outcome = convert_file(
            FileJob(f"f{seed}", "agleader_text", str(log), None, str(out), {})
        )
        assert not outcome.failed
        folders.append((f"f{seed}", out))
    op = tmp_path / "op"
    outcome, points = build_points(folders, {}, op)
    assert not outcome.failed and points is not None
    stored = pq.read_schema(op / "standard.parquet").names
    assert "dryMass" not in stored and "wetVolume" not in stored
    table, _ = read_points_table(op / "standard.parquet")
    members = combine([read_member(fid, d) for fid, d in folders]).table
    for name in ("dryMass", "wetVolume", "dryVolumePerArea"):
        got = table.column(name).to_numpy(zero_copy_only=False)
        want = members.column(name).to_numpy(zero_copy_only=False)
        assert np.array_equal(np.sort(got), np.sort(want), equal_nan=True)
