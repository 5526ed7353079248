"""ISOXML facts from ../shared/data/README.md, checked at reader level (ONE parametrised table)."""

from __future__ import annotations

import functools
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from leafnb.errors import CorruptFile
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.tlg import decode_tlg, parse_tlg_header
from leafnb.standard.area_yield import (
    compute_area_and_yield,
    position_steps,
    record_intervals,
)
from leafnb.standard.normalize import normalize

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ISO = DATA / "isoxml"

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not ISO.is_dir(), reason="../shared/data/isoxml is absent"),
]


@functools.cache
def read_set(folder: str):
    """Read every part of a TASKDATA set: {part: RawRead | CorruptFile}."""
    path = ISO / folder / "TASKDATA" / "TASKDATA.XML"
    reader = IsoxmlReader()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for part in reader.parts(path):
            try:
                out[part] = reader.read(path, part=part)
            except CorruptFile as exc:
                out[part] = exc
    return path, out


def tlg_files(folder: str) -> list[Path]:
    return sorted(
        p
        for p in (ISO / folder / "TASKDATA").iterdir()
        if p.suffix.lower() == ".xml" and p.name.upper().startswith("TLG")
    )


def decode(folder: str, name: str):
    base = ISO / folder / "TASKDATA"
    xml = next(p for p in base.iterdir() if p.name.upper() == f"{name}.XML")
    binp = next(p for p in base.iterdir() if p.name.upper() == f"{name}.BIN")
    return decode_tlg(binp, parse_tlg_header(xml))


def dlv_count(log, ddi: int) -> int:
    return sum(
        len(r)
        for d, r in zip(log.header.dlvs, log.dlv_rec, strict=True)
        if d.ddi == ddi
    )


def check_cci(reads):
    log = decode("cci_forage_harvester_yield", "TLG00001")
    assert log.n_framed == 4716 and len(log.header.dlvs) == 26
    assert dlv_count(log, 141) == 4716
    assert dlv_count(log, 148) == 560
    # "total" of DDI 90 (a running total) = its increase over the log: last - first
    # logged value (20 -> 242,481 kg), which is also the task's TIM total
    log2 = decode("cci_forage_harvester_yield", "TLG00002")
    i90 = next(i for i, d in enumerate(log2.header.dlvs) if d.ddi == 90)
    assert log2.dlv_val[i90][-1] - log2.dlv_val[i90][0] == 242_461
    tsk2 = reads["TSK2"]
    assert tsk2.meta["machine_totals"]["totalWetMass"] == {
        "value": 242_461.0,
        "unit": "kg",
    }
    wet = tsk2.table["delta_DDI005A"].to_numpy(zero_copy_only=False)
    assert np.nansum(wet) == 242_461
    assert tsk2.meta["partfields"][0]["properties"]["id"] == "PFD-3"


def check_krone(reads):
    totals = reads["TSK-1"].meta["machine_totals"]
    assert totals["DDI010F"]["value"] == 561_780
    assert totals["DDI0078"]["value"] == 4_531
    assert totals["DDI00B7"]["value"] == 2_000
    # 0x43 (working width) is not in the TIM: its last logged value is kept (source TLG)
    assert totals["DDI0043"] == {"value": 12_000.0, "unit": "mm", "source": "TLG"}
    assert (
        np.nanmax(reads["TSK-1"].table["DDI005A"].to_numpy(zero_copy_only=False)) == 0
    )  # yield logged but 0
    # the header never works on the road: no area, as the controller's 0 m2 (the 12 m
    # implement width times the 48 km driven would be 58 ha)
    assert totals["totalArea"]["value"] == 0
    points = compute_area_and_yield(normalize(reads["TSK-1"]))
    assert np.nansum(points.array("area")) == 0


def check_agco(reads):
    ddis = {
        d.ddi
        for f in tlg_files("agco_c100_jd_sprayer_900")
        for d in parse_tlg_header(f).dlvs
    }
    assert {1, 2, 67, 141} <= ddis
    assert (
        len(
            [
                d
                for d in parse_tlg_header(tlg_files("agco_c100_jd_sprayer_900")[1]).dlvs
                if d.ddi == 67
            ]
        )
        == 9
    )
    assert reads["TSK4"].meta["columns"]["DDI0002"].property == "appliedRate"


def check_kverneland_imt(reads):
    assert len(parse_tlg_header(tlg_files("kverneland_imtpro_benchtest")[0]).dlvs) == 38
    facts = reads["TSK1"].meta["isoxml"]
    assert facts["operation_type_source"] == "Actual Cultural Practice (DDI 179) = 2"
    assert (
        "6 section at depth 3 (DDI 67 logged), union of lateral offsets"
        in facts["width"][0]
    )


def check_aef(reads):
    assert all(isinstance(r, CorruptFile) for r in reads.values())
    assert all("no usable record" in str(r) for r in reads.values())


def check_cnh(reads):
    assert (
        max(
            len(parse_tlg_header(f).dlvs)
            for f in tlg_files("cnh_pro1200_spreader_benchtest")
        )
        == 215
    )
    assert reads["TSK-8"].meta["provider"] == "CNHI"
    optypes = {p: r.meta["operation_type"] for p, r in reads.items()}
    for air_cart in ("TSK-6", "TSK-14", "TSK-16", "TSK-20", "TSK-27"):
        assert optypes[air_cart] == "planted", air_cart
    seed = {c.property: c.unit for c in reads["TSK-14"].meta["columns"].values()}
    assert seed["seedRate"] == "mg/m**2"  # seeding by mass
    assert optypes["TSK-8"] == "planted"  # seed bin says sowing, micro bins protection
    assert optypes["TSK-22"] == "applied" and optypes["TSK-3"] == "applied"
    # two air carts in one task: the wider one's 16 sections (2 m) carry the width
    assert len(reads["TSK-27"].meta["isoxml"]["width"]) == 2


# folder, TLG files, records framed (sum over parts), max DLVs per header, operation
# type(s) of the parts that convert, bbox (lon0, lon1, lat0, lat1) or None, extra checks
FACTS = [
    (
        "cci_forage_harvester_yield",
        21,
        61_314,
        26,
        {"harvested"},
        (10.0, 10.5, 54.3, 54.7),
        check_cci,
    ),
    (
        "krone_forage_harvester_roading",
        3,
        4_677,
        72,
        {"harvested"},
        (8.94, 9.169, 46.1198, 46.404),
        check_krone,
    ),
    # bench test: spreader/sprayer parts log mass/volume per area (applied); planter and
    # air cart parts are planted — the air cart seeds by mass per area (device class 4,
    # tasks "Seeding ...": issue 13 — it used to count as applied)
    (
        "cnh_pro1200_spreader_benchtest",
        15,
        4_879,
        215,
        {"applied", "planted"},
        None,
        check_cnh,
    ),
    (
        "kverneland_imtpro_benchtest",
        1,
        373,
        38,
        {"planted"},
        None,
        check_kverneland_imt,
    ),
    (
        "agco_c100_jd_sprayer_900",
        3,
        1_980,
        33,
        {"applied"},
        (-93.83, -93.82, 41.84, 41.86),
        check_agco,
    ),
    ("kverneland_aef_conformance_empty_tlgs", 6, 0, 0, set(), None, check_aef),
]


@pytest.mark.parametrize(
    ("folder", "n_tlg", "records", "max_dlvs", "optypes", "bbox", "extra"),
    FACTS,
    ids=[f[0] for f in FACTS],
)
def test_isoxml_facts(folder, n_tlg, records, max_dlvs, optypes, bbox, extra):
    path, reads = read_set(folder)
    assert IsoxmlReader().sniff(path) == 1.0
    assert len(tlg_files(folder)) == n_tlg
    assert all(IsoxmlReader().sniff(f) == 0.0 for f in tlg_files(folder))
    assert max(len(parse_tlg_header(f).dlvs) for f in tlg_files(folder)) == max_dlvs
    ok = {p: r for p, r in reads.items() if not isinstance(r, Exception)}
    assert sum(r.meta["record_count"] for r in ok.values()) == records
    assert {r.meta["operation_type"] for r in ok.values()} == optypes
    for r in ok.values():
        assert (
            r.table.num_rows == r.meta["record_count"] - r.meta["skipped_records"]
            or r.meta["skipped_records"]
        )
        assert r.table.num_rows > 0
    if bbox:
        lon = np.concatenate([r.table["lon"].to_numpy() for r in ok.values()])
        lat = np.concatenate([r.table["lat"].to_numpy() for r in ok.values()])
        assert bbox[0] <= lon.min() and lon.max() <= bbox[1]
        assert bbox[2] <= lat.min() and lat.max() <= bbox[3]
    extra(reads)


def test_truncated_tlg_header_fails_alone(tmp_path):
    """edge_cases/truncated_tlg_header: that log fails clearly, the task's other log converts."""
    cci = ISO / "cci_forage_harvester_yield" / "TASKDATA"
    edge = ISO / "edge_cases" / "truncated_tlg_header"
    folder = tmp_path / "TASKDATA"
    folder.mkdir()
    for name in ("TLG00002.xml", "TLG00002.bin"):
        shutil.copy(cci / name, folder / name)  # copies: links are not followed
    for name in ("TLG00003.xml", "TLG00003.bin"):
        shutil.copy(edge / name, folder / name)
    (folder / "TASKDATA.XML").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ISO11783_TaskData VersionMajor="4" VersionMinor="1" DataTransferOrigin="1">'
        '<TSK A="TSK1" G="4"><TLG A="TLG00002"/><TLG A="TLG00003"/></TSK></ISO11783_TaskData>\n'
    )
    with pytest.raises(CorruptFile, match="well-formed"):
        parse_tlg_header(folder / "TLG00003.xml")
    raw = IsoxmlReader().read(folder / "TASKDATA.XML", part="TSK1")
    assert raw.meta["record_count"] == 4135
    assert [f["name"] for f in raw.meta["failed_logs"]] == ["TLG00003"]
    assert any("TLG00003" in i and "well-formed" in i for i in raw.issues)


def _model_checks(raw):
    """Relative differences of the device model to the controller's own TIM totals:
    area (steps x working width vs DDI 116), working time (vs 119), distance of working
    records (vs 117) and of every record (vs 117 + 118)."""
    t, totals = raw.table, raw.meta["machine_totals"]
    time_s = t["timestamp"].cast("int64").to_numpy() / 1000
    step, bad = position_steps(t["lon"].to_numpy(), t["lat"].to_numpy(), time_s, 15.0)
    step[bad] = 0
    width = np.nan_to_num(t["agg_workingWidth"].to_numpy(zero_copy_only=False)) / 1000
    on = np.array(t["recordingStatus"].to_pylist()) == "On"
    value = {
        k: totals[k]["value"] for k in ("DDI0074", "DDI0075", "DDI0076", "DDI0077")
    }
    mine = {
        "area": ((step * width).sum(), value["DDI0074"]),
        "time": (record_intervals(time_s)[on].sum(), value["DDI0077"]),
        "distance_working": (step[on].sum(), value["DDI0075"] / 1000),
        "distance_all": (step.sum(), (value["DDI0075"] + value["DDI0076"]) / 1000),
    }
    return mine


def test_cci_device_model_matches_the_task_controller():
    """The CCI controller's own totals check the width and work-state model: over the
    19 tasks the modelled area, working time and distances agree within 2 %, every
    task within 6 % (GPS steps vs the machine's wheel/radar distance)."""
    _, reads = read_set("cci_forage_harvester_yield")
    per_task = [_model_checks(r) for r in reads.values()]
    assert len(per_task) == 19
    for key in ("area", "time", "distance_working", "distance_all"):
        mine = np.array([m[key][0] for m in per_task])
        theirs = np.array([m[key][1] for m in per_task])
        assert np.abs(mine / theirs - 1).max() < 0.06, key
        assert abs(mine.sum() / theirs.sum() - 1) < 0.02, key
