"""Byte-level mutations of corpus seeds, as a hypothesis strategy (the fuzzers' engine).

A mutated input is a seed from ``tests/fuzz/corpus/<target>/`` with up to eight edits:
bit flips, bytes set to boundary values (0, 0xFF, 0x7F, 0x80), 16/32-bit fields set to
boundary values (a record count, a size, an offset), insertions, deletions, a
truncation, or a splice of another seed. Hypothesis shrinks a failing input to the
fewest edits, so a failure reads as "seed X with these two bytes changed".
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CORPUS = Path(__file__).resolve().parent / "corpus"
#: examples per fuzz target; LEAFNB_FUZZ_EXAMPLES raises it for a longer local run
EXAMPLES = int(os.environ.get("LEAFNB_FUZZ_EXAMPLES", "250"))

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same inputs on every run: CI stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_WORDS = (0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def seeds(target: str, suffix: str) -> dict[str, bytes]:
    """``{name: bytes}`` of the corpus files of *target* ending in *suffix*."""
    folder = CORPUS / target
    return {p.name: p.read_bytes() for p in sorted(folder.glob(f"*{suffix}"))}


@st.composite
def mutated(draw, pool: list[bytes], max_edits: int = 8) -> bytes:
    """One seed of *pool* with up to *max_edits* random edits."""
    data = bytearray(draw(st.sampled_from(pool)))
    # half the inputs get at most two edits: enough structure survives to reach the
    # deeper code (a zip's entries, a log's records), not only the first parser
    edits = draw(st.integers(0, 2) | st.integers(0, max_edits))
    for _ in range(edits):
        op = draw(
            st.sampled_from(
                ["flip", "byte", "word", "insert", "delete", "truncate", "splice"]
            )
        )
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[pos] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
        elif op == "word" and len(data) >= 4:
            pos = min(pos, len(data) - 4)
            value = draw(st.sampled_from(_WORDS))
            if draw(st.booleans()):
                struct.pack_into("<H", data, pos, value & 0xFFFF)
            else:
                struct.pack_into("<I", data, pos, value)
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice":
            other = draw(st.sampled_from(pool))
            cut = draw(st.integers(0, len(other)))
            data[pos:] = other[cut:]
    return bytes(data)
