"""Derived-column recipes: per-distinct-value crop factors, the exactness check, NaN as null.

Expected values are the recipe's formula written out here per point (a Python loop over
rows), not leafnb's vectorised result.
"""

import numpy as np
import pyarrow as pa
import pytest

from leafnb.store import derived

CROPS = {"corn": [721.0, 15.0], "soybeans": [772.4, 13.0], "oats": [412.0, None]}


def _table():
    crop = ["corn", "soybeans", None, "oats", "corn", "rye", "soybeans", "corn"]
    moisture = [20.0, 14.0, 18.0, None, 25.0, 16.0, 13.0, 15.0]
    wet = [1.0, 2.0, 3.0, 4.0, None, 6.0, 7.0, 8.0]
    return pa.table(
        {
            "crop": pa.chunked_array([crop[:3], crop[3:]]),  # two chunks
            "harvestMoisture": moisture,
            "wetMass": wet,
            "area": [10.0, 0.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0],
        }
    )


RECIPE = {
    "crops": CROPS,
    "moisture": ["harvestMoisture", 1.0],
    "steps": [
        {"column": "dryMass", "from": "wetMass", "factor": 1.0, "row": "dry"},
        {"column": "dryVolume", "from": "dryMass", "factor": 1.0, "row": "per_density"},
        {
            "column": "dryVolumePerArea",
            "from": "dryVolume",
            "factor": 1.0,
            "area": "per",
        },
    ],
}


def _by_row(table):
    """The recipe's three columns, one row at a time."""
    rows = table.to_pylist()
    out = {"dryMass": [], "dryVolume": [], "dryVolumePerArea": []}
    for r in rows:
        crop = CROPS.get(str(r["crop"]))
        wet, moist = r["wetMass"], r["harvestMoisture"]
        wet = np.nan if wet is None else wet
        moist = np.nan if moist is None else moist
        std = np.nan if crop is None or crop[1] is None else crop[1]
        dry = wet if np.isnan(std) else wet * ((100.0 - moist) / (100.0 - std))
        density = np.nan if crop is None else crop[0]
        vol = dry / density
        per = vol / (r["area"] / 10_000.0) if r["area"] > 0 else np.nan
        out["dryMass"].append(dry)
        out["dryVolume"].append(vol)
        out["dryVolumePerArea"].append(per)
    return {k: np.array(v) for k, v in out.items()}


def test_apply_gives_the_formula_per_point():
    table = derived.apply(_table(), RECIPE)
    expected = _by_row(_table())
    for name, values in expected.items():
        got = table.column(name).to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(got, values)  # NaN where missing, else equal
        assert table.column(name).null_count == int(np.isnan(values).sum())


def test_verified_keeps_exact_steps_and_drops_a_one_ulp_difference():
    table = derived.apply(_table(), RECIPE)
    assert derived.verified(table, RECIPE)["steps"] == RECIPE["steps"]
    name = "dryVolumePerArea"
    per = table.column(name).to_numpy(zero_copy_only=False).copy()
    i = int(np.flatnonzero(np.isfinite(per))[0])
    per[i] = np.nextafter(per[i], np.inf)
    off = table.set_column(
        table.schema.get_field_index(name), name, derived.float_array(per)
    )
    kept = derived.verified(off, RECIPE)
    assert [s["column"] for s in kept["steps"]] == ["dryMass", "dryVolume"]


def test_verified_drops_a_step_where_a_stored_nan_is_not_missing():
    table = derived.apply(_table(), RECIPE)
    values = table.column("dryMass").to_numpy(zero_copy_only=False)
    as_nan = pa.array(values, type=pa.float64())  # NaN stored as a value, not null
    assert as_nan.null_count == 0
    off = table.set_column(table.schema.get_field_index("dryMass"), "dryMass", as_nan)
    kept = derived.verified(off, RECIPE)
    assert "dryMass" not in [s["column"] for s in kept["steps"]]


def test_crop_factor_is_shared_between_steps_only_when_asked():
    table = _table()
    rows: dict = {}
    step = RECIPE["steps"][0]
    first = derived.step_values(table, RECIPE, step, rows)
    assert set(rows) == {"dry"}
    np.testing.assert_array_equal(first, derived.step_values(table, RECIPE, step))


@pytest.mark.parametrize(
    "values",
    [
        np.array([]),
        np.array([1.0, 2.0]),
        np.array([np.nan] * 9 + [1.0]),
        np.where(np.arange(1001) % 3 == 0, np.nan, 1.5),
        np.arange(20.0)[::2],  # not contiguous
    ],
)
def test_float_array_equals_a_masked_array(values):
    arr = derived.float_array(values)
    arr.validate(full=True)
    assert arr.equals(pa.array(values, mask=np.isnan(values), type=pa.float64()))


def test_distinct_gives_values_once_and_codes_per_row():
    values, codes = derived.distinct(pa.chunked_array([["b", "a"], [None, "b"]]))
    assert values == ["b", "a", None]
    assert codes.tolist() == [0, 1, 2, 0]


def test_distinct_of_the_same_column_again_is_not_encoded_again(monkeypatch):
    column = pa.chunked_array([["maize", "soy"], ["maize"]])
    first = derived.distinct(column)
    calls = []
    encode = derived.pc.dictionary_encode
    monkeypatch.setattr(
        derived.pc,
        "dictionary_encode",
        lambda *a, **k: calls.append(1) or encode(*a, **k),
    )
    again = derived.distinct(pa.table({"c": column}).column("c"))  # same buffers
    assert again[0] == first[0] and again[1] is first[1] and not calls
    assert not again[1].flags.writeable  # shared: nobody changes it
    # equal values in other buffers are other data: encoded
    assert derived.distinct(pa.chunked_array([["maize", "soy", "maize"]]))[0] == [
        "maize",
        "soy",
    ]
    assert calls == [1]


def test_a_table_made_by_its_recipe_is_verified_without_recomputing(monkeypatch):
    table, other = derived.apply(_table(), RECIPE), derived.apply(_table(), RECIPE)
    derived.made_by(table, RECIPE)
    calls = []
    compute = derived.step_values
    monkeypatch.setattr(
        derived, "step_values", lambda *a: calls.append(1) or compute(*a)
    )
    assert derived.verified(table, RECIPE) is RECIPE and not calls
    # another table, or a recipe changed since: the steps are computed again
    assert derived.verified(other, RECIPE)["steps"] == RECIPE["steps"]
    assert len(calls) == 3
    changed = {**RECIPE, "steps": RECIPE["steps"][:1]}
    assert derived.verified(table, changed)["steps"] == changed["steps"]
    assert len(calls) == 4


def test_distinct_of_a_dictionary_array_equals_that_of_its_values():
    # read back from Parquet, a crop column is a dictionary: its indices are encoded
    # instead of its text, with the same answer (order of first occurrence, None)
    rng = np.random.default_rng(7)
    for case in range(400):
        entries = int(rng.integers(1, 20))
        dictionary = [f"crop{i}" for i in rng.permutation(entries)]
        if case % 50 == 0:
            dictionary[-1] = dictionary[0]  # a repeated entry: decoded first
        rows = int(rng.integers(0, 40))
        index = rng.integers(0, entries, rows).astype("int32")
        nulls = rng.random(rows) < 0.2
        arr = pa.DictionaryArray.from_arrays(
            pa.array(index, mask=nulls), pa.array(dictionary)
        )
        values, codes = derived.distinct(arr)
        decoded = arr.dictionary_decode().to_pylist()
        first = list(dict.fromkeys(decoded))
        assert values == first
        assert [values[c] for c in codes] == decoded
        assert codes.dtype == np.int32
