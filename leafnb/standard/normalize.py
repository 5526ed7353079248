"""Raw reader output -> standard property names (the ``normalizedGeojson`` step)."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.errors import FormatError, LeafnbWarning
from leafnb.formats.base import Column, RawRead
from leafnb.standard.crops import crop_notes, normalize_crop, resolve_crop_code
from leafnb.standard.optype import OperationType, detect_operation_type
from leafnb.standard.points import PointSet
from leafnb.standard.schema import (
    LIST_PROPERTIES,
    NUMERIC_PROPERTIES,
    PROPERTIES,
    properties_for,
)
from leafnb.standard.units import parse_unit
from leafnb.store.derived import distinct

__all__ = ["UnsupportedOperationType", "normalize"]

# Pseudo-properties a reader may map that the pipeline turns into a standard one.
PRODUCT_NAME = "productName"

_ON = {"on", "true", "1", "yes", "y", "logging", "down", "recording", "1.0"}


class UnsupportedOperationType(FormatError):
    """The content shows no planting, application, harvest or tillage data (Leaf's message)."""

    def __init__(self, found: str = "unknown"):
        super().__init__(f"unsupported operation type: {found}")


def _on_off(col: pa.ChunkedArray) -> pa.Array:
    """The recordingStatus column as Leaf's strings ``On``/``Off`` (spec §1.2 [conflict]: strings win)."""
    values, codes = distinct(pc.cast(col, pa.string()))  # once per distinct value
    mapped = pa.array(
        [
            None if v is None else "On" if v.strip().lower() in _ON else "Off"
            for v in values
        ],
        type=pa.string(),
    )
    return pc.take(mapped, pa.array(codes))


def _crop(col: pa.ChunkedArray, scheme: str | None = None) -> pa.Array:
    """Crop names: normalised text, codes translated where the scheme is known."""
    from leafnb.formats.transforms import normalise_crop

    enc = pc.dictionary_encode(col).combine_chunks()

    def one(v):
        name = normalize_crop(normalise_crop(v))
        return resolve_crop_code(name, scheme)

    mapped = pa.array([one(v) for v in enc.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, enc.indices)


def _constant_string(value: str, n: int) -> pa.Array:
    """*value* n times as an Arrow string array, its buffers made directly.

    The array ``pc.take`` of one value would give, without gathering n values.

    >>> _constant_string("harvested", 3).to_pylist()
    ['harvested', 'harvested', 'harvested']
    """
    data = value.encode("utf-8")
    if len(data) * n >= 2**31:  # beyond 32-bit offsets: let Arrow gather
        return pc.take(pa.array([value], pa.string()), pa.array(np.zeros(n, np.int32)))
    offsets = (
        np.arange(0, len(data) * (n + 1), len(data), dtype=np.int32)
        if data
        else np.zeros(n + 1, np.int32)
    )
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
    )


def _crop_scheme(source: str) -> str | None:
    """The code scheme a crop column's name declares (``CDL``, ``cdl_code`` → USDA CDL)."""
    from leafnb.formats.columns import normalise_key

    return "usda_cdl" if "cdl" in normalise_key(source) else None


def _numbers(arr: pa.ChunkedArray, src: str, notes: list[str]) -> pa.Array:
    """A mapped numeric column as float64; text cells that are not numbers become null (noted)."""
    from leafnb.formats.transforms import coerce_numeric

    if pa.types.is_float64(arr.type):
        return arr  # (a cast call costs more than a small column's values)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return pc.cast(arr, pa.float64(), safe=False)
    if pa.types.is_boolean(arr.type):
        return pc.cast(arr, pa.float64())
    res = coerce_numeric(pc.cast(arr, pa.string()))
    if res is None:
        notes.append(f"column {src!r} holds no numbers; read as missing")
        return pa.nulls(len(arr), pa.float64())
    if res.unparseable:
        ex = ", ".join(repr(e) for e in res.examples)
        notes.append(
            f"{res.unparseable} cells of {src!r} are not numbers ({ex}); read as missing"
        )
    return res.values


def normalize(raw: RawRead) -> PointSet:
    """Rename mapped source columns to standard properties and attach their units.

    File-wide facts in ``raw.meta`` (crop, variety, originalOperationType, machinery)
    fill the matching properties when no column carries them. The operation type comes
    from ``meta["operation_type"]`` or is detected from the mapped properties.

    Raises
    ------
    UnsupportedOperationType
        No planting, application, harvest or tillage property was found.
    FormatError
        A column declares a unit pint cannot parse.
    """
    meta = dict(raw.meta)
    table = raw.table
    mapping: dict[str, Column] = dict(meta.get("columns") or {})
    chosen: dict[str, tuple[str, Column]] = {}
    names = set(table.schema.names)  # (``schema.names`` makes a list per call)
    for src, col in mapping.items():
        if src not in names:
            continue
        if (
            col.property in chosen
        ):  # first mapping in the table wins; others are ignored
            continue
        if col.property != PRODUCT_NAME and col.property not in PROPERTIES:
            warnings.warn(
                f"column {src!r} maps to unknown property {col.property!r}; ignored",
                LeafnbWarning,
                stacklevel=2,
            )
            continue
        if col.unit is not None:
            try:
                parse_unit(col.unit)
            except ValueError:
                raise FormatError(
                    f"column {src!r} has unit {col.unit!r}, which leafnb cannot interpret"
                ) from None
        chosen[col.property] = (src, col)

    optype_value = meta.get("operation_type") or detect_operation_type(chosen)
    if optype_value is None:
        raise UnsupportedOperationType(
            str(meta.get("original_operation_type") or "unknown")
        )
    try:
        optype = OperationType(optype_value)
    except ValueError:
        raise UnsupportedOperationType(str(optype_value)) from None
    allowed = properties_for(optype)
    n = table.num_rows

    out = {
        "lon": pc.cast(table.column("lon"), pa.float64()),
        "lat": pc.cast(table.column("lat"), pa.float64()),
    }
    units: dict[str, str] = {}
    if "timestamp" in table.schema.names:
        out["timestamp"] = pc.cast(
            table.column("timestamp"), pa.timestamp("ms", tz="UTC")
        )
    notes: list[str] = list(meta.get("notes") or [])
    for prop, (src, col) in chosen.items():
        if prop == PRODUCT_NAME or prop not in allowed or prop == "timestamp":
            continue
        arr = table.column(src)
        if prop == "recordingStatus":
            arr = _on_off(arr)
        elif prop == "crop":
            arr = _crop(arr, _crop_scheme(src))
        elif prop in NUMERIC_PROPERTIES:
            target = allowed[prop][0]
            arr = _numbers(arr, src, notes)
            if pa.types.is_integer(target):
                arr = pc.cast(pc.round(arr), target, safe=False)
        elif prop in LIST_PROPERTIES:
            pass
        else:
            arr = pc.cast(arr, allowed[prop][0], safe=False)
        out[prop] = arr
        if col.unit is not None and prop in NUMERIC_PROPERTIES:
            units[prop] = col.unit

    def constant(value, typ):
        if typ == pa.string():
            return _constant_string(value, n)
        # one value taken n times: no Python list of n items (pa.repeat is slow for lists)
        return pc.take(pa.array([value], type=typ), pa.array(np.zeros(n, np.int32)))

    out["operationType"] = constant(optype.value, pa.string())
    for key, prop in (
        ("original_operation_type", "originalOperationType"),
        ("crop", "crop"),
        ("variety", "variety"),
    ):
        if prop in allowed and prop not in out and meta.get(key):
            value = (
                resolve_crop_code(normalize_crop(meta[key]))
                if prop == "crop"
                else str(meta[key])
            )
            out[prop] = constant(value, pa.string())
    if "machinery" not in out and meta.get("machinery"):
        names = [
            m["name"] if isinstance(m, dict) else str(m) for m in meta["machinery"]
        ]
        out["machinery"] = constant(names, pa.list_(pa.string()))
    if optype is OperationType.APPLIED and "products" not in out:
        products = _products(table, chosen, meta, out)
        if products is not None:
            out["products"] = products

    if optype is OperationType.HARVESTED and "crop" in out:
        crops = pc.unique(out["crop"]).to_pylist()
        notes += crop_notes(crops)
    elif optype is OperationType.HARVESTED:
        notes.append("no crop is recorded: dry values equal wet")
    if notes:
        meta["notes"] = notes
    result = pa.table(out)
    return PointSet(
        result, optype.value, units=units, source_units=dict(units), meta=meta
    )


def _products(table: pa.Table, chosen, meta, out) -> pa.Array | None:
    """Build Leaf's per-point ``products`` list: one product per point (the tank mix)."""
    n = table.num_rows
    rate = out.get("appliedRate")
    rates = (
        pc.cast(rate, pa.float64()).to_numpy(zero_copy_only=False)
        if rate is not None
        else np.full(n, np.nan)
    )
    if PRODUCT_NAME in chosen:
        names = pc.fill_null(
            pc.cast(table.column(chosen[PRODUCT_NAME][0]), pa.string()), "unknown"
        ).combine_chunks()
    elif meta.get("products"):
        # several products in a tank mix share the combined rate: name the mix
        name = " + ".join(p["name"] for p in meta["products"])
        names = pa.array([name] * n, type=pa.string())
    else:
        return None
    rate_struct = pa.StructArray.from_arrays(
        [pa.array(rates, mask=np.isnan(rates))], names=["value"]
    )
    items = pa.StructArray.from_arrays([names, rate_struct], names=["name", "rate"])
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), items)
