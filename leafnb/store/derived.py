"""Derived columns a points artifact does not store: rebuilt, bit for bit, when it is read.

A harvest file's standard points carry up to eight numbers per point that leafnb
*derived* from what the machine measured: dry from wet mass, volume from mass (the
crop's density), per-area values from totals and the point's area, and back. Stored as
float64 they are incompressible (about 9 bytes a point each, two thirds of a harvest
file), yet each is one multiplication or division of stored columns. So a standard
artifact stores the measured columns and a *recipe*; :func:`apply` rebuilds the derived
columns from them in the recipe's order.

The values are exact, not approximations of what was computed: the pipeline itself
passes its points through :func:`apply` before it summarises, filters or writes them
(:func:`leafnb.standard.area_yield.derivation_recipe` builds the recipe), so what is
read back is what every later step saw. A recipe is plain JSON in the file's metadata
(``leafnb.derived``), with the crop densities and standard moistures it used, so a later
change to the crop table does not change an old file.

One step of a recipe::

    {"column": "dryVolume", "from": "dryMass", "factor": 0.001, "row": "per_density",
     "area": null}

means ``dryVolume = ((dryMass × factor) ÷ density) [÷|×] area`` with

* ``factor`` — the unit conversions of the operand into the canonical unit and of the
  result out of it, folded into one number;
* ``by`` — optionally a second column to multiply by (``area = distance ×
  equipmentWidth``, ``wetMass = cropFlow × samplingInterval``);
* ``row`` — a per-point factor: ``density`` / ``per_density`` (× or ÷ the crop's
  density, kg/m³), ``dry`` / ``per_dry`` (× or ÷ ``(100 − moisture) / (100 − standard
  moisture)``, 1 for a crop without a standard moisture), or none;
* ``area`` — ``per`` (÷ the point's area in ha, missing where the area is not > 0),
  ``times`` (× it), or none.

>>> import pyarrow as pa
>>> table = pa.table({"wetMass": [10.0, 20.0], "area": [5000.0, 0.0]})
>>> recipe = {"steps": [{"column": "wetMassPerArea", "from": "wetMass", "factor": 1.0,
...                      "row": None, "area": "per"}]}
>>> apply(table, recipe).column("wetMassPerArea").to_pylist()
[20.0, None]
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "apply",
    "distinct",
    "float_array",
    "float_values",
    "lookup_columns",
    "made_by",
    "merge_recipes",
    "needed_columns",
    "step_inputs",
    "step_values",
    "verified",
]


def float_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric column as float64 numpy (nulls as NaN).

    >>> float_values(pa.chunked_array([[1, None]])).tolist()
    [1.0, nan]
    """
    if column.type != pa.float64():  # (a cast call costs more than a small column)
        column = pc.cast(column, pa.float64())
    return column.to_numpy(zero_copy_only=False).astype("float64", copy=False)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    """Column *name* as float64 numpy (nulls as NaN); all NaN when absent."""
    if table.schema.get_field_index(name) < 0:  # (no list of every name)
        return np.full(table.num_rows, np.nan)
    return float_values(table.column(name))


def distinct(column: pa.ChunkedArray | pa.Array) -> tuple[list[Any], np.ndarray]:
    """The distinct values of *column* (None for a missing one) and each row's index into them.

    Per-row work done once per distinct value: a crop name repeated on a million rows is
    looked up once (Arrow dictionary encoding, no Python string per row).

    >>> distinct(pa.chunked_array([["maize", None, "maize"]]))
    (['maize', None], array([0, 1, 0], dtype=int32))
    """
    chunked = isinstance(column, pa.ChunkedArray)
    key = tuple(_identity(c) for c in (column.chunks if chunked else [column]))
    for known, _, values, codes in _DISTINCT:
        if known == key:
            return list(values), codes
    arr = column.combine_chunks() if chunked else column
    found = _dictionary_distinct(arr) if pa.types.is_dictionary(arr.type) else None
    if found is None:
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        enc = pc.dictionary_encode(arr, null_encoding="encode")
        found = enc.dictionary.to_pylist(), enc.indices.to_numpy(zero_copy_only=False)
    values, codes = found
    codes.flags.writeable = False  # shared by later calls on the same column
    _DISTINCT[:] = [(key, column, values, codes), *_DISTINCT[: _DISTINCT_KEPT - 1]]
    return list(values), codes


def _dictionary_distinct(
    arr: pa.DictionaryArray,
) -> tuple[list[Any], np.ndarray] | None:
    """:func:`distinct` of a dictionary array from its indices (None: not that simple).

    The same answer as encoding the decoded values: values in the order they first
    occur, a missing value as None. Only for a dictionary of a few distinct entries
    (e.g. crop names read back from Parquet), where a pass over the indices per entry is
    cheaper than hashing every row's text.

    >>> arr = pa.array(["b", None, "a", "b"]).dictionary_encode()
    >>> values, codes = _dictionary_distinct(pc.take(arr, [2, 1, 0, 3]))
    >>> values, codes.tolist()
    (['a', None, 'b'], [0, 1, 2, 2])
    """
    dictionary = arr.dictionary.to_pylist()
    if len(dictionary) > _FEW or len(set(dictionary)) < len(dictionary):
        return None
    if None in dictionary:  # a missing value in the dictionary and in the indices
        return None
    missing = len(dictionary)
    index = pc.fill_null(arr.indices, missing).to_numpy(zero_copy_only=False)
    present = np.flatnonzero(np.bincount(index, minlength=missing + 1))
    # entries in the order they first occur (one vectorised pass an entry)
    order = sorted(present.tolist(), key=lambda e: int(np.argmax(index == e)))
    values = [dictionary[e] if e < missing else None for e in order]
    if order == list(range(len(order))):  # Parquet's dictionaries are in that order
        return values, index.astype(np.int32)
    remap = np.zeros(missing + 1, np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    return values, remap[index]


#: most dictionary entries :func:`_dictionary_distinct` takes
_FEW = 16

#: the last column :func:`distinct` encoded (a file's crop column is asked for by
#: area/yield, the derived-column recipe and its check, one after the other):
#: (identity, column, values, codes); the column is held so its buffers' addresses
#: cannot be reused meanwhile
_DISTINCT: list[tuple[tuple, Any, list[Any], np.ndarray]] = []
_DISTINCT_KEPT = 1


def _identity(arr: pa.Array) -> tuple:
    """What makes two Arrow arrays the same data: type, slice and buffer addresses.

    Arrow arrays are immutable: the same buffers at the same offset and length (while
    the array is alive) are the same values.
    """
    return (
        str(arr.type),
        arr.offset,
        len(arr),
        tuple(b.address if b is not None else None for b in arr.buffers()),
    )


def _crop_values(table: pa.Table, recipe: dict[str, Any], index: int) -> np.ndarray:
    """Per point, entry *index* (0: density kg/m³, 1: standard moisture %) of its crop."""
    crops = recipe.get("crops") or {}
    column = recipe.get("crop_column", "crop")
    n = table.num_rows
    if column not in table.schema.names or not crops or n == 0:
        return np.full(n, np.nan)
    values, codes = distinct(table.column(column))
    # a crop is looked up by its text, as written in the recipe (a missing one: "None")
    per = np.array(
        [
            np.nan if (c := crops.get(str(v))) is None or c[index] is None else c[index]
            for v in values
        ],
        dtype="float64",
    )
    return per[codes]


def _row_factor(table: pa.Table, recipe: dict[str, Any], kind: str) -> np.ndarray:
    if kind in ("density", "per_density"):
        return _crop_values(table, recipe, 0)
    std = _crop_values(table, recipe, 1)
    moisture_column, to_percent = recipe.get("moisture") or ("harvestMoisture", 1.0)
    moisture = _floats(table, moisture_column) * to_percent
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isnan(std), 1.0, (100.0 - moisture) / (100.0 - std))


def lookup_columns(recipe: dict[str, Any] | None) -> list[str]:
    """The text columns *recipe* looks per-point facts up by (its crop column).

    >>> lookup_columns({"steps": [], "crops": {"maize": [721.0, 15.5]}})
    ['crop']
    >>> lookup_columns(None)
    []
    """
    return [_row_inputs(recipe)[0]] if recipe else []


def _row_inputs(recipe: dict[str, Any]) -> tuple[str, str]:
    """The columns a per-point factor reads: the crop and the moisture column."""
    return (
        recipe.get("crop_column", "crop"),
        (recipe.get("moisture") or ("harvestMoisture",))[0],
    )


def step_values(
    table: pa.Table,
    recipe: dict[str, Any],
    step: dict[str, Any],
    rows: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The values of one recipe *step* computed from *table* (float64, NaN = missing).

    *rows*, when given, keeps the per-point factors (crop density, dry factor) between
    steps on the same crop and moisture columns: pass one dict for all steps of a table.
    """
    values = _floats(table, step["from"]) * step["factor"]
    if step.get("by"):
        values = values * _floats(table, step["by"])
    row = step.get("row")
    with np.errstate(divide="ignore", invalid="ignore"):
        if row:
            kind = "density" if row in ("density", "per_density") else "dry"
            g = rows.get(kind) if rows is not None else None
            if g is None:
                g = _row_factor(table, recipe, kind)
                if rows is not None:
                    rows[kind] = g
            values = values / g if row.startswith("per_") else values * g
        area = step.get("area")
        if area:
            area_ha = _floats(table, recipe.get("area_column", "area")) / 10_000.0
            if area == "per":
                values = np.where(area_ha > 0, values / area_ha, np.nan)
            else:
                values = values * area_ha
    return values


def float_array(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """float64 *values* as an Arrow array, NaN as missing (the data buffer is shared).

    The same array as ``pa.array(values, mask=np.isnan(values))``, with the validity
    bitmap packed by numpy (pyarrow turns a mask into bits one value at a time).
    *missing*: ``np.isnan(values)`` when the caller has it.

    >>> float_array(np.array([1.0, np.nan])).to_pylist()
    [1.0, None]
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if missing is None:
        missing = np.isnan(values)
    if not missing.any():
        return pa.array(values, type=pa.float64())
    valid = np.packbits(~missing, bitorder="little")
    return pa.Array.from_buffers(
        pa.float64(),
        len(values),
        [pa.py_buffer(valid), pa.py_buffer(values)],
        null_count=int(missing.sum()),
    )


def _set(table: pa.Table, name: str, values: np.ndarray) -> pa.Table:
    arr = float_array(values)
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, arr) if i >= 0 else table.append_column(name, arr)


def apply(
    table: pa.Table, recipe: dict[str, Any] | None, wanted: list[str] | None = None
) -> pa.Table:
    """*table* with every derived column of *recipe* (re)computed, in the recipe's order.

    *wanted*: only the derived columns among these, and those they are derived from.
    """
    if not recipe:
        return table
    steps = recipe.get("steps") or ()
    if wanted is not None:
        made = {s["column"] for s in steps}
        needed = _derived_inputs(recipe, [c for c in wanted if c in made])
        steps = [s for s in steps if s["column"] in needed]
    rows: dict[str, np.ndarray] = {}
    for step in steps:
        table = _set(table, step["column"], step_values(table, recipe, step, rows))
        if step["column"] in _row_inputs(recipe):  # never in leafnb's recipes
            rows.clear()
    return table


def _derived_inputs(recipe: dict[str, Any], columns: list[str]) -> set[str]:
    """The derived *columns* and the derived columns they are made from, transitively."""
    steps = {s["column"]: s for s in recipe.get("steps") or ()}
    found: set[str] = set()
    todo = list(columns)
    while todo:
        name = todo.pop()
        if name in found or name not in steps:
            continue
        found.add(name)
        todo.extend(step_inputs(recipe, steps[name]))
    return found


def needed_columns(recipe: dict[str, Any] | None, wanted: list[str]) -> set[str]:
    """Stored columns needed to rebuild the derived columns among *wanted*."""
    if not recipe:
        return set()
    steps = {s["column"]: s for s in recipe.get("steps") or ()}
    return {
        name
        for column in _derived_inputs(recipe, wanted)
        for name in step_inputs(recipe, steps[column])
        if name not in steps
    }


#: the table :func:`made_by` last vouched for: (weak reference, its recipe as JSON)
_MADE: list[tuple[weakref.ref, str]] = []


def step_inputs(recipe: dict[str, Any], step: dict[str, Any]) -> set[str]:
    """The columns one *step* reads (not transitively)."""
    inputs = {step["from"], *([step["by"]] if step.get("by") else [])}
    if step.get("row"):
        crop, moisture = _row_inputs(recipe)
        inputs.add(crop)
        if step["row"] in ("dry", "per_dry"):
            inputs.add(moisture)
    if step.get("area"):
        inputs.add(recipe.get("area_column", "area"))
    return inputs


def made_by(table: pa.Table, recipe: dict[str, Any]) -> None:
    """Record that every derived column of *table* was set to its *recipe* step's values.

    For the maker of the columns (:func:`leafnb.standard.area_yield.exact_derived`): each
    was set, as :func:`float_array`, to :func:`step_values` of the table at its step, and
    no later step rewrote a column an earlier one reads — so :func:`verified` of this
    table (the same object) keeps every step without computing them again.
    """
    _MADE[:] = [(weakref.ref(table), json.dumps(recipe, sort_keys=True))]


def verified(table: pa.Table, recipe: dict[str, Any] | None) -> dict[str, Any] | None:
    """*recipe* with only the steps that rebuild *table*'s column exactly (None: none).

    A step whose result differs from the column in any value or missing value stays
    out: that column is then stored as it is, so writing never loses a value.
    """
    if not recipe:
        return None
    made = _MADE[0] if _MADE else None
    if made and made[0]() is table and made[1] == json.dumps(recipe, sort_keys=True):
        return recipe  # made so (:func:`made_by`)
    steps = []
    rows: dict[str, np.ndarray] = {}
    for step in recipe.get("steps") or ():
        name = step["column"]
        if name not in table.schema.names or not pa.types.is_float64(
            table.schema.field(name).type
        ):
            continue
        column = table.column(name)
        values = step_values(table, recipe, step, rows)
        # missing where the recipe gives NaN, and nowhere else; then equal values (the
        # NaN of a missing value read as equal to the recipe's NaN there)
        gaps = np.isnan(values)
        if column.null_count:
            same_gaps = np.array_equal(
                gaps, column.is_null().to_numpy(zero_copy_only=False)
            )
        else:
            same_gaps = not gaps.any()
        if same_gaps and np.array_equal(values, _floats(table, name), equal_nan=True):
            steps.append(step)
    return {**recipe, "steps": steps} if steps else None


def merge_recipes(recipes: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One recipe for tables concatenated from parts with these *recipes*.

    None when they differ in anything but the crops they list.
    """
    present = [r for r in recipes if r is not None]
    if not present or len(present) != len(recipes):
        return None
    first = present[0]
    same = all(
        r.get("steps") == first.get("steps")
        and r.get("moisture") == first.get("moisture")
        for r in present
    )
    if not same:
        return None
    crops: dict[str, Any] = {}
    for r in present:
        for name, values in (r.get("crops") or {}).items():
            if crops.setdefault(name, values) != values:
                return None
    return {**first, "crops": crops}
