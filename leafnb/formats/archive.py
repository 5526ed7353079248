"""Safe extraction of user zips: traversal, absolute paths, symlinks, bombs, size limits.

Every archive from a user is untrusted. Before anything is written we check each entry's
name and type; while writing we count the bytes actually inflated (the sizes a zip
declares can lie) and stop at the limits. Nested zips are extracted in place (into a
folder named after the inner zip) up to ``max_depth`` levels of nesting.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from leafnb.errors import InvalidRequest, UnsafeArchive

__all__ = ["ExtractLimits", "ExtractReport", "extract_zip"]

GB = 1024**3


@dataclass(frozen=True)
class ExtractLimits:
    """Limits applied while extracting one upload (spec §4.3: .zip only, 3 GB)."""

    max_archive_bytes: int = 3 * GB
    max_total_bytes: int = 12 * GB  # inflated bytes over all nesting levels
    max_entries: int = 100_000
    max_ratio: float = 250.0  # inflated / compressed, for entries above ratio_floor
    ratio_floor: int = 16 * 1024**2
    max_depth: int = (
        3  # the upload itself is depth 1 (spec says 2 levels of nesting; we allow 3)
    )


@dataclass
class ExtractReport:
    """What extraction did: files written, nested zips opened, entries ignored."""

    files: list[Path] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    total_bytes: int = 0


def _safe_name(name: str, archive: str) -> PurePosixPath | None:
    """Return the entry's relative path, or raise UnsafeArchive; None for directories."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise UnsafeArchive(
            f"{archive}: entry {name!r} has an absolute path; refusing to extract"
        )
    parts = [p for p in PurePosixPath(norm).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchive(
            f"{archive}: entry {name!r} points outside the archive (path traversal); "
            "refusing to extract"
        )
    if not parts or norm.endswith("/"):
        return None
    return PurePosixPath(*parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def extract_zip(
    source: str | Path, dest: str | Path, limits: ExtractLimits | None = None
) -> ExtractReport:
    """Extract *source* into *dest* safely, opening nested zips.

    Raises
    ------
    InvalidRequest
        The file is not a zip or is truncated/corrupt.
    UnsafeArchive
        Traversal, absolute path, symlink, too many entries, too large, or a bomb.
    """
    limits = limits or ExtractLimits()
    source, dest = Path(source), Path(dest)
    size = source.stat().st_size
    if size > limits.max_archive_bytes:
        raise UnsafeArchive(
            f"{source.name} is {size / GB:.2f} GB; uploads are limited to "
            f"{limits.max_archive_bytes / GB:.0f} GB"
        )
    dest.mkdir(parents=True, exist_ok=True)
    report = ExtractReport()
    _extract(source, dest.resolve(), limits, report, depth=1, label=source.name)
    return report


def _extract(
    source: Path,
    dest: Path,
    limits: ExtractLimits,
    report: ExtractReport,
    depth: int,
    label: str,
) -> None:
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise InvalidRequest(
            f"{label} is not a valid zip archive ({exc}); upload the monitor folder as a .zip"
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise UnsafeArchive(
                f"{label} has {len(infos)} entries (limit {limits.max_entries})"
            )
        # Check every name before writing anything: a bad entry rejects the archive whole.
        plan = []
        for info in infos:
            rel = _safe_name(info.filename, label)
            if _is_symlink(info):
                raise UnsafeArchive(
                    f"{label}: entry {info.filename!r} is a symbolic link; refusing to extract"
                )
            if rel is None:
                continue
            if (
                info.file_size > limits.ratio_floor
                and info.compress_size
                and (info.file_size / info.compress_size > limits.max_ratio)
            ):
                raise UnsafeArchive(
                    f"{label}: entry {info.filename!r} inflates {info.file_size / info.compress_size:.0f}× "
                    "(zip bomb?); refusing to extract"
                )
            plan.append((info, rel))
        for info, rel in plan:
            target = (dest / rel).resolve()
            if not target.is_relative_to(dest):
                raise UnsafeArchive(
                    f"{label}: entry {info.filename!r} escapes the extraction folder"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_member(zf, info, target, limits, report, label)
            if target.suffix.lower() == ".zip":
                if depth >= limits.max_depth:
                    report.ignored.append(
                        f"{label}/{rel}: nested deeper than {limits.max_depth} levels"
                    )
                    continue
                inner = target.with_suffix("")
                if inner.exists():
                    inner = target.with_name(target.name + ".d")
                _extract(target, inner, limits, report, depth + 1, f"{label}/{rel}")
                report.nested.append(f"{label}/{rel}")
                report.total_bytes -= target.stat().st_size
                report.files.remove(target)
                target.unlink()
            # symlinks cannot be created by this code path (we write bytes only)


def _copy_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: ExtractLimits,
    report: ExtractReport,
    label: str,
) -> None:
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1024 * 1024):
                written += len(chunk)
                if report.total_bytes + written > limits.max_total_bytes:
                    raise UnsafeArchive(
                        f"{label}: inflates beyond {limits.max_total_bytes / GB:.0f} GB "
                        "(zip bomb?); refusing to extract"
                    )
                if (
                    info.compress_size
                    and written > limits.ratio_floor
                    and (written / info.compress_size > limits.max_ratio)
                ):
                    raise UnsafeArchive(
                        f"{label}: entry {info.filename!r} inflates more than "
                        f"{limits.max_ratio:.0f}× (zip bomb?); refusing to extract"
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        target.unlink(missing_ok=True)
        raise InvalidRequest(
            f"{label}: entry {info.filename!r} is corrupt or truncated ({exc})"
        ) from None
    except UnsafeArchive:
        target.unlink(missing_ok=True)
        raise
    report.total_bytes += written
    report.files.append(target)


def remove_tree(path: Path) -> None:
    """Delete an extraction folder (used when an upload is rejected)."""
    shutil.rmtree(path, ignore_errors=True)
