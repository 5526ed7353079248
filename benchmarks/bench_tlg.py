"""Benchmark: ISOXML TLG decoding, leafnb vs isoxml-js vs plain numpy.fromfile.

Generates a multi-million-record time log with leafnb's writer (temp dir), then times

* leafnb (C kernel): ``decode_tlg`` with the optional C extension
  (``leafnb.formats.isoxml._tlgkernel``: framing + scatter in C) + forward-filled
  float64 columns for every DLV (what the reader puts in the table); skipped when the
  extension is not built;
* leafnb (numpy): the same with the numpy fallback (``kernel=False``);
* isoxml-js: ``ExtendedTimeLog.parseBinaryFile()`` on the same files (node, same run;
  skipped when node or tests/oracle/node_modules/isoxml is missing);
* numpy.fromfile: reading the same bytes as uint8 (the I/O floor).

Run: ``python benchmarks/bench_tlg.py [--records 3000000] [--repeats 3]``.
Reports records/s and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from leafnb.formats.isoxml import tlg as tlg_mod
from leafnb.formats.isoxml.ddi import ddi_entry
from leafnb.formats.isoxml.tlg import decode_tlg, kernel_available, parse_tlg_header
from leafnb.formats.isoxml.writer import DlvSpec, TimeLogSpec, write_tlg

ORACLE = Path(__file__).resolve().parents[1] / "tests" / "oracle"


def make_log(n: int, seed: int = 0) -> TimeLogSpec:
    """A harvest-like log: 1 Hz, positions + 10 DLVs, most only logged on change."""
    rng = np.random.default_rng(seed)
    t = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 1000
    lat = 54.5 + np.cumsum(rng.normal(0, 1e-5, n))
    lon = 10.2 + np.cumsum(rng.normal(0, 1e-5, n))
    every = [
        (84, 1.0),
        (87, 1.0),
        (99, 0.3),
        (90, 1.0),
        (116, 0.5),
        (117, 0.5),
        (67, 0.001),
        (141, 0.01),
        (148, 0.1),
        (0xEA60, 0.2),
    ]
    dlvs = [
        DlvSpec(ddi, "DET-1", rng.integers(0, 10**6, n), rng.random(n) < p)
        for ddi, p in every
    ]
    return TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=dlvs,
        logged="ABCD",
        ptn_values={"C": rng.integers(0, 10**5, n), "D": np.full(n, 4)},
    )


def best(fn, repeats: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=3_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        spec = make_log(args.records)
        t0 = time.perf_counter()
        xml, binp = write_tlg(Path(tmp), spec)
        t_write = time.perf_counter() - t0
        size = binp.stat().st_size
        n = args.records
        header = parse_tlg_header(xml)
        scales = [ddi_entry(d.ddi).resolution for d in header.dlvs]

        def leafnb_decode(kernel: bool):
            log = decode_tlg(binp, header, kernel=kernel)
            assert log.decoder == ("kernel" if kernel else "numpy")
            # filled() uses the kernel unless LEAFNB_TLG_KERNEL=0
            saved = tlg_mod._KERNEL
            if not kernel:
                tlg_mod._KERNEL = None
            try:
                cols = [log.filled(i, s) for i, s in enumerate(scales)]
            finally:
                tlg_mod._KERNEL = saved
            lat, lon = log.lat_lon()
            return log, cols, lat, lon

        t_np, raw = best(lambda: np.fromfile(binp, dtype=np.uint8), args.repeats)
        assert len(raw) == size
        del raw
        t_kernel = None
        if kernel_available():
            t_kernel, (log, cols_k, _, _) = best(
                lambda: leafnb_decode(True), args.repeats
            )
            assert log.n == n and log.skipped == 0
            del log
        t_numpy, (log, cols_n, _, _) = best(lambda: leafnb_decode(False), args.repeats)
        assert log.n == n and log.skipped == 0
        if t_kernel is not None:  # both paths give the same columns
            for a, b in zip(cols_k, cols_n, strict=True):
                np.testing.assert_array_equal(a, b)
            del cols_k
        del cols_n, log
        t_leaf = t_kernel if t_kernel is not None else t_numpy

        t_js = None
        if shutil.which("node") and (ORACLE / "node_modules" / "isoxml").is_dir():
            out = subprocess.run(
                [
                    "node",
                    "--max-old-space-size=16384",
                    str(ORACLE / "isoxml_oracle.mjs"),
                    "bench",
                    str(xml),
                    str(binp),
                    "1",
                ],
                capture_output=True,
                text=True,
                cwd=ORACLE,
                timeout=3600,
            )
            if out.returncode == 0:
                res = json.loads(out.stdout)
                assert res["records"] == n, res
                t_js = res["seconds"]
            else:
                print(
                    "isoxml-js failed:",
                    out.stderr.strip().splitlines()[-1:],
                    file=sys.stderr,
                )

    print(
        f"time log: {n:,} records, {len(header.dlvs)} DLVs, {size / 1e6:.1f} MB (written in {t_write:.2f} s)"
    )
    rows = [("numpy.fromfile (bytes only)", t_np)]
    if t_kernel is not None:
        rows.append(("leafnb C kernel + filled columns", t_kernel))
    rows.append(("leafnb numpy + filled columns", t_numpy))
    if t_js is not None:
        rows.append(("isoxml-js parseBinaryFile", t_js))
    label = "C kernel" if t_kernel is not None else "numpy (kernel not built)"
    print(f"{'decoder':38} {'seconds':>9} {'records/s':>14} {'vs leafnb':>10}")
    for name, t in rows:
        print(f"{name:38} {t:9.3f} {n / t:14,.0f} {t / t_leaf:9.2f}x")
    print(
        f"leafnb ({label}) is {t_leaf / t_np:.1f}x numpy.fromfile"
        + (f"; {t_js / t_leaf:.1f}x faster than isoxml-js" if t_js else "")
        + (f"; numpy fallback {t_numpy / t_np:.1f}x numpy.fromfile" if t_kernel else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
