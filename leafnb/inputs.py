"""What a user points at — a zip, a folder, one machine file — as one upload zip, each dataset once.

Both faces use it: ``leafnb convert PATH`` and the UploadPanel's server-path picker.

Rules
-----
- A ``.zip`` is uploaded as it is.
- One machine file (``harvest.csv``, ``field.shp``, ``TASKDATA.XML``) is zipped with the
  files its dataset needs: the best-sniffing reader's sidecars (a shapefile's
  ``.dbf``/``.shx``/``.prj``, a TASKDATA folder's time logs) and the files sharing its stem.
- A folder (a monitor card, an export folder) is zipped whole, except that **a dataset
  whose content is already in the upload is left out**. A card folder often holds both
  the files and a zip of them; without this every file would convert twice.

  A *dataset* is what detection (:func:`leafnb.formats.detect.detect`) makes one leaf file
  of: its main file, its sidecars and its part (an ISOXML task). Its content key is the
  SHA-256 of the main file, the part, and the sorted SHA-256 of its sidecars — file names
  do not matter, so ``harvest.csv`` and ``harvest (1).csv`` with the same bytes are one
  dataset, while two shapefiles that merely share an identical ``.prj`` are two.
  Loose files come first, then each zip in path order (its nested zips opened the way an
  upload's are, by :func:`leafnb.formats.archive.extract_zip`): a zip whose every dataset
  is already in is left out; a zip with some new datasets contributes only those (under
  a folder named after the zip); a loose dataset that repeats an earlier one is left out.
  Files no reader claims are kept (the batch lists them as ignored entries).

Examples
--------
>>> import tempfile, pathlib
>>> from leafnb.inputs import prepare_upload
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "notes.txt").write_text("not machine data")
>>> upload = prepare_upload(folder)
>>> upload.path.suffix, upload.skipped
('.zip', [])
>>> upload.cleanup()
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from leafnb.errors import InvalidRequest
from leafnb.formats.archive import extract_zip
from leafnb.formats.detect import Candidate, detect, is_junk
from leafnb.formats.registry import list_readers

__all__ = ["PreparedUpload", "dataset_files", "prepare_upload", "zip_folder"]

#: files of a folder never put in an upload (a sample folder's README, helper scripts)
_SKIPPED_SUFFIXES = (".md", ".py", ".pyc")


@dataclass
class PreparedUpload:
    """The zip to upload and what was left out of it."""

    path: Path
    """The ``.zip`` to give to :meth:`leafnb.Workspace.upload_batch`."""
    skipped: list[str] = field(default_factory=list)
    """One line per dataset or zip left out because its content is already in the upload."""
    temporary: bool = False
    """True when :attr:`path` was written here (delete it with :meth:`cleanup`)."""

    def cleanup(self) -> None:
        """Delete the zip written for this upload (never the user's own zip)."""
        if self.temporary:
            shutil.rmtree(self.path.parent, ignore_errors=True)


def _included(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return (
        path.is_file()
        and not path.is_symlink()
        and path.suffix.lower() not in _SKIPPED_SUFFIXES
        and "__pycache__" not in rel.parts
        and not is_junk(rel)
    )


def zip_folder(folder: str | Path, target: str | Path) -> Path:
    """Zip every file of *folder* (paths relative to it), the way a user would; returns *target*.

    README/``.py`` files, ``__pycache__`` and OS litter (``.DS_Store``, ``__MACOSX``) are left
    out. No deduplication: see :func:`prepare_upload`.
    """
    folder, target = Path(folder), Path(target)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.rglob("*")):
            if _included(path, folder):
                zf.write(path, path.relative_to(folder).as_posix())
    return target


def dataset_files(path: str | Path) -> list[Path]:
    """The files one machine file needs to convert: itself, its reader's sidecars, same-stem files.

    The reader is the one whose ``sniff`` scores *path* highest (registry order breaks
    ties), as in detection.
    """
    path = Path(path)
    best, best_score = None, 0.0
    for reader in list_readers().values():
        if reader.extensions and not path.name.lower().endswith(
            tuple(reader.extensions)
        ):
            continue
        try:
            score = float(reader.sniff(path))
        except (
            Exception
        ):  # a reader bug must not stop the upload; detection warns later
            score = 0.0
        if score > best_score:
            best, best_score = reader, score
    files = {path}
    if best is not None:
        files.update(p for p in best.sidecars(path) if p.is_file())
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    files.update(p for p in path.parent.glob(f"{stem}.*") if p.is_file())
    return sorted(files)


class _Digests:
    """SHA-256 of files, each read once."""

    def __init__(self) -> None:
        self._cache: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        if path not in self._cache:
            with open(path, "rb") as f:
                self._cache[path] = hashlib.file_digest(f, "sha256").hexdigest()
        return self._cache[path]

    def key(self, cand: Candidate) -> tuple[str, str, tuple[str, ...]]:
        """Content key of a dataset: main file, part, sidecars (names do not matter)."""
        return (
            self(cand.path),
            cand.part or "",
            tuple(sorted(self(p) for p in cand.sidecars)),
        )


def _files_of(cands: list[Candidate]) -> set[Path]:
    return {p for c in cands for p in (c.path, *c.sidecars)}


def _nested_folder(rel: PurePosixPath, taken: set[str]) -> str:
    """Folder name for a zip's kept datasets: the zip's path without ``.zip`` (``.d`` if taken)."""
    name = rel.with_suffix("").as_posix()
    return name + ".zip.d" if name in taken else name


def prepare_upload(
    source: str | Path,
    workdir: str | Path | None = None,
    *,
    temp_dir: str | Path | None = None,
) -> PreparedUpload:
    """Turn a zip, a folder or one machine file into the zip to upload (see the module rules).

    Parameters
    ----------
    source : path
        A ``.zip``, a folder, or one machine file.
    workdir : path, optional
        Where to write the new zip (default: a new temporary folder, see *temp_dir*).
    temp_dir : path, optional
        Where that temporary folder is made (default: the system's; the faces pass the
        workspace folder: an upload can be gigabytes, and ``/tmp`` is often in memory).

    Raises
    ------
    InvalidRequest
        *source* does not exist, or a zip inside the folder is not a valid zip.
    UnsafeArchive
        A zip inside the folder is unsafe (traversal, bomb, …).
    """
    if not str(source).strip():
        raise InvalidRequest("give the path of a .zip, a folder or a machine file")
    source = Path(str(source).strip()).expanduser()
    if not source.exists():
        raise InvalidRequest(f"{source} does not exist")
    if source.is_file() and source.suffix.lower() == ".zip":
        return PreparedUpload(source)
    out_dir = Path(workdir or tempfile.mkdtemp(prefix=".leafnb-upload-", dir=temp_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source.resolve().name or 'upload'}.zip"
    if source.is_file():
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for path in dataset_files(source):
                zf.write(path, path.name)
        return PreparedUpload(target, temporary=workdir is None)
    try:
        skipped = _zip_folder_once(source, target, out_dir)
    except BaseException:
        if workdir is None:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return PreparedUpload(target, skipped, temporary=workdir is None)


def _zip_folder_once(folder: Path, target: Path, scratch: Path) -> list[str]:
    """Write *folder* into *target* leaving out repeated datasets; returns what was left out."""
    digests = _Digests()
    seen: set[tuple] = set()
    skipped: list[str] = []
    loose = detect(folder)
    drop: set[Path] = set()
    kept_files: set[Path] = set()
    for cand in loose.candidates:
        key = digests.key(cand)
        if key in seen:
            drop.update((cand.path, *cand.sidecars))
            skipped.append(f"{cand.file_name}: same content as a dataset already in")
        else:
            seen.add(key)
            kept_files.update((cand.path, *cand.sidecars))
    drop -= kept_files  # a file shared with a kept dataset stays
    zips = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() == ".zip" and _included(p, folder)
    )
    taken = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir()}
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=scratch))
    try:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for path in sorted(folder.rglob("*")):
                if (
                    _included(path, folder)
                    and path not in drop
                    and path.suffix.lower() != ".zip"
                ):
                    zf.write(path, path.relative_to(folder).as_posix())
            for i, zpath in enumerate(zips):
                rel = PurePosixPath(zpath.relative_to(folder).as_posix())
                root = staging / str(i)
                extract_zip(zpath, root)
                cands = detect(root).candidates
                new = []
                for cand in cands:
                    key = digests.key(cand)
                    if key not in seen:
                        seen.add(key)
                        new.append(cand)
                if len(new) == len(cands):
                    # nothing repeated: the zip goes in as it is (already compressed)
                    zf.write(zpath, rel.as_posix(), compress_type=zipfile.ZIP_STORED)
                elif not new:
                    skipped.append(
                        f"{rel}: every dataset in it is already in the upload"
                    )
                else:
                    prefix = _nested_folder(rel, taken)
                    for path in sorted(_files_of(new)):
                        zf.write(path, f"{prefix}/{path.relative_to(root).as_posix()}")
                    skipped.extend(
                        f"{rel}/{c.file_name}: same content as a dataset already in"
                        for c in cands
                        if c not in new
                    )
                shutil.rmtree(root, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return skipped
