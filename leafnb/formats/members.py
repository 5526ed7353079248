"""Resolve a file named *inside* an upload: by plain name, case-insensitively, regular files only.

Machine files refer to each other by name: a TASKDATA.XML names its time logs (``TLG``),
external files (``XFR``), grids (``GRD``), attached files (``AFE``) and link lists; a
shapefile's ``.dbf``/``.shx``/``.prj`` sit beside the ``.shp``. Those names come from an
untrusted upload, so they are resolved here and nowhere else:

* a reference must be a plain file name: no path separator, no ``..``, no drive letter, no
  NUL, not absolute. Anything else raises :class:`~leafnb.errors.UnsafeReference`, whose
  message repeats neither the reference nor any path (an attacker learns nothing about the
  server's files);
* the name is looked up among the entries of the referring file's own folder only,
  case-insensitively (ISO 11783-10 names are upper case, but cards copied through Windows
  or macOS come back in any case);
* only regular files count: a symlink, FIFO, device or directory of that name is treated as
  absent, so nothing can block a reader or lead it outside the upload.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "TLG00001.BIN").write_bytes(b"")
>>> find_member(d, "tlg00001.bin").name
'TLG00001.BIN'
>>> find_member(d, "TLG00002.bin") is None
True
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from leafnb.errors import UnsafeReference

__all__ = ["check_member_name", "find_member", "is_regular_file"]

# a drive ("C:") or any separator / parent step makes a reference a path, not a name
_NOT_A_NAME = re.compile(r"[/\\\x00]|^[A-Za-z]:|^\.\.?$")


def check_member_name(name: str, *, what: str = "file reference") -> str:
    """Return *name* stripped if it is a plain file name, else raise ``UnsafeReference``.

    Parameters
    ----------
    name : str
        The name as written in the referring file (e.g. the ``A`` attribute of ``<TLG>``).
    what : str
        Says which reference it is, for the message (e.g. ``"TLG reference"``).

    Raises
    ------
    UnsafeReference
        *name* is empty, contains a path separator or NUL, is ``.``/``..`` or starts with a
        drive letter.

    Examples
    --------
    >>> check_member_name("TLG00001")
    'TLG00001'
    >>> check_member_name("../other/TLG00001")
    Traceback (most recent call last):
    ...
    leafnb.errors.UnsafeReference: a file reference in this upload is not a plain file name ...
    """
    clean = (name or "").strip()
    if not clean or _NOT_A_NAME.search(clean):
        raise UnsafeReference(
            f"a {what} in this upload is not a plain file name (it is empty or names a path); "
            "references may only name files in the same folder of the upload, so it is refused"
        )
    return clean


def is_regular_file(path: Path) -> bool:
    """True when *path* itself (not a link target) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def find_member(
    folder: Path, name: str, *, what: str = "file reference"
) -> Path | None:
    """Find the regular file called *name* (any case) directly in *folder*.

    Parameters
    ----------
    folder : Path
        The folder of the referring file, inside the extracted upload.
    name : str
        A plain file name (checked with :func:`check_member_name`).
    what : str
        Which reference this is, for the error message.

    Returns
    -------
    Path or None
        The entry of *folder* whose name equals *name* ignoring case (an exact-case match
        wins), or None when there is no such regular file.

    Raises
    ------
    UnsafeReference
        *name* is not a plain file name.
    """
    want = check_member_name(name, what=what)
    low = want.lower()
    found: Path | None = None
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.lower() != low or not entry.is_file(
                    follow_symlinks=False
                ):
                    continue
                if entry.name == want:
                    return Path(entry.path)
                found = found or Path(entry.path)
    except OSError:
        return None
    return found
