r"""Safe extraction of user zips: names, entry types, bombs, counts and nesting are bounded.

Every archive from a user is untrusted. Two stages, each with its own guarantees:

**Inspection** (:func:`inspect_zip`, central directory only, nothing written; the upload
route runs it before answering). Every entry's name and type is checked; the first bad
entry refuses the whole archive with :class:`~leafnb.errors.UnsafeArchive` (or
:class:`~leafnb.errors.InvalidRequest` for a file that is not a zip), whose message names
the entry (shortened) and never a server path:

* absolute paths, drive letters, ``..`` steps (path traversal), control characters;
* names longer than :attr:`ExtractLimits.max_name_chars` characters or with a component
  longer than :attr:`ExtractLimits.max_component_bytes` UTF-8 bytes (file systems refuse
  them: ``ENAMETOOLONG``);
* anything that is not a regular file or a folder (symbolic links, FIFOs, devices,
  sockets, as declared by the Unix mode);
* encrypted entries and compression methods Python cannot inflate (e.g. method 9,
  Deflate64, or 93, Zstandard); only stored, deflate, bzip2 and LZMA are read;
* the same path twice (after ``\`` -> ``/`` and ``./`` normalisation: a later entry
  would silently overwrite an earlier one), and a path that is both a file and a folder
  (``a`` beside ``a/b.csv``);
* more entries than :attr:`ExtractLimits.max_entries` (counted over every nesting level)
  or a central directory larger than :attr:`ExtractLimits.max_directory_bytes`, both
  found by walking the directory's headers *before* :mod:`zipfile` parses it (zipfile
  reads the whole directory into memory and builds an object per entry);
* declared sizes that already exceed the inflation budget.

**Extraction** (:func:`extract_zip`). Declared sizes can lie, so the bytes actually
inflated are counted while streaming, over the whole upload *including nested zips*
(the inner zip's own bytes count too: they were written). The budget is::

    min(max_total_bytes, max(ratio_floor, max_ratio * size of the upload))

and writing stops at the first chunk that would cross it: at most ``budget`` bytes are
ever on disk for one upload, whatever the size of any single entry (there is no
per-entry threshold below which bytes are free). Files are created exclusively
(``O_EXCL``), so nothing is overwritten and nothing is written through a link. Nested
zips are extracted in place (into a folder named after the inner zip) up to
:attr:`ExtractLimits.max_depth` levels; deeper ones are kept as files and reported in
``ignored``. When extraction is refused or fails, everything it wrote is removed.
The entries of one level are inflated and written by up to :data:`EXTRACT_THREADS`
threads (zlib and file writes release the GIL), each through its own handle on the
archive; the budget is one counter under a lock, checked before every chunk as
above, and the first refusal stops every thread. ``files`` lists the files in the
archive's order, whichever thread wrote them. A deflated entry is inflated by ISA-L
(``isal``: the same bytes as zlib at about half the CPU, its CRC-32 too) from its raw
bytes, after :mod:`zipfile` has checked its local header; its size and CRC must be the
central directory's, as :mod:`zipfile` checks them. Other entries go through
:mod:`zipfile`.

Examples
--------
>>> import tempfile, zipfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(d / "up.zip", "w") as zf:
...     zf.writestr("TASKDATA/TASKDATA.XML", "<ISO11783_TaskData/>")
>>> extract_zip(d / "up.zip", d / "out").files[0].name
'TASKDATA.XML'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import struct
import threading
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from leafnb.errors import InvalidRequest, UnsafeArchive

__all__ = [
    "ExtractLimits",
    "ExtractReport",
    "extract_zip",
    "format_bytes",
    "inspect_zip",
    "remove_tree",
]

KB, MB, GB = 1024, 1024**2, 1024**3

#: threads that inflate and write the entries of one level (a 3 GB season: 15 CPU s)
EXTRACT_THREADS = max(1, min(4, os.cpu_count() or 1))

#: compression methods Python's zipfile inflates (stored, deflate, bzip2, LZMA)
READABLE_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "LZMA",
}
#: names of other methods seen in the wild (for the error message)
_METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    10: "PKWARE DCL Implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "Zstandard",
    95: "XZ",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
    99: "AES encryption",
}
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ExtractLimits:
    """Limits applied to one upload (spec §4.3: .zip only, 3 GB).

    The inflation budget of an upload of ``n`` bytes is
    ``min(max_total_bytes, max(ratio_floor, max_ratio * n))`` bytes written, over all
    nesting levels.
    """

    #: size of the upload itself (Leaf's limit)
    max_archive_bytes: int = 3 * GB
    #: bytes written for one upload, whatever its size
    max_total_bytes: int = 12 * GB
    #: bytes written / bytes uploaded, above the floor (deflate can reach ~1030x; real
    #: monitor exports stay far below: TLG binaries ~3-10x, CSV/DBF ~5-60x)
    max_ratio: float = 200.0
    #: bytes any upload may inflate to, whatever the ratio (small uploads of sparse files)
    ratio_floor: int = 64 * MB
    #: entries over every nesting level
    max_entries: int = 100_000
    #: bytes of one zip's central directory (the list of entries); 100,000 entries
    #: with 1,024-character names and ordinary extra fields take ~115 MB
    max_directory_bytes: int = 128 * MB
    #: the upload itself is depth 1 (spec says 2 levels of nesting; we allow 3)
    max_depth: int = 3
    #: characters of an entry's path
    max_name_chars: int = 1024
    #: UTF-8 bytes of one path component (NAME_MAX of Linux/macOS/Windows file systems)
    max_component_bytes: int = 255

    def budget(self, upload_bytes: int) -> int:
        """Bytes an upload of *upload_bytes* may inflate to (over all nesting levels)."""
        return int(
            min(
                self.max_total_bytes,
                max(self.ratio_floor, self.max_ratio * upload_bytes),
            )
        )


@dataclass
class ExtractReport:
    """What extraction did: files written, nested zips opened, entries ignored."""

    files: list[Path] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: bytes of the extracted files left on disk
    total_bytes: int = 0
    #: every byte written, nested zips included (what the budget bounds)
    written: int = 0
    #: entries seen over every nesting level (what ``max_entries`` bounds)
    entries: int = 0
    #: ``(path, declared size)`` of every file entry checked (paths ``/``-separated, as
    #: they will be extracted; sizes uncompressed, as the directory declares them)
    declared: list[tuple[str, int]] = field(default_factory=list)


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 kB'`` (binary multiples, short)."""
    for unit, size in (("GB", GB), ("MB", MB), ("kB", KB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def _short(name: str, limit: int = 80) -> str:
    """An entry name for a message: at most *limit* characters, repr-quoted."""
    return repr(name if len(name) <= limit else name[: limit - 1] + "…")


def _entry_path(
    name: str, label: str, limits: ExtractLimits
) -> tuple[PurePosixPath | None, bool]:
    """``(relative path, is a folder)`` of an entry (path None for ``./``), or raise."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise UnsafeArchive(
            f"{label}: entry {_short(name)} has an absolute path; refusing to extract"
        )
    if any(unicodedata.category(c) == "Cc" for c in norm):
        raise UnsafeArchive(
            f"{label}: entry {_short(name)} has control characters in its name; "
            "refusing to extract"
        )
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(
            f"{label}: entry {_short(name)} points outside the archive (path traversal); "
            "refusing to extract"
        )
    if len(norm) > limits.max_name_chars:
        raise UnsafeArchive(
            f"{label}: entry {_short(name)} has a {len(norm)}-character path "
            f"(limit {limits.max_name_chars}); refusing to extract"
        )
    for part in parts:
        if len(part.encode("utf-8", "surrogatepass")) > limits.max_component_bytes:
            raise UnsafeArchive(
                f"{label}: entry {_short(name)} has a name component longer than "
                f"{limits.max_component_bytes} bytes; refusing to extract"
            )
    return (PurePosixPath(*parts) if parts else None), norm.endswith("/")


def _kind(info: zipfile.ZipInfo) -> str | None:
    """What a Unix mode declares when it is not a regular file or folder (else None)."""
    if info.create_system != 3:
        return None
    mode = info.external_attr >> 16
    if not mode:
        return None
    for test, what in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return what
    return None


def _check_entries(
    zf: zipfile.ZipFile,
    label: str,
    limits: ExtractLimits,
    report: ExtractReport,
    budget: int,
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Check every entry of *zf* (central directory only); return the files to write."""
    infos = zf.infolist()
    report.entries += len(infos)
    if report.entries > limits.max_entries:
        raise _too_many(label, limits)
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()

    def both(path: PurePosixPath) -> UnsafeArchive:
        return UnsafeArchive(
            f"{label}: {_short(str(path))} is both a file and a folder; "
            "refusing to extract"
        )

    def add_folder(path: PurePosixPath) -> None:
        for folder in (path, *path.parents):
            if str(folder) == ".":
                break
            if folder in files:
                raise both(folder)
            folders.add(folder)

    declared = 0
    for info in infos:
        rel, is_folder = _entry_path(info.filename, label, limits)
        what = _kind(info)
        if what is not None:
            raise UnsafeArchive(
                f"{label}: entry {_short(info.filename)} is {what}; only regular files "
                "and folders are extracted, refusing the archive"
            )
        if info.flag_bits & 0x1:
            raise UnsafeArchive(
                f"{label}: entry {_short(info.filename)} is encrypted (password-protected "
                "zip); upload an unencrypted zip"
            )
        if info.compress_type not in READABLE_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, "unknown")
            raise UnsafeArchive(
                f"{label}: entry {_short(info.filename)} uses compression method "
                f"{info.compress_type} ({method}), which leafnb cannot read; re-create the "
                "zip with the standard deflate method"
            )
        if rel is None:
            continue
        if is_folder:
            add_folder(rel)
            continue
        if rel in files:
            raise UnsafeArchive(
                f"{label}: entry {_short(info.filename)} appears twice (the second copy "
                "would overwrite the first); refusing to extract"
            )
        if rel in folders:
            raise both(rel)
        files.add(rel)
        add_folder(rel.parent)
        declared += info.file_size
        plan.append((info, rel))
        report.declared.append((str(rel), info.file_size))
    if report.written + declared > budget:
        raise _bomb(
            label,
            limits,
            budget,
            f"its entries declare {format_bytes(declared)}; nothing was extracted",
        )
    return plan


def _bomb(label: str, limits: ExtractLimits, budget: int, detail: str) -> UnsafeArchive:
    return UnsafeArchive(
        f"{label} inflates beyond {format_bytes(budget)}, the most this upload may "
        f"inflate to ({limits.max_ratio:.0f}× its size, at least "
        f"{format_bytes(limits.ratio_floor)}, at most "
        f"{format_bytes(limits.max_total_bytes)}; zip bomb?): {detail}"
    )


def _walk_directory(source: Path, label: str, limits: ExtractLimits, seen: int) -> None:
    """Count the central directory's entries the way zipfile will parse them, up to the limits.

    zipfile reads the whole directory into memory and makes an object per
    entry, so a 3 GB upload of tiny entries would cost gigabytes and minutes first.

    Anything malformed is left for :class:`zipfile.ZipFile` to report.
    """
    with open(source, "rb") as fh:
        try:  # the end-of-directory record(s), located exactly as zipfile does
            end = zipfile._EndRecData(fh)
            size = end[zipfile._ECD_SIZE]
            start = end[zipfile._ECD_LOCATION] - size
            if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
                start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
        except (
            Exception
        ):  # not a zip (zipfile says so next), or other zipfile internals
            return
        if size > limits.max_directory_bytes:
            raise UnsafeArchive(
                f"{label} has a {format_bytes(size)} list of entries (limit "
                f"{format_bytes(limits.max_directory_bytes)}); refusing to extract"
            )
        if start < 0:
            return
        fh.seek(start)
        buf, pos, walked = b"", 0, 0
        while walked < size:
            if len(buf) - pos < 46:  # next header: refill the window
                buf, pos = buf[pos:] + fh.read(CHUNK), 0
                if len(buf) < 46:
                    return
            if buf[pos : pos + 4] != b"PK\x01\x02":
                return
            step = 46 + sum(struct.unpack_from("<HHH", buf, pos + 28))
            pos, walked, seen = pos + step, walked + step, seen + 1
            if seen > limits.max_entries:
                raise _too_many(label, limits)
            if pos > len(buf):  # the names/extras run past the window
                fh.seek(pos - len(buf), os.SEEK_CUR)
                buf, pos = b"", 0


def _too_many(label: str, limits: ExtractLimits) -> UnsafeArchive:
    return UnsafeArchive(
        f"{label} has more than {limits.max_entries} entries (counting nested zips); "
        "refusing to extract"
    )


def _open(
    source: Path, label: str, limits: ExtractLimits, seen: int = 0
) -> zipfile.ZipFile:
    _walk_directory(source, label, limits, seen)
    try:
        return zipfile.ZipFile(source)
    except Exception as exc:  # zipfile raises many types on a mangled directory
        reason = str(exc) if isinstance(exc, zipfile.BadZipFile) else type(exc).__name__
        raise InvalidRequest(
            f"{label} is not a valid zip archive ({reason}); upload the monitor folder as a .zip"
        ) from None


def _check_size(source: Path, limits: ExtractLimits) -> int:
    size = source.stat().st_size
    if size > limits.max_archive_bytes:
        raise UnsafeArchive(
            f"{source.name} is {format_bytes(size)}; uploads are limited to "
            f"{format_bytes(limits.max_archive_bytes)}"
        )
    return size


def inspect_zip(
    source: str | Path, limits: ExtractLimits | None = None
) -> ExtractReport:
    """Check an upload's size and central directory without writing anything.

    Returns what the directory says: its ``entries``, and each file entry's path and
    declared size (``declared``; nothing is written: ``files`` stays empty). Nested
    zips are checked when they are extracted.

    Raises
    ------
    InvalidRequest
        Not a zip (or truncated).
    UnsafeArchive
        Any of the refusals listed in the module docstring.

    Examples
    --------
    >>> import tempfile, zipfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(d / "a.zip", "w") as zf:
    ...     zf.writestr("a", "file")
    ...     zf.writestr("a/b.csv", "x,y")
    >>> inspect_zip(d / "a.zip")
    Traceback (most recent call last):
    ...
    leafnb.errors.UnsafeArchive: a.zip: 'a' is both a file and a folder; refusing to extract
    >>> with zipfile.ZipFile(d / "b.zip", "w") as zf:
    ...     zf.writestr("a/b.csv", "x,y")
    >>> report = inspect_zip(d / "b.zip")
    >>> report.entries, report.declared
    (1, [('a/b.csv', 3)])
    """
    limits = limits or ExtractLimits()
    source = Path(source)
    size = _check_size(source, limits)
    with _open(source, source.name, limits) as zf:
        report = ExtractReport()
        _check_entries(zf, source.name, limits, report, limits.budget(size))
        return report


def extract_zip(
    source: str | Path,
    dest: str | Path,
    limits: ExtractLimits | None = None,
    *,
    on_file: Callable[[Path], None] | None = None,
    label: str | None = None,
    only: str | PurePosixPath | None = None,
) -> ExtractReport:
    """Extract *source* into the new folder *dest* safely, opening nested zips.

    Parameters
    ----------
    source : path
        The uploaded zip.
    dest : path
        Folder to create (it must not exist, or be empty); removed again when
        extraction is refused or fails.
    limits : ExtractLimits, optional
        Size, ratio, count, name and nesting limits (defaults: :class:`ExtractLimits`).
    on_file : callable, optional
        Called with each file's path after it is written (progress, crash tests).
    label : str, optional
        The upload's name in messages (default: the file name of *source*).
    only : str, optional
        Write only the files under this folder of the extracted tree (``/``-separated,
        relative to *dest*; nested zips' folders included): an original extracted again
        (:mod:`leafnb.pipeline.originals`). Every path is the one a full extraction
        gives, every level that is opened is checked as in a full extraction, and the
        budget is the upload's; nested zips that cannot hold such files are not opened.

    Raises
    ------
    InvalidRequest
        The file (or a nested zip) is not a zip or is truncated/corrupt.
    UnsafeArchive
        Any refusal of :func:`inspect_zip`, in the upload or a nested zip, or the
        inflation budget crossed while writing.
    """
    limits = limits or ExtractLimits()
    source, dest = Path(source), Path(dest)
    size = _check_size(source, limits)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError("extract_zip needs a new or empty destination folder")
    report = ExtractReport()
    try:
        _extract(
            source,
            dest.resolve(),
            limits,
            report,
            limits.budget(size),
            depth=1,
            label=label or source.name,
            on_file=on_file,
            prefix=PurePosixPath(),
            only=None if only is None else PurePosixPath(only),
        )
    except BaseException:
        remove_tree(dest)
        raise
    return report


def _extract(
    source: Path,
    dest: Path,
    limits: ExtractLimits,
    report: ExtractReport,
    budget: int,
    depth: int,
    label: str,
    on_file: Callable[[Path], None] | None,
    prefix: PurePosixPath,
    only: PurePosixPath | None,
) -> None:
    with _open(source, label, limits, report.entries) as zf:
        plan = _check_entries(zf, label, limits, report, budget)
        folders = _nested_folders(plan) if depth < limits.max_depth else {}
        nested: list[tuple[Path, PurePosixPath]] = []
        members: list[tuple[zipfile.ZipInfo, Path]] = []
        for info, rel in plan:
            inner = folders.get(rel)
            if not (
                _wanted(prefix / rel, only)
                or (inner is not None and _overlaps(prefix / inner, only))
            ):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            members.append((info, target))
            if target.suffix.lower() == ".zip":
                nested.append((target, rel))
        _copy_members(source, zf, members, limits, budget, report, label, on_file)
    # inner zips are opened once every entry of this level is on disk
    for target, rel in nested:
        if rel not in folders:
            report.ignored.append(
                f"{label}/{rel}: nested deeper than {limits.max_depth} levels"
            )
            continue
        inner = dest / folders[rel]
        inner.mkdir()
        _extract(
            target,
            inner,
            limits,
            report,
            budget,
            depth + 1,
            f"{label}/{rel}",
            on_file,
            prefix / folders[rel],
            only,
        )
        report.nested.append(f"{label}/{rel}")
        report.total_bytes -= target.stat().st_size
        report.files.remove(target)
        target.unlink()


def _wanted(path: PurePosixPath, only: PurePosixPath | None) -> bool:
    """True when a file at *path* (relative to the extraction root) is to be written."""
    return only is None or path.is_relative_to(only)


def _overlaps(folder: PurePosixPath, only: PurePosixPath | None) -> bool:
    """True when a nested zip opened into *folder* can hold files that are wanted."""
    return only is None or folder.is_relative_to(only) or only.is_relative_to(folder)


def _nested_folders(
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]],
) -> dict[PurePosixPath, PurePosixPath]:
    """The folder each inner zip of a level is opened into, from the level's entry list.

    An inner zip ``x.zip`` goes into ``x``, or ``x.zip.d``, ``x.zip.d2``… when that name
    is taken: by an entry or folder of the level, by an earlier inner zip's folder. An
    inner zip is deleted once opened, so its own name is free again for a later one.
    The names come from the entry list, not from the disk, so an extraction of a part of
    the upload (``only``) names every folder as the full extraction did.
    """
    taken: set[PurePosixPath] = set()
    for _info, rel in plan:
        taken.add(rel)
        taken.update(rel.parents)
    folders: dict[PurePosixPath, PurePosixPath] = {}
    for _info, rel in plan:
        if rel.suffix.lower() != ".zip":
            continue
        inner, n = rel.with_suffix(""), 0
        while inner in taken:
            n += 1
            inner = rel.with_name(f"{rel.name}.d{n if n > 1 else ''}")
        taken.add(inner)
        taken.discard(rel)
        folders[rel] = inner
    return folders


def _copy_members(
    source: Path,
    zf: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, Path]],
    limits: ExtractLimits,
    budget: int,
    report: ExtractReport,
    label: str,
    on_file: Callable[[Path], None] | None,
) -> None:
    """Write *members* (entry, target) of the open archive *zf* (at *source*).

    Up to :data:`EXTRACT_THREADS` threads take the next entry in turn; the first
    thread reads through *zf*, the others through their own handle (a ``ZipFile``
    reads its file through one position). The first error stops every thread and is
    raised here; ``report.files`` gets the targets in the order of *members*.
    """
    lock = threading.Lock()
    queue = iter(members)
    errors: list[BaseException] = []
    sizes: dict[Path, int] = {}

    def work(handle: zipfile.ZipFile) -> None:
        while True:
            with lock:
                item = None if errors else next(queue, None)
            if item is None:
                return
            info, target = item
            try:
                sizes[target] = _copy_member(
                    handle, info, target, limits, budget, report, label, lock, errors
                )
                if on_file is not None:
                    on_file(target)
            except BaseException as exc:  # every error stops the others
                with lock:
                    errors.append(exc)
                return

    def own_handle() -> None:
        with zipfile.ZipFile(source) as handle:  # checked when *zf* was opened
            work(handle)

    helpers = [
        threading.Thread(target=own_handle, name=f"extract-{i}", daemon=True)
        for i in range(min(EXTRACT_THREADS, len(members)) - 1)
    ]
    for thread in helpers:
        thread.start()
    try:
        work(zf)
    except BaseException as exc:  # an interrupt outside an entry: stop the others too
        with lock:
            errors.append(exc)
    finally:
        for thread in helpers:
            thread.join()
    if errors:
        raise errors[0]
    for _info, target in members:
        report.total_bytes += sizes[target]
        report.files.append(target)


def _copy_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: ExtractLimits,
    budget: int,
    report: ExtractReport,
    label: str,
    lock: threading.Lock,
    errors: list[BaseException],
) -> int:
    """Inflate one entry into *target*; the bytes written (the budget counted under *lock*)."""
    written = 0
    with contextlib.ExitStack() as stack:
        src = _read_guard(label, info, lambda: stack.enter_context(zf.open(info)))
        if info.compress_type == zipfile.ZIP_DEFLATED and zf.filename:
            # zipfile checked the local header: the raw bytes follow it
            src = _Inflated(stack.enter_context(open(zf.filename, "rb")), info)
        out = stack.enter_context(open(target, "xb"))  # never overwrite, never follow
        while chunk := _read_guard(label, info, lambda: src.read(CHUNK)):
            with lock:
                if errors:  # another thread refused: stop here, it raises
                    return written
                if report.written + len(chunk) > budget:
                    raise _bomb(
                        label,
                        limits,
                        budget,
                        f"stopped after {format_bytes(report.written)} and removed",
                    )
                report.written += len(chunk)
            out.write(chunk)
            written += len(chunk)
    return written


class _Inflated:
    """A deflated entry's data read from the archive file *raw*, inflated by ISA-L.

    ``read(n)`` gives at most *n* bytes at a time (a zip bomb is inflated chunk by
    chunk, as by :mod:`zipfile`). The raw bytes are the central directory's
    ``compress_size`` after the local header; the data must end there with a deflate
    stream's end, inflate to ``file_size`` bytes and have the recorded CRC-32, else
    :class:`zipfile.BadZipFile` (as :mod:`zipfile` raises for a bad CRC).
    """

    def __init__(self, raw: Any, info: zipfile.ZipInfo):
        from isal import isal_zlib

        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
        raw.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
        self._raw, self._info, self._zlib = raw, info, isal_zlib
        self._left = info.compress_size  # raw bytes not read yet
        self._pending = b""
        self._inflate = isal_zlib.decompressobj(-15)
        self._crc = self._size = 0

    def read(self, n: int) -> bytes:
        out = b""
        while not out and not self._inflate.eof:
            if not self._pending:
                if self._left <= 0:
                    raise zipfile.BadZipFile("compressed data ended early")
                self._pending = self._raw.read(min(CHUNK, self._left))
                if not self._pending:
                    raise zipfile.BadZipFile("archive ended early")
                self._left -= len(self._pending)
            out = self._inflate.decompress(self._pending, n)
            self._pending = self._inflate.unconsumed_tail
        self._crc = self._zlib.crc32(out, self._crc)
        self._size += len(out)
        if self._size > self._info.file_size:
            raise zipfile.BadZipFile("entry inflates past its recorded size")
        if not out and (
            self._size != self._info.file_size or self._crc != self._info.CRC
        ):
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._info.filename!r}")
        return out


#: a zip local file header (APPNOTE 4.3.7), up to the name and extra field lengths
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _read_guard(label: str, info: zipfile.ZipInfo, read: Callable[[], Any]) -> Any:
    """Run *read* (opening or inflating an entry); its errors mean corrupt data.

    zipfile and the decompressors raise BadZipFile (CRC), zlib.error, lzma.LZMAError,
    OSError (bz2), EOFError, ValueError, RuntimeError...: all are a broken entry, never
    a server fault (writing is outside this guard, so a full disk is not one of them).
    """
    try:
        return read()
    except Exception as exc:
        raise InvalidRequest(
            f"{label}: entry {_short(info.filename)} is corrupt or truncated "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def remove_tree(path: Path) -> None:
    """Delete an extraction folder (used when an upload is refused or fails).

    Another deletion of a folder inside it at the same time (a discarded extraction,
    :mod:`leafnb.pipeline.originals`) can leave a folder it had not emptied yet when
    this one gave up on it: a second pass removes what is left.
    """
    for _ in range(3):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.isdir(path) or os.path.islink(path):
            break
    if os.path.lexists(path) and not os.path.isdir(path):  # a file or link left there
        Path(path).unlink(missing_ok=True)
