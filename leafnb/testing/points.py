"""Synthetic standard points: serpentine passes over a field near Ames, Iowa.

:func:`make_points` generates the standard points of one operation type — realistic
speeds and widths, headland turns, spatially varying values and a few deliberately bad
points — with their units in the schema metadata (:func:`point_units`).

Examples
--------
>>> pts = make_points("harvested", 500, seed=1)
>>> pts.num_rows
500
>>> point_units(pts)["wetMass"]
'kg'
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.standard.optype import OperationType

__all__ = ["OPERATION_TYPE_KEY", "UNITS_KEY", "make_points", "point_units"]

#: schema metadata key of the ``{property: unit}`` JSON of a generated table
UNITS_KEY = b"leafnb.units"
#: schema metadata key of a generated table's operation type
OPERATION_TYPE_KEY = b"leafnb.operation_type"

# field origin: a corn/soybean field near Ames, Iowa
_LON0, _LAT0 = -93.6250, 42.0120
_R = 6_371_008.8

# (speed m/s, width m, pass length m)
_MACHINE = {
    "harvested": (2.0, 9.1, 400.0),
    "planted": (2.5, 12 * 0.762, 400.0),
    "applied": (4.0, 27.0, 500.0),
    "tillage": (3.0, 10.0, 400.0),
}

_UNITS = {
    "distance": "m",
    "speed": "m/s",
    "heading": "arcdeg",
    "elevation": "m",
    "equipmentWidth": "m",
    "area": "m2",
    "harvestMoisture": "%",
    "wetMass": "kg",
    "wetMassPerArea": "kg/ha",
    "dryMass": "kg",
    "dryMassPerArea": "kg/ha",
    "wetVolumePerArea": "bu/ac",
    "dryVolumePerArea": "bu/ac",
    "cropFlow": "kg/s",
    "samplingInterval": "s",
    "seedRate": "seeds/ac",
    "seedRateTarget": "seeds/ac",
    "downForceMargin": "lbf",
    "singulation": "%",
    "appliedRate": "L/ha",
    "appliedRateTarget": "L/ha",
    "tillageDepthActual": "cm",
    "tillageDepthTarget": "cm",
}

_CORN_STD_MOISTURE = 15.5
_CORN_LB_PER_BU = 56.0
_LB = 0.45359237
_AC_PER_HA = 2.4710538146716534


def point_units(points: pa.Table) -> dict[str, str]:
    """Return ``{property: unit}`` stored in the schema metadata of a generated table."""
    md = points.schema.metadata or {}
    return json.loads(md.get(UNITS_KEY, b"{}"))


def _track(n: int, speed: float, width: float, length: float, rng: np.random.Generator):
    """Serpentine passes + semicircular headland turns, one point per second."""
    xs, ys, spd, rec, pas = [], [], [], [], []
    x, y, direction, p = 0.0, 0.0, 1.0, 1
    while len(xs) < n:
        steps = int(length / speed)
        for _ in range(steps):
            v = speed * (1 + rng.normal(0, 0.03))
            y += direction * v
            xs.append(x), ys.append(y), spd.append(v), rec.append("On"), pas.append(p)
        # headland turn at half speed, header/implement up; one stop at the apex
        r = width / 2
        cx, cy = x + r, y
        turn_steps = max(4, int(np.pi * r / (speed / 2)))
        for k in range(1, turn_steps + 1):
            a = np.pi * k / turn_steps
            nx = cx - r * np.cos(a)
            ny = cy + direction * r * np.sin(a)
            v = float(np.hypot(nx - xs[-1], ny - ys[-1]))
            if k == turn_steps // 2:
                nx, ny, v = xs[-1], ys[-1], 0.0  # stopped at the turn
            (
                xs.append(nx),
                ys.append(ny),
                spd.append(v),
                rec.append("Off"),
                pas.append(p),
            )
        x, y = cx + r, cy
        direction = -direction
        p += 1
    return (
        np.array(xs[:n]),
        np.array(ys[:n]),
        np.array(spd[:n]),
        np.array(rec[:n], dtype=object),
        np.array(pas[:n]),
    )


def make_points(operation_type: str, n: int = 2000, seed: int = 0) -> pa.Table:
    """Generate *n* standard points of *operation_type*.

    Parameters
    ----------
    operation_type : {"harvested", "planted", "applied", "tillage"}
    n : int
        Number of points (one per second).
    seed : int
        Random seed; the same arguments give the same table.

    Returns
    -------
    pyarrow.Table
        ``lon``, ``lat`` (WGS84), ``timestamp`` (ms, UTC) and standard properties;
        units in the schema metadata ``b"leafnb.units"`` (see :func:`point_units`).
        Harvest is corn (9.1 m header, ~2 m/s), planting 12 rows × 0.762 m at ~2.5 m/s,
        spraying a 27 m boom at ~4 m/s. Bad points: a stop (speed 0) in every turn,
        one GPS jump (~300 m) and, for harvest, one moisture spike.
    """
    op = str(OperationType(operation_type))
    rng = np.random.default_rng(seed)
    speed, width, length = _MACHINE[op]
    x, y, v, rec, passes = _track(n, speed, width, length, rng)
    # a GPS jump: one point thrown ~300 m off
    jump = n // 3
    x = x.copy()
    y = y.copy()
    if n > 10:
        x[jump] += 300.0
        y[jump] += 40.0
    dx = np.diff(x, prepend=x[0])
    dy = np.diff(y, prepend=y[0])
    dist = np.hypot(dx, dy)
    dist[0] = v[0]
    heading = (np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0
    heading[0] = heading[1] if n > 1 else 0.0
    heading = np.round(heading, 2)
    lat = _LAT0 + np.degrees(y / _R)
    lon = _LON0 + np.degrees(x / (_R * np.cos(np.radians(_LAT0))))
    t0 = int(_dt.datetime(2023, 10, 14, 15, 0, tzinfo=_dt.UTC).timestamp() * 1000)
    if op == "planted":
        t0 = int(_dt.datetime(2023, 5, 16, 14, 0, tzinfo=_dt.UTC).timestamp() * 1000)
    elif op == "applied":
        t0 = int(_dt.datetime(2023, 6, 19, 13, 0, tzinfo=_dt.UTC).timestamp() * 1000)
    elif op == "tillage":
        t0 = int(_dt.datetime(2023, 11, 14, 16, 0, tzinfo=_dt.UTC).timestamp() * 1000)
    ts = t0 + np.arange(n, dtype="int64") * 1000
    smooth = np.sin(x / 80.0) * np.cos(y / 60.0) + 0.002 * (x - y)
    on = rec == "On"
    area = dist * width
    cols: dict[str, Any] = {
        "lon": pa.array(lon, pa.float64()),
        "lat": pa.array(lat, pa.float64()),
        "timestamp": pa.array(ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        "distance": np.round(dist, 3),
        "speed": np.round(v, 3),
        "heading": heading,
        "elevation": np.round(300.0 + 4 * np.sin(x / 150.0) + 3 * np.cos(y / 210.0), 2),
        "equipmentWidth": np.full(n, width),
        "recordingStatus": pa.array(list(rec), pa.string()),
    }
    if op == "harvested":
        moist = np.round(
            np.clip(17.0 + 1.2 * smooth + rng.normal(0, 0.3, n), 12, 30), 2
        )
        if n > 10:
            moist[n // 2] = 45.0  # moisture spike
        yld_t_ha = np.clip(
            11.0 + 2.0 * smooth + rng.normal(0, 0.6, n), 0.5, None
        )  # wet t/ha
        yld_t_ha = np.where(on, yld_t_ha, 0.0)
        wet_kg_ha = np.round(yld_t_ha * 1000, 2)
        wet_kg = wet_kg_ha * area / 10_000
        shrink = (100 - moist) / (100 - _CORN_STD_MOISTURE)
        dry_kg_ha = wet_kg_ha * shrink
        to_bu_ac = 1 / (_LB * _CORN_LB_PER_BU) / _AC_PER_HA
        cols |= {
            "area": np.round(area, 4),
            "crop": pa.array(["corn"] * n, pa.string()),
            "variety": pa.array(["P1197AM"] * n, pa.string()),
            "harvestMoisture": moist,
            "wetMass": np.round(wet_kg, 4),
            "wetMassPerArea": wet_kg_ha,
            "dryMassPerArea": np.round(dry_kg_ha, 2),
            "wetVolumePerArea": np.round(wet_kg_ha * to_bu_ac, 3),
            "dryVolumePerArea": np.round(dry_kg_ha * to_bu_ac, 3),
            "cropFlow": np.round(wet_kg, 4),  # kg per 1 s record
            "samplingInterval": np.ones(n),
        }
    elif op == "planted":
        target = np.where(smooth > 0, 36_000.0, 32_000.0)
        rate = np.round(np.where(on, target * (1 + rng.normal(0, 0.02, n)), 0.0), 1)
        cols |= {
            "area": np.round(area, 4),
            "crop": pa.array(["corn"] * n, pa.string()),
            "variety": pa.array(["DKC61-54RIB"] * n, pa.string()),
            "seedRate": rate,
            "seedRateTarget": target,
            "downForceMargin": np.round(
                np.clip(150 + 20 * smooth + rng.normal(0, 5, n), 0, None), 2
            ),
            "singulation": np.round(np.clip(99.0 + rng.normal(0, 0.5, n), 90, 100), 2),
        }
    elif op == "applied":
        target = np.full(n, 140.0)
        rate = np.round(
            np.where(on, target * (1 + 0.05 * smooth + rng.normal(0, 0.01, n)), 0.0), 3
        )
        cols |= {
            "area": np.round(area, 4),
            "crop": pa.array(["soybeans"] * n, pa.string()),
            "appliedRate": rate,
            "appliedRateTarget": target,
            "products": pa.array(
                [[{"name": "Glyphosate", "rate": {"value": float(r)}}] for r in rate],
                pa.list_(
                    pa.struct(
                        [
                            ("name", pa.string()),
                            ("rate", pa.struct([("value", pa.float64())])),
                        ]
                    )
                ),
            ),
        }
    else:
        tgt = np.full(n, 15.0)
        cols |= {
            "area": np.round(area, 4),
            "tillageDepthTarget": tgt,
            "tillageDepthActual": np.round(
                np.where(on, tgt + 1.5 * smooth + rng.normal(0, 0.4, n), 0.0), 2
            ),
        }
    arrays = {
        k: (a if isinstance(a, pa.Array | pa.ChunkedArray) else pa.array(a))
        for k, a in cols.items()
    }
    arrays["passNumber"] = pa.array(passes.astype("int64"))
    table = pa.table(arrays)
    units = {k: u for k, u in _UNITS.items() if k in table.column_names}
    return table.replace_schema_metadata(
        {UNITS_KEY: json.dumps(units).encode(), OPERATION_TYPE_KEY: op.encode()}
    )
