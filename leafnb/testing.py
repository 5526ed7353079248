"""Synthetic machine data for tests, demos and plugin authors ("generate, don't collect").

- :func:`make_points` — standard points of one operation type: serpentine passes over
  a field near Ames, Iowa, headland turns, realistic speeds and widths, spatially
  varying values, and a few deliberately bad points.
- :func:`write_as` — write those points in a machine-file format leafnb reads
  (``sms_shapefile``, ``jd_shapefile``, ``geopackage``, ``sms_csv``, ``csv_wkt``,
  ``agleader_text``, ``farmobile_geojson``).
- :func:`to_standard` — apply a reader's column mapping and convert units.
- :func:`assert_points_equal` — compare two point tables within a tolerance.

Run ``python -m leafnb.testing sample_data`` to rebuild the demo files in
``sample_data/``.

Examples
--------
>>> from leafnb.testing import make_points
>>> pts = make_points("harvested", 500, seed=1)
>>> pts.num_rows
500
>>> units = point_units(pts)
>>> units["wetMass"]
'kg'
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from leafnb.standard.optype import OperationType
from leafnb.standard.units import convert

__all__ = [
    "FORMATS",
    "assert_points_equal",
    "make_points",
    "point_units",
    "to_standard",
    "write_as",
    "write_samples",
]

UNITS_KEY = b"leafnb.units"

#: writable formats → operation types each supports
FORMATS: dict[str, tuple[str, ...]] = {
    "sms_shapefile": ("harvested", "planted", "applied"),
    "jd_shapefile": ("harvested", "planted", "applied"),
    "geopackage": ("harvested", "planted", "applied"),
    "sms_csv": ("harvested", "planted", "applied"),
    "csv_wkt": ("harvested", "planted", "applied", "tillage"),
    "agleader_text": ("harvested",),
    "farmobile_geojson": ("harvested", "planted", "applied"),
}

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
        {UNITS_KEY: json.dumps(units).encode(), b"leafnb.operation_type": op.encode()}
    )


# ---------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------


def _op(points: pa.Table) -> str:
    return (
        (points.schema.metadata or {})
        .get(b"leafnb.operation_type", b"harvested")
        .decode()
    )


def _col(points: pa.Table, name: str, unit: str | None = None) -> np.ndarray:
    arr = points[name].to_numpy(zero_copy_only=False)
    if unit is None:
        return arr
    return convert(arr.astype("float64"), point_units(points)[name], unit)


def _product_names(points: pa.Table) -> list[str]:
    return [(p[0]["name"] if p else None) for p in points["products"].to_pylist()]


def _sms_columns(points: pa.Table) -> dict[str, Any]:
    """SMS shapefile/GeoPackage attribute columns (imperial, 10-character names)."""
    op = _op(points)
    ts = points["timestamp"].to_pylist()
    n = points.num_rows
    start = ts[0].strftime("%y/%m/%d-%H:%M:%S")
    cols: dict[str, Any] = {
        "Field": ["GEN FIELD 1"] * n,
        "Dataset": [f"{start} (2007713498)"] * n,
        "Obj__Id": np.arange(1, n + 1, dtype="float64"),
        "Distance_f": _col(points, "distance", "ft"),
        "Track_deg_": _col(points, "heading"),
        "Duration_s": np.ones(n),
        "Elevation_": _col(points, "elevation", "ft"),
        "Time": [t.date() for t in ts],
        "Area_Count": points["recordingStatus"].to_pylist(),
        "Swth_Wdth_": _col(points, "equipmentWidth", "ft"),
        "Speed_mph_": _col(points, "speed", "mi/hr"),
        "Pass_Num": points["passNumber"].to_numpy().astype("float64"),
    }
    if op == "harvested":
        cols |= {
            "Product": [c.upper() for c in points["crop"].to_pylist()],
            "Crop_Flw_M": _col(points, "cropFlow", "lb/s"),
            "Moisture__": _col(points, "harvestMoisture"),
            "Yld_Mass_W": _col(points, "wetMassPerArea", "lb/ac"),
            "Yld_Vol_We": _col(points, "wetVolumePerArea", "bu/ac"),
            "Yld_Mass_D": _col(points, "dryMassPerArea", "lb/ac"),
            "Yld_Vol_Dr": _col(points, "dryVolumePerArea", "bu/ac"),
        }
    elif op == "planted":
        cols |= {
            "Product": points["variety"].to_pylist(),
            "Rt_Apd_Ct_": _col(points, "seedRate", "seeds/ac"),
            "Tgt_Rate_k": _col(points, "seedRateTarget", "ksds/ac"),
            "DF_Margin_": _col(points, "downForceMargin", "lbf"),
        }
    elif op == "applied":
        cols |= {
            "Product": _product_names(points),
            "Rt_Apd_Vl_": _col(points, "appliedRate", "gal/ac"),
            "Tgt_Rt_Vl_": _col(points, "appliedRateTarget", "gal/ac"),
        }
    else:
        raise ValueError(
            "SMS formats are written for harvested, planted and applied points"
        )
    return cols


def _write_ogr(
    cols: dict[str, Any],
    points: pa.Table,
    path: Path,
    driver: str,
    layer: str | None = None,
) -> None:
    import geopandas as gpd
    import pandas as pd

    df = pd.DataFrame(cols)
    geom = gpd.points_from_xy(_col(points, "lon"), _col(points, "lat"), crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
    kw = {"layer": layer} if layer else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 10-character DBF names are intended
        gdf.to_file(path, driver=driver, engine="pyogrio", **kw)


def _jd(points: pa.Table, path: Path) -> None:
    op = _op(points)
    n = points.num_rows
    ts = points["timestamp"].to_pylist()
    cols: dict[str, Any] = {
        "DISTANCE": _col(points, "distance", "ft"),
        "SWATHWIDTH": _col(points, "equipmentWidth", "ft"),
        "Heading": _col(points, "heading"),
        "Elevation": _col(points, "elevation", "m"),  # metres: declared in the JSON
        "VEHICLSPEE": _col(points, "speed", "mi/hr"),
        "SECTIONID": np.zeros(n, dtype="int32"),
        "IsoTime": [
            t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
            for t in ts
        ],
    }
    units = {
        "Elevation": "m",
        "DISTANCE": "ft",
        "SWATHWIDTH": "ft",
        "VEHICLSPEE": "mi/hr",
    }
    if op == "harvested":
        cols |= {
            "VRYIELDVOL": _col(points, "dryVolumePerArea", "bu/ac"),
            "WetMass": _col(points, "wetMassPerArea", "lb/ac"),
            "Moisture": _col(points, "harvestMoisture"),
            "Crop": points["crop"].to_pylist(),
            "Variety": points["variety"].to_pylist(),
        }
        units |= {"VRYIELDVOL": "bu/ac", "WetMass": "lb/ac", "Moisture": "%"}
        jd_op, crop = "Harvest", "CORN"
    elif op == "planted":
        cols |= {
            "VRSEEDRATE": _col(points, "seedRate", "seeds/ac"),
            "VRSEEDTRGT": _col(points, "seedRateTarget", "seeds/ac"),
            "Crop": points["crop"].to_pylist(),
            "Variety": points["variety"].to_pylist(),
        }
        units |= {"VRSEEDRATE": "seeds/ac", "VRSEEDTRGT": "seeds/ac"}
        jd_op, crop = "Seeding", "CORN"
    elif op == "applied":
        cols |= {
            "VRAPPRATE": _col(points, "appliedRate", "gal/ac"),
            "VRAPPTRGT": _col(points, "appliedRateTarget", "gal/ac"),
            "Product": _product_names(points),
        }
        units |= {"VRAPPRATE": "gal/ac", "VRAPPTRGT": "gal/ac"}
        jd_op, crop = "Application", "SOYBEANS"
    else:
        raise ValueError(
            "JD shapefiles are written for harvested, planted and applied points"
        )
    _write_ogr(cols, points, path, "ESRI Shapefile")
    meta = {
        "Provider": "JohnDeere",
        "OperationType": jd_op,
        "Crop": crop,
        "Client": "Generated Client",
        "Farm": "Generated Farm",
        "Field": "North 80",
        "Machines": [
            {
                "Name": "S780" if op == "harvested" else "8R 370",
                "Type": "Machine",
                "Brand": "John Deere",
                "SerialNumber": "1H0S780SXN0000001",
            },
        ],
        "Units": units,
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _sms_csv(points: pa.Table, path: Path) -> None:
    """SMS-style CSV, metric units in headers, Latin-1 encoded, local date order.

    Dates are written as SMS writes them where the field is: m/dd/yyyy in the Americas,
    d/mm/yyyy elsewhere (the reader resolves ambiguous files the same way).
    """
    import pandas as pd

    op = _op(points)
    ts = points["timestamp"].to_pylist()
    n = points.num_rows
    cols: dict[str, Any] = {
        "Longitude": _col(points, "lon"),
        "Latitude": _col(points, "lat"),
        "Obj. Id": np.arange(1, n + 1),
        "Distance(m)": _col(points, "distance", "m"),
        "Track(deg)": _col(points, "heading"),
        "Duration(s)": np.ones(n, dtype="int64"),
        "Elevation(m)": _col(points, "elevation", "m"),
        "Swth Wdth(m)": _col(points, "equipmentWidth", "m"),
        "Speed(km/h)": _col(points, "speed", "km/h"),
        "Air Temp(°C)": np.full(n, 18),
    }
    if op == "harvested":
        cols |= {
            "Product": [c.capitalize() for c in points["crop"].to_pylist()],
            "Crop Flw(M)(kg/s)": _col(points, "cropFlow", "kg/s"),
            "Moisture(%)": _col(points, "harvestMoisture"),
            "Yld Mass(Wet)(tonne/ha)": _col(points, "wetMassPerArea", "t/ha"),
            "Yld Mass(Dry)(tonne/ha)": _col(points, "dryMassPerArea", "t/ha"),
            "Yld Vol(Dry)(bu/ac)": _col(points, "dryVolumePerArea", "bu/ac"),
        }
    elif op == "planted":
        cols |= {
            "Product": points["variety"].to_pylist(),
            "Crop": [c.capitalize() for c in points["crop"].to_pylist()],
            "Rt Apd Ct(seeds/ha)": _col(points, "seedRate", "seeds/ha"),
        }
    elif op == "applied":
        cols |= {
            "Product": _product_names(points),
            "Rt Apd Vol(L/ha)": _col(points, "appliedRate", "L/ha"),
            "Tgt Rt Vol(L/ha)": _col(points, "appliedRateTarget", "L/ha"),
        }
    else:
        raise ValueError("SMS CSV is written for harvested, planted and applied points")
    if np.nanmedian(_col(points, "lon")) < -30:
        cols["DateStamp"] = [f"{t.month}/{t.day:02d}/{t.year}" for t in ts]
    else:
        cols["DateStamp"] = [f"{t.day}/{t.month:02d}/{t.year}" for t in ts]
    cols["TimeStamp"] = [f"{t.hour}:{t.minute:02d}:{t.second:02d}" for t in ts]
    pd.DataFrame(cols).to_csv(
        path, index=False, encoding="latin-1", float_format="%.10g"
    )


def _csv_wkt(points: pa.Table, path: Path) -> None:
    """CSV with a WKT point column and standard property names with units in headers."""
    import pandas as pd

    units = point_units(points)
    lon, lat = _col(points, "lon"), _col(points, "lat")
    cols: dict[str, Any] = {
        "WKT": [f"POINT ({x:.10f} {y:.10f})" for x, y in zip(lon, lat, strict=True)]
    }
    cols["timestamp"] = [
        t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in points["timestamp"].to_pylist()
    ]
    for name in points.column_names:
        if name in ("lon", "lat", "timestamp", "passNumber"):
            continue
        if name == "products":
            cols["productName"] = _product_names(points)
            continue
        unit = units.get(name)
        cols[f"{name}({unit})" if unit else name] = points[name].to_pylist()
    pd.DataFrame(cols).to_csv(path, index=False, encoding="utf-8", float_format="%.10g")


def _agleader_text(points: pa.Table, path: Path) -> None:
    if _op(points) != "harvested":
        raise ValueError("Ag Leader advanced text is written for harvested points only")
    n = points.num_rows
    lon, lat = _col(points, "lon"), _col(points, "lat")
    flow = _col(points, "cropFlow", "lb/s")
    secs = (points["timestamp"].cast(pa.int64()).to_numpy() // 1000).astype("int64")
    dist = _col(points, "distance", "in")
    swath = _col(points, "equipmentWidth", "in")
    moist = _col(points, "harvestMoisture")
    elev = _col(points, "elevation", "ft")
    # header status: bit 0 = header down (33 logging, 32 up), as Ag Leader exports write
    status = [33 if s == "On" else 32 for s in points["recordingStatus"].to_pylist()]
    passes = points["passNumber"].to_numpy()
    crop = points["crop"].to_pylist()
    lines = []
    for i in range(n):
        lines.append(
            f"{lon[i]:.7f},{lat[i]:.7f},{flow[i]:.6f},{secs[i]},1,{dist[i]:.4f},{swath[i]:.3f},"
            f'{moist[i]:.2f},{status[i]},{passes[i]},2007713498,"F1:GEN FIELD","L1:LOAD 1",'
            f'"{crop[i].upper()}",7,0,{elev[i]:.3f}'
        )
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def _farmobile(points: pa.Table, path: Path) -> None:
    op = _op(points)
    names = {
        "distance": ("distance_ft", "ft"),
        "speed": ("speed_mph", "mi/hr"),
        "heading": ("heading", None),
        "elevation": ("elevation_ft", "ft"),
        "equipmentWidth": ("swath_width_ft", "ft"),
        "harvestMoisture": ("moisture", None),
        "dryVolumePerArea": ("yield_dry_volume", "bu/ac"),
        "wetMassPerArea": ("yield_wet_mass", "lb/ac"),
        "seedRate": ("seed_rate", "seeds/ac"),
        "seedRateTarget": ("seed_rate_target", "seeds/ac"),
        "appliedRate": ("applied_rate", "gal/ac"),
        "appliedRateTarget": ("applied_rate_target", "gal/ac"),
        "crop": ("crop", None),
        "variety": ("variety", None),
    }
    if op == "tillage":
        raise ValueError(
            "Farmobile GeoJSON is written for harvested, planted and applied points"
        )
    op_name = {"harvested": "harvest", "planted": "planting", "applied": "application"}[
        op
    ]
    lon, lat = _col(points, "lon"), _col(points, "lat")
    props: dict[str, list] = {}
    for std, (fname, unit) in names.items():
        if std in points.column_names:
            if unit:
                props[fname] = [float(v) for v in _col(points, std, unit)]
            else:
                props[fname] = points[std].to_pylist()
    if "products" in points.column_names:
        props["product"] = _product_names(points)
    props["recording"] = [s == "On" for s in points["recordingStatus"].to_pylist()]
    stamps = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in points["timestamp"].to_pylist()]
    feats = []
    for i in range(points.num_rows):
        p = {"timestamp": stamps[i], "operation": op_name, "puc_id": "PUC-0001"}
        p.update({k: v[i] for k, v in props.items()})
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(lon[i]), float(lat[i])],
                },
                "properties": p,
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8"
    )


def write_as(
    points: pa.Table, fmt: str, directory: str | Path, name: str | None = None
) -> Path:
    """Write generated *points* as machine-file format *fmt* into *directory*.

    Parameters
    ----------
    points : pyarrow.Table
        A table from :func:`make_points`.
    fmt : str
        One of :data:`FORMATS`.
    directory : path
        Created if missing.
    name : str, optional
        File stem; default ``<operation type>_<fmt>``.

    Returns
    -------
    pathlib.Path
        The main file (``.shp``, ``.gpkg``, ``.csv``, ``.txt`` or ``.geojson``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    op = _op(points)
    if op not in FORMATS[fmt]:
        raise ValueError(f"{fmt} does not carry {op} points")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = name or f"{op}_{fmt}"
    if fmt == "sms_shapefile":
        path = directory / f"{stem}.shp"
        _write_ogr(_sms_columns(points), points, path, "ESRI Shapefile")
    elif fmt == "jd_shapefile":
        path = directory / f"{stem}.shp"
        _jd(points, path)
    elif fmt == "geopackage":
        path = directory / f"{stem}.gpkg"
        _write_ogr(_sms_columns(points), points, path, "GPKG", layer=stem)
    elif fmt == "sms_csv":
        path = directory / f"{stem}.csv"
        _sms_csv(points, path)
    elif fmt == "csv_wkt":
        path = directory / f"{stem}.csv"
        _csv_wkt(points, path)
    elif fmt == "agleader_text":
        path = directory / f"{stem}.txt"
        _agleader_text(points, path)
    else:
        path = directory / f"{stem}.geojson"
        _farmobile(points, path)
    return path


# ---------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------


def to_standard(raw: Any, units: Mapping[str, str] | None = None) -> pa.Table:
    """Apply a :class:`~leafnb.formats.base.RawRead`'s column mapping (a test-side pipeline).

    Mapped source columns are renamed to their standard property; numeric values are
    converted to *units* (``{property: unit}``) when given; ``productName`` stays as is.
    The result's schema metadata carries the units (like :func:`make_points`).
    """
    units = dict(units or {})
    t = raw.table
    arrays = {c: t[c] for c in ("lon", "lat", "timestamp") if c in t.column_names}
    out_units: dict[str, str] = {}
    for src, col in raw.meta["columns"].items():
        if src not in t.column_names:
            continue
        arr = t[src]
        target = units.get(col.property)
        if col.unit is not None and (
            pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
        ):
            vals = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
            if target:
                vals = convert(vals, col.unit, target)
                out_units[col.property] = target
            else:
                out_units[col.property] = col.unit
            arr = pa.array(vals, pa.float64())
        arrays[col.property] = arr
    table = pa.table(arrays)
    return table.replace_schema_metadata({UNITS_KEY: json.dumps(out_units).encode()})


def assert_points_equal(
    a: pa.Table,
    b: pa.Table,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    *,
    columns: Sequence[str] | None = None,
    coord_atol: float = 1e-7,
) -> None:
    """Assert two point tables hold the same points (columns present in both).

    Numbers are compared with ``numpy.allclose(rtol, atol)`` after converting *b* to
    *a*'s units (schema metadata); coordinates with *coord_atol* degrees; strings and
    timestamps exactly. ``products`` in one table matches ``productName`` in the other.

    Raises
    ------
    AssertionError
        Naming the first column that differs.
    """
    assert a.num_rows == b.num_rows, f"row counts differ: {a.num_rows} != {b.num_rows}"
    ua, ub = point_units(a), point_units(b)
    if columns is None:
        columns = [c for c in a.column_names if c in b.column_names]
        if "products" in a.column_names and "productName" in b.column_names:
            columns.append("products")
    for c in columns:
        if c == "products" and "productName" in b.column_names:
            names = [(p[0]["name"] if p else None) for p in a["products"].to_pylist()]
            assert names == b["productName"].to_pylist(), "products names differ"
            continue
        x, y = a[c], b[c]
        if pa.types.is_timestamp(x.type):
            xa = x.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy()
            ya = y.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy()
            assert np.array_equal(xa, ya), f"column {c!r} differs"
            continue
        if pa.types.is_floating(x.type) or pa.types.is_integer(x.type):
            xv = x.cast(pa.float64()).to_numpy(zero_copy_only=False)
            yv = y.cast(pa.float64()).to_numpy(zero_copy_only=False)
            if c in ua and c in ub and ua[c] != ub[c]:
                yv = convert(yv, ub[c], ua[c])
            tol = coord_atol if c in ("lon", "lat") else atol
            r = 0.0 if c in ("lon", "lat") else rtol
            bad = ~np.isclose(xv, yv, rtol=r, atol=tol, equal_nan=True)
            assert not bad.any(), (
                f"column {c!r} differs at {int(bad.sum())} rows, first at {int(np.argmax(bad))}: "
                f"{xv[bad][0]!r} != {yv[bad][0]!r}"
            )
            continue
        assert x.to_pylist() == y.to_pylist(), f"column {c!r} differs"


# ---------------------------------------------------------------------------------
# sample data for the demo
# ---------------------------------------------------------------------------------

SAMPLES = (
    ("harvested", 1000, 11, "sms_shapefile", "sms_harvest_corn"),
    ("planted", 800, 12, "jd_shapefile", "jd_planting_corn"),
    ("applied", 1500, 13, "sms_csv", "sms_application_glyphosate"),
    ("harvested", 1500, 14, "agleader_text", "agleader_harvest_corn"),
)


def write_samples(directory: str | Path) -> list[Path]:
    """(Re)write the demo files of ``sample_data/`` (deterministic; see its README)."""
    directory = Path(directory)
    out = []
    for op, n, seed, fmt, stem in SAMPLES:
        out.append(write_as(make_points(op, n, seed=seed), fmt, directory, name=stem))
    return out


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m leafnb.testing <sample_data directory>", file=sys.stderr
        )
        return 2
    for p in write_samples(argv[0]):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
