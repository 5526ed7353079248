"""Column inference by name (languages, DBF truncations, vendors), unit and values."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pytest

from leafnb.errors import InvalidRequest
from leafnb.formats.base import Column
from leafnb.formats.columns import header_unit, name_hits, tokens
from leafnb.formats.inference import infer_columns, parse_user_mapping

IOWA = {"lon_hint": -93.5, "lat_hint": 42.0}
GERMANY = {"lon_hint": 9.5, "lat_hint": 54.0}


def _table(n=400, seed=0, **cols):
    rng = np.random.default_rng(seed)
    out = {}
    for name, spec in cols.items():
        if callable(spec):
            out[name] = spec(rng, n)
        else:
            out[name] = spec
    return pa.table(out)


def _props(m):
    return {s: (c.property, c.unit) for s, c in m.columns.items()}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Yld Mass(Dry)(tonne/ha)", ("Yld Mass(Dry)", "tonne/ha")),
        ("Speed_mph_", ("Speed", "mi/hr")),
        ("Yield_kg_ha", ("Yield", "kg/ha")),
        ("Duration_s", ("Duration", "s")),
        ("Crop Flw(M)", ("Crop Flw(M)", None)),  # M is "mass", not molar
        ("Moisture__", ("Moisture__", None)),
        ("Ertrag [t/ha]", ("Ertrag", "t/ha")),
    ],
)
def test_header_units(name, expected):
    assert header_unit(name) == expected


def test_tokens_split_camel_case_and_dbf_names():
    assert tokens("VehicleSpeed") == ["vehicle", "speed"]
    assert tokens("Yld_Vol_Dr") == ["yld", "vol", "dr"]


@pytest.mark.parametrize(
    ("name", "prop"),
    [
        ("Ertrag nass", "yield"),
        ("Kornfeuchte", "harvestMoisture"),
        ("Humidité", "harvestMoisture"),
        ("Humedad", "harvestMoisture"),
        ("Umidade", "harvestMoisture"),
        ("Geschwindigkeit", "speed"),
        ("Vitesse", "speed"),
        ("Velocidad", "speed"),
        ("Arbeitsbreite", "equipmentWidth"),
        ("Largeur de coupe", "equipmentWidth"),
        ("Ancho", "equipmentWidth"),
        ("Höhe", "elevation"),
        ("Altitud", "elevation"),
        ("Rendement sec", "yield"),
        ("Rendimiento", "yield"),
        ("Produtividade", "yield"),
        ("cutwidth", "equipmentWidth"),
        ("Dstnc_ft", "distance"),
        ("Elevtn_m", "elevation"),
        ("Fahrtrichtung", "heading"),
        ("Durchsatz", "cropFlow"),
        ("Sorte", "variety"),
        ("Kultur", "crop"),
    ],
)
def test_vocabulary_in_several_languages(name, prop):
    props = [h.property for h in name_hits(name)]
    assert prop in props, (name, props)


def test_vocabulary_does_not_take_lookalikes():
    assert "harvestMoisture" not in [h.property for h in name_hits("Air Humidity")]
    assert "recordingStatus" not in [h.property for h in name_hits("GPS Status")]
    assert "speed" not in [h.property for h in name_hits("Wind Speed")]


def test_sms_family_and_documented_units():
    m = infer_columns(
        ["Yld_Vol_Dr", "yld_mass_d", "MOISTURE__", "Speed_mph_", "Product", "Obj__Id"]
    )
    assert m.family == "sms" and m.provider == "AgLeader"
    assert m.columns["Yld_Vol_Dr"] == Column("dryVolumePerArea", "bu/ac")
    assert m.columns["Speed_mph_"] == Column("speed", "mi/hr")
    assert m.unused["Obj__Id"].startswith("known Ag Leader SMS column")


def test_plain_words_do_not_make_a_vendor():
    m = infer_columns(["Distance", "Speed", "Moisture", "Duration", "Timestamp"])
    assert m.family == "generic"


def test_a_gps_column_is_no_vendor_evidence():
    # a CropScan protein log: the decoded GGA sentence's type in "GPS" ("GPGGA"), as
    # any NMEA logger writes it; Ag Leader's "GPS" (a status) is not the only one
    m = infer_columns(["Protein", "Moisture", "Product", "Date", "Time", "GPS", "misc"])
    assert m.family == "generic"


def test_sms_names_cut_to_fit_a_dbf_keep_their_qualifier():
    # SMS "Crop Flw(M)(lb/s)" and "Crop Flw(V)(bu/hr)" as R's shapefile writer cut
    # them (OFPEDATA's Case combine export): the last letter says mass or volume
    n = 200
    t = pa.table(
        {
            "crp_flw_m": np.full(n, 18.8),  # lb/s
            "crp_flw_v": np.full(n, 1128.0),  # bu/hr: the same grain, 60 lb/bu
            "durtn_s": np.ones(n),
        }
    )
    p = _props(infer_columns(t.column_names, table=t, **IOWA))
    assert p["crp_flw_m"] == ("cropFlow", "lb/s")
    assert "crp_flw_v" not in p  # a volume flow: no standard property


def test_a_unit_word_for_metres_in_a_name():
    # Yield Editor output saved by R: "z_metrs" (the publisher: "Height in meters")
    assert header_unit("z_metrs") == ("z", "m")
    assert header_unit("Elevation_metres") == ("Elevation", "m")
    t = pa.table({"z_metrs": np.full(50, 817.1)})
    assert _props(infer_columns(t.column_names, table=t, **IOWA))["z_metrs"] == (
        "elevation",
        "m",
    )


def test_a_merged_tables_file_column_is_no_vendor_evidence():
    # OFPEDATA's R tools add "orig_file" to every table they merge, whoever wrote it
    m = infer_columns(
        ["yield", "moistur", "swth_w_", "dist_in", "rm_code", "orig_file"]
    )
    assert m.family != "jd"


def test_agleader_header_row_is_the_agleader_family():
    names = [
        "long",
        "lat",
        "massflow",
        "gpstime",
        "cycletime",
        "distance",
        "cutwidth",
        "moisture",
        "headerstatus",
        "passno",
        "serialno",
        "fieldid",
        "loadid",
        "graintype",
        "gpsstatus",
        "pdop",
        "altitude",
    ]
    m = infer_columns(names, exclude=["long", "lat"])
    assert m.family == "agleader"
    assert _props(m) | {} == {
        "massflow": ("cropFlow", "lb/s"),
        "cycletime": ("samplingInterval", "s"),
        "distance": ("distance", "in"),
        "cutwidth": ("equipmentWidth", "in"),
        "moisture": ("harvestMoisture", "%"),
        "headerstatus": ("recordingStatus", None),
        "graintype": ("crop", None),
        "altitude": ("elevation", "ft"),
    }
    assert m.time_sources == {"epoch": "gpstime"}


def test_cotton_arcgis_export_by_values():
    """ArcGIS cotton CSV: lb/ac chosen from the values, 0/1 Moisture refused, Unix time."""
    t = _table(
        Wet_Yield=lambda r, n: 1500 + r.random(n) * 400,
        Dry_Yield=lambda r, n: 1400 + r.random(n) * 400,
        Mass_Yield=lambda r, n: 3000 + r.random(n) * 600,
        Moisture=lambda r, n: r.integers(0, 2, n).astype(float),
        Width=np.full(400, 30.0),
        Duration=np.full(400, 1.0),
        Timestamp=1.6e9 + np.arange(400, dtype=float),
    )
    m = infer_columns(t.column_names, table=t, **IOWA)
    assert m.family == "generic"
    p = _props(m)
    assert p["Wet_Yield"] == ("wetMassPerArea", "lb/ac")
    assert p["Dry_Yield"] == ("dryMassPerArea", "lb/ac")
    assert p["Width"] == ("equipmentWidth", "ft")
    assert "Moisture" not in p and "0/1 flag" in m.unused["Moisture"]
    assert "Mass_Yield" in m.unused
    assert m.time_sources == {"epoch": "Timestamp"}
    assert m.time_kinds == {"Timestamp": "epoch_s"}
    rec = m.record()
    assert rec["columns"]["Wet_Yield"]["score"] >= 0.5
    assert "values plausible" in rec["columns"]["Wet_Yield"]["basis"]


def test_bare_yield_is_dry_and_unit_follows_values_and_region():
    bu = _table(Yield=lambda r, n: 150 + r.random(n) * 60)
    assert _props(infer_columns(["Yield"], table=bu, **IOWA))["Yield"] == (
        "dryVolumePerArea",
        "bu/ac",
    )
    t_ha = _table(Ertrag=lambda r, n: 7 + r.random(n) * 3)
    assert _props(infer_columns(["Ertrag"], table=t_ha, **GERMANY))["Ertrag"] == (
        "dryMassPerArea",
        "t/ha",
    )
    kg_ha = _table(Ertrag=lambda r, n: 7000 + r.random(n) * 3000)
    assert _props(infer_columns(["Ertrag"], table=kg_ha, **GERMANY))["Ertrag"] == (
        "dryMassPerArea",
        "kg/ha",
    )


def test_width_in_inches_and_distance_by_interval():
    """Ag Leader distances/swaths without a header unit: inches make a ground speed."""
    t = _table(
        Swath=np.full(400, 240.0),
        Distance=lambda r, n: 100 + r.random(n) * 40,
        Interval=np.full(400, 3.0),
    )
    m = infer_columns(t.column_names, table=t, operation_type="harvested", **IOWA)
    p = _props(m)
    assert p["Swath"] == ("equipmentWidth", "in")
    assert p["Distance"][0] == "distance"
    assert p["Distance"][1] == "in"
    assert any("m/s" in b for b in m.details["Distance"].basis)


def test_time_encodings_from_values():
    t = _table(
        TIME=np.arange(59242, 59642, dtype=float),
        GPSTime=1.19e9 + np.arange(400, dtype=float),
        Zeit=[f"{8 + i // 3600}:{(i // 60) % 60:02d}:{i % 60:02d}" for i in range(400)],
    )
    m = infer_columns(t.column_names, table=t)
    assert m.time_kinds == {"TIME": "seconds_of_day", "GPSTime": "epoch_s"}
    assert m.time_sources["epoch"] == "GPSTime"
    assert m.time_sources["time"] in ("TIME", "Zeit")


def test_declared_unit_must_fit_the_property():
    m = infer_columns(["Speed(kg)", "Moisture(%)"])
    assert "Speed(kg)" not in m.columns
    assert "does not fit" in m.unused["Speed(kg)"]


def test_user_mapping_wins_and_excludes():
    t = _table(mass=lambda r, n: 30 + r.random(n) * 10, Moisture=np.full(400, 17.0))
    m = infer_columns(
        t.column_names,
        table=t,
        user_mapping={
            "mass": {"property": "cropFlow", "unit": "lb/s"},
            "Moisture": None,
        },
    )
    assert m.columns == {"mass": Column("cropFlow", "lb/s")}
    assert m.details["mass"].basis == ["column mapping"]
    assert m.unused["Moisture"] == "excluded by the column mapping"


@pytest.mark.parametrize(
    "bad",
    [
        ["not", "a", "mapping"],
        {"a": "notAProperty"},
        {"a": {"property": "speed", "unit": "furlongs per fortnightly"}},
        {"a": {"property": "timestamp", "timeEncoding": "lunar"}},
    ],
)
def test_user_mapping_is_validated(bad):
    with pytest.raises(InvalidRequest, match="columnMapping"):
        parse_user_mapping(bad)


def test_summary_lists_mapping_and_unused():
    m = infer_columns(["Yld_Vol_Dr", "Obj__Id", "Foo"])
    text = m.summary()
    assert "Yld_Vol_Dr → dryVolumePerArea (bu/ac)" in text
    assert "Foo (name not recognised)" in text


def test_type_specific_names_say_so_when_unused():
    m = infer_columns(["Tgt_Rate_k", "Elevation_", "Speed_mph_"])
    assert (
        m.unused["Tgt_Rate_k"]
        == "its name means a property of applied or planted files"
    )


def test_counter_from_zero_is_relative_not_time_of_day():
    t = pa.table({"time": np.arange(0, 1200, 3, dtype=float)})
    m = infer_columns(["time"], table=t)
    assert m.time_kinds == {"time": "relative"}


def test_trimble_track_log_names_and_yyyymmdd_dates(tmp_path):
    import geopandas as gpd
    import shapely

    from leafnb.formats.shapefile import ShapefileReader

    n = 30
    gdf = gpd.GeoDataFrame(
        {
            "UTC_Date": [20230912] * n,
            "UTC_Time": [f"14:{i // 60:02d}:{i % 60:02d}.0" for i in range(n)],
            "Speed": [8.0] * n,
            "Swath_wdth": [24.0] * n,
            "Swath_Num": [1] * n,
            "Status_Text": ["RTK"] * n,
            "Target": [120.0] * n,
        },
        geometry=[shapely.Point(-93.6 + i * 1e-5, 42.0) for i in range(n)],
        crs=4326,
    )
    path = tmp_path / "Coverage.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Status_Text → Status_Tex, as the DBF does
        gdf.to_file(path)
    raw = ShapefileReader().read(path)
    cols = {s: (c.property, c.unit) for s, c in raw.meta["columns"].items()}
    assert raw.meta["family"] == "trimble" and raw.meta["provider"] == "Trimble"
    assert cols["Speed"] == (
        "speed",
        "km/h",
    )  # metric by the FM-1000 guide, even in Iowa
    assert cols["Swath_wdth"] == ("equipmentWidth", "m")
    ts = raw.table["timestamp"].to_pylist()
    assert ts[0].isoformat() == "2023-09-12T14:00:00+00:00"
    assert ts[-1].isoformat() == "2023-09-12T14:00:29+00:00"


def _bare_mass_table(mass_name="mass", interval=True, n=400):
    cols = {
        mass_name: lambda r, n: r.uniform(15.0, 30.0, n),  # lb/s of a combine, or lb
        "dist": lambda r, n: r.uniform(100.0, 200.0, n),  # inches per 3 s
        "moist": lambda r, n: r.uniform(15.0, 20.0, n),
    }
    if interval:
        cols["seconds"] = np.full(n, 3.0)
    return _table(n, **cols)


def test_bare_mass_with_an_interval_column_is_a_mass_flow():
    """UMN/agridat ``rownames,long,lat,mass,time,seconds,dist,moist,elev``: ``mass`` is
    grain flow (lb/s); the ``seconds`` column is its time base."""
    t = _bare_mass_table()
    m = infer_columns(t.column_names, table=t, **IOWA)
    assert _props(m)["mass"] == ("cropFlow", "lb/s")
    assert m.operation_type == "harvested"
    assert "interval" in "; ".join(m.details["mass"].basis)
    g = infer_columns(
        ["Masse", "seconds", "dist", "moist"],
        table=_bare_mass_table("Masse").rename_columns(
            ["Masse", "dist", "moist", "seconds"]
        ),
        **GERMANY,
    )
    assert _props(g)["Masse"] == ("cropFlow", "kg/s")  # metric first in Europe


def test_bare_mass_without_an_interval_is_a_mass_per_record():
    t = _bare_mass_table(interval=False)
    m = infer_columns(t.column_names, table=t, **IOWA)
    assert _props(m)["mass"] == ("wetMass", "lb")


def test_mass_words_in_other_names_are_not_bare():
    for name in ("Yld_Mass_W", "Mass_Yield", "Time_ms", "Bin Weight", "DryMass"):
        assert not any(
            h.kind == "bare_mass" and h.property == "wetMass" for h in name_hits(name)
        ), name


@pytest.mark.parametrize("seed", range(5))
def test_sample_of_a_chunked_column_is_the_take(seed):
    """The inference sample taken chunk by chunk is Arrow's take of the rows, whatever the chunks."""
    from leafnb.formats.inference import _SAMPLE, _sample

    rng = np.random.default_rng(seed)
    n = _SAMPLE + int(rng.integers(1, 50_000))
    cuts = np.sort(
        rng.choice(np.arange(1, n), size=int(rng.integers(1, 12)), replace=False)
    )
    values = rng.normal(size=n)
    for column in (pa.array(values), pa.array(values).cast(pa.string())):
        chunks = [
            column.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, n], strict=True)
        ]
        chunks.insert(1, column.slice(0, 0))  # an empty chunk
        chunked = pa.chunked_array(chunks, column.type)
        rows = pa.array(np.linspace(0, n - 1, _SAMPLE).astype("int64"))
        assert _sample(chunked).equals(column.take(rows))
