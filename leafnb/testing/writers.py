"""Generated points written as the machine files vendors export.

:func:`write_as` writes a table from :func:`~leafnb.testing.make_points` in one of
:data:`FORMATS` — each the way its vendor writes it (names, units, encodings, date
order), so every reader can be tested on a round trip without binary fixtures:

``sms_shapefile`` / ``geopackage``
    Ag Leader SMS: 10-character DBF names, imperial units.
``jd_shapefile``
    John Deere Operations Center: shapefile plus its ``-Deere-Metadata.json``
    (operation, crop token, each column's ADAPT unit).
``sms_csv``
    SMS CSV: long names with metric units in the headers, Latin-1, local date order.
``csv_wkt``
    A WKT point column and standard property names with units in the headers.
``agleader_text``
    Ag Leader advanced export text (17 fields, no header).
``farmobile_geojson``
    Farmobile-style GeoJSON.

:func:`write_isoxml` writes harvest points as an ISOXML ``TASKDATA`` folder.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leafnb.standard.units import convert
from leafnb.testing.points import OPERATION_TYPE_KEY, point_units

__all__ = ["FORMATS", "write_as", "write_isoxml", "write_isoxml_task"]

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


def _op(points: pa.Table) -> str:
    return (points.schema.metadata or {}).get(OPERATION_TYPE_KEY, b"harvested").decode()


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
    crops = (
        sorted(set(points["crop"].to_pylist())) if "crop" in points.schema.names else []
    )
    token = crops[0].upper().replace(" ", "_") if len(crops) == 1 else crop
    # the metadata JSON as Operations Center writes it beside an export's shapefile
    meta = {
        "Version": "1.0",
        "ClientName": "Generated Client",
        "FarmName": "Generated Farm",
        "FieldName": "North 80",
        "Operation": jd_op,
        "CropSeason": ts[0].year if ts else 2024,
        "CropToken": token,
        "DataAttributes": [
            {"Name": name, "Unit": _ADAPT_UNITS[units[name]]}
            if name in units
            else {"Name": name}
            for name in cols
        ],
        "MachineUsage": {
            "1": {"MachineId": "generated", "MachineSerial": "1H0S780SXN0000001"}
        },
    }
    stem = path.name[: -len(path.suffix)]
    (path.parent / f"{stem}-Deere-Metadata.json").write_text(
        json.dumps(meta, indent=2), encoding="utf-8"
    )


#: units as ADAPT unitIds (what a JD metadata JSON writes)
_ADAPT_UNITS = {
    "m": "m",
    "ft": "ft",
    "mi/hr": "mi1hr-1",
    "bu/ac": "bu1ac-1",
    "lb/ac": "lb1ac-1",
    "%": "prcnt",
    "seeds/ac": "seeds1ac-1",
    "gal/ac": "gal1ac-1",
}


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


def _sms_shapefile(points: pa.Table, path: Path) -> None:
    _write_ogr(_sms_columns(points), points, path, "ESRI Shapefile")


def _sms_geopackage(points: pa.Table, path: Path) -> None:
    _write_ogr(_sms_columns(points), points, path, "GPKG", layer=path.stem)


#: format → (suffix of the main file, writer)
_WRITERS = {
    "sms_shapefile": (".shp", _sms_shapefile),
    "jd_shapefile": (".shp", _jd),
    "geopackage": (".gpkg", _sms_geopackage),
    "sms_csv": (".csv", _sms_csv),
    "csv_wkt": (".csv", _csv_wkt),
    "agleader_text": (".txt", _agleader_text),
    "farmobile_geojson": (".geojson", _farmobile),
}


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
    suffix, write = _WRITERS[fmt]
    path = directory / f"{name or f'{op}_{fmt}'}{suffix}"
    write(points, path)
    return path


def write_isoxml(points: pa.Table, folder: Path, name: str = "TLG00001") -> Path:
    """Write harvest *points* (from :func:`make_points`) as an ISOXML TASKDATA folder.

    DDIs: 84 mass-per-area yield (mg/m²), 99 moisture (ppm, logged on change), 90 yield
    total mass (kg, cumulative), 67 working width (mm), 397 speed (mm/s), 141 work state;
    elevation in the position (mm). Returns ``TASKDATA.XML``.
    """
    return write_isoxml_task([points], folder, first=int(name[3:]))


def write_isoxml_task(parts: list[pa.Table], folder: Path, first: int = 1) -> Path:
    """Write harvest *parts* as one task of as many time logs, as :func:`write_isoxml`.

    Log *k* is named ``TLG<first + k>`` (five digits); each starts by writing every
    value, as a task controller starts a log (a task stopped and resumed). Give parts
    that follow each other in time (parallel logs are joined by time). The yield total
    (DDI 90) counts on from log to log, and the task's total is the last log's.

    >>> import tempfile
    >>> from leafnb.testing import make_points
    >>> parts = [make_points("harvested", 50, seed=k) for k in (1, 2)]
    >>> later = pa.array(parts[1]["timestamp"].cast(pa.int64()).to_numpy() + 3_600_000)
    >>> parts[1] = parts[1].set_column(
    ...     parts[1].schema.get_field_index("timestamp"), "timestamp",
    ...     later.cast(pa.timestamp("ms", tz="UTC")))
    >>> path = write_isoxml_task(parts, Path(tempfile.mkdtemp()))
    >>> sorted(p.name for p in path.parent.glob("TLG*.xml"))
    ['TLG00001.xml', 'TLG00002.xml']
    """
    from leafnb.formats.isoxml.writer import DlvSpec, TimeLogSpec, write_taskdata

    specs, total = [], 0
    for k, points in enumerate(parts):
        n = points.num_rows
        col = lambda c, t=points: t[c].to_numpy(zero_copy_only=False)  # noqa: E731
        on = np.asarray(pc.fill_null(pc.equal(points["recordingStatus"], "On"), False))
        moist_ppm = np.round(col("harvestMoisture") * 10_000).astype(np.int64)
        changed = np.ones(n, bool)
        changed[1:] = moist_ppm[1:] != moist_ppm[:-1]
        total_kg = total + np.floor(np.cumsum(np.nan_to_num(col("wetMass")))).astype(
            np.int64
        )
        total = int(total_kg[-1])
        dlvs = [
            DlvSpec(
                84, values=np.round(col("wetMassPerArea") * 100).astype(np.int64)
            ),  # kg/ha -> mg/m2
            DlvSpec(99, values=moist_ppm, present=changed),
            DlvSpec(90, values=total_kg),
            DlvSpec(67, values=np.round(col("equipmentWidth") * 1000).astype(np.int64)),
            DlvSpec(397, values=np.round(col("speed") * 1000).astype(np.int64)),
            DlvSpec(141, values=on.astype(np.int64)),
        ]
        specs.append(
            TimeLogSpec(
                f"TLG{first + k:05d}",
                points["timestamp"].cast(pa.int64()).to_numpy(),
                col("lat"),
                col("lon"),
                dlvs=dlvs,
                logged="ABC",
                ptn_values={"C": np.round(col("elevation") * 1000).astype(np.int64)},
            )
        )
    points = parts[0]
    variety = points["variety"][0].as_py() if "variety" in points.column_names else None
    return write_taskdata(
        folder, specs, crop="Corn", variety=variety, totals={90: total}
    )
