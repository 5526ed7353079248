import warnings
from importlib.metadata import EntryPoint

import pytest

from leafnb.errors import PluginLoadWarning, UnsupportedFormat
from leafnb.formats import registry
from leafnb.formats.base import RawRead, Reader


class FakeReader(Reader):
    name = "fake_fmt"
    extensions = (".fake",)

    def sniff(self, path):
        return 1.0

    def read(self, path, *, part=None, options=None):
        import pyarrow as pa

        return RawRead(pa.table({"lon": [0.0], "lat": [0.0]}))


class WrongName(FakeReader):
    name = "other"


@pytest.fixture
def fake_entry_points(monkeypatch):
    def install(*eps):
        monkeypatch.setattr(registry, "entry_points", lambda group: list(eps))
        registry.refresh_readers()

    yield install
    registry.refresh_readers()


def test_builtins_listed():
    readers = registry.list_readers()
    assert "shapefile" in readers


def test_plugin_is_found(fake_entry_points):
    fake_entry_points(
        EntryPoint("fake_fmt", f"{__name__}:FakeReader", "leafnb.readers")
    )
    assert isinstance(registry.get_reader("fake_fmt"), FakeReader)


def test_broken_plugin_warns_and_is_skipped(fake_entry_points):
    fake_entry_points(
        EntryPoint("broken", "no_such_module_xyz:Reader", "leafnb.readers"),
        EntryPoint("other_name", f"{__name__}:WrongName", "leafnb.readers"),
    )
    with pytest.warns(PluginLoadWarning, match="failed to load"):
        readers = registry.list_readers()
    assert "broken" not in readers and "other_name" not in readers


def test_plugin_cannot_replace_builtin(fake_entry_points):
    fake_entry_points(
        EntryPoint("shapefile", f"{__name__}:FakeReader", "leafnb.readers")
    )
    with pytest.warns(PluginLoadWarning, match="built-in reader is kept"):
        readers = registry.list_readers()
    assert not isinstance(readers["shapefile"], FakeReader)


def test_explicit_class_path_and_unknown_name():
    assert isinstance(registry.get_reader(f"{__name__}:FakeReader"), FakeReader)
    with pytest.raises(UnsupportedFormat, match=r"installed readers: .*leafnb.readers"):
        registry.get_reader("nope")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry.list_readers()


def test_builtin_extensions_are_the_readers_own():
    registry.refresh_readers()
    readers = registry.list_readers()
    assert list(registry.BUILTIN_EXTENSIONS) == list(registry.BUILTIN_READERS)
    for name in registry.BUILTIN_READERS:
        assert registry.BUILTIN_EXTENSIONS[name] == tuple(readers[name].extensions)


def test_readers_for_ranks_like_list_readers():
    registry.refresh_readers()
    order = list(registry.list_readers())
    for file_name in ("a.csv", "TASKDATA.XML", "x.shp", "y.json", "z.unknown"):
        claimed = registry.readers_for(file_name)
        names = [n for _, n, _ in claimed]
        assert names == [
            n
            for n, r in registry.list_readers().items()
            if file_name.lower().endswith(tuple(r.extensions))
        ]
        ranks = [o for o, _, _ in claimed]
        assert ranks == sorted(ranks)
        assert [order.index(n) for n in names] == sorted(order.index(n) for n in names)
