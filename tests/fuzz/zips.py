"""Crafted archives: the hostile uploads of issue 14 (and the seeds of the archive fuzz corpus).

Each builder writes one zip and returns its path. Some fields Python's zipfile never
writes (encryption flag, exotic compression methods) are patched into the headers.
"""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
from pathlib import Path

from leafnb.formats import archive

CHUNK = b"\0" * (1024 * 1024)
#: entry timestamps: fixed, so a builder writes the same bytes on every run
EPOCH = (2024, 1, 1, 0, 0, 0)


def _info(name: str, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = method
    info.external_attr = 0o644 << 16
    return info


def zip_of(path: Path, entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    """A plain zip of ``{name: bytes}``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(_info(name, method), data)
    return path


def zeros_zip(path: Path, entries: dict[str, int], level: int = 9) -> Path:
    """Entries of ``n`` zero bytes each, deflated (written in 1 MiB chunks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, size in entries.items():
            with zf.open(_info(name), "w", force_zip64=size > 2**31) as out:
                for _ in range(size // len(CHUNK)):
                    out.write(CHUNK)
                out.write(b"\0" * (size % len(CHUNK)))
    return path


def nested_bomb(path: Path, inner_entries: int, inner_size: int) -> Path:
    """An upload holding one zip whose *inner_entries* entries are *inner_size* zeros."""
    inner = zeros_zip(
        path.with_suffix(".inner.zip"),
        {f"z{i:04d}.bin": inner_size for i in range(inner_entries)},
    )
    out = zip_of(path, {"card/inner.zip": inner.read_bytes()})
    inner.unlink()
    return out


def special_entry(path: Path, name: str, mode: int, data: bytes = b"x") -> Path:
    """One entry whose Unix mode declares a link, FIFO, device or socket."""
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.create_system = 3
    info.external_attr = mode << 16
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, data)
    return path


def duplicate_names(path: Path) -> Path:
    """The same entry name twice (the second would overwrite the first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(_info("data.csv"), b"a,b\n1,2\n")
            zf.writestr(_info("data.csv"), b"a,b\n3,4\n")
    return path


def _patch_headers(path: Path, *, flag_or: int = 0, method: int | None = None) -> Path:
    """Set bits of every entry's general-purpose flag and/or its compression method,
    in both the local headers and the central directory."""
    data = bytearray(path.read_bytes())
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = data.find(sig)
        while i >= 0:
            (flags,) = struct.unpack_from("<H", data, i + flag_at)
            struct.pack_into("<H", data, i + flag_at, flags | flag_or)
            if method is not None:
                struct.pack_into("<H", data, i + method_at, method)
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))
    return path


def encrypted(path: Path) -> Path:
    """An entry flagged as encrypted (traditional PKWARE encryption bit)."""
    return _patch_headers(zip_of(path, {"data.csv": b"a,b\n1,2\n"}), flag_or=0x1)


def method(path: Path, number: int) -> Path:
    """An entry whose compression method is *number* (93: Zstandard, 9: Deflate64)."""
    zip_of(path, {"data.csv": b"a,b\n1,2\n"}, method=zipfile.ZIP_STORED)
    return _patch_headers(path, method=number)


HOSTILE = {
    # name -> (builder, words expected in the refusal message)
    "file_and_folder": (
        lambda p: zip_of(p, {"a": b"x", "a/b.csv": b"x,y\n"}),
        "both a file and a folder",
    ),
    "folder_then_file": (
        lambda p: zip_of(p, {"a/b.csv": b"x,y\n", "a": b"x"}),
        "both a file and a folder",
    ),
    "encrypted": (encrypted, "encrypted"),
    "long_path": (lambda p: zip_of(p, {"d/" + "a" * 6000: b"x"}), "character path"),
    "long_component": (lambda p: zip_of(p, {"b" * 300: b"x"}), "longer than 255"),
    "zstd": (lambda p: method(p, 93), "compression method 93 (Zstandard)"),
    "deflate64": (lambda p: method(p, 9), "compression method 9 (Deflate64)"),
    "duplicate": (duplicate_names, "appears twice"),
    "symlink": (
        lambda p: special_entry(p, "link", stat.S_IFLNK | 0o777, b"/etc/passwd"),
        "symbolic link",
    ),
    "fifo": (lambda p: special_entry(p, "TLG00001.bin", stat.S_IFIFO | 0o644), "FIFO"),
    "device": (
        lambda p: special_entry(p, "dev", stat.S_IFCHR | 0o644),
        "character device",
    ),
    "traversal": (lambda p: zip_of(p, {"../../escape.csv": b"x"}), "path traversal"),
    "absolute": (lambda p: zip_of(p, {"/etc/cron.d/x": b"x"}), "absolute path"),
    "control_chars": (lambda p: zip_of(p, {"a\nb.csv": b"x"}), "control characters"),
}


class _Endless(io.RawIOBase):
    """An entry that never ends: zeros for ever."""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        buf[:] = b"\0" * len(buf)
        return len(buf)


def endless_entries(monkeypatch) -> None:
    """Make every zip entry read as endless zeros (a reader that does not stop at the
    declared size; CPython's does): only the budget's stream check stops the writing."""
    monkeypatch.setattr(
        zipfile.ZipFile,
        "open",
        lambda self, info, *a, **k: io.BufferedReader(_Endless()),
    )
    # deflated entries are inflated by leafnb's own reader (formats.archive)
    monkeypatch.setattr(
        archive, "_Inflated", lambda raw, info: io.BufferedReader(_Endless())
    )
