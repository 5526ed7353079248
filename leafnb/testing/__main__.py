"""``python -m leafnb.testing DIR``: (re)write the demo files of ``sample_data/`` into DIR."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from leafnb.testing.samples import write_samples


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m leafnb.testing <sample_data directory>", file=sys.stderr
        )
        return 2
    for p in write_samples(argv[0]):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
