"""Walk an extracted upload and find every machine dataset in it.

Each file is offered to the readers whose extensions match; the highest-scoring
claims win, and a winning reader also claims its sidecars (a shapefile's .dbf/.shx,
a TASKDATA folder's time logs), so no file belongs to two datasets. A dataset may
split into several leaf files (``Reader.parts``). Files no reader claims are
reported as ignored, never silently turned into leaf files.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from leafnb.errors import LeafnbWarning
from leafnb.formats.base import Reader
from leafnb.formats.registry import readers_for

__all__ = [
    "PROVIDER_FAMILIES",
    "Candidate",
    "Detection",
    "detect",
    "is_junk",
    "provider_contradicts",
]

#: providers that name the same data source: asking for one while the content is the
#: other is not a contradiction (20|20 monitor files are Precision Planting hardware
#: synced through Climate FieldView).
PROVIDER_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"ClimateFieldView", "PrecisionPlanting"}),
)


def provider_contradicts(requested: str | None, detected: str | None) -> bool:
    """True when the batch's ``provider`` parameter contradicts the detected content.

    ``Other`` and ``Leaf`` (auto-detect) and an undetected provider never contradict;
    providers of one family (:data:`PROVIDER_FAMILIES`) are compatible.
    """
    if (
        not requested
        or not detected
        or requested in ("Other", "Leaf")
        or requested == detected
    ):
        return False
    return not any(requested in fam and detected in fam for fam in PROVIDER_FAMILIES)


_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".localized"}


def is_junk(rel: Path) -> bool:
    """True for OS litter: ``.DS_Store``, ``Thumbs.db``, ``__MACOSX/``, ``._*`` forks."""
    return (
        rel.name.lower() in _JUNK_NAMES
        or rel.name.startswith("._")
        or any(p == "__MACOSX" for p in rel.parts)
    )


@dataclass(frozen=True)
class Candidate:
    """One detected leaf file: a dataset (or a part of one) and the reader that claimed it."""

    path: Path
    reader: str
    confidence: float
    relpath: str
    sidecars: tuple[Path, ...] = ()
    part: str | None = None
    provider: str | None = None
    file_format: str = ""
    operation_type: str | None = None

    @property
    def file_name(self) -> str:
        """Leaf's ``fileName``: the dataset's path inside the upload (plus the part)."""
        return f"{self.relpath}#{self.part}" if self.part else self.relpath

    @property
    def size_in_bytes(self) -> int:
        """Bytes of the main file and its sidecars."""
        return sum(p.stat().st_size for p in (self.path, *self.sidecars) if p.is_file())


@dataclass
class Detection:
    """Result of :func:`detect`."""

    candidates: list[Candidate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: ignored path → why no reader took it
    reasons: dict[str, str] = field(default_factory=dict)


def _sniff(reader: Reader, path: Path) -> float:
    try:
        return float(reader.sniff(path))
    except Exception as exc:  # a reader bug must not stop detection
        warnings.warn(
            f"reader {reader.name!r} failed to sniff {path.name}: {type(exc).__name__}: {exc}",
            LeafnbWarning,
            stacklevel=3,
        )
        return 0.0


def _matches(reader: Reader, name: str) -> bool:
    return not reader.extensions or name.lower().endswith(tuple(reader.extensions))


def ignored_reason(path: Path, readers: Mapping[str, Reader]) -> str:
    """Why no reader claimed *path*: empty, a reader's own explanation, or an unknown type."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if size == 0:
        return "empty file (0 bytes)"
    matching = [r for r in readers.values() if r.extensions and _matches(r, path.name)]
    for reader in matching:
        try:
            why = reader.explain(path)
        except Exception:  # an explanation must never break detection
            why = None
        if why:
            return why
    if matching:
        names = ", ".join(r.name for r in matching)
        return f"not recognised by the {names} reader(s) as machine data"
    suffix = path.suffix.lower() or "(no extension)"
    sidecar = {".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qpj", ".xml"}
    if suffix in sidecar:
        return f"a {suffix} side file without its main file"
    return f"no reader for {suffix} files"


def detect(root: str | Path, readers: Mapping[str, Reader] | None = None) -> Detection:
    """Find every machine dataset under *root*, best claims first.

    Parameters
    ----------
    root : path
        Folder holding an extracted upload.
    readers : mapping, optional
        Readers to consider (default: every installed reader).
    """
    root = Path(root)
    given = None if readers is None else dict(readers)

    def claiming(file_name: str) -> list[tuple[int, str, Reader]]:
        if given is None:  # installed readers, imported only when a file needs them
            return readers_for(file_name)
        return [
            (order, name, reader)
            for order, (name, reader) in enumerate(given.items())
            if _matches(reader, file_name)
        ]

    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    result = Detection()
    offers: list[tuple[float, int, str, Path]] = []
    chosen: dict[str, Reader] = {}
    for path in files:
        rel = path.relative_to(root)
        if is_junk(rel):
            continue
        for order, name, reader in claiming(path.name):
            score = _sniff(reader, path)
            if score > 0:
                offers.append((score, order, name, path))
                chosen[name] = reader
    # Highest confidence first, so a decoder plugin that sniffs e.g. 0.9 beats a
    # recognised-only built-in (<= 0.5) for the same file; registry order breaks ties
    # (built-ins before plugins); shallower paths first so a TASKDATA folder, an RCD card
    # or a .cn1 folder is claimed by its top-most file, which takes the rest as sidecars.
    offers.sort(key=lambda o: (-o[0], o[1], len(o[3].parts), str(o[3])))
    claimed: set[Path] = set()
    for score, _order, name, path in offers:
        if path in claimed:
            continue
        reader = chosen[name]
        sidecars = tuple(
            p for p in reader.sidecars(path) if p != path and p not in claimed
        )
        claimed.add(path)
        claimed.update(sidecars)
        rel = path.relative_to(root).as_posix()
        try:
            parts = reader.parts(path) or [None]
        except Exception:  # parts() problems surface later as a failed rawGeojson step
            parts = [None]
        for part in parts:
            try:
                facts = reader.describe(path, part) or {}
            except Exception:
                facts = {}
            result.candidates.append(
                Candidate(
                    path=path,
                    reader=name,
                    confidence=score,
                    relpath=rel,
                    sidecars=sidecars,
                    part=part,
                    provider=facts.get("provider") or reader.provider,
                    file_format=facts.get("file_format") or reader.file_format,
                    operation_type=facts.get("operation_type"),
                )
            )
    for path in files:
        rel = path.relative_to(root)
        if path not in claimed and not is_junk(rel):
            result.ignored.append(rel.as_posix())
            result.reasons[rel.as_posix()] = ignored_reason(
                path, {name: r for _, name, r in claiming(path.name)}
            )
    result.candidates.sort(key=lambda c: (c.relpath, c.part or ""))
    return result
