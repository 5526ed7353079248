"""Facts from ../shared/data/README.md, checked at reader level (ONE parametrised table)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from leafnb.formats.delimited import AgLeaderTextReader, CsvReader
from leafnb.formats.geojson import GeoJSONReader
from leafnb.formats.geopackage import GeoPackageReader
from leafnb.formats.shapefile import ShapefileReader
from leafnb.standard.optype import detect_operation_type

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from harvest_totals import independent_totals

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
READERS = [
    ShapefileReader(),
    GeoPackageReader(),
    GeoJSONReader(),
    CsvReader(),
    AgLeaderTextReader(),
]

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent"),
]

IOWA = (-93.35, -93.2, 41.5, 41.6)
OHIO = (-82.95, -82.8, 40.8, 40.9)
VIC = (142.0, 142.2, -35.7, -35.6)
SA = (138.8, 138.85, -34.5, -34.48)
SMS = "shapefile/isu_strips_yield/sms_shapefile_export_2013/GARY_WILDIFE_"
ALT = "shapefile/isu_strips_yield/agleader_advanced_export/"
GPKG = "shapefile/datacarpentry_trial_lesson_gpkg/"
CSV = "csv/csiro_pyprecag/"

# path, reader, rows kept, skipped, optype, crop (None = unknown), bbox, {source: (property, unit)}
FACTS = [
    (
        SMS + "ORB NORTH 2999_2013_SOYBEANS_1.shp",
        "shapefile",
        2078,
        0,
        "harvested",
        "soybeans",
        IOWA,
        {
            "Yld_Vol_Dr": ("dryVolumePerArea", "bu/ac"),
            "Moisture__": ("harvestMoisture", "%"),
            "Swth_Wdth_": ("equipmentWidth", "ft"),
        },
    ),
    (
        SMS + "ORB SOUTH 2999_2013_SOYBEANS_1.shp",
        "shapefile",
        858,
        0,
        "harvested",
        "soybeans",
        IOWA,
        {"Yld_Mass_W": ("wetMassPerArea", "lb/ac"), "Speed_mph_": ("speed", "mi/hr")},
    ),
    (
        SMS + "2999 MOBLE_2013_SOYBEANS_1.shp",
        "shapefile",
        1525,
        0,
        "harvested",
        "soybeans",
        IOWA,
        {"Distance_f": ("distance", "ft"), "Crop_Flw_M": ("cropFlow", "lb/s")},
    ),
    (
        ALT + "2007-basswood.shp",
        "shapefile",
        2970,
        0,
        "harvested",
        "soybeans",
        IOWA,
        {
            "FLOW": ("cropFlow", "lb/s"),
            "SWATH": ("equipmentWidth", "in"),
            "DRY_BU_AC": ("dryVolumePerArea", "bu/ac"),
        },
    ),
    (
        ALT + "2010-orbweaver.shp",
        "shapefile",
        4023,
        0,
        "harvested",
        "corn",
        IOWA,
        {"DISTANCE": ("distance", "in"), "MOISTURE": ("harvestMoisture", "%")},
    ),
    (
        ALT + "2012-basswood.shp",
        "shapefile",
        4240,
        0,
        "harvested",
        "corn",
        IOWA,
        {"ALTITUDE": ("elevation", "ft")},
    ),
    (
        ALT + "2007-basswood.txt",
        "agleader_text",
        2970,
        0,
        "harvested",
        "soybeans",
        IOWA,
        {
            "FLOW": ("cropFlow", "lb/s"),
            "WETMASS": ("wetMass", "lb"),
            "DISTANCE": ("distance", "in"),
        },
    ),
    (
        ALT + "2010-orbweaver.txt",
        "agleader_text",
        4023,
        0,
        "harvested",
        "corn",
        IOWA,
        {"SWATH": ("equipmentWidth", "in"), "ALTITUDE": ("elevation", "ft")},
    ),
    (
        ALT + "2012-basswood.txt",
        "agleader_text",
        4240,
        0,
        "harvested",
        "corn",
        IOWA,
        {"MOISTURE": ("harvestMoisture", "%")},
    ),
    (
        GPKG + "asplanted.gpkg",
        "geopackage",
        6382,
        0,
        "planted",
        None,
        OHIO,
        {
            "Rt_Apd_Ct_": ("seedRate", "seeds/ac"),
            "Tgt_Rate_k": ("seedRateTarget", "ksds/ac"),
            "Product": ("variety", None),
        },
    ),
    (
        GPKG + "asapplied.gpkg",
        "geopackage",
        9913,
        0,
        "applied",
        None,
        OHIO,
        {"Rt_Apd_Ms_": ("appliedRate", "lb/ac"), "Product": ("productName", None)},
    ),
    (
        CSV + "area2_yield_ISO-8859-1.csv",
        "csv",
        1543,
        0,
        "harvested",
        None,
        VIC,
        {
            "Yld Mass(Dry)(tonne/ha)": ("dryMassPerArea", "tonne/ha"),
            "Crop Flw(M)(tonne/h)": ("cropFlow", "tonne/h"),
            "Moisture(%)": ("harvestMoisture", "%"),
        },
    ),
    # every row has coordinates: 14,756 kept, 0 skipped; 1,000 empty and 900 negative
    # yields are kept for the pipeline's cleanup to judge
    (
        CSV + "area1_yield_ascii_wgs84.csv",
        "csv",
        14756,
        0,
        "harvested",
        None,
        SA,
        {
            "Yield": ("wetMassPerArea", "t/ha"),
            "RowWidth": ("equipmentWidth", "m"),
            "Distance": ("distance", "m"),
        },
    ),
]


def _best(path: Path):
    scores = {r.name: r.sniff(path) for r in READERS}
    best = max(READERS, key=lambda r: scores[r.name])
    return best, scores


@pytest.mark.parametrize(
    ("rel", "reader", "rows", "skipped", "optype", "crop", "bbox", "mapping"),
    FACTS,
    ids=[Path(f[0]).name for f in FACTS],
)
def test_real_file(rel, reader, rows, skipped, optype, crop, bbox, mapping):
    path = DATA / rel
    best, scores = _best(path)
    assert best.name == reader, scores
    raw = best.read(path)
    assert raw.table.num_rows == rows
    assert raw.meta["record_count"] == rows + skipped
    assert raw.meta["skipped_records"] == skipped
    props = [c.property for c in raw.meta["columns"].values()]
    assert (
        raw.meta.get("operation_type") or str(detect_operation_type(props))
    ) == optype
    if crop is not None:
        crop_cols = [s for s, c in raw.meta["columns"].items() if c.property == "crop"]
        values = (
            set(raw.table[crop_cols[0]].to_pylist())
            if crop_cols
            else {raw.meta.get("crop")}
        )
        assert values == {crop}
    lon = raw.table["lon"].to_numpy()
    lat = raw.table["lat"].to_numpy()
    x0, x1, y0, y1 = bbox
    assert np.all((lon > x0) & (lon < x1) & (lat > y0) & (lat < y1))
    got = {s: (c.property, c.unit) for s, c in raw.meta["columns"].items()}
    for src, expected in mapping.items():
        assert got.get(src) == expected, (src, got.get(src))
    assert raw.table.schema.field("lon").type == "double"
    if "timestamp" in raw.table.column_names:
        assert str(raw.table.schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"


NOT_MACHINE = [
    *sorted(
        p.relative_to(DATA).as_posix()
        for p in DATA.glob("shapefile/isu_strips_yield/boundaries_original/*.shp")
    ),
    *sorted(p.relative_to(DATA).as_posix() for p in DATA.glob("boundaries/*/*.shp")),
    "csv/csiro_pyprecag/area2_onebox_94mga54.shp",
    GPKG + "boundary.gpkg",
    GPKG + "abline.gpkg",
    "shapefile/isu_strips_yield/boundaries_original/FieldOps.xml",
]


@pytest.mark.parametrize("rel", NOT_MACHINE, ids=[Path(p).name for p in NOT_MACHINE])
def test_not_machine_data(rel):
    path = DATA / rel
    assert {r.name: r.sniff(path) for r in READERS} == {r.name: 0.0 for r in READERS}


def test_sms_timestamps_from_dataset():
    raw = ShapefileReader().read(DATA / (SMS + "ORB SOUTH 2999_2013_SOYBEANS_1.shp"))
    ts = raw.table["timestamp"].to_pylist()
    assert ts[0].isoformat() == "2013-09-30T16:45:42+00:00"
    assert all(b >= a for a, b in itertools.pairwise(ts))


def test_agleader_text_and_shapefile_agree():
    txt = AgLeaderTextReader().read(DATA / (ALT + "2007-basswood.txt"))
    shp = ShapefileReader().read(DATA / (ALT + "2007-basswood.shp"))
    assert txt.table["timestamp"].equals(shp.table["timestamp"])
    np.testing.assert_allclose(
        txt.table["WETMASS"].to_numpy(), shp.table["WETMASS"].to_numpy()
    )
    assert set(txt.table["STATUS"].to_pylist()) == {"On"}


# recorded for comparison with the pipeline summary (see harvest_totals.py)
TOTALS = [
    (
        SMS + "ORB NORTH 2999_2013_SOYBEANS_1.shp",
        {
            "records": 2078,
            "area_ac": 17.14749,
            "dryVolume_bu": 617.2355,
            "wetMass_lb": 37051.28,
        },
    ),
    (
        ALT + "2007-basswood.txt",
        {"records": 2970, "area_ac": 25.16658, "wetMass_lb": 83346.9},
    ),
    (
        ALT + "2010-orbweaver.txt",
        {"records": 4023, "area_ac": 21.56313, "wetMass_lb": 173376.14},
    ),
]


@pytest.mark.parametrize(
    ("rel", "expected"), TOTALS, ids=[Path(t[0]).name for t in TOTALS]
)
def test_independent_totals(rel, expected):
    got = independent_totals(DATA / rel)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-5), key


@pytest.mark.parametrize(
    ("rel", "reader"),
    [(f[0], f[1]) for f in FACTS],
    ids=[Path(f[0]).name for f in FACTS],
)
def test_column_mapping_accounts_for_every_column(rel, reader):
    """Each source column is either mapped (with unit, score, basis) or unused with a reason."""
    path = DATA / rel
    raw = next(r for r in READERS if r.name == reader).read(path)
    rec = raw.meta["column_mapping"]
    source = set(raw.table.column_names) - {"lon", "lat", "timestamp", "WETMASS"}
    assert source <= set(rec["columns"]) | set(rec["unused"]), (
        source - set(rec["columns"]) - set(rec["unused"])
    )
    for entry in rec["columns"].values():
        assert entry["score"] >= 0.5 and entry["basis"]
    for why in rec["unused"].values():
        assert why


AGL_HEADER = (
    "long,lat,massflow,gpstime,cycletime,distance,cutwidth,moisture,headerstatus,"
    "passno,serialno,fieldid,loadid,graintype,gpsstatus,pdop,altitude\n"
)


@pytest.mark.parametrize(
    "name", ["2007-basswood.txt", "2010-orbweaver.txt", "2012-basswood.txt"]
)
def test_agleader_text_with_a_header_row_reads_the_same(name, tmp_path):
    """Issue 13 item 6: the same Ag Leader text converts with and without a header row."""
    src = DATA / ALT / name
    headed = tmp_path / name.replace(".txt", ".csv")
    headed.write_bytes(AGL_HEADER.encode() + src.read_bytes())
    plain = AgLeaderTextReader().read(src)
    best, scores = _best(headed)
    assert best.name == "csv", scores
    raw = best.read(headed)
    assert (
        raw.meta["family"] == "agleader" and raw.table.num_rows == plain.table.num_rows
    )
    assert raw.table["timestamp"].equals(plain.table["timestamp"])
    flow = raw.table["massflow"].to_numpy() * raw.table["cycletime"].to_numpy()
    np.testing.assert_allclose(flow.sum(), np.nansum(plain.table["WETMASS"].to_numpy()))
    assert raw.meta["columns"]["distance"] == plain.meta["columns"]["DISTANCE"]
    assert raw.meta["columns"]["cutwidth"] == plain.meta["columns"]["SWATH"]
