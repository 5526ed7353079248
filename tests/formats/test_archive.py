import stat
import zipfile

import pytest

from leafnb.errors import InvalidRequest, UnsafeArchive
from leafnb.formats.archive import ExtractLimits, extract_zip
from tests.conftest import make_zip


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
