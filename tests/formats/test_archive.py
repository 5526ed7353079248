import re
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from leafnb.errors import InvalidRequest, UnsafeArchive
from leafnb.formats.archive import GB, MB, ExtractLimits, extract_zip, inspect_zip
from tests.conftest import make_zip
from tests.fuzz import zips
from tests.fuzz.zips import HOSTILE


def test_plain_and_nested_zips_extract(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"TASKDATA/TASKDATA.XML": b"<x/>"})
    outer = make_zip(
        tmp_path / "outer.zip", {"card/inner.zip": inner, "a.txt": b"hello"}
    )
    report = extract_zip(outer, tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"hello"
    assert (tmp_path / "out" / "card" / "inner" / "TASKDATA" / "TASKDATA.XML").exists()
    assert report.nested == ["outer.zip/card/inner.zip"]
    assert not (tmp_path / "out" / "card" / "inner.zip").exists()


def test_nesting_depth_is_limited(tmp_path):
    z = make_zip(tmp_path / "z0.zip", {"f.txt": b"x"})
    for i in range(1, 5):
        z = make_zip(tmp_path / f"z{i}.zip", {f"z{i - 1}.zip": z})
    report = extract_zip(z, tmp_path / "out", ExtractLimits(max_depth=3))
    assert any("nested deeper" in msg for msg in report.ignored)


@pytest.mark.parametrize(
    "name", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:/evil.txt"]
)
def test_traversal_and_absolute_paths_are_refused(tmp_path, name):
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(UnsafeArchive, match=r"path traversal|absolute path"):
        extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not any((tmp_path / "out").rglob("*evil*"))


def test_symlink_entries_are_refused(tmp_path):
    z = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        extract_zip(z, tmp_path / "out")


def test_ratio_bomb_is_refused(tmp_path):
    z = make_zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (40 * 1024**2)})
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        extract_zip(
            z, tmp_path / "out", ExtractLimits(ratio_floor=1024**2, max_ratio=100)
        )
    assert not any((tmp_path / "out").rglob("*.bin"))


def test_total_size_limit(tmp_path):
    z = make_zip(
        tmp_path / "big.zip",
        {"a.bin": bytes(range(256)) * 4096, "b.bin": bytes(range(256)) * 4096},
    )
    with pytest.raises(UnsafeArchive, match="inflates beyond"):
        extract_zip(z, tmp_path / "out", ExtractLimits(max_total_bytes=1_500_000))


def test_archive_size_limit(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"a.txt": b"abc"})
    with pytest.raises(UnsafeArchive, match="limited to"):
        extract_zip(z, tmp_path / "out", ExtractLimits(max_archive_bytes=10))


def test_truncated_and_non_zip_files(tmp_path):
    z = make_zip(tmp_path / "t.zip", {"a.txt": b"abc" * 1000})
    truncated = tmp_path / "trunc.zip"
    truncated.write_bytes(z.read_bytes()[:-40])
    with pytest.raises(InvalidRequest, match="not a valid zip"):
        extract_zip(truncated, tmp_path / "out")
    text = tmp_path / "x.zip"
    text.write_text("not a zip")
    with pytest.raises(InvalidRequest, match="not a valid zip"):
        extract_zip(text, tmp_path / "out2")


# ---------------------------------------------------------------- issue 14 items 3 and 10
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_entries_are_refused_before_anything_is_written(tmp_path, name):
    build, words = HOSTILE[name]
    z = build(tmp_path / f"{name}.zip")
    with pytest.raises(UnsafeArchive) as info:
        inspect_zip(z)
    assert words in str(info.value)
    assert str(tmp_path) not in str(info.value) and len(str(info.value)) < 400
    written = []
    with pytest.raises(UnsafeArchive, match=re.escape(words)):
        extract_zip(z, tmp_path / "out", on_file=written.append)
    assert written == [] and not (tmp_path / "out").exists()


def test_the_budget_is_the_ratio_over_the_whole_upload_with_a_floor():
    limits = ExtractLimits(max_ratio=200, ratio_floor=64 * MB, max_total_bytes=12 * GB)
    assert limits.budget(1000) == 64 * MB  # small uploads: the floor
    assert limits.budget(10 * MB) == 2000 * MB  # 200x
    assert limits.budget(3 * GB) == 12 * GB  # capped


def test_many_small_entries_count_against_the_budget(tmp_path):
    # 400 entries of 64 kB: none is anywhere near a per-entry threshold
    z = zips.zeros_zip(tmp_path / "b.zip", {f"z{i:03d}": 2**16 for i in range(400)})
    limits = ExtractLimits(ratio_floor=MB, max_ratio=100)
    with pytest.raises(UnsafeArchive, match=r"zip bomb.*nothing was extracted"):
        extract_zip(z, tmp_path / "out", limits)
    assert not (tmp_path / "out").exists()


def test_nested_zips_share_the_upload_budget_and_are_cleaned_up(tmp_path):
    z = zips.nested_bomb(tmp_path / "n.zip", 3, 4 * MB)  # a few kB holding 12 MB
    written = []
    with pytest.raises(UnsafeArchive, match=r"n.zip/card/inner.zip inflates beyond"):
        extract_zip(
            z, tmp_path / "out", ExtractLimits(ratio_floor=MB), on_file=written.append
        )
    assert [p.name for p in written] == ["inner.zip"]  # only the inner zip was written
    assert not (tmp_path / "out").exists()


def test_writing_stops_at_the_budget_even_if_an_entry_inflates_past_its_size(
    tmp_path, monkeypatch
):
    # a reader that does not stop at the declared size (CPython's does): the stream
    # check is the last line
    z = make_zip(tmp_path / "a.zip", {"a.bin": b"\0" * 1000})
    zips.endless_entries(monkeypatch)
    report_bytes = []

    def on_file(path):
        report_bytes.append(path.stat().st_size)

    with pytest.raises(UnsafeArchive, match=r"stopped after 2.0 MB and removed"):
        extract_zip(
            z, tmp_path / "out", ExtractLimits(ratio_floor=2 * MB), on_file=on_file
        )
    assert report_bytes == [] and not (tmp_path / "out").exists()


def test_lying_sizes_are_caught_and_cleaned_up(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"a.csv": b"x" * 5000, "b.csv": b"y" * 5000})
    data = bytearray(z.read_bytes())
    cd = data.find(b"PK\x01\x02")  # first central directory entry: uncompressed size
    struct.pack_into("<I", data, cd + 24, 10)
    z.write_bytes(bytes(data))
    with pytest.raises(InvalidRequest, match="corrupt or truncated"):
        extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_entries_are_counted_over_every_nesting_level(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {f"f{i}.txt": b"x" for i in range(60)})
    outer = make_zip(
        tmp_path / "outer.zip",
        {"inner.zip": inner, **{f"g{i}.txt": b"x" for i in range(50)}},
    )
    with pytest.raises(UnsafeArchive, match="more than 100 entries"):
        extract_zip(outer, tmp_path / "out", ExtractLimits(max_entries=100))
    assert not (tmp_path / "out").exists()
    assert (
        extract_zip(outer, tmp_path / "ok", ExtractLimits(max_entries=111)).entries
        == 111
    )


def test_a_nested_zip_beside_a_folder_of_its_name_gets_its_own_folder(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"a.txt": b"inner"})
    outer = make_zip(tmp_path / "o.zip", {"x.zip": inner, "x/a.txt": b"outer"})
    extract_zip(outer, tmp_path / "out")
    assert (tmp_path / "out" / "x" / "a.txt").read_bytes() == b"outer"
    assert (tmp_path / "out" / "x.zip.d" / "a.txt").read_bytes() == b"inner"


def test_one_folder_is_extracted_at_the_paths_of_the_full_extraction(tmp_path):
    """``only`` (an original extracted again) names nested zips' folders as a full run does.

    Names that collide: ``x.zip`` beside ``x/`` goes to ``x.zip.d``; ``y.zip`` goes to
    ``y``; then ``y.zip.zip`` finds ``y.zip`` deleted (opened) and takes that name.
    """
    inner = make_zip(tmp_path / "inner.zip", {"t/a.txt": b"inner", "t/b.txt": b"b"})
    deeper = make_zip(tmp_path / "deeper.zip", {"d/c.txt": b"deeper"})
    outer = make_zip(
        tmp_path / "o.zip",
        {
            "x.zip": inner,
            "x/a.txt": b"outer",
            "y.zip": deeper,
            "y.zip.zip": inner,
            "z/e.txt": b"e",
        },
    )
    extract_zip(outer, tmp_path / "full")
    full = {
        p.relative_to(tmp_path / "full").as_posix(): p.read_bytes()
        for p in (tmp_path / "full").rglob("*")
        if p.is_file()
    }
    assert full["x.zip.d/t/a.txt"] == b"inner" and full["y/d/c.txt"] == b"deeper"
    assert full["y.zip/t/a.txt"] == b"inner"
    for only in ("x.zip.d/t", "x", "y/d", "y.zip", "z", ""):
        dest = tmp_path / f"only-{only.replace('/', '_') or 'all'}"
        report = extract_zip(outer, dest, only=only or None)
        got = {
            p.relative_to(dest).as_posix(): p.read_bytes()
            for p in dest.rglob("*")
            if p.is_file()
        }
        assert got == {
            k: v for k, v in full.items() if not only or k.startswith(only + "/")
        }, only
        assert sorted(p.as_posix() for p in report.files) == sorted(
            (dest / k).resolve().as_posix() for k in got
        )


def test_extracting_one_folder_applies_the_uploads_limits(tmp_path):
    bomb = zips.zeros_zip(tmp_path / "bomb.zip", {"a/x.bin": 1, "b/y.bin": 80 * MB})
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        extract_zip(
            bomb, tmp_path / "out", only="a"
        )  # b/ is not written, still refused
    assert not (tmp_path / "out").exists()


def test_the_entry_list_is_bounded_before_zipfile_parses_it(tmp_path, monkeypatch):
    z = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"" for i in range(150)})
    parsed = []
    real = zipfile.ZipFile
    monkeypatch.setattr(
        zipfile, "ZipFile", lambda *a, **k: parsed.append(a) or real(*a, **k)
    )
    with pytest.raises(UnsafeArchive, match="more than 100 entries"):
        inspect_zip(z, ExtractLimits(max_entries=100))
    with pytest.raises(UnsafeArchive, match=r"list of entries \(limit 1000 bytes\)"):
        inspect_zip(z, ExtractLimits(max_directory_bytes=1000))
    assert parsed == []  # refused from the headers alone
    assert inspect_zip(z, ExtractLimits(max_entries=150)).entries == 150


def _one_deflated(path: Path, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("d.bin", data)
        zf.writestr("s.bin", data[:1000], compress_type=zipfile.ZIP_STORED)
        zf.writestr("b.bin", data[:5000], compress_type=zipfile.ZIP_BZIP2)
    return path


def test_deflated_entries_inflate_to_zipfiles_bytes(tmp_path):
    """ISA-L's inflate (formats.archive._Inflated) gives what zipfile gives, entry by entry."""
    rng = np.random.default_rng(3)
    data = (rng.integers(0, 7, 3 * MB, dtype=np.uint8)).tobytes()  # compressible
    z = _one_deflated(tmp_path / "a.zip", data)
    report = extract_zip(z, tmp_path / "out")
    with zipfile.ZipFile(z) as zf:
        for path in report.files:
            assert path.read_bytes() == zf.read(path.name)


@pytest.mark.parametrize("where", ["data", "crc"])
def test_a_corrupt_deflated_entry_is_refused(tmp_path, where):
    z = _one_deflated(tmp_path / "a.zip", b"leafnb " * 200_000)
    data = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("d.bin")
    if where == "data":  # a byte of the deflate stream, after the local header
        name_len, extra_len = struct.unpack_from("<2H", data, info.header_offset + 26)
        data[info.header_offset + 30 + name_len + extra_len + 500] ^= 0xFF
    else:  # the central directory's CRC-32
        cd = data.find(b"PK\x01\x02")
        struct.pack_into("<I", data, cd + 16, info.CRC ^ 1)
    z.write_bytes(bytes(data))
    with pytest.raises(InvalidRequest, match="corrupt or truncated"):
        extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_remove_tree_removes_what_a_concurrent_deletion_left(tmp_path, monkeypatch):
    """A folder another deleter had not emptied when the first pass reached it goes too."""
    import shutil

    from leafnb.formats import archive

    folder = tmp_path / "batch"
    (folder / ".discarded-1" / "sub").mkdir(parents=True)
    real = shutil.rmtree
    calls = []

    def racing_rmtree(path, ignore_errors=False):
        calls.append(path)
        if len(calls) == 1:  # the first pass gives up on a folder still being emptied
            real(folder / ".discarded-1" / "sub", ignore_errors=True)
            return
        real(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(archive.shutil, "rmtree", racing_rmtree)
    archive.remove_tree(folder)
    assert not folder.exists() and len(calls) == 2
