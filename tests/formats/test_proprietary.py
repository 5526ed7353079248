"""Every provider structure of spec §4.3–4.4 is detected, named and converted or explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from leafnb.errors import UnsupportedFormat
from leafnb.formats.archive import extract_zip
from leafnb.formats.detect import detect
from leafnb.formats.proprietary import CANONICAL, FORMATS, MAX_SCORE, READERS, REPAIRED
from leafnb.formats.registry import get_reader, list_readers
from tests.conftest import make_zip

B = b"\x00\x01placeholder"  # closed formats: the bytes do not matter for detection

ISOXML = b'<?xml version="1.0" encoding="UTF-8"?>\n<ISO11783_TaskData VersionMajor="4" VersionMinor="2" DataTransferOrigin="1"/>\n'
RAVEN_XML = b'<?xml version="1.0"?>\n<Job><Field Name="North 40"/></Job>\n'


def _shapefile(tmp_path: Path, fmt: str, name: str) -> dict[str, Path]:
    """A real point shapefile written by leafnb.testing, as {file name: path}."""
    from leafnb.testing import make_points, write_as

    out = tmp_path / f"shp_{fmt}_{name}"
    write_as(make_points("harvested", 50, seed=1), fmt, out, name=name)
    return {p.name: p for p in sorted(out.iterdir())}


def _farmobile(tmp_path: Path) -> dict[str, Path]:
    from leafnb.testing import make_points, write_as

    p = write_as(
        make_points("harvested", 50, seed=2),
        "farmobile_geojson",
        tmp_path / "fm",
        name="farmobile",
    )
    return {p.name: p}


# id, entries (str -> bytes, or a callable building {name: Path} under a folder), expected
# [(reader, provider, fileFormat, operationType, fileName)] sorted by fileName
STRUCTURES = [
    (
        "jd_gs2",
        {"RCD/global.fdd": B, "RCD/global.fdl": B, "RCD/EIC/data.fdl": B},
        [("jd_gs2", "JohnDeere", "GS2", None, "RCD/global.fdd")],
    ),
    (
        "jd_gs2_in_my_card",
        {"My Card/RCD/0001.fdd": B, "My Card/RCD/0001.fdl": B},
        [("jd_gs2", "JohnDeere", "GS2", None, "My Card/RCD/0001.fdd")],
    ),
    (
        "jd_gs2_lower_case_rcd",
        {"export/rcd/a.FDD": B, "export/rcd/a.FDL": B},
        [("jd_gs2", "JohnDeere", "GS2", None, "export/rcd/a.FDD")],
    ),
    (
        "jd_gs2_flattened",
        {"a.fdd": B, "a.fdl": B},
        [("jd_gs2", "JohnDeere", "GS2", None, "a.fdd")],
    ),
    (
        "jd_gs3",
        {
            "GS3_2630/profile/RCD/EIC/global.ver": B,
            "GS3_2630/profile/RCD/EIC/Data/x.fdd": B,
            "GS3_2630/profile/RCD/EIC/Data/x.fdl": B,
            "GS3_2630/profile/settings.dat": B,
        },
        [("jd_gs3", "JohnDeere", "GS3", None, "GS3_2630/profile/RCD/EIC/global.ver")],
    ),
    (
        "jd_gs3_docs_tree",
        {
            "GS3_2630/RCD/EIC/global.ver/documentation/a/1.fdd": B,
            "GS3_2630/RCD/EIC/global.ver/documentation/a/1.fdl": B,
        },
        [
            (
                "jd_gs3",
                "JohnDeere",
                "GS3",
                None,
                "GS3_2630/RCD/EIC/global.ver/documentation/a/1.fdd",
            )
        ],
    ),
    (
        "jd_gen4",
        {"JD-Data/log/a.jdl": B, "JD-Data/log/b.jdl": B, "JD-Data/log/index.txt": b"x"},
        [("jd_gen4", "JohnDeere", "GEN4", None, "JD-Data/log/a.jdl")],
    ),
    (
        "jd_gen4_old_user_folder",
        {"jd-data/log/Jane Doe/1.jdl": B},
        [("jd_gen4", "JohnDeere", "GEN4", None, "jd-data/log/Jane Doe/1.jdl")],
    ),
    (
        "jd_shapefile_json",
        lambda tmp: {
            f"JD/{k}": v for k, v in _shapefile(tmp, "jd_shapefile", "yield").items()
        },
        [("shapefile", "JohnDeere", "SHAPEFILE", "harvested", "JD/yield.shp")],
    ),
    (
        "climate_dat",
        {
            "harvest_2024_1.dat": B,
            "field_map_2024_1.dat": B,
            "liquid_map_2024_1.dat": B,
        },
        [
            (
                "climate_dat",
                "ClimateFieldView",
                "CLIMATE_DAT",
                "planted",
                "field_map_2024_1.dat",
            ),
            (
                "climate_dat",
                "ClimateFieldView",
                "CLIMATE_DAT",
                "harvested",
                "harvest_2024_1.dat",
            ),
            (
                "climate_dat",
                "ClimateFieldView",
                "CLIMATE_DAT",
                "applied",
                "liquid_map_2024_1.dat",
            ),
        ],
    ),
    (
        "pp2020",
        {"2020/planting.2020": B},
        [("pp2020", "PrecisionPlanting", "PP2020", None, "2020/planting.2020")],
    ),
    (
        "cnh_cn1",
        {
            "Field 1.cn1/index.vy1": B,
            "Field 1.cn1/file0001.vy1": B,
            "Field 1.cn1/setup.xml": b"<a/>",
        },
        [("cnh_cn1", "CNHI", "CN1", None, "Field 1.cn1/index.vy1")],
    ),
    (
        "cnh_isoxml_pro1200",
        {"Pro1200/TASKDATA/TASKDATA.XML": ISOXML, "Pro1200/TASKDATA/TLG00001.bin": B},
        [("isoxml", None, "ISO11783", None, "Pro1200/TASKDATA/TASKDATA.XML")],
    ),
    (
        "agleader_agdata",
        {"Ag Leader/field.agdata": B, "Ag Leader/field.agsetup": B},
        [("agleader_agdata", "AgLeader", "AGDATA", None, "Ag Leader/field.agdata")],
    ),
    (
        "agleader_ilf",
        {"2019/north.ilf": B},
        [("agleader_ilf", "AgLeader", "ILF", None, "2019/north.ilf")],
    ),
    (
        "agleader_yld",
        {"north.yld": B},
        [("agleader_yld", "AgLeader", "YLD", "harvested", "north.yld")],
    ),
    (
        "trimble_agdata",
        {
            "AgData/Fields/f1.agf": B,
            "AgData/implements/i.agi": B,
            "AgData/prescriptions/p.agm": B,
            "AgData/Tasks/t1.agt": B,
            "AgData/Users/u.agu": B,
            "AgData/vehicles/v.agv": B,
        },
        [("trimble_agdata", "Trimble", "TRIMBLE_AGDATA", None, "AgData/Tasks/t1.agt")],
    ),
    (
        "trimble_aggps",
        lambda tmp: {
            f"AgGPS/Data/Grower/Farm/North/Harvest1/{k}": v
            for k, v in _shapefile(tmp, "sms_shapefile", "Swaths").items()
        },
        [
            (
                "shapefile",
                "Trimble",
                "SHAPEFILE",
                "harvested",
                "AgGPS/Data/Grower/Farm/North/Harvest1/Swaths.shp",
            )
        ],
    ),
    (
        "raven_fmis",
        {"Raven/job1.xml": RAVEN_XML, "Raven/job1.tab": B},
        [("raven_fmis", "RavenSlingshot", "RAVEN_FMIS", None, "Raven/job1.xml")],
    ),
    (
        "raven_jdp",
        {"job.jdp": B},
        [("raven_jdp", "RavenSlingshot", "RAVEN_JDP", None, "job.jdp")],
    ),
    (
        "isoxml_one_level_down",
        {"Kverneland/TASKDATA/TASKDATA.XML": ISOXML},
        [("isoxml", None, "ISO11783", None, "Kverneland/TASKDATA/TASKDATA.XML")],
    ),
    (
        "farmobile_geojson",
        lambda tmp: _farmobile(tmp),
        [("geojson", "Farmobile", "GEOJSON", "harvested", "farmobile.geojson")],
    ),
    (
        "generic_shapefile",
        lambda tmp: _shapefile(tmp, "sms_shapefile", "yield"),
        [("shapefile", "AgLeader", "SHAPEFILE", "harvested", "yield.shp")],
    ),
]


def _detect(tmp_path: Path, entries) -> tuple:
    if callable(entries):
        entries = entries(tmp_path)
    z = make_zip(tmp_path / "upload.zip", entries)
    root = tmp_path / "extracted"
    extract_zip(z, root)
    return detect(root), root


@pytest.mark.parametrize(
    ("entries", "expected"), [s[1:] for s in STRUCTURES], ids=[s[0] for s in STRUCTURES]
)
def test_structure_detected(tmp_path, entries, expected):
    needed = {e[0] for e in expected}
    assert needed <= set(list_readers())
    det, _root = _detect(tmp_path, entries)
    got = [
        (
            c.reader,
            c.provider,
            c.file_format,
            c.operation_type,
            c.file_name.split("#")[0],
        )
        for c in det.candidates
    ]
    if (
        expected[0][0] == "isoxml"
    ):  # provider of ISOXML comes from the isoxml reader (vendor-specific)
        got = [(r, None, f, o, n) for r, _p, f, o, n in got]
        got = list(
            dict.fromkeys(got)
        )  # one entry per TASKDATA even if it splits into tasks
    assert got == expected
    assert det.ignored == []  # every file of the dataset is claimed by its leaf file


@pytest.mark.parametrize(
    ("entries", "expected"),
    [s[1:] for s in STRUCTURES if s[2][0][0] in READERS],
    ids=[s[0] for s in STRUCTURES if s[2][0][0] in READERS],
)
def test_recognised_not_decodable_message(tmp_path, entries, expected):
    det, _root = _detect(tmp_path, entries)
    for cand, (reader, _p, fmt, _o, _n) in zip(det.candidates, expected, strict=True):
        r = get_reader(reader)
        assert r.decodes is False
        with pytest.raises(UnsupportedFormat) as info:
            r.read(cand.path)
        msg = str(info.value)
        assert f"({fmt}), recognised but not decodable by leafnb" in msg
        assert "export the data as ISOXML or shapefile from" in msg
        assert msg.endswith(f"install a leafnb reader plugin for {reader!r}.")
        assert info.value.format_name == fmt and info.value.reader == reader


def test_gs2_message_wording(tmp_path):
    det, _ = _detect(tmp_path, {"RCD/global.fdd": B, "RCD/global.fdl": B})
    with pytest.raises(UnsupportedFormat) as info:
        get_reader("jd_gs2").read(det.candidates[0].path)
    assert str(info.value) == (
        "'RCD/global.fdd' is a John Deere GreenStar 2 (2600) data card (GS2), recognised but not decodable "
        "by leafnb: export the data as ISOXML or shapefile from John Deere Operations Center or Apex, "
        "or install a leafnb reader plugin for 'jd_gs2'."
    )


def test_one_dataset_per_folder_claims_the_whole_card(tmp_path):
    det, root = _detect(
        tmp_path,
        {
            "RCD/a.fdd": B,
            "RCD/b.fdd": B,
            "RCD/a.fdl": B,
            "RCD/EIC/c.fdl": B,
            "RCD/.DS_Store": b"x",
        },
    )
    (cand,) = det.candidates
    assert cand.confidence == CANONICAL
    assert sorted(p.relative_to(root).as_posix() for p in cand.sidecars) == [
        "RCD/EIC/c.fdl",
        "RCD/a.fdl",
        "RCD/b.fdd",
    ]
    assert det.ignored == []


def test_flattened_and_partnerless_files_score_lower(tmp_path):
    det, _ = _detect(
        tmp_path,
        {"a.fdd": B, "x.jdl": B, "index.vy1": B, "f.agdata": B, "Tasks/t.agt": B},
    )
    scores = {c.reader: c.confidence for c in det.candidates}
    assert scores == {
        "jd_gs2": REPAIRED,
        "jd_gen4": REPAIRED,
        "cnh_cn1": REPAIRED,
        "agleader_agdata": REPAIRED,
        "trimble_agdata": REPAIRED,
    }


def test_two_cards_two_datasets(tmp_path):
    det, _ = _detect(
        tmp_path,
        {
            "card1/RCD/a.fdd": B,
            "card1/RCD/a.fdl": B,
            "card2/RCD/b.fdd": B,
            "A.cn1/index.vy1": B,
            "B.cn1/index.vy1": B,
        },
    )
    assert [(c.reader, c.relpath) for c in det.candidates] == [
        ("cnh_cn1", "A.cn1/index.vy1"),
        ("cnh_cn1", "B.cn1/index.vy1"),
        ("jd_gs2", "card1/RCD/a.fdd"),
        ("jd_gs2", "card2/RCD/b.fdd"),
    ]


def test_sniffers_leave_other_files_alone(tmp_path):
    """Generic readers' files, ISOXML, random XML and unprefixed .dat score 0 here."""
    files = {
        "TASKDATA/TASKDATA.XML": ISOXML,
        "FieldOps.xml": b"<NewDataSet><Table/></NewDataSet>",
        "FieldOps.tab": B,
        "other.xml": RAVEN_XML,
        "data.dat": B,
        "yield.shp": B,
        "yield.csv": b"a,b\n1,2\n",
        "TASKDATA.XML": ISOXML,
        "TASKDATA.tab": B,
    }
    for name, data in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    for cls in READERS.values():
        for name in files:
            assert cls().sniff(tmp_path / name) == 0.0, (cls.name, name)
    assert cls().sniff(tmp_path / "missing.fdd") == 0.0  # never raises


def test_table_is_consistent():
    assert all(
        r.name == f.name and r.decodes is False
        for f, r in zip(FORMATS, READERS.values(), strict=True)
    )
    assert len({f.file_format for f in FORMATS}) == len(FORMATS)
    assert MAX_SCORE <= 0.5
    readers = list_readers()
    assert set(READERS) <= set(readers)
