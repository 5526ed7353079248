"""Write the seed corpus of the fuzz targets (``python -m tests.fuzz.make_corpus``).

The files are committed under ``tests/fuzz/corpus/``; rerun this only to change them.
Seeds are small (a few kB) so a mutation run stays fast; between them they cover
every branch the targets have: for archives each refusal of
:mod:`leafnb.formats.archive`, nesting, every readable compression method, zip64 and a
small bomb; for time logs every PTN field, constants, 0 to 8 DLVs and the sample log.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from leafnb.formats.isoxml.writer import DlvSpec, TimeLogSpec, write_tlg
from tests.fuzz import zips
from tests.fuzz.mutate import CORPUS

REPO = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000_000


def archives(folder: Path) -> None:
    xml = (REPO / "sample_data/isoxml/TASKDATA/TASKDATA.XML").read_bytes()
    csv = b"Longitude,Latitude,Time,Yld Vol(Dry)(bu/ac)\n-93.6,42.0,2024-10-01T12:00:00Z,150\n"
    zips.zip_of(folder / "plain.zip", {"TASKDATA/TASKDATA.XML": xml, "a.csv": csv})
    inner = zips.zip_of(folder / "inner.tmp", {"a.csv": csv, "b/c.txt": b"c"})
    zips.zip_of(
        folder / "nested.zip", {"card/inner.zip": inner.read_bytes(), "x": b"x"}
    )
    deeper = inner.read_bytes()
    for level in range(3):
        deeper = zips.zip_of(
            folder / "inner.tmp", {f"l{level}.zip": deeper}
        ).read_bytes()
    (folder / "nested4.zip").write_bytes(deeper)
    inner.unlink()
    for method, name in (
        (zipfile.ZIP_STORED, "stored"),
        (zipfile.ZIP_BZIP2, "bzip2"),
        (zipfile.ZIP_LZMA, "lzma"),
    ):
        zips.zip_of(folder / f"{name}.zip", {"a.csv": csv * 20}, method=method)
    with (
        zipfile.ZipFile(folder / "zip64.zip", "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open(zipfile.ZipInfo("a.csv", zips.EPOCH), "w", force_zip64=True) as out,
    ):
        out.write(csv)
    zips.zip_of(folder / "empty.zip", {})
    zips.zip_of(folder / "folders.zip", {"a/": b"", "a/b/": b"", "a/b/c.csv": csv})
    zips.zeros_zip(folder / "bomb.zip", {"zeros.bin": 4 * 2**20})
    zips.nested_bomb(folder / "nested_bomb.zip", 2, 2 * 2**20)
    for name, (build, _) in zips.HOSTILE.items():
        build(folder / f"hostile_{name}.zip")


def time_logs(folder: Path) -> None:
    sample = REPO / "sample_data/isoxml/TASKDATA"
    shutil.copyfile(sample / "TLG00001.xml", folder / "sample.xml")
    (folder / "sample.bin").write_bytes((sample / "TLG00001.bin").read_bytes()[:4096])
    rng = np.random.default_rng(14)
    for i, (logged, n_dlv, constants) in enumerate(
        [
            ("AB", 0, {}),
            ("AB", 3, {}),
            ("ABC", 8, {}),
            ("ABCDEFGHI", 4, {}),
            ("A", 2, {"B": 9.5}),
            ("CD", 1, {"A": 52.1, "B": 9.9}),
        ]
    ):
        n = 40
        spec = TimeLogSpec(
            f"TLG{i:05d}",
            T0 + np.arange(n, dtype=np.int64) * 1000,
            52.0 + np.cumsum(rng.uniform(0, 1e-5, n)),
            9.0 + np.cumsum(rng.uniform(0, 1e-5, n)),
            dlvs=[
                DlvSpec(
                    0x54 + d,
                    values=rng.integers(-(2**31), 2**31 - 1, n),
                    present=rng.random(n) < (1.0 if d == 0 else 0.4),
                )
                for d in range(n_dlv)
            ],
            logged=logged,
            constants=constants,
            ptn_values={
                k: rng.integers(0, 200, n) for k in logged if k not in ("A", "B")
            },
        )
        xml, binp = write_tlg(folder, spec)
        xml.rename(folder / f"gen{i}.xml")
        binp.rename(folder / f"gen{i}.bin")
    # found by the fuzzer: an unknown XML encoding raised LookupError, not CorruptFile
    header = (folder / "gen1.xml").read_bytes()
    (folder / "encoding.xml").write_bytes(header.replace(b"UTF-8", b"TTF-8", 1))
    shutil.copyfile(folder / "gen1.bin", folder / "encoding.bin")


def main() -> None:
    for name, write in (("archive", archives), ("tlg", time_logs)):
        folder = CORPUS / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        write(folder)
        print(folder, sorted(p.name for p in folder.iterdir()))


if __name__ == "__main__":
    main()
