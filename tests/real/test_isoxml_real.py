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
    # bench test: spreader/sprayer parts log mass/volume per area (applied), planter parts
    # count per area (planted), the air cart seeding by mass per area counts as applied
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
