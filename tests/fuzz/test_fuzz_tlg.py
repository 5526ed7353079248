"""Fuzz target: the TLG decoder, C kernel and numpy fallback, on mutated logs (issue 14).

Every input pairs a (sometimes mutated) header of ``tests/fuzz/corpus/tlg/*.xml`` with
a mutated binary of any seed (``*.bin``: layouts that do not match the header are part
of the game), decoded with a chunk size that puts chunk boundaries inside records.
Properties: the header parser raises nothing but ``CorruptFile``; both decoders raise
nothing but ``CorruptFile``, and where the kernel is built they agree exactly
(records, skipped counts, notes, every value; ``decode_both`` of the kernel tests).
Inputs stay below ~8 kB, so the run is bounded even by a slow fallback.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from leafnb.errors import CorruptFile
from leafnb.formats.isoxml.tlg import decode_tlg, kernel_available, parse_tlg_header
from tests.fuzz.mutate import FUZZ_SETTINGS, mutated, seeds

HEADERS = seeds("tlg", ".xml")
BINARIES = seeds("tlg", ".bin")


def test_the_corpus_is_there():
    assert len(HEADERS) >= 6 and set(HEADERS) == {
        n.replace(".bin", ".xml") for n in BINARIES
    }


@FUZZ_SETTINGS
@given(
    header=st.one_of(
        st.sampled_from(list(HEADERS.values())),
        mutated(list(HEADERS.values()), max_edits=2),
    ),
    binary=mutated(list(BINARIES.values())),
    chunk=st.sampled_from([32 * 1024 * 1024, 1024, 509]),
)
def test_decoding_mutated_logs_is_safe_and_both_decoders_agree(header, binary, chunk):
    with tempfile.TemporaryDirectory() as tmp:
        xml, binp = Path(tmp) / "TLG00001.xml", Path(tmp) / "TLG00001.bin"
        xml.write_bytes(header)
        binp.write_bytes(binary)
        try:
            parsed = parse_tlg_header(xml)
        except CorruptFile:
            return
        if kernel_available():
            from tests.formats.isoxml.test_kernel import decode_both

            decode_both(binp, parsed, chunk_bytes=chunk)
        else:
            with contextlib.suppress(CorruptFile):
                decode_tlg(binp, parsed, kernel=False, chunk_bytes=chunk)
