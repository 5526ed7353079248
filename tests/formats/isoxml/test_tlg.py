"""Synthetic round trips of the TLG decoder and the ISOXML reader (writer -> reader)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from leafnb.errors import CorruptFile
from leafnb.formats.base import Column
from leafnb.formats.isoxml.reader import IsoxmlReader
from leafnb.formats.isoxml.tlg import decode_tlg, parse_tlg_header
from leafnb.formats.isoxml.writer import (
    DlvSpec,
    TimeLogSpec,
    encode_records,
    write_taskdata,
    write_tlg,
)
from leafnb.standard.units import parse_unit

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def make_spec(n=500, name="TLG00001", logged="ABD", seed=0, every=7, constants=None):
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(n, dtype=np.int64) * 1000
    lat = 54.5 + np.cumsum(rng.uniform(0, 1e-5, n))
    lon = 10.2 + np.cumsum(rng.uniform(0, 1e-5, n))
    sparse = np.zeros(n, bool)
    sparse[::every] = True
    dlvs = [
        DlvSpec(84, values=rng.integers(0, 5_000_000, n)),  # mass per area yield mg/m2
        DlvSpec(90, values=np.arange(n) * 3, present=sparse),  # yield total mass kg
        DlvSpec(
            99, values=rng.integers(100_000, 300_000, n), present=sparse
        ),  # moisture ppm
        DlvSpec(141, values=np.ones(n)),
    ]
    return TimeLogSpec(
        name, t, lat, lon, dlvs=dlvs, logged=logged, constants=constants or {}
    )


def read_single(folder: Path, spec: TimeLogSpec):
    xml, binp = write_tlg(folder, spec)
    return decode_tlg(binp, parse_tlg_header(xml))


# PTN combinations: A/B always logged or constant; the others any subset
PTN_COMBOS = ["AB", "ABD", "ABC", "ABCDEFGHI", "ABEFG", "ABHI", "ABCDGI"]


@pytest.mark.parametrize("logged", PTN_COMBOS)
def test_roundtrip_ptn_combinations(tmp_path, logged):
    spec = make_spec(logged=logged)
    log = read_single(tmp_path, spec)
    assert log.n == log.n_framed == 500
    assert log.skipped == 0
    np.testing.assert_array_equal(log.time_ms, spec.time_ms)
    lat, lon = log.lat_lon()
    np.testing.assert_allclose(lat, spec.lat, atol=1e-7)
    np.testing.assert_allclose(lon, spec.lon, atol=1e-7)
    assert log.header.logged == tuple(logged)
    # values as logged: counts before fill forward
    assert [len(r) for r in log.dlv_rec] == [500, 72, 72, 500]


def test_constant_position_fields_in_header(tmp_path):
    spec = make_spec(logged="AB", constants={"C": 12.5, "D": 4})
    log = read_single(tmp_path, spec)
    assert log.header.constants == {"C": 12.5, "D": 4.0}
    assert log.header.prefix == 6 + 8


def test_fill_forward_and_header_constant(tmp_path):
    spec = make_spec(n=20, every=5)
    log = read_single(tmp_path, spec)
    filled = log.filled(1)  # DDI 90 logged at 0, 5, 10, 15
    np.testing.assert_array_equal(filled, np.repeat([0, 15, 30, 45], 5))
    # a DLV first logged later is null before its first value
    spec.dlvs[2].present = np.arange(20) >= 3
    log = read_single(tmp_path, spec)
    f = log.filled(2)
    assert np.isnan(f[:3]).all() and not np.isnan(f[3:]).any()


def _corrupt(tmp_path, spec, mutate):
    xml, binp = write_tlg(tmp_path, spec)
    data = bytearray(binp.read_bytes())
    data = mutate(data)
    binp.write_bytes(bytes(data))
    return decode_tlg(binp, parse_tlg_header(xml))


def _record_offsets(spec):
    raw = encode_records(spec)
    head = 6 + 8 + 1  # ms, days, A, B (logged "AB"), count
    offs, p = [], 0
    while p < len(raw):
        offs.append(p)
        p += head + 5 * raw[p + head - 1]
    return offs


def test_bad_count_resynchronises(tmp_path):
    spec = make_spec(n=300, logged="AB")
    offs = _record_offsets(spec)

    def mutate(data):
        data[offs[100] + 14] = 200  # DLV count far larger than the 4 DLVs
        return data

    log = _corrupt(tmp_path, spec, mutate)
    assert log.skipped == 1
    assert log.n == 299
    assert log.n_framed == 299
    assert any("resynchronised" in n for n in log.notes)
    # the records after the bad one decode exactly
    np.testing.assert_array_equal(log.time_ms[100:], spec.time_ms[101:])


def test_plausible_count_but_bad_index_resynchronises(tmp_path):
    spec = make_spec(n=300, logged="AB")
    offs = _record_offsets(spec)

    def mutate(data):
        data[offs[50] + 15] = 9  # first pair's DLV index out of range (4 DLVs)
        return data

    log = _corrupt(tmp_path, spec, mutate)
    assert log.skipped == 1
    assert log.n == 299
    np.testing.assert_array_equal(log.time_ms[50:], spec.time_ms[51:])


def test_truncated_tail(tmp_path):
    spec = make_spec(n=100, logged="AB")
    log = _corrupt(tmp_path, spec, lambda d: d[:-7])
    assert log.n == 99
    assert log.skipped == 1
    assert any("truncated" in n or "trailing" in n for n in log.notes)


def test_impossible_positions_dropped_and_counted(tmp_path):
    spec = make_spec(n=50, logged="AB")
    spec.lat[[3, 4]] = 0.0
    spec.lon[[3, 4]] = 0.0
    spec.lat[10] = 95.0
    log = read_single(tmp_path, spec)
    assert log.n_framed == 50
    assert log.n == 47
    assert log.skipped == 3


def test_no_usable_record_is_corrupt(tmp_path):
    spec = make_spec(n=1, logged="ABCDH")
    spec.lat[:] = 0
    spec.lon[:] = 0
    spec.dlvs = []
    with pytest.raises(CorruptFile, match="no usable record"):
        read_single(tmp_path, spec)


def test_chunked_decoding_matches_whole(tmp_path):
    spec = make_spec(n=5000, logged="ABCD", every=3)
    xml, binp = write_tlg(tmp_path, spec)
    header = parse_tlg_header(xml)
    whole = decode_tlg(binp, header)
    for chunk in (97, 1000, 4096 + 13):
        part = decode_tlg(binp, header, chunk_bytes=chunk)
        assert part.n == whole.n == 5000
        np.testing.assert_array_equal(part.time_ms, whole.time_ms)
        for a, b in itertools.zip_longest(part.dlv_val, whole.dlv_val):
            np.testing.assert_array_equal(a, b)


def test_variable_counts_many_segments(tmp_path):
    # long log, random subsets of DLVs per record: exercises the speculative framing
    n = 60_000
    rng = np.random.default_rng(3)
    t = T0 + np.arange(n, dtype=np.int64) * 200
    dlvs = [
        DlvSpec(
            0xE000 + i,
            values=rng.integers(-(2**31), 2**31 - 1, n),
            present=rng.random(n) < 0.4,
        )
        for i in range(30)
    ]
    spec = TimeLogSpec(
        "TLG00009", t, np.full(n, 47.0), np.full(n, 8.0), dlvs=dlvs, logged="AB"
    )
    log = read_single(tmp_path, spec)
    assert log.n == n and log.skipped == 0
    for d, rec, val in zip(dlvs, log.dlv_rec, log.dlv_val, strict=True):
        np.testing.assert_array_equal(rec, np.flatnonzero(d.present))
        np.testing.assert_array_equal(val, d.values[d.present].astype(np.int32))


def test_entity_expansion_header_refused(tmp_path):
    xml = tmp_path / "TLG00001.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE TIM [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'
        '<TIM A="" D="4"><PTN A="" B=""/><DLV A="0054" B="&b;" C="DET-1"/></TIM>\n'
    )
    with pytest.raises(CorruptFile, match="entit"):
        parse_tlg_header(xml)


# --------------------------------------------------------------------------------------
# reader


@pytest.fixture
def harvest_taskdata(tmp_path):
    logs = [
        make_spec(n=400, name="TLG00001", logged="ABC"),
        make_spec(n=300, name="TLG00002", seed=1, logged="ABC"),
    ]
    logs[1].time_ms = logs[1].time_ms + 3_600_000
    poly = [(10.19, 54.49), (10.25, 54.49), (10.25, 54.52), (10.19, 54.52)]
    return write_taskdata(
        tmp_path / "TASKDATA", logs, field_polygon=poly, totals={90: 1197, 116: 5000}
    )


def test_reader_contract(harvest_taskdata):
    reader = IsoxmlReader()
    path = harvest_taskdata
    assert reader.sniff(path) == 1.0
    assert reader.sniff(path.parent / "TLG00001.xml") == 0.0
    assert reader.parts(path) == ["TSK1"]
    side = {p.name for p in reader.sidecars(path)}
    assert {"TLG00001.xml", "TLG00001.bin", "TLG00002.bin"} <= side
    assert reader.describe(path, "TSK1")["operation_type"] == "harvested"

    raw = reader.read(path, part="TSK1")
    t = raw.table
    assert t.num_rows == 700
    assert t.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert t.schema.field("lat").type == pa.float64()
    m = raw.meta
    assert m["operation_type"] == "harvested"
    assert m["record_count"] == 700 and m["skipped_records"] == 0
    cols = m["columns"]
    assert cols["DDI0054"] == Column("wetMassPerArea", "mg/m**2")
    assert cols["DDI0063"] == Column("harvestMoisture", "ppm")
    assert cols["delta_DDI005A"] == Column("wetMass", "kg")
    assert cols["PTN_up"] == Column("elevation", "mm")
    for c in cols.values():
        if c.unit is not None:
            parse_unit(c.unit)
    # wetMass deltas never cross logs: sum = sum of per-log increases
    wet = np.nan_to_num(t["delta_DDI005A"].to_numpy(zero_copy_only=False))
    assert wet.sum() == pytest.approx((399 // 7 * 7) * 3 + (299 // 7 * 7) * 3)
    assert m["machine_totals"]["totalWetMass"] == {"value": 1197.0, "unit": "kg"}
    assert m["machine_totals"]["totalArea"] == {"value": 5000.0, "unit": "m2"}
    assert m["crop"] == "Corn" and m["variety"] == "P1197"
    assert m["machinery"][0]["type"] == "machine"
    assert m["operators"] == [{"id": "WKR1", "name": "Demo operator"}]
    assert m["partfields"][0]["geometry"]["type"] == "Polygon"
    assert m["partfields"][0]["properties"]["name"] == "North field"
    assert m["original_operation_data"]["originalOperationFarm"] == "Demo farm"
    assert set(t["recordingStatus"].to_pylist()) == {"On"}


def test_reader_lowercase_names_and_one_failed_log(tmp_path):
    logs = [make_spec(n=50, name="TLG00001"), make_spec(n=60, name="TLG00002", seed=2)]
    path = write_taskdata(tmp_path / "TASKDATA", logs)
    path.rename(path.with_name("TaskData.xml"))
    path = path.with_name("TaskData.xml")
    (tmp_path / "TASKDATA" / "TLG00001.bin").rename(
        tmp_path / "TASKDATA" / "TLG00001.BIN"
    )
    (tmp_path / "TASKDATA" / "TLG00002.xml").write_text(
        "<TIM A=''><PTN A='' B=''/>"
    )  # broken header
    reader = IsoxmlReader()
    assert reader.sniff(path) == 1.0
    raw = reader.read(path, part="TSK1")
    assert raw.table.num_rows == 50
    assert (
        len(raw.meta["failed_logs"]) == 1
        and raw.meta["failed_logs"][0]["name"] == "TLG00002"
    )
    assert any("TLG00002" in i and "well-formed" in i for i in raw.issues)


def test_reader_all_logs_fail(tmp_path):
    path = write_taskdata(tmp_path / "TASKDATA", [make_spec(n=5)])
    (tmp_path / "TASKDATA" / "TLG00001.bin").write_bytes(b"\x00" * 3)
    with pytest.raises(CorruptFile, match="TLG00001"):
        IsoxmlReader().read(path, part="TSK1")


def test_entity_expansion_taskdata(tmp_path):
    folder = tmp_path / "TASKDATA"
    folder.mkdir()
    path = folder / "TASKDATA.XML"
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 8))
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE ISO11783_TaskData [<!ENTITY l0 "lol">{lol}]>\n'
        '<ISO11783_TaskData VersionMajor="4"><CTR A="CTR1" B="&l7;"/></ISO11783_TaskData>\n'
    )
    reader = IsoxmlReader()
    assert reader.parts(path) == [None]
    with pytest.raises(CorruptFile, match="entit"):
        reader.read(path, part=None)


def test_sniff_rejects_other_xml(tmp_path):
    p = tmp_path / "TASKDATA.XML"
    p.write_text('<?xml version="1.0"?><FieldOps/>')
    assert IsoxmlReader().sniff(p) == 0.0
    assert IsoxmlReader().sniff(tmp_path / "missing.xml") == 0.0


def test_sections_aggregated(tmp_path):
    n = 10
    t = T0 + np.arange(n, dtype=np.int64) * 1000
    lat, lon = np.full(n, 41.9), np.full(n, -93.6)
    on2 = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    dlvs = [
        DlvSpec(1, "DET-1", np.full(n, 9_000_00)),  # setpoint 9000 mm3/m2 (raw x 0.01)
        DlvSpec(2, "DET-1", np.full(n, 8_000_00)),
        DlvSpec(67, "DET-2", np.full(n, 3000)),
        DlvSpec(67, "DET-3", np.full(n, 6000)),
        DlvSpec(141, "DET-2", np.ones(n)),
        DlvSpec(141, "DET-3", on2),
    ]
    spec = TimeLogSpec("TLG00001", t, lat, lon, dlvs=dlvs, logged="AB")
    path = write_taskdata(
        tmp_path / "TASKDATA",
        [spec],
        device_class=6,
        section_dets=("DET-2", "DET-3"),
        crop=None,
    )
    raw = IsoxmlReader().read(path, part="TSK1")
    m = raw.meta
    assert m["operation_type"] == "applied"
    assert m["columns"]["DDI0002"] == Column("appliedRate", "mm**3/m**2")
    assert raw.table["DDI0002"].to_pylist()[0] == pytest.approx(8000.0)
    assert m["columns"]["agg_equipmentWidth"] == Column("equipmentWidth", "mm")
    # the implement is 9 m; what works (section DET-3 off in the second half): 3 m
    assert raw.table["agg_equipmentWidth"].to_pylist() == [9000.0] * 10
    assert raw.table["agg_workingWidth"].to_pylist() == [9000.0] * 5 + [3000.0] * 5
    assert "DDI0043_DET2" in raw.table.column_names
