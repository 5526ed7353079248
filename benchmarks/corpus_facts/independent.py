"""Write the independent facts (``facts.json``) of every known real data set — without leafnb.

    python benchmarks/corpus_facts/independent.py [FOLDER ...] [--shared DIR] [--only NAME]

Facts come from the data themselves, read with tools other than leafnb:

* ISOXML: the task controller's own totals (``TIM`` DLVs in TASKDATA.XML, read with
  ``xml.etree``), the device classes from the DVC ISO NAMEs, and isoxml-js counts per time
  log (``isoxml_facts.py`` / ``isoxml_facts.mjs``);
* tables (Ag Leader / Yield Editor text, CSV, shapefiles): row counts and sums over the raw
  columns with pandas/pyogrio, in the units the header, the monitor's documentation or the
  publisher states (each recipe names its source).

Every set is described once in :data:`SETS` (origin, licence, what it is, the expected
operation type and why); expectations the generic recipes get wrong are replaced by
``fact_overrides.py``, each with its reason. Its manifest is written next to the data
(``FOLDER/<set>/facts.json``, ``tests/data/<set>/facts.json``) or, for ``../shared/data``,
to ``benchmarks/corpus_facts/shared/<set>.json``. ``benchmarks/corpus.py`` reads them.

Manifest layout::

    {"name", "path", "origin": {...}, "licence", "format", "description",
     "expect": [{"match": "<fnmatch on leafnb fileName>", "outcome": "converted"|"refused",
                 "operationType", "operationTypeReason", "records", "recordsSource",
                 "totals": {"totalWetMass": {"value", "unit", "source"}, ...},
                 "refusal": "<what the message must name>", "note"}],
     "facts": {...everything measured...}}
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# not "overrides": that name is a PyPI package (jupyter_server imports it)
import fact_overrides  # noqa: E402
import isoxml_facts  # noqa: E402

REPO = HERE.parents[1]
TESTS_DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_MANIFESTS = HERE / "shared"

LB = 0.45359237  # kg
INCH = 0.0254  # m
FOOT = 0.3048  # m
ACRE = 4046.8564224  # m²

DOTNET = "dev4Agriculture/isoxml-dotnet"
DOTNET_COMMIT = "f7a832d9d49316d64e1f1069d511264c1317eb29"
DOTNET_TEST = "Dev4Agriculture.ISO11783.ISOXML.Test/testdata"


# ------------------------------------------------------------------ tabular recipes
def _raw_bytes(path: Path) -> bytes:
    """The bytes of a text file, or of the single file inside a zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            (name,) = [n for n in zf.namelist() if not n.endswith("/")]
            return zf.read(name)
    return path.read_bytes()


def _read_text(path: Path) -> pd.DataFrame:
    """A headerless Yield Editor / Ag Leader text file (or a zip holding one)."""
    import io

    return pd.read_csv(io.BytesIO(_raw_bytes(path)), header=None)


def yield_editor_text(path: Path) -> dict[str, Any]:
    """Ag Leader advanced export / Yield Editor raw text, no header.

    Columns (Yield Editor manual, Sudduth & Drummond; Ag Leader advanced export): 1 lon,
    2 lat, 3 grain flow lb/s, 4 GPS time s, 5 logging interval s, 6 distance in, 7 swath
    in, 8 moisture %, 9 header status (1 = down, 33 = up), 10 pass, 11 serial, 12 field,
    13 load, 14 crop, 15 GPS status or variety, 16 PDOP, 17 altitude ft (optional).
    wet mass = Σ flow × interval; area = Σ distance × swath.
    """
    df = _read_text(path)
    flow, cycle, dist, swath, gps = df[2], df[4], df[5], df[6], df[3]
    mass_lb = float((flow * cycle).sum())
    area_in2 = float((dist * swath).sum())
    if gps.min() > 315_964_800:  # after the GPS epoch, 1980-01-06, as unix seconds
        time_kind = "unix seconds"
    elif gps.max() <= 86_400:
        time_kind = "seconds of day"
    elif gps.max() <= 604_800:
        time_kind = "seconds of the GPS week"
    else:
        time_kind = "other counter"
    return {
        "rows": len(df),
        "columns": int(df.shape[1]),
        "quotedStrings": b'"' in _raw_bytes(path)[:2000],
        "gpsTime": {
            "min": float(gps.min()),
            "max": float(gps.max()),
            "kind": time_kind,
        },
        "crops": sorted(df[13].astype(str).str.strip().unique().tolist()),
        "headerStatus": {str(k): int(v) for k, v in df[8].value_counts().items()},
        "serialDtype": str(df[10].dtype),
        "wetMass_lb": mass_lb,
        "area_in2": area_in2,
        "lon": [float(df[0].min()), float(df[0].max())],
        "lat": [float(df[1].min()), float(df[1].max())],
    }


def yield_editor_expect(facts: dict[str, Any], crop: str) -> dict[str, Any]:
    return {
        "records": facts["rows"],
        "recordsSource": "rows of the text file (pandas)",
        "totals": {
            "totalWetMass": {
                "value": facts["wetMass_lb"] * LB,
                "unit": "kg",
                "source": "Σ flow [lb/s] × logging interval [s] over all rows (columns 3, 5)",
            },
            "totalArea": {
                "value": facts["area_in2"] * INCH * INCH,
                "unit": "m2",
                "source": "Σ distance [in] × swath [in] over all rows (columns 6, 7)",
            },
        },
        "operationType": "harvested",
        "operationTypeReason": f"combine yield monitor text: grain flow column, crop {crop}",
    }


def gartner_corn(path: Path) -> dict[str, Any]:
    """agridat ``gartner.corn``: header ``long,lat,mass,time,seconds,dist,moist,elev``.

    agridat documents: mass = grain mass flow lb/s, time = GPS time s (0 = 5 Nov 2011
    12:38:03 CT), seconds = seconds per datum, dist = inches, moist %, elev ft; the swath
    was 12 rows = 360 in (not in the file).
    """
    df = pd.read_csv(path)
    return {
        "rows": len(df),
        "columns": list(df.columns),
        "wetMass_lb": float((df["mass"] * df["seconds"]).sum()),
        "area_in2_at_360in": float((df["dist"] * 360).sum()),
        "time": [float(df["time"].min()), float(df["time"].max())],
    }


def jd_operations_center(path: Path) -> dict[str, Any]:
    """John Deere Operations Center yield export (shapefile or its CSV copy).

    Columns as exported: DISTANCE ft, SWATHWIDTH ft, VRYIELDVOL bu/ac, Crop (numeric
    code), WetMass lb/ac, Moisture %, Time, Heading, VARIETY, Elevation ft, IsoTime.
    ``yield_bu`` was added by the course author. area = Σ DISTANCE × SWATHWIDTH.
    """
    if path.suffix.lower() in (".shp", ".zip"):
        import pyogrio

        source = str(path)
        if path.suffix.lower() == ".zip":  # the export as downloaded: its shapefile
            with zipfile.ZipFile(path) as zf:
                shp = next(
                    n
                    for n in zf.namelist()
                    if n.endswith(".shp") and not n.startswith("__MACOSX")
                )
            source = f"/vsizip/{path}/{shp}"
        df = pyogrio.read_dataframe(source, read_geometry=False)
    else:
        df = pd.read_csv(path)
    area_ac = df["DISTANCE"] * df["SWATHWIDTH"] * FOOT * FOOT / ACRE
    return {
        "rows": len(df),
        "columns": list(df.columns),
        "crop": sorted(df["Crop"].astype(str).unique().tolist()),
        "area_ac": float(area_ac.sum()),
        "wetMass_lb": float((df["WetMass"] * area_ac).sum()),
        "yieldVolume_bu": float((df["VRYIELDVOL"] * area_ac).sum()),
        "time": [str(df["IsoTime"].min()), str(df["IsoTime"].max())],
    }


def jd_expect(facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "records": facts["rows"],
        "recordsSource": "rows (pyogrio/pandas)",
        "operationType": "harvested",
        "operationTypeReason": "yield export: VRYIELDVOL / WetMass per area, Crop 174 (soybeans per the course text)",
        "totals": {
            "totalArea": {
                "value": facts["area_ac"] * ACRE,
                "unit": "m2",
                "source": "Σ DISTANCE [ft] × SWATHWIDTH [ft]",
            },
            "totalWetMass": {
                "value": facts["wetMass_lb"] * LB,
                "unit": "kg",
                "source": "Σ WetMass [lb/ac] × DISTANCE × SWATHWIDTH",
            },
        },
    }


def tlg_csv_semicolon(path: Path) -> dict[str, Any]:
    """A TLG decoded to CSV (2019 tool): ';' separated, decimal commas, dd.mm.yyyy dates,
    one column per DDI named ``'<ddi>/<det>``, values only where the log wrote them.
    DDI 90 (Yield Total Mass, kg) is a running total: its span is the log's harvested mass."""
    df = pd.read_csv(path, sep=";", decimal=",", encoding="latin1")
    mass = df["'90/-1"].dropna()
    return {
        "rows": len(df),
        "columns": list(df.columns),
        "dates": sorted(df["Date"].unique().tolist()),
        "lat": [float(df["Latitude"].min()), float(df["Latitude"].max())],
        "lon": [float(df["Longitude"].min()), float(df["Longitude"].max())],
        "ddi90": {
            "first": float(mass.iloc[0]),
            "last": float(mass.iloc[-1]),
            "count": len(mass),
        },
    }


def _tlg_csv_expect(f):
    return {
        "records": f["rows"],
        "recordsSource": "rows (pandas, sep=';', decimal=',')",
        "operationType": "harvested",
        "operationTypeReason": "KRONE big baler log: column '90/-1 is DDI 90 Yield Total Mass, '91/-1 bale count",
        "totals": {
            "totalWetMass": {
                "value": f["ddi90"]["last"] - f["ddi90"]["first"],
                "unit": "kg",
                "source": "span of the running total DDI 90 (column '90/-1); equals the controller's TIM total "
                "9,060 kg for this log's interval (krone_big_baler_2012 TSK1, TIM 1)",
            }
        },
    }


def difm_shapefiles(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """DIFM ofpetrial example exports: a yield map with only Yld_Vol_Dr, an as-applied map with
    only a target rate (Tgt_Rate_k), elevation and speed; coordinates shifted (anonymised)."""
    import pyogrio

    facts = {}
    for name in ("yield-simple1", "as-applied-simple1"):
        df = pyogrio.read_dataframe(folder / f"{name}.shp", read_geometry=False)
        facts[name] = {
            "rows": len(df),
            "columns": list(df.columns),
            "means": {c: float(df[c].mean()) for c in df.columns},
        }
    expect = [
        {
            "match": "*yield-simple1.shp",
            "outcome": "converted",
            "operationType": "harvested",
            "operationTypeReason": "yield map: Yld_Vol_Dr (Ag Leader SMS name for dry volume yield, bu/ac)",
            "records": facts["yield-simple1"]["rows"],
            "recordsSource": "DBF rows (pyogrio)",
            "note": "no width, distance or time: totals not assertable",
        },
        {
            "match": "*as-applied-simple1.shp",
            "outcome": "any",
            "note": "only a target rate (Tgt_Rate_k) — whether a target alone is an application is not asserted",
        },
    ]
    return facts, expect


def sms_shapefile(path: Path) -> dict[str, Any]:
    """Ag Leader SMS shapefile (10-char DBF names), imperial: see tests/real/harvest_totals.py."""
    import pyogrio

    df = pyogrio.read_dataframe(path, read_geometry=False)
    area_ac = df["Distance_f"] * df["Swth_Wdth_"] * FOOT * FOOT / ACRE
    return {
        "rows": len(df),
        "area_ac": float(area_ac.sum()),
        "wetMass_lb": float((df["Yld_Mass_W"] * area_ac).sum()),
        "dryVolume_bu": float((df["Yld_Vol_Dr"] * area_ac).sum()),
    }


def jd_seeding_export(path: Path) -> dict[str, Any]:
    """A zipped JD Operations Center seeding export: the shapefile and its -Deere-Metadata.json.

    The metadata's DataAttributes give the units (AppliedRate lb1ac-1 = lb/ac, SWATHWIDTH
    and DISTANCE ft); this copy's DBF abbreviates the names (AppldRt, SWATHWI, DISTANC).
    """
    import pyogrio

    with zipfile.ZipFile(path) as zf:
        meta_name = next(
            n
            for n in zf.namelist()
            if n.endswith("-Deere-Metadata.json") and not n.startswith("__MACOSX")
        )
        meta = json.loads(zf.read(meta_name))
        shp = next(
            n
            for n in zf.namelist()
            if n.endswith(".shp") and not n.startswith("__MACOSX")
        )
    units = {a["Name"]: a.get("Unit") for a in meta["DataAttributes"]}
    df = pyogrio.read_dataframe(f"/vsizip/{path}/{shp}", read_geometry=False)
    area_ft2 = df["SWATHWI"] * df["DISTANC"]
    return {
        "rows": len(df),
        "operation": meta["Operation"],
        "cropToken": meta["CropToken"],
        "units": {k: units[k] for k in ("AppliedRate", "SWATHWIDTH", "DISTANCE")},
        "rateMissing": int(df["AppldRt"].isna().sum()),
        "area_ft2": float(area_ft2.sum()),
        "planted_lb": float((df["AppldRt"] * area_ft2).sum() / 43560.0),
        "start": str(df["IsoTime"].min()),
        "end": str(df["IsoTime"].max()),
    }


def _jd_seeding_expect(f):
    return {
        "records": f["rows"],
        "recordsSource": "DBF rows (pyogrio)",
        "operationType": "planted",
        "operationTypeReason": f"the export's metadata: Operation {f['operation']!r}",
        "totals": {
            "totalPlanted": {
                "value": f["planted_lb"] * LB,
                "unit": "kg",
                "source": "Σ AppliedRate [lb/ac] × SWATHWIDTH [ft] × DISTANCE [ft] / 43,560 "
                "(units from the metadata's DataAttributes)",
            },
            "totalArea": {
                "value": f["area_ft2"] * FOOT * FOOT,
                "unit": "m2",
                "source": "Σ SWATHWIDTH [ft] × DISTANCE [ft] over all rows",
            },
        },
    }


def yield_editor_shapefile(path: Path) -> dict[str, Any]:
    """A zipped Yield Editor output shapefile as OFPEDATA's R tools saved it.

    Yield Editor's units (its manual; the publisher's R documentation agrees): swath
    ``swth_w_`` and distance ``dist_in`` in inches, ``yield`` the cleaned dry yield in
    bu/ac, ``z_metrs`` the height in metres. area = Σ swath × distance.
    """
    import pyogrio

    with zipfile.ZipFile(path) as zf:
        shp = next(
            n for n in zf.namelist() if n.endswith(".shp") and not n.startswith("__")
        )
    df = pyogrio.read_dataframe(f"/vsizip/{path}/{shp}", read_geometry=False)
    area_ac = df["swth_w_"] * df["dist_in"] * INCH * INCH / ACRE
    return {
        "rows": len(df),
        "columns": list(df.columns),
        "crop": sorted(df["crop"].astype(str).unique().tolist()),
        "area_ac": float(area_ac.sum()),
        "dryVolume_bu": float((df["yield"] * area_ac).sum()),
        "elevation_m": [float(df["z_metrs"].min()), float(df["z_metrs"].max())],
    }


def _yield_editor_expect(f):
    return {
        "records": f["rows"],
        "recordsSource": "DBF rows (pyogrio)",
        "operationType": "harvested",
        "operationTypeReason": "Yield Editor output: dry yield (bu/ac), moisture, swath",
        "totals": {
            "totalArea": {
                "value": f["area_ac"] * ACRE,
                "unit": "m2",
                "source": "Σ swth_w_ [in] × dist_in [in]",
            },
            "totalDryVolume": {
                "value": f["dryVolume_bu"],
                "unit": "bu",
                "source": "Σ yield [bu/ac] × swth_w_ × dist_in",
            },
        },
    }


def cropscan_nmea(path: Path) -> dict[str, Any]:
    """A zipped CropScan 3300H grain-protein log: NIR samples with the GGA fields decoded.

    Per the NMEA 0183 GGA sentence the position is unsigned magnitudes followed by their
    hemisphere letters (``y``, ``dir_y`` N|S, ``x``, ``dir_x`` E|W) and ``misc`` is the
    sentence's UTC time (hhmmss.s). The positions are checked against the same field's
    yield log of the same day (``ofpe_jd_harvest_wheat_2019``, a John Deere export read
    by pyogrio): each sample logged while that export runs is compared with the yield
    point logged the same second.
    """
    import pyogrio

    with zipfile.ZipFile(path) as zf:
        (name,) = [n for n in zf.namelist() if n.lower().endswith(".csv")]
        df = pd.read_csv(zf.open(name))
    fix = df["GPS"].eq("GPGGA") & df["x"].notna() & df["y"].notna()
    lon = np.where(df["dir_x"].eq("W"), -df["x"], df["x"])
    lat = np.where(df["dir_y"].eq("S"), -df["y"], df["y"])
    facts: dict[str, Any] = {
        "rows": len(df),
        "rowsWithPosition": int(fix.sum()),
        "hemispheres": sorted(set(df["dir_y"].dropna()) | set(df["dir_x"].dropna())),
        "lon": [float(np.nanmin(lon)), float(np.nanmax(lon))],
        "lat": [float(np.nanmin(lat)), float(np.nanmax(lat))],
        "dates": sorted(df["Date"].dropna().unique().tolist()),
        "columns": list(df.columns),
    }
    harvest = TESTS_DATA / "ofpe_jd_harvest_wheat_2019"
    zipped = next(harvest.glob("*.zip"), None)
    if zipped is not None:
        with zipfile.ZipFile(zipped) as zf:
            shp = next(
                n
                for n in zf.namelist()
                if n.endswith(".shp") and not n.startswith("__MACOSX")
            )
        h = pyogrio.read_dataframe(f"/vsizip/{zipped}/{shp}")
        day = pd.Timestamp("2019-08-16", tz="UTC")
        ht = (
            (pd.to_datetime(h["IsoTime"], utc=True) - day).dt.total_seconds().to_numpy()
        )
        gga = df["misc"].to_numpy(dtype=float)
        nt = (gga // 10000) * 3600 + (gga // 100 % 100) * 60 + gga % 100
        same = (
            df["Date"].eq("16/08/2019").to_numpy() & (nt >= ht.min()) & (nt <= ht.max())
        )
        order = np.argsort(ht, kind="stable")
        at = order[np.clip(np.searchsorted(ht[order], nt[same]), 0, len(ht) - 1)]
        east = (lon[same] - h.geometry.x.to_numpy()[at]) * np.cos(np.radians(46.03))
        north = lat[same] - h.geometry.y.to_numpy()[at]
        metres = np.hypot(east * 111_320.0, north * 110_540.0)
        facts["sameSecondAsHarvest"] = {
            "harvestSet": "ofpe_jd_harvest_wheat_2019",
            "samples": int(same.sum()),
            "medianM": round(float(np.median(metres)), 1),
            "maxM": round(float(metres.max()), 1),
            "method": "GGA UTC time (misc) on 16/08/2019 within the export's IsoTime span; "
            "the export's point with the nearest IsoTime; equirectangular metres",
        }
    return facts


def _cropscan_refusal(f):
    return {
        "outcome": "refused",
        "refusal": ["missing required", "wetmass"],
        "note": "an on-combine CropScan 3300H grain-protein analyser's samples (Protein, "
        "Moisture, 38 NIR bands, every ~10 s): grain quality, no yield mass, volume or flow",
    }


def _refused_table(
    recipe: Callable[[Path], dict[str, Any]],
    expect: Callable[[dict[str, Any]], dict[str, Any]],
):
    def build(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        (path,) = [p for p in folder.iterdir() if p.suffix.lower() == ".zip"]
        facts = recipe(path)
        return {"file": path.name, **facts}, [{"match": "*", **expect(facts)}]

    return build


def pyprecag_area2(path: Path) -> dict[str, Any]:
    """SMS-style CSV with units in the headers (Latin-1): Distance(m), Swth Wdth(m), Crop Flw(M)(tonne/h), Duration(s)."""
    df = pd.read_csv(path, encoding="latin1")
    area = df["Distance(m)"] * df["Swth Wdth(m)"]
    return {
        "rows": len(df),
        "area_m2": float(area.sum()),
        "wetMass_kg_from_flow": float(
            (df["Crop Flw(M)(tonne/h)"] * 1000 / 3600 * df["Duration(s)"]).sum()
        ),
    }


def rows_only(path: Path) -> dict[str, Any]:
    """Row count of a CSV, shapefile or GeoPackage layer."""
    if path.suffix.lower() in (".shp", ".gpkg"):
        import pyogrio

        return {"rows": int(pyogrio.read_info(path)["features"])}
    return {"rows": len(pd.read_csv(path, encoding="latin1"))}


# ------------------------------------------------------------------ ISOXML expectations
def isoxml_task_expect(
    taskdata: dict[str, Any],
    task_id: str,
    *,
    operation_type: str | None,
    reason: str,
    totals: bool = True,
) -> dict[str, Any]:
    """Expectation for one task's leaf file: isoxml-js records and the controller's totals."""
    task = next(t for t in taskdata["tasks"] if t["id"] == task_id)
    parallel = len(task["logs"]) > 1 and task["records"] < sum(
        isoxml_facts.log_records(log) for log in task["logs"]
    )

    def describe(log):
        n = isoxml_facts.log_records(log)
        if log.get("byteWalk"):
            w = log["byteWalk"]
            return f"{log['name']} {n} (byte walk: isoxml-js stops at record 1; {w['bytesSkipped']} bytes skipped)"
        extra = log["records"] - n
        return f"{log['name']} {n}" + (f" (+{extra} at 0,0)" if extra else "")

    out = {
        "match": f"*#{task_id}",
        "outcome": "converted",
        "operationType": operation_type,
        "operationTypeReason": reason,
        "records": task["records"],
        "recordsSource": "records with a position, isoxml-js; "
        + (
            "parallel TLGs at the same instants counted once: "
            if parallel
            else "summed over "
        )
        + ", ".join(describe(log) for log in task["logs"]),
    }
    if totals:
        out["totals"] = isoxml_facts.controller_totals(taskdata, [task_id])
        skipped = out["totals"].pop("notTaskTotals", None)
        if skipped:
            out["notTaskTotals"] = skipped["source"]
        flows = [f for log in task["logs"] for f in log["massFlowIntegralKg"].values()]
        if flows and "totalWetMass" in out["totals"]:
            out["totals"]["totalWetMass"]["source"] += (
                f"; Σ DDI 87 mass flow × Δt over the isoxml-js records: {sum(f['forward'] for f in flows):,.0f} kg"
            )
    return out


def isoxml_refusal(
    task_id: str, refusal: str | list[str], reason: str
) -> dict[str, Any]:
    """A task that must be refused; the message must contain one of *refusal* (any case)."""
    return {
        "match": f"*#{task_id}",
        "outcome": "refused",
        "refusal": refusal,
        "note": reason,
    }


def _td(facts: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return facts["taskdata"][index]


# ------------------------------------------------------------------ the sets
def _topcon_planter(facts):
    td = _td(facts)
    widths = {
        k: v["max"] / 1000
        for log in td["tasks"][3]["logs"]
        for k, v in log["keys"].items()
        if k.startswith("0043_")
    }
    facts["workingWidthsM"] = {
        "console DET-5 (device 'Console')": widths.get("0043_DET-5"),
        "seed boom DET-8 (function)": widths.get("0043_DET-8"),
        "liquid boom DET-9 (function)": widths.get("0043_DET-9"),
        "seed sub-booms DET-10..13 (function)": widths.get("0043_DET-10"),
        "row units DET-78..109 (unit)": widths.get("0043_DET-78"),
        "expected working width": 12.192,
        "why": "the sections that plant are the seed boom's 32 row units of 0.381 m "
        "(32 × 0.381 = 12.192 m = the seed boom's own width); the 4 m console is "
        "another device and the liquid boom is a parallel function — never a sum of levels",
    }
    return [
        isoxml_task_expect(
            td,
            "TSK4",
            operation_type="planted",
            reason="DVC 'Case IH 2150S Front-Fold 32 Rows', ISO NAME device class 4 "
            "(Planters/Seeders); seed rate DDI 12 per row unit",
            totals=False,
        )
        | {
            "workingWidthM": 12.192,
            "note": "TIM holds only DDI 119 (effective time 246 s on DET-8): no area/mass "
            "totals to reconcile",
        }
    ]


def _tractor_only(facts):
    return [
        isoxml_refusal(
            "TSK-1",
            ["tractor", "implement", "no work"],
            "tractor log only: DDIs 144/145/146 (yaw, roll, pitch) and 397 (speed) on the "
            "tractor DET; no implement, no work state, rate or yield",
        )
    ]


def _greendb(facts):
    td = _td(facts)
    reason = (
        "DVC 'True-Tandem 335VT - 34 ft' (Great Plains vertical tillage), ISO NAME device "
        "class 2 (Primary soil tillage); logs tillage depth DDIs 51-55 and no seed or "
        "product rate; the task name 'Plant crop' is the FMIS's label, not the work done"
    )
    return [
        isoxml_task_expect(td, t, operation_type="tillage", reason=reason)
        for t in ("TSK1", "TSK2")
    ]


def _krone_baler(facts):
    td = _td(facts)
    reason = (
        "DVC 'Grosspackenpresse' (KRONE big baler), ISO NAME device class 7 (Harvesters); "
        "logs DDI 90 Yield Total Mass and 91 bale count; task names 'Ballenpressen'/'Quaderballen'"
    )
    out = []
    for task in td["tasks"]:
        e = isoxml_task_expect(
            td, task["id"], operation_type="harvested", reason=reason
        )
        broken = [log["name"] for log in task["logs"] if log.get("byteWalk")]
        lost = [
            log["name"]
            for log in task["logs"]
            if log["positions"]["valid"] == 0 and not log.get("byteWalk")
        ]
        notes = []
        if broken:
            notes.append(
                f"{', '.join(broken)}: 5 stray bytes after record 1 (its DLV count says 0); "
                "the rest parses to the end of the file — a decoder should skip the bytes and count them"
            )
        if lost:
            notes.append(f"{', '.join(lost)}: every position is 0,0 (not counted)")
        if notes:
            e["note"] = "; ".join(notes)
        out.append(e)
    out.append(
        {
            "match": "*.CSV",
            "outcome": "any",
            "note": "TLGnnnn.CSV are a 2019 decoding of the same logs (';' separated, decimal "
            "commas); not asserted",
        }
    )
    return out


def _fendt_combine(facts):
    td = _td(facts)
    reason = "DVC 'IDEAL Combine Series' + 'Combine Header', ISO NAME device class 7 (Harvesters); DDIs 84/90/99 yield"
    return [
        isoxml_task_expect(td, "TSK-1", operation_type="harvested", reason=reason),
        isoxml_task_expect(td, "TSK-3", operation_type="harvested", reason=reason),
        isoxml_refusal(
            "TSK-2", "TLG00002", "TLG00002.bin is not in the public repository"
        ),
    ]


def _trimble_potato(facts):
    td = _td(facts)
    t2 = next(t for t in td["tasks"] if t["id"] == "TSK-2")
    flow = [log["massFlowIntegralKg"].get("DET-1", {}) for log in t2["logs"]]
    forward = sum(f.get("forward", 0) for f in flow)
    backward = sum(f.get("backward", 0) for f in flow)
    exp = isoxml_task_expect(
        td,
        "TSK-2",
        operation_type="harvested",
        reason="DVC 'Combine_YM2000' (Trimble FmX yield monitor) ISO NAME device class 7 "
        "(Harvesters); task 'Potatis 2016'; logs only DDI 87 mass flow (mg/s) for yield",
    )
    exp["totals"]["totalWetMass"] = {
        "value": (forward + backward) / 2,
        "unit": "kg",
        "source": f"Σ DDI 87 [mg/s] × Δt between isoxml-js records: {forward:.0f} kg holding "
        f"each value forward, {backward:.0f} kg backward (mean; no TIM mass total)",
        "tolerance": max(0.02, abs(forward - backward) / (forward + backward)),
    }
    return [
        exp,
        isoxml_refusal(
            "TSK-1",
            ["TLG00000", "TLG00001"],
            "TLG00000.bin and TLG00001.bin are empty (0 bytes)",
        ),
    ]


def _table(
    recipe: Callable[[Path], dict[str, Any]],
    expect: Callable[[dict[str, Any]], dict[str, Any]],
):
    def build(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        files = sorted(
            p for p in folder.iterdir() if p.is_file() and p.name != "facts.json"
        )
        data = [
            f for f in files if f.suffix.lower() in (".txt", ".csv", ".shp", ".zip")
        ]
        (path,) = data
        facts = recipe(path)
        return {"file": path.name, **facts}, [
            {"match": "*", "outcome": "converted", **expect(facts)}
        ]

    return build


def _isoxml(expect: Callable[[dict[str, Any]], list[dict[str, Any]]]):
    def build(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        facts = isoxml_facts.taskdata_facts(folder)
        return facts, expect(facts)

    return build


def _gartner_expect(f):
    return {
        "records": f["rows"],
        "recordsSource": "rows (pandas)",
        "operationType": "harvested",
        "operationTypeReason": "combine yield monitor (UMN); grain mass flow column",
        "totals": {
            "totalWetMass": {
                "value": f["wetMass_lb"] * LB,
                "unit": "kg",
                "source": "Σ mass [lb/s] × seconds [s] (agridat documentation)",
            }
        },
        "note": "the 360 in swath is documented by agridat, not in the file; area not asserted",
    }


SETS: dict[str, dict[str, Any]] = {
    "topcon_case2150s_planter": {
        "origin": {
            "repo": DOTNET,
            "commit": DOTNET_COMMIT,
            "path": f"{DOTNET_TEST}/ExternalFiles/AFE.zip (folder SingleLayer_TASKDATA, renamed TASKDATA)",
        },
        "licence": "Apache-2.0",
        "format": "ISOXML v4.2 with XFR external files (DVC00000.XML, TSK00000.XML, ...), 3 parallel TLGs",
        "controller": "Topcon Precision Agriculture task controller",
        "description": "Case IH 2150S Front-Fold 32-row planter behind a tractor ('800'), with a "
        "Topcon console device: 4 m console width, seed boom 12.192 m, four 3.048 m seed sub-booms, "
        "32 row units of 0.381 m, 32 liquid sections; >255 DLVs split over 3 TLGs written at the "
        "same 3,633 instants. Bench test (Germany, 52.36 N 8.03 E), 6 minutes.",
        "build": _isoxml(_topcon_planter),
    },
    "topcon_fendt_tractor_only": {
        "origin": {
            "repo": "dev4Agriculture/isoxml-js",
            "commit": "2c0994d594f035bc93cd20bfeae2273b559465e5",
            "path": "data/2021-04-09T15_33_26_taskdata.zip (also Dudlileif/isoxml_dart test/data_files/zip_test.zip, BSD-3)",
        },
        "licence": "Apache-2.0",
        "format": "ISOXML v4.2 with XFR external files, 1 TLG",
        "controller": "Topcon Precision Agriculture (exported by FarmFacts)",
        "description": "A 40 s task of a Fendt 8250-8280 TTV tractor alone: yaw/roll/pitch/speed, no implement.",
        "build": _isoxml(_tractor_only),
    },
    "greendb_great_plains_plant_crop": {
        "origin": {
            "repo": DOTNET,
            "commit": DOTNET_COMMIT,
            "path": f"{DOTNET_TEST}/LoadFromStream/AllFieldsMoved_Or_Simplified_Out.zip",
        },
        "licence": "Apache-2.0",
        "format": "ISOXML v4.3 (GreenDB export), 2 TLGs, 78 DLVs",
        "controller": "unknown TC (file written by GreenDB); Great Plains True-Tandem 335VT 34 ft",
        "description": "Two tasks named 'Plant crop' done with a vertical tillage tool behind a Deutz-Fahr 9340 TTV; 4.9 MB (local only)",
        "build": _isoxml(_greendb),
    },
    "krone_big_baler_2012": {
        "origin": {
            "repo": DOTNET,
            "commit": DOTNET_COMMIT,
            "path": f"{DOTNET_TEST}/LoadFromStream/CorruptStream.zip (folder TC_130609_1847)",
        },
        "licence": "Apache-2.0",
        "format": "ISOXML 'v0.0' (2012 farmpilot export), TLGnnnn (4-digit) names, TIM DLVs without DET, plus TLGnnnn.CSV decodings",
        "controller": "KRONE big baler (Grosspackenpresse) TC, farmpilot",
        "description": "5 baling tasks, 14 TLGs; TLG0006/TLG0007 do not match their headers; 8.4 MB (local only)",
        "build": _isoxml(_krone_baler),
    },
    "fendt_ideal_combine_2019": {
        "origin": {
            "repo": "axelande/pyAgriculture11783",
            "commit": "1f2c68d8c6f61f297d52769ea4bd08f6e5a732c8",
            "path": "Combiner/TaskData",
        },
        "licence": "AGPL-3.0 (local only)",
        "format": "ISOXML v3.3, 3 tasks (TLG00002.bin absent from the repository)",
        "controller": "AGCO GmbH / Fendt TC 1.0",
        "description": "Fendt IDEAL combine, Sweden 2019: tasks 'Teat', 'Värnhem', 'Raps' (oilseed rape)",
        "build": _isoxml(_fendt_combine),
    },
    "trimble_fmx_potato_harvester": {
        "origin": {
            "repo": "axelande/pyAgriculture11783",
            "commit": "1f2c68d8c6f61f297d52769ea4bd08f6e5a732c8",
            "path": "Potatoes/TaskData",
        },
        "licence": "AGPL-3.0 (local only)",
        "format": "ISOXML v1.0 (Trimble), constant DLV values in the TLG headers",
        "controller": "Trimble Navigation FmX 1.0.1 with a YM2000 yield monitor",
        "description": "Potato harvest, Sweden 2016 ('Potatis 2016'); yield only as DDI 87 mass flow",
        "build": _isoxml(_trimble_potato),
    },
    "yieldeditor_soybean_16col_altitude": {
        "origin": {
            "repo": "cedricbouffard/yieldcleanr",
            "commit": "0dbc2837f06dffaab515cda9020a44c2ab7dfb42",
            "path": "inst/extdata/sample1.txt",
        },
        "licence": "MIT",
        "format": "Yield Editor / Ag Leader text, 16 columns, quoted strings, GPS unix seconds, altitude last, no header",
        "controller": "Ag Leader monitor (Yield Editor export)",
        "description": "Soybeans, Missouri (39.30 N, 93.26 W), variety F9891RRN",
        "build": _table(
            yield_editor_text, lambda f: yield_editor_expect(f, "Soybeans")
        ),
    },
    "yieldeditor_corn_15col_gpsweeksec": {
        "origin": {
            "repo": "cedricbouffard/yieldcleanr",
            "commit": "0dbc2837f06dffaab515cda9020a44c2ab7dfb42",
            "path": "inst/extdata/sample2.txt",
        },
        "licence": "MIT",
        "format": "Yield Editor text, 15 columns, unquoted strings, GPS time as seconds of the GPS week (59,242-157,420), 'NA' variety, no header",
        "controller": "Ag Leader monitor (Yield Editor export)",
        "description": "Corn, Missouri (39.23 N, 92.15 W), header status 32/33",
        "build": _table(yield_editor_text, lambda f: yield_editor_expect(f, "Corn")),
    },
    "yieldeditor_corn_15col_quoted": {
        "origin": {
            "repo": "cedricbouffard/yieldcleanr",
            "commit": "0dbc2837f06dffaab515cda9020a44c2ab7dfb42",
            "path": "inst/extdata/sample3.txt",
        },
        "licence": "MIT",
        "format": "Yield Editor text, 15 columns, quoted strings, GPS time an 8-digit counter, no header",
        "controller": "Ag Leader monitor (Yield Editor export)",
        "description": "Corn (DK 616), Missouri",
        "build": _table(yield_editor_text, lambda f: yield_editor_expect(f, "Corn")),
    },
    "yieldeditor_whitecorn_15col_floatserial": {
        "origin": {
            "repo": "cedricbouffard/yieldcleanr",
            "commit": "0dbc2837f06dffaab515cda9020a44c2ab7dfb42",
            "path": "inst/extdata/sample4.txt",
        },
        "licence": "MIT",
        "format": "Yield Editor text, 15 columns, unquoted, GPS time a counter from 11111111, column 11 a float, no header",
        "controller": "Ag Leader monitor (Yield Editor export)",
        "description": "White corn, Missouri (39.06 N, 93.17 W)",
        "build": _table(
            yield_editor_text, lambda f: yield_editor_expect(f, "CORN WHITE")
        ),
    },
    "jd_soybean_crop174_shapefile": {
        "origin": {
            "repo": "mharbur/data-science-for-agricultural-professionals",
            "commit": "adb7319cb06b21ceb95e69b1799570c7c407074e",
            "path": "data-unit-1/merriweather_yield_map/merriweather_yield_map.*",
        },
        "licence": "none stated (local only)",
        "format": "Shapefile, John Deere Operations Center yield columns (DISTANCE, SWATHWIDTH, VRYIELDVOL, Crop=174, WetMass, ...)",
        "controller": "John Deere (Operations Center export)",
        "description": "Soybeans, Iowa 2016 (Agronomy 513 course data); yield_bu added by the course author",
        "build": _table(jd_operations_center, jd_expect),
    },
    "jd_soybean_crop174_csv": {
        "origin": {
            "repo": "mharbur/data-science-for-agricultural-professionals",
            "commit": "adb7319cb06b21ceb95e69b1799570c7c407074e",
            "path": "apps/apps-unit-1/data/yield_df.csv",
        },
        "licence": "none stated (local only)",
        "format": "CSV copy of the same John Deere export without geometry",
        "controller": "John Deere (Operations Center export)",
        "description": "The same 6,061 points without coordinates: a log with no positions must be refused",
        "build": lambda folder: (
            {"file": "yield_df.csv", **jd_operations_center(folder / "yield_df.csv")},
            [
                {
                    "match": "*",
                    "outcome": "refused",
                    "refusal": [
                        "position",
                        "longitude",
                        "latitude",
                        "coordinate",
                        "geometry",
                    ],
                    "note": "no longitude/latitude or geometry column: nothing to map",
                }
            ],
        ),
    },
    "krone_baler_tlg_csv_semicolon": {
        "origin": {
            "repo": DOTNET,
            "commit": DOTNET_COMMIT,
            "path": f"{DOTNET_TEST}/LoadFromStream/CorruptStream.zip (TC_130609_1847/TLG0001.CSV)",
        },
        "licence": "Apache-2.0",
        "format": "European CSV: ';' separator, decimal commas, dd.mm.yyyy dates, DDI-coded headers ('90/-1)",
        "controller": "KRONE big baler TC (TLG decoded to CSV by an unknown 2019 tool)",
        "description": "Baling, Spelle (DE) 16 May 2012, 11,713 rows; values only where the log wrote them",
        "build": _table(tlg_csv_semicolon, _tlg_csv_expect),
    },
    "ofpe_jd_harvest_wheat_2019": {
        "origin": {
            "repo": "paulhegedus/OFPEDATA",
            "commit": "ae70c5d8ad4fe154fd4b746a7ec43f3031a6e0a9",
            "path": "data-raw/FarmerB Farms Inc.-FarmerB Family LLC-sec 1 west-Wheat (Hrd Rd Wtr)-1.zip",
        },
        "licence": "MIT",
        "format": "John Deere Operations Center yield export: point shapefile, no metadata JSON "
        "(DISTANCE, SWATHWIDTH, VRYIELDVOL, SECTIONID, Crop=26, WetMass, Moisture, IsoTime ...)",
        "controller": "John Deere (Operations Center export)",
        "description": "Hard red winter wheat, 'sec 1 west' field, Montana State University OFPE "
        "project, 16 August 2019; a record per header section (8 × 5 ft); 18,400 points",
        "build": _table(
            jd_operations_center,
            lambda f: {
                **jd_expect(f),
                "operationTypeReason": "yield export: VRYIELDVOL / WetMass per area "
                "(Crop 26, wheat per the file name)",
            },
        ),
    },
    "ofpe_jd_seeding_wheat_2019": {
        "origin": {
            "repo": "paulhegedus/OFPEDATA",
            "commit": "ae70c5d8ad4fe154fd4b746a7ec43f3031a6e0a9",
            "path": "data-raw/FarmerC Hill Farms-FarmerC Hill Farms-Millview-Wheat (Hrd Rd Spr) seeding.zip",
        },
        "licence": "MIT",
        "format": "John Deere Operations Center seeding export: point shapefile + -Deere-Metadata.json "
        "(DBF names abbreviated to 7 characters when the data was saved again)",
        "controller": "John Deere (Operations Center export)",
        "description": "Hard red spring wheat seeded by mass (lb/ac), Millview field, Montana State "
        "University OFPE project, May 2019; 23,047 points",
        "build": _table(jd_seeding_export, _jd_seeding_expect),
    },
    "ofpe_yield_editor_wheat_2016": {
        "origin": {
            "repo": "paulhegedus/OFPEDATA",
            "commit": "ae70c5d8ad4fe154fd4b746a7ec43f3031a6e0a9",
            "path": "data-raw/FarmerI_YE_YLD_2016_henrys.zip",
        },
        "licence": "MIT",
        "format": "Yield Editor output as a point shapefile saved by R (sf): names cut to 7 "
        "characters (moistur, swth_w_, dist_in, flw_lbs, hdng_dg, z_metrs), an orig_file column",
        "controller": "Yield Editor (USDA-ARS) output of a combine's yield log",
        "description": "Winter wheat ('ww'), 'henrys' field, Montana State University OFPE "
        "project, 2016; 21,551 points, cleaned by Yield Editor",
        "build": _table(yield_editor_shapefile, _yield_editor_expect),
    },
    "ofpe_cropscan_protein_wheat_2019": {
        "origin": {
            "repo": "paulhegedus/OFPEDATA",
            "commit": "ae70c5d8ad4fe154fd4b746a7ec43f3031a6e0a9",
            "path": "data-raw/SEC 1 WEST_SN1228_2019.csv",
        },
        "licence": "MIT",
        "format": "CropScan 3300H grain-protein CSV (zipped here): SampleID, Sp1-Sp38, Protein, "
        "Moisture, Product, Date, Time, GPS, misc (GGA UTC time), y, dir_y, x, dir_x",
        "controller": "CropScan 3300H on-combine NIR analyser (serial SN1228)",
        "description": "Winter wheat protein samples, 'sec 1 west' field, Montana State "
        "University OFPE project, 14-16 August 2019; positions as NMEA magnitudes and "
        "hemisphere letters",
        "build": _refused_table(cropscan_nmea, _cropscan_refusal),
    },
    "difm_ofpetrial_yield_asapplied": {
        "origin": {
            "repo": "DIFM-Brain/ofpetrial",
            "commit": "7727e89458858a1e833e19b43ca7466cf7d2d5eb",
            "path": "inst/extdata/{yield,as-applied}-simple1.*",
        },
        "licence": "GPL-3 (local only)",
        "format": "Shapefiles: yield map with only Yld_Vol_Dr; as-applied with Tgt_Rate_k, Elevation_, Speed_mph_",
        "controller": "DIFM on-farm trial exports (SMS-style names), anonymised coordinates",
        "description": "Minimal yield and as-applied maps of an on-farm precision experiment",
        "build": difm_shapefiles,
    },
    "umn_gartner_corn_header_csv": {
        "origin": {
            "repo": "vincentarelbundock/Rdatasets",
            "commit": "1dcc2bf5f955cc1224a3e1307256e1fe86b68dae",
            "path": "csv/agridat/gartner.corn.csv",
        },
        "licence": "GPL-3 (Rdatasets) / agridat CC BY-SA (local only)",
        "format": "CSV with a header row: rownames,long,lat,mass,time,seconds,dist,moist,elev",
        "controller": "combine yield monitor, University of Minnesota Precision Agriculture Center",
        "description": "Corn, Mankato MN, 5 Nov 2011; yield monitor text with a header row and time in seconds from start",
        "build": _table(gartner_corn, _gartner_expect),
    },
}


# ------------------------------------------------------------------ ../shared/data
def _shared_isoxml(
    folder: str, expect: Callable[[dict[str, Any]], list[dict[str, Any]]], note: str
):
    return {
        "path": f"isoxml/{folder}",
        "kind": "isoxml",
        "expect": expect,
        "readme": note,
    }


def _cci(facts):
    td = _td(facts)
    reason = "CCI TC, forage harvester DVC (ISO NAME device class 9, Forage harvesters); yield DDIs 84/87/90/99"
    return [
        isoxml_task_expect(td, t["id"], operation_type="harvested", reason=reason)
        for t in td["tasks"]
        if t["logs"]
    ]


def _krone_forage(facts):
    td = _td(facts)
    return [
        {
            "match": f"*#{t['id']}",
            "outcome": "refused",
            "refusal": ["no points passed", "wetmass"],
            "note": "road travel: yield DDIs logged but 0 in all 4,677 records (README) — no harvest to keep",
        }
        for t in td["tasks"]
        if t["logs"]
    ]


# device class (ISO NAME) -> leafnb operation type, as isoxml-dotnet's DeviceClassConversion
CLASS_OPERATION = {
    "Primary soil tillage": "tillage",
    "Secondary soil tillage": "tillage",
    "Planters/Seeders": "planted",
    "Fertilizers": "applied",
    "Sprayers": "applied",
    "Slurry applicators": "applied",
    "Harvesters": "harvested",
    "Root harvesters": "harvested",
    "Forage harvesters": "harvested",
}


def _operation_from_classes(task: dict[str, Any]) -> tuple[str | None, str]:
    """The operation of the working device(s) a task logged (tractors/non-specific ignored)."""
    ops = {
        CLASS_OPERATION[c] for c in task["deviceClassesLogged"] if c in CLASS_OPERATION
    }
    classes = ", ".join(task["deviceClassesLogged"]) or "none"
    if len(ops) == 1:
        return ops.pop(), f"task {task['name']!r}; device classes logged: {classes}"
    return None, f"not asserted: device classes logged: {classes}"


# DDIs that measure work done: actual rates (2 volume, 7 mass, 12 count per area, 17
# spacing...) and yields (84 mass per area, 87 mass flow, 90 total mass)
ACTUAL_WORK_DDIS = {
    "0002",
    "0007",
    "000C",
    "0011",
    "0054",
    "0057",
    "005A",
    "0052",
    "0051",
    "0050",
}


def task_worked(task: dict[str, Any]) -> tuple[bool, str]:
    """Did the implement work during the task? Work state (DDI 141) reached 1 when logged,
    and an actual rate / yield / applied total is above 0, or the controller's TIM area is."""
    ws = [
        v["max"]
        for log in task["logs"]
        for k, v in log["keys"].items()
        if k.startswith("008D_")
    ]
    rates = [
        v["max"]
        for log in task["logs"]
        for k, v in log["keys"].items()
        if k[:4].upper() in ACTUAL_WORK_DDIS
    ]
    area = [r["value"] for r in task["timTotals"] if r["ddi"] == "0074"]
    if ws and max(ws) < 1:
        return False, "work state (DDI 141) never 1"
    if (rates and max(rates) > 0) or (area and max(area) > 0):
        return True, ""
    return False, "every actual rate is 0 and the controller's area is 0"


def _cnh(facts):
    td = _td(facts)
    out = []
    for t in td["tasks"]:
        if not t["logs"]:
            continue
        worked, why_not = task_worked(t)
        if not worked:
            out.append(
                isoxml_refusal(
                    t["id"],
                    [
                        "no points passed",
                        "work state",
                        "not working",
                        "nothing",
                        "missing required",
                    ],
                    f"bench test task {t['name']!r}: {why_not} — nothing was applied or planted",
                )
            )
            continue
        op, why = _operation_from_classes(t)
        e = isoxml_task_expect(td, t["id"], operation_type=op, reason=why)
        jump = max(log["positions"]["maxStepKm"] for log in t["logs"])
        e["note"] = (
            f"bench test: longest position step {jump:,.0f} km (test fields in DE, US, BR)"
        )
        out.append(e)
    return out


def _kverneland_imt(facts):
    td = _td(facts)
    return [
        isoxml_task_expect(
            td,
            t["id"],
            operation_type="planted",
            reason="DVC 'IntelliAg' ISO NAME device class 4 (Planters/Seeders); seed count per area DDIs 11/12",
        )
        | {
            "note": "simulator positions: one step of "
            f"{max(log['positions']['maxStepKm'] for log in t['logs']):,.0f} km in a "
            f"{t['timTotals'][0]['start'] if t['timTotals'] else '?'} task of ~2 minutes; "
            "the controller's own area is the reference"
        }
        for t in td["tasks"]
        if t["logs"]
    ]


def _agco(facts):
    td = _td(facts)
    return [
        isoxml_task_expect(
            td,
            t["id"],
            operation_type="applied",
            reason="JD sprayer behind an AGCO C100 TC, DDIs 1/2 volume per area",
        )
        for t in td["tasks"]
        if t["logs"]
    ]


def _aef(facts):
    td = _td(facts)
    return [
        {
            "match": f"*#{t['id']}",
            "outcome": "refused",
            "refusal": "no usable record",
            "note": "24-byte TLGs: 1 record, 0 DLVs, lat/lon 0,0 (README)",
        }
        for t in td["tasks"]
        if t["logs"]
    ]


def _shared_table(path: str, files: list[tuple[str, Callable, Callable]], note: str):
    return {"path": path, "kind": "table", "files": files, "readme": note}


def _agleader_text_expect(f):
    return yield_editor_expect(f, "/".join(f["crops"]))


def _sms_expect(f):
    return {
        "records": f["rows"],
        "recordsSource": "DBF rows (pyogrio); README",
        "operationType": "harvested",
        "operationTypeReason": "Ag Leader SMS yield shapefile (Yld_Vol_Dr, Yld_Mass_W), soybeans",
        "totals": {
            "totalArea": {
                "value": f["area_ac"] * ACRE,
                "unit": "m2",
                "source": "Σ Distance_f × Swth_Wdth_ [ft²]",
            },
            "totalWetMass": {
                "value": f["wetMass_lb"] * LB,
                "unit": "kg",
                "source": "Σ Yld_Mass_W [lb/ac] × area",
            },
        },
    }


def _rows_expect(op: str, why: str):
    return lambda f: {
        "records": f["rows"],
        "recordsSource": "rows (pyogrio/pandas); README",
        "operationType": op,
        "operationTypeReason": why,
    }


def _pyprecag2_expect(f):
    return {
        "records": f["rows"],
        "recordsSource": "rows (pandas); README 1,543",
        "operationType": "harvested",
        "operationTypeReason": "SMS-style yield CSV: Yld Mass(Dry)(tonne/ha), Crop Flw",
        "totals": {
            "totalArea": {
                "value": f["area_m2"],
                "unit": "m2",
                "source": "Σ Distance(m) × Swth Wdth(m)",
            },
            "totalWetMass": {
                "value": f["wetMass_kg_from_flow"],
                "unit": "kg",
                "source": "Σ Crop Flw(M)(tonne/h) × Duration(s)",
            },
        },
    }


SHARED: dict[str, dict[str, Any]] = {
    "shared_cci_forage_harvester_yield": _shared_isoxml(
        "cci_forage_harvester_yield",
        _cci,
        "19 tasks, 21 TLGs, 61,314 records; TLG00002 DDI 90 total 242,461",
    ),
    "shared_krone_forage_harvester_roading": _shared_isoxml(
        "krone_forage_harvester_roading",
        _krone_forage,
        "3 TLGs, 4,677 records, yield DDIs logged but 0",
    ),
    "shared_cnh_pro1200_spreader_benchtest": _shared_isoxml(
        "cnh_pro1200_spreader_benchtest", _cnh, "15 TLGs, 4,879 records, up to 215 DLVs"
    ),
    "shared_kverneland_imtpro_benchtest": _shared_isoxml(
        "kverneland_imtpro_benchtest", _kverneland_imt, "1 TLG, 373 records, 38 DLVs"
    ),
    "shared_agco_c100_jd_sprayer_900": _shared_isoxml(
        "agco_c100_jd_sprayer_900", _agco, "3 TLGs, 1,980 records"
    ),
    "shared_kverneland_aef_conformance_empty_tlgs": _shared_isoxml(
        "kverneland_aef_conformance_empty_tlgs",
        _aef,
        "6 TLGs of 24 bytes: 1 record, 0 DLVs, lat/lon 0,0",
    ),
    "shared_isu_agleader_advanced_export": _shared_table(
        "shapefile/isu_strips_yield/agleader_advanced_export",
        [
            (f"{n}.txt", yield_editor_text, _agleader_text_expect)
            for n in ("2007-basswood", "2010-orbweaver", "2012-basswood")
        ]
        + [
            (
                f"{n}.shp",
                rows_only,
                _rows_expect(
                    "harvested", "shapefile made from the same Ag Leader text"
                ),
            )
            for n in ("2007-basswood", "2010-orbweaver", "2012-basswood")
        ],
        "2,970 / 4,023 / 4,240 points",
    ),
    "shared_isu_sms_shapefile_export_2013": _shared_table(
        "shapefile/isu_strips_yield/sms_shapefile_export_2013",
        [
            (f"GARY_WILDIFE_{n}_2013_SOYBEANS_1.shp", sms_shapefile, _sms_expect)
            for n in ("2999 MOBLE", "ORB NORTH 2999", "ORB SOUTH 2999")
        ],
        "2,078 / 858 / 1,525 points (README)",
    ),
    "shared_datacarpentry_trial_lesson_gpkg": _shared_table(
        "shapefile/datacarpentry_trial_lesson_gpkg",
        [
            (
                "asplanted.gpkg",
                rows_only,
                _rows_expect("planted", "SMS as-planted export"),
            ),
            (
                "asapplied.gpkg",
                rows_only,
                _rows_expect("applied", "SMS as-applied NH3 export"),
            ),
        ],
        "asplanted 6,382; asapplied 9,913",
    ),
    "shared_csiro_pyprecag": _shared_table(
        "csv/csiro_pyprecag",
        [
            ("area2_yield_ISO-8859-1.csv", pyprecag_area2, _pyprecag2_expect),
            (
                "area1_yield_ascii_wgs84.csv",
                rows_only,
                _rows_expect("harvested", "logger CSV with Yield/Flow_Rate columns"),
            ),
        ],
        "area2 1,543 rows; area1 14,756 rows",
    ),
}


# ------------------------------------------------------------------ writing
def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    raise TypeError(type(obj))


def write(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False, default=_json_default) + "\n"
    )


def build_set(name: str, folder: Path, spec: dict[str, Any]) -> dict[str, Any]:
    facts, expect = spec["build"](folder)
    expect = fact_overrides.apply(name, expect, facts)
    return {
        "name": name,
        "origin": spec["origin"],
        "licence": spec["licence"],
        "format": spec["format"],
        "controller": spec["controller"],
        "description": spec["description"],
        "method": "independent of leafnb: benchmarks/corpus_facts/independent.py "
        "(xml.etree + isoxml-js for ISOXML, pandas/pyogrio for tables)",
        "expect": expect,
        "facts": facts,
    }


def build_shared(name: str, spec: dict[str, Any], shared: Path) -> dict[str, Any]:
    folder = shared / spec["path"]
    if spec["kind"] == "isoxml":
        facts = isoxml_facts.taskdata_facts(folder)
        expect = spec["expect"](facts)
    else:
        facts, expect = {}, []
        for fname, recipe, exp in spec["files"]:
            f = recipe(folder / fname)
            facts[fname] = f
            match = fname if not fname.endswith(".shp") else fname[:-4] + ".shp"
            expect.append({"match": f"*{match}", "outcome": "converted", **exp(f)})
    expect = fact_overrides.apply(name, expect, facts)
    return {
        "name": name,
        "path": spec["path"],
        "origin": "../shared/data (see its README.md)",
        "readme": spec["readme"],
        "method": "independent of leafnb: benchmarks/corpus_facts/independent.py",
        "expect": expect,
        "facts": facts,
    }


def _expect_line(e: dict[str, Any]) -> str:
    part = e["match"].lstrip("*") or "(all)"
    if e["outcome"] == "any":
        return f"  - `{part}`: not asserted — {e.get('note', '')}"
    if e["outcome"] == "refused":
        return f"  - `{part}`: **refuse** (message names {e['refusal']!r}) — {e.get('note', '')}"
    bits = [f"**{e.get('operationType') or 'type not asserted'}**"]
    if e.get("records") is not None:
        bits.append(f"{e['records']:,} records ({e.get('recordsSource', '')})")
    for key, t in (e.get("totals") or {}).items():
        bits.append(f"{key} = {t['value']:,.1f} {t['unit']} ({t['source']})")
    if e.get("workingWidthM"):
        bits.append(f"working width {e['workingWidthM']} m")
    line = f"  - `{part}`: " + "; ".join(bits)
    if e.get("operationTypeReason"):
        line += f". Why: {e['operationTypeReason']}"
    if e.get("note"):
        line += f". Note: {e['note']}"
    return line


def index_markdown(entries: list[tuple[Path, dict[str, Any]]]) -> str:
    """INDEX.md: per set its path, origin, licence, format and independent facts."""
    out = [
        "# Real data corpus (issue 13) — independent facts",
        "",
        "Generated by `benchmarks/corpus_facts/independent.py --index` (leafnb repo); facts come "
        "from the files themselves via xml.etree + isoxml-js (ISOXML) or pandas/pyogrio (tables), "
        "never from leafnb. Each set folder holds `facts.json` (full facts, per-TLG isoxml-js "
        "counts, per-DDI min/max, TIM totals, device tree). Run the whole corpus through leafnb "
        "with `python benchmarks/corpus.py /work/corpus-data`.",
        "",
    ]
    paths: dict[str, list[Path]] = {}
    manifests: dict[str, dict[str, Any]] = {}
    for path, m in entries:
        paths.setdefault(m["name"], []).append(path)
        manifests.setdefault(m["name"], m)
    for name, m in manifests.items():
        path = " and ".join(f"`{p}`" for p in paths[name])
        o = m["origin"]
        origin = (
            o
            if isinstance(o, str)
            else f"{o['repo']} @ {o['commit'][:12]} — `{o['path']}`"
        )
        out += [
            f"## {m['name']}",
            f"- path: {path}",
            f"- origin: {origin}",
            f"- licence: {m.get('licence', 'see ../shared/data/README.md')}",
        ]
        if m.get("format"):
            out.append(
                f"- format: {m['format']}; controller/monitor: {m.get('controller', '?')}"
            )
        if m.get("description") or m.get("readme"):
            out.append(f"- what: {m.get('description') or m.get('readme')}")
        extra = m["facts"].get("workingWidthsM")
        if extra:
            out.append(
                f"- working widths (isoxml-js, DDI 67 max): {json.dumps(extra, ensure_ascii=False)}"
            )
        out.append("- expected (independent facts):")
        out += [_expect_line(e) for e in m["expect"]]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "folders", nargs="*", type=Path, help="folders holding <set>/ sub-folders"
    )
    ap.add_argument("--shared", type=Path, default=SHARED_DATA)
    ap.add_argument("--only", action="append", help="set name(s) to (re)build")
    ap.add_argument(
        "--index", type=Path, help="also write an INDEX.md of every manifest found"
    )
    args = ap.parse_args(argv)
    wanted = set(args.only or [])
    for root in [TESTS_DATA, *args.folders]:
        for name, spec in SETS.items():
            if wanted and name not in wanted:
                continue
            folder = root / name
            if folder.is_dir():
                print(f"{name}: {folder}")
                write(folder / "facts.json", build_set(name, folder, spec))
    if args.shared.is_dir():
        for name, spec in SHARED.items():
            if wanted and name not in wanted:
                continue
            print(f"{name}: {args.shared / spec['path']}")
            write(
                SHARED_MANIFESTS / f"{name}.json", build_shared(name, spec, args.shared)
            )
    if args.index:
        entries = [
            (p.parent, json.loads(p.read_text()))
            for root in [*args.folders, TESTS_DATA]
            for p in sorted(root.glob("*/facts.json"))
        ]
        entries += [
            (args.shared / m["path"], m)
            for m in (
                json.loads(p.read_text())
                for p in sorted(SHARED_MANIFESTS.glob("*.json"))
            )
        ]
        args.index.write_text(index_markdown(entries) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
