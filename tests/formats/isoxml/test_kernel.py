"""The optional C kernel of the TLG decoder gives exactly the numpy decoder's results.

Every case decodes the same bytes with ``kernel=False`` (numpy, the reference) and
``kernel=True`` (``leafnb.formats.isoxml._tlgkernel``) and compares everything: record
counts, skipped counts, notes, every column, per-DLV values and statistics, and the
forward-filled float64 columns. Skipped when the extension is not built.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np
import pytest

from leafnb.errors import CorruptFile
from leafnb.formats.isoxml import tlg
from leafnb.formats.isoxml.tlg import (
    decode_tlg,
    kernel_available,
    parse_tlg_header,
)
from leafnb.formats.isoxml.writer import DlvSpec, TimeLogSpec, write_tlg

pytestmark = pytest.mark.skipif(
    not kernel_available(), reason="C kernel (_tlgkernel) not built"
)

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
ISO = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "isoxml"


# --------------------------------------------------------------------------------------
# helpers


def assert_same(a, b):
    """*a* (numpy) and *b* (kernel): identical DecodedLogs or identical errors."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b), (a, b)
        assert str(a) == str(b)
        return
    assert b.n_framed == a.n_framed
    assert b.skipped == a.skipped
    assert b.notes == a.notes
    assert b.n == a.n
    assert b.time_ms.dtype == a.time_ms.dtype == np.int64
    np.testing.assert_array_equal(b.time_ms, a.time_ms)
    assert list(b.ptn) == list(a.ptn)
    for k in a.ptn:
        assert b.ptn[k].dtype == a.ptn[k].dtype
        np.testing.assert_array_equal(b.ptn[k], a.ptn[k])
    assert len(b.dlv_rec) == len(a.dlv_rec) == len(a.header.dlvs)
    for ra, rb, va, vb in zip(a.dlv_rec, b.dlv_rec, a.dlv_val, b.dlv_val, strict=True):
        assert rb.dtype == ra.dtype == np.int64
        assert vb.dtype == va.dtype == np.int32
        np.testing.assert_array_equal(rb, ra)
        np.testing.assert_array_equal(vb, va)
    np.testing.assert_array_equal(b.dlv_count_all, a.dlv_count_all)
    assert b.dlv_count_all.dtype == a.dlv_count_all.dtype
    np.testing.assert_array_equal(b.dlv_min_all, a.dlv_min_all)
    np.testing.assert_array_equal(b.dlv_max_all, a.dlv_max_all)
    la, lb = a.lat_lon(), b.lat_lon()
    np.testing.assert_array_equal(lb[0], la[0])
    np.testing.assert_array_equal(lb[1], la[1])
    # forward fill: C fill vs the numpy formulation, bit for bit
    for i, d in enumerate(a.header.dlvs):
        for scale in (1.0, 0.1, 1e-7):
            before = np.nan if d.value is None else d.value * scale
            want = a._filled_numpy(i, scale, before)
            got = b.filled(i, scale)
            assert got.dtype == np.float64
            np.testing.assert_array_equal(got, want)


def decode_both(binp: Path, header, chunk_bytes: int = tlg.CHUNK_BYTES):
    """Decode with both implementations, assert identical, return the kernel's result
    (a DecodedLog, or the CorruptFile both raised)."""
    out = []
    for kernel in (False, True):
        try:
            log = decode_tlg(binp, header, kernel=kernel, chunk_bytes=chunk_bytes)
        except CorruptFile as exc:
            out.append(exc)
        else:
            if binp.stat().st_size:
                assert log.decoder == ("kernel" if kernel else "numpy")
            out.append(log)
    assert_same(*out)
    return out[1]


def make_spec(
    n=400,
    logged="AB",
    n_dlv=4,
    seed=0,
    step_ms=1000,
    constants=None,
    name="TLG00001",
):
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(n, dtype=np.int64) * step_ms
    lat = 54.5 + np.cumsum(rng.uniform(0, 1e-5, n))
    lon = 10.2 + np.cumsum(rng.uniform(0, 1e-5, n))
    dlvs = [
        DlvSpec(
            0xE000 + i,
            values=rng.integers(-(2**31), 2**31 - 1, n),
            present=rng.random(n) < (1.0 if i == 0 else 0.3),
        )
        for i in range(n_dlv)
    ]
    ptn_values = {
        "C": rng.integers(-(2**31), 2**31 - 1, n),
        "D": rng.integers(0, 256, n),
        "E": rng.integers(0, 65536, n),
        "F": rng.integers(0, 65536, n),
        "G": rng.integers(0, 256, n),
        "H": rng.integers(0, 2**32, n),
        "I": rng.integers(0, 65536, n),
    }
    return TimeLogSpec(
        name,
        t,
        lat,
        lon,
        dlvs=dlvs,
        logged=logged,
        constants=constants or {},
        ptn_values={k: v for k, v in ptn_values.items() if k in logged},
    )


def write(tmp_path: Path, spec: TimeLogSpec, mutate=None):
    xml, binp = write_tlg(tmp_path, spec)
    if mutate is not None:
        binp.write_bytes(bytes(mutate(bytearray(binp.read_bytes()))))
    return binp, parse_tlg_header(xml)


def offsets(binp: Path, header) -> list[int]:
    """Record starts of an uncorrupted file."""
    data = binp.read_bytes()
    P, out, p = header.prefix, [], 0
    while p < len(data):
        out.append(p)
        p += P + 1 + 5 * data[p + P]
    return out


# --------------------------------------------------------------------------------------
# well-formed logs


@pytest.mark.parametrize(
    "logged",
    [
        "AB",
        "ABC",
        "ABD",
        "ABE",
        "ABF",
        "ABG",
        "ABH",
        "ABI",
        "ABCDEFGHI",
        "ABDGI",
        "ABCEFH",
    ],
)
def test_ptn_field_combinations(tmp_path, logged):
    binp, header = write(tmp_path, make_spec(logged=logged, n_dlv=5))
    log = decode_both(binp, header)
    assert log.n == 400 and log.skipped == 0
    assert set(log.ptn) == set(logged)


@pytest.mark.parametrize("logged", ["", "C", "A", "B", "DH"])
def test_position_from_header_constants(tmp_path, logged):
    consts = {"A": 47.25, "B": 8.5, "C": 400.0}
    consts = {k: v for k, v in consts.items() if k not in logged}
    spec = make_spec(logged=logged, constants=consts, n_dlv=3)
    binp, header = write(tmp_path, spec)
    log = decode_both(binp, header)
    assert log.n == 400


def test_constant_position_impossible_drops_everything(tmp_path):
    spec = make_spec(logged="", constants={"A": 95.0, "B": 8.5})
    binp, header = write(tmp_path, spec)
    assert isinstance(decode_both(binp, header), CorruptFile)


def test_no_dlvs_and_many_dlvs(tmp_path):
    binp, header = write(tmp_path / "a", make_spec(n_dlv=0))
    assert decode_both(binp, header).n == 400
    binp, header = write(tmp_path / "b", make_spec(n=300, n_dlv=255, seed=4))
    log = decode_both(binp, header)
    assert log.n == 300 and len(log.dlv_rec) == 255


def test_header_dlv_values_before_first(tmp_path):
    spec = make_spec(n=50, n_dlv=3)
    spec.dlvs[1].present = np.arange(50) >= 10
    spec.dlvs[2].present = np.zeros(50, bool)
    binp, header = write(tmp_path, spec)
    dlvs = [dataclasses.replace(d, value=7 * i - 3) for i, d in enumerate(header.dlvs)]
    header = dataclasses.replace(header, dlvs=dlvs)
    log = decode_both(binp, header)
    f = log.filled(1, 0.5)
    assert (f[:10] == 2.0).all()
    assert (log.filled(2, 2.0) == 22.0).all()


def test_duplicate_dlv_in_one_record_last_wins(tmp_path):
    spec = make_spec(n=3, n_dlv=3)  # the count must not exceed the header's DLVs
    _, header = write(tmp_path, spec)
    binp = tmp_path / "dup.bin"
    lat, lon = int(54.5e7), int(10.2e7)

    def rec(ms, pairs, la=lat):
        head = struct.pack("<IHii", ms, 15000, la, lon)
        body = b"".join(struct.pack("<Bi", i, v) for i, v in pairs)
        return head + bytes([len(pairs)]) + body

    binp.write_bytes(
        rec(1000, [(0, 5), (1, 6), (0, 7)])
        + rec(2000, [(1, 8), (1, 9)], la=0)  # dropped position (lon != 0 though)
        + rec(3000, [(1, -1), (0, 2), (1, 3)])
        + rec(4000, [(0, 1)], la=int(95e7))  # out of range: framed, dropped
    )
    log = decode_both(binp, header)
    assert log.n_framed == 4 and log.n == 3 and log.skipped == 1
    np.testing.assert_array_equal(log.dlv_val[0], [7, 2])
    np.testing.assert_array_equal(log.dlv_rec[1], [0, 1, 2])
    np.testing.assert_array_equal(log.dlv_val[1], [6, 9, 3])
    assert list(log.dlv_count_all) == [4, 5, 0]


# --------------------------------------------------------------------------------------
# malformed input


def test_bad_count_bad_index_bad_time_truncated(tmp_path):
    spec = make_spec(n=600, logged="ABD", n_dlv=4)
    binp, header = write(tmp_path, spec)
    offs = offsets(binp, header)
    P = header.prefix

    def mutate(d):
        d[offs[20] + P] = 200  # count > DLVs
        d[offs[100] + P + 1] = 9  # DLV index out of range
        d[offs[300] : offs[300] + 4] = struct.pack("<I", 90_000_000)  # time >= 24 h
        d[offs[301] + P] = 5  # count > 4 DLVs, right after the previous
        return d[:-3]  # truncated tail

    binp.write_bytes(bytes(mutate(bytearray(binp.read_bytes()))))
    log = decode_both(binp, header)
    # records 300 and 301 are passed over by one resynchronisation: 4 notes, and
    # skipped counts records (issue 14: it used to count resynchronisations)
    assert log.skipped == 5 and log.n == 600 - 5 and len(log.notes) == 4
    assert any("names a DLV index" in n for n in log.notes)
    assert any("truncated" in n for n in log.notes)


def test_index_error_then_later_errors_counted_once(tmp_path):
    # a record with a bad DLV index followed later by other malformed records and a
    # truncated tail: every problem is counted exactly once
    spec = make_spec(n=300, logged="AB", n_dlv=4)
    binp, header = write(tmp_path, spec)
    offs = offsets(binp, header)

    def mutate(d):
        d[offs[50] + 15] = 9
        d[offs[200] + 14] = 200
        return d[:-7]

    binp.write_bytes(bytes(mutate(bytearray(binp.read_bytes()))))
    log = decode_both(binp, header)
    assert log.skipped == 3 and log.n == 297
    assert len(log.notes) == 3


def test_impossible_positions(tmp_path):
    spec = make_spec(n=200, logged="ABC")
    spec.lat[[3, 4]] = 0.0
    spec.lon[[3, 4]] = 0.0
    spec.lat[10] = 95.0
    spec.lon[11] = -181.0
    spec.lat[12] = 0.0  # only lat 0: kept
    binp, header = write(tmp_path, spec)
    log = decode_both(binp, header)
    assert log.n_framed == 200 and log.n == 196 and log.skipped == 4


@pytest.mark.parametrize("size", [0, 1, 5, 14, 15, 16])
def test_tiny_files(tmp_path, size):
    spec = make_spec(n=5, logged="AB")
    binp, header = write(tmp_path, spec, mutate=lambda d: d[:size])
    decode_both(binp, header)


def test_garbage_files(tmp_path):
    rng = np.random.default_rng(11)
    spec = make_spec(n=5, logged="ABCD", n_dlv=6)
    _, header = write(tmp_path, spec)
    for k in range(8):
        binp = tmp_path / f"g{k}.bin"
        binp.write_bytes(rng.integers(0, 256, 20_000 + k, dtype=np.uint8).tobytes())
        decode_both(binp, header)
        decode_both(binp, header, chunk_bytes=4093)


def test_events_buffer_refills(tmp_path, monkeypatch):
    # more passed-over records than one kernel call reports: the call is resumed
    monkeypatch.setattr(tlg, "_KERNEL_EVENTS", 2)
    spec = make_spec(n=400, logged="AB", n_dlv=3)
    binp, header = write(tmp_path, spec)
    offs = offsets(binp, header)

    def mutate(d):
        for k in range(5, 390, 7):
            d[offs[k] + 14] = 250
        return d[:-2]

    binp.write_bytes(bytes(mutate(bytearray(binp.read_bytes()))))
    log = decode_both(binp, header)
    assert log.skipped >= 56


@pytest.mark.parametrize("seed", range(40))
def test_fuzz_corruption(tmp_path, seed):
    rng = np.random.default_rng(1000 + seed)
    combos = ["AB", "ABD", "ABCDEFGHI", "ABHI", "ABEFG", "ABC"]
    logged = combos[seed % len(combos)]
    # some logs cross midnight repeatedly (day changes exercise the resync day test)
    step = int(rng.choice([200, 1000, 3_600_000, 7_200_000]))
    spec = make_spec(
        n=int(rng.integers(50, 1500)),
        logged=logged,
        n_dlv=int(rng.integers(0, 12)),
        seed=seed,
        step_ms=step,
    )
    if rng.random() < 0.3:
        bad = rng.integers(0, len(spec.lat), 5)
        spec.lat[bad] = rng.choice([0.0, 91.0, -95.0], 5)
        spec.lon[bad[:2]] = 0.0
    binp, header = write(tmp_path, spec)
    data = bytearray(binp.read_bytes())
    for _ in range(int(rng.integers(1, 12))):
        op = rng.integers(0, 4)
        at = int(rng.integers(0, max(len(data), 1)))
        if op == 0:  # flip bytes
            for k in range(int(rng.integers(1, 4))):
                if at + k < len(data):
                    data[at + k] = int(rng.integers(0, 256))
        elif op == 1:  # insert junk
            data[at:at] = rng.integers(
                0, 256, int(rng.integers(1, 40)), np.uint8
            ).tobytes()
        elif op == 2:  # delete a run
            del data[at : at + int(rng.integers(1, 60))]
        else:  # set a count byte-ish value
            if at < len(data):
                data[at] = int(rng.choice([0, 1, 255, len(header.dlvs) + 1]))
    if rng.random() < 0.5:
        del data[len(data) - int(rng.integers(1, 30)) :]
    binp.write_bytes(bytes(data))
    decode_both(binp, header)
    for chunk in rng.choice([97, 1000, 4096 + 13, 15_001], 2, replace=False):
        decode_both(binp, header, chunk_bytes=int(chunk))


# --------------------------------------------------------------------------------------
# chunking


@pytest.mark.parametrize("chunk", [1, 2, 7, 15, 16, 97, 1000, 4096 + 13])
def test_chunk_boundaries_small(tmp_path, chunk):
    spec = make_spec(n=120, logged="ABD", n_dlv=3, seed=5)
    binp, header = write(tmp_path, spec)
    offs = offsets(binp, header)
    whole = decode_both(binp, header)
    log = decode_both(binp, header, chunk_bytes=chunk)
    np.testing.assert_array_equal(log.time_ms, whole.time_ms)

    def mutate(d):  # a malformed record and a truncated tail across the chunks
        d[offs[60] + header.prefix] = 99
        return d[:-4]

    binp.write_bytes(bytes(mutate(bytearray(binp.read_bytes()))))
    decode_both(binp, header, chunk_bytes=chunk)


def test_chunked_large(tmp_path):
    spec = make_spec(n=30_000, logged="ABCD", n_dlv=8, seed=9, step_ms=3_000_000)
    binp, header = write(tmp_path, spec)
    whole = decode_both(binp, header)
    for chunk in (65_536 + 7, 250_000):
        log = decode_both(binp, header, chunk_bytes=chunk)
        for a, b in zip(whole.dlv_rec, log.dlv_rec, strict=True):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------
# real logs


def real_pairs():
    if not ISO.is_dir():
        return []
    pairs = []
    for xml in sorted(ISO.glob("*/TASKDATA/TLG*")):
        if xml.suffix.lower() != ".xml":
            continue
        binp = next(
            (
                p
                for p in xml.parent.iterdir()
                if p.name.upper() == xml.stem.upper() + ".BIN"
            ),
            None,
        )
        if binp is not None:
            pairs.append((xml, binp))
    return pairs


@pytest.mark.real_data
@pytest.mark.skipif(not ISO.is_dir(), reason="../shared/data/isoxml is absent")
def test_real_logs_identical():
    pairs = real_pairs()
    folders = {xml.parts[-3] for xml, _ in pairs}
    for want in (
        "cci_forage_harvester_yield",
        "krone_forage_harvester_roading",
        "cnh_pro1200_spreader_benchtest",
    ):
        assert want in folders
    n_logs = 0
    for xml, binp in pairs:
        try:
            header = parse_tlg_header(xml)
        except CorruptFile:
            continue
        decode_both(binp, header)
        decode_both(binp, header, chunk_bytes=4093)
        n_logs += 1
    assert n_logs >= 40


# --------------------------------------------------------------------------------------
# dispatch and kernel safety


def test_env_switch(tmp_path, monkeypatch):
    binp, header = write(tmp_path, make_spec(n=20))
    assert decode_tlg(binp, header).decoder == "kernel"
    monkeypatch.setenv("LEAFNB_TLG_KERNEL", "0")
    assert decode_tlg(binp, header).decoder == "numpy"
    assert decode_tlg(binp, header, kernel=True).decoder == "kernel"
    monkeypatch.setattr(tlg, "_KERNEL", None)
    monkeypatch.delenv("LEAFNB_TLG_KERNEL")
    assert decode_tlg(binp, header).decoder == "numpy"
    with pytest.raises(ImportError):
        decode_tlg(binp, header, kernel=True)


def test_map_still_referenced_does_not_fail_the_read(tmp_path, monkeypatch):
    # a sampling profiler (dask workers run one) can hold a decoder frame, and with it
    # a view of the memory map, while the map is closed: the read must not fail
    binp, header = write(tmp_path, make_spec(n=20))
    held = []
    real = tlg._decode_kernel_buf

    def holding(K, buf, *args):
        held.append(buf)
        return real(K, buf, *args)

    monkeypatch.setattr(tlg, "_decode_kernel_buf", holding)
    log = decode_tlg(binp, header, kernel=True)
    assert log.decoder == "kernel" and log.n == 20
    assert held[0][:6].tobytes() == binp.read_bytes()[:6]  # the map is still readable


def _frame_args(buf, **kw):
    n_dlv = kw.get("n_dlv", 2)
    z = np.zeros(n_dlv, np.int64)
    args = {
        "buf": buf, "P": 14, "n_dlv": n_dlv, "off_n": 6, "off_e": 10, "clat": np.nan, "clon": np.nan,
        "day_ref": -1, "p": 0, "ns": 0, "final": True,
        "starts": np.empty(len(buf) // 15 + 1, np.int64), "events": np.empty(30, np.int64),
        "cnt": z.copy(), "vmin": z.copy(), "vmax": z.copy(), "kcnt": z.copy(),
    }  # fmt: skip
    args.update(kw)
    return list(args.values())


def test_kernel_rejects_bad_arguments():
    K = tlg._KERNEL
    buf = np.zeros(100, np.uint8)
    K.frame(*_frame_args(buf))  # sane call works
    for bad in (
        {"P": 3},
        {"P": 1000},
        {"n_dlv": 300},
        {"off_n": 12},  # A would extend past the prefix
        {"p": 101},
        {"p": -1},
        {"ns": 10**6},
        {"cnt": np.zeros(1, np.int64)},
        {"starts": np.empty(9, np.uint8)[1:].view(np.uint8)},  # misaligned
    ):
        with pytest.raises((ValueError, TypeError)):
            K.frame(*_frame_args(buf, **bad))
    # starts buffer too small for the records: stops with status 2, no overflow
    spec_buf = np.frombuffer(
        b"".join(struct.pack("<IHiiB", 1000 * k, 15000, 1, 1, 0) for k in range(10)),
        np.uint8,
    )
    status, _p, ns, *_ = K.frame(*_frame_args(spec_buf, starts=np.empty(3, np.int64)))
    assert status == 2 and ns == 3


def test_extract_and_fill_validate_inputs():
    K = tlg._KERNEL
    buf = np.frombuffer(
        b"".join(
            struct.pack("<IHiiBBi", 1000 * k, 15000, 1, 1, 1, 0, k) for k in range(4)
        ),
        np.uint8,
    )
    lay = np.zeros(0, np.int64)
    bounds = np.array([0, 4, 4], np.int64)

    def run(starts, ns=4, n_kept=4, bnd=bounds, cur=None):
        cur = bnd[:-1].copy() if cur is None else cur
        t = np.empty(n_kept, np.int64)
        rec = np.empty(max(int(bnd[-1]), 0), np.int64)
        val = np.empty(max(int(bnd[-1]), 0), np.int32)
        n = K.extract(
            buf, 14, 2, 6, 10, np.nan, np.nan, lay, np.asarray(starts, np.int64), ns,
            n_kept, 0, bnd, cur, t, np.empty(0, np.uint8), rec, val,
        )  # fmt: skip
        return n, t, rec, val

    n, _t, rec, val = run([0, 20, 40, 60])
    assert n == 4 and list(val) == [0, 1, 2, 3] and list(rec) == [0, 1, 2, 3]
    for starts in (
        [0, 20, 40, 79],
        [0, 20, 40, -1],
        [0, 20, 40, 10**9],
        [0, 20, 40, 66],
    ):
        with pytest.raises(ValueError):
            run(starts)
    with pytest.raises(ValueError):  # more values than allocated
        run([0, 20, 40, 60], bnd=np.array([0, 3, 3], np.int64))
    with pytest.raises(ValueError):  # more records than allocated
        run([0, 20, 40, 60], n_kept=3)
    with pytest.raises(ValueError):  # ns beyond the starts given
        run([0, 20], ns=4)
    with pytest.raises(ValueError):  # cursor outside its run
        run([0, 20, 40, 60], cur=np.array([5, 4], np.int64))

    out = np.empty(5, np.float64)
    K.fill(np.array([1, 3], np.int64), np.array([2, 4], np.int32), 5, np.nan, 0.5, out)
    np.testing.assert_array_equal(out, [np.nan, 1.0, 1.0, 2.0, 2.0])
    for rec in ([3, 1], [1, 1], [1, 5], [-1, 2]):
        with pytest.raises(ValueError):
            K.fill(
                np.array(rec, np.int64), np.array([2, 4], np.int32), 5, 0.0, 1.0, out
            )
    with pytest.raises(ValueError):  # output too small
        K.fill(np.array([0], np.int64), np.array([2], np.int32), 6, 0.0, 1.0, out)
    with pytest.raises(ValueError):  # values and indices differ in length
        K.fill(np.array([0, 1], np.int64), np.array([2], np.int32), 5, 0.0, 1.0, out)
