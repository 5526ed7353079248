"""Reader registry: built-in readers (loaded on first use) plus ``leafnb.readers`` entry points."""

from __future__ import annotations

import functools
import importlib
import warnings

from leafnb.errors import PluginLoadWarning, ReaderRegistrationError, UnsupportedFormat
from leafnb.formats.base import Reader

__all__ = [
    "BUILTIN_EXTENSIONS",
    "BUILTIN_READERS",
    "ENTRY_POINT_GROUP",
    "get_reader",
    "list_readers",
    "readers_for",
    "refresh_readers",
]

ENTRY_POINT_GROUP = "leafnb.readers"

#: the file-name endings each built-in reader claims (its class's ``extensions``; a
#: test keeps them equal): detection imports only the readers a file could be for
BUILTIN_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "isoxml": (".xml",),
    "shapefile": (".shp",),
    "geopackage": (".gpkg",),
    "geojson": (".geojson", ".json"),
    "csv": (".csv", ".txt", ".tsv"),
    "agleader_text": (".txt", ".csv"),
    "jd_gs2": (".fdd", ".fdl"),
    "jd_gs3": (".fdd", ".fdl", ".ver"),
    "jd_gen4": (".jdl",),
    "climate_dat": (".dat",),
    "pp2020": (".2020",),
    "cnh_cn1": (".vy1",),
    "agleader_agdata": (".agdata",),
    "agleader_ilf": (".ilf",),
    "agleader_yld": (".yld",),
    "trimble_agdata": (".agt", ".agf", ".agi", ".agm", ".agu", ".agv"),
    "raven_fmis": (".xml",),
    "raven_jdp": (".jdp",),
}

#: name -> "module:Class"; imported only when the registry is first listed.
BUILTIN_READERS: dict[str, str] = {
    "isoxml": "leafnb.formats.isoxml.reader:IsoxmlReader",
    "shapefile": "leafnb.formats.shapefile:ShapefileReader",
    "geopackage": "leafnb.formats.geopackage:GeoPackageReader",
    "geojson": "leafnb.formats.geojson:GeoJSONReader",
    "csv": "leafnb.formats.delimited:CsvReader",
    "agleader_text": "leafnb.formats.delimited:AgLeaderTextReader",
    # recognised-only proprietary formats (decodes=False, score <= 0.5; plugins can outbid them)
    "jd_gs2": "leafnb.formats.proprietary:JdGs2Reader",
    "jd_gs3": "leafnb.formats.proprietary:JdGs3Reader",
    "jd_gen4": "leafnb.formats.proprietary:JdGen4Reader",
    "climate_dat": "leafnb.formats.proprietary:ClimateDatReader",
    "pp2020": "leafnb.formats.proprietary:Pp2020Reader",
    "cnh_cn1": "leafnb.formats.proprietary:CnhCn1Reader",
    "agleader_agdata": "leafnb.formats.proprietary:AgleaderAgdataReader",
    "agleader_ilf": "leafnb.formats.proprietary:AgleaderIlfReader",
    "agleader_yld": "leafnb.formats.proprietary:AgleaderYldReader",
    "trimble_agdata": "leafnb.formats.proprietary:TrimbleAgdataReader",
    "raven_fmis": "leafnb.formats.proprietary:RavenFmisReader",
    "raven_jdp": "leafnb.formats.proprietary:RavenJdpReader",
}


def _load(target: str) -> type:
    module, _, attr = target.partition(":")
    if not attr:
        raise ReaderRegistrationError(
            f"reader target {target!r} must look like 'module:Class'"
        )
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Reader)):
        raise ReaderRegistrationError(
            f"{target!r} is not a leafnb.formats.base.Reader subclass"
        )
    return cls


def _instantiate(name: str, cls: type) -> Reader:
    reader = cls()
    if reader.name != name:
        raise ReaderRegistrationError(
            f"reader {cls.__module__}.{cls.__qualname__} declares name {reader.name!r}, "
            f"but is registered as {name!r}"
        )
    return reader


@functools.cache
def _builtin(name: str) -> Reader | None:
    """The built-in reader *name*, imported now (None when its module is not installed)."""
    try:
        return _instantiate(name, _load(BUILTIN_READERS[name]))
    except ModuleNotFoundError as exc:
        if not exc.name or not exc.name.startswith("leafnb"):
            raise
        return None


@functools.cache
def list_readers() -> dict[str, Reader]:
    """Return every installed reader by name: built-ins first, then plugins.

    A plugin that fails to load gives a :class:`~leafnb.errors.PluginLoadWarning` and is
    skipped; a plugin whose name equals a built-in is ignored with a warning (the
    built-in stays).
    """
    readers: dict[str, Reader] = {}
    for name in BUILTIN_READERS:
        reader = _builtin(name)
        if reader is not None:
            readers[name] = reader
    readers.update(_plugins())
    return readers


def entry_points(group: str):
    """:func:`importlib.metadata.entry_points` of *group*, imported on first use.

    ``importlib.metadata`` (with the ``email`` and ``zipfile`` modules it imports) is
    ~60 ms of ``import leafnb``; plugins are looked up on the first detection instead.
    """
    from importlib.metadata import entry_points as _entry_points

    return _entry_points(group=group)


@functools.cache
def _plugins() -> dict[str, Reader]:
    """The ``leafnb.readers`` entry points, loaded (see :func:`list_readers`)."""
    readers: dict[str, Reader] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        builtin = ep.name in BUILTIN_READERS and _builtin(ep.name) is not None
        if builtin or ep.name in readers:
            warnings.warn(
                f"reader plugin {ep.value!r} uses the built-in name {ep.name!r}; "
                "the built-in reader is kept",
                PluginLoadWarning,
                stacklevel=2,
            )
            continue
        try:
            readers[ep.name] = _instantiate(ep.name, _load(ep.value))
        except Exception as exc:  # any plugin failure must not break leafnb
            warnings.warn(
                f"reader plugin {ep.name!r} ({ep.value}) failed to load: "
                f"{type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=2,
            )
    return readers


def refresh_readers() -> None:
    """Forget the cached reader list (after installing a plugin in a running kernel)."""
    list_readers.cache_clear()
    _plugins.cache_clear()
    _builtin.cache_clear()


def _claims(extensions: tuple[str, ...], file_name: str) -> bool:
    return not extensions or file_name.lower().endswith(tuple(extensions))


def readers_for(file_name: str) -> list[tuple[int, str, Reader]]:
    """``(order, name, reader)`` of the installed readers whose extensions claim *file_name*.

    *order* ranks the readers as :func:`list_readers` does (built-ins first, then
    plugins). Only the built-in readers that claim the name are imported
    (:data:`BUILTIN_EXTENSIONS`): a batch of CSV files never imports the ISOXML reader.
    """
    out = []
    for order, name in enumerate(BUILTIN_READERS):
        if _claims(BUILTIN_EXTENSIONS[name], file_name):
            reader = _builtin(name)
            if reader is not None:
                out.append((order, name, reader))
    for order, (name, reader) in enumerate(_plugins().items(), len(BUILTIN_READERS)):
        if _claims(tuple(reader.extensions), file_name):
            out.append((order, name, reader))
    return out


def get_reader(name: str) -> Reader:
    """Return the reader registered as *name*, or a ``"module:Class"`` reader given explicitly.

    Raises
    ------
    UnsupportedFormat
        No reader has that name; the message lists the installed ones.
    """
    if ":" in name:
        cls = _load(name)
        return cls()
    if name in BUILTIN_READERS and (reader := _builtin(name)) is not None:
        return reader  # without importing the other readers
    readers = list_readers()
    try:
        return readers[name]
    except KeyError:
        raise UnsupportedFormat(
            f"no reader named {name!r}; installed readers: {', '.join(sorted(readers))}. "
            f"Third-party readers register under the entry-point group {ENTRY_POINT_GROUP!r}."
        ) from None
