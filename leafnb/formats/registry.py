"""Reader registry: built-in readers (loaded on first use) plus ``leafnb.readers`` entry points."""

from __future__ import annotations

import functools
import importlib
import warnings
from importlib.metadata import entry_points

from leafnb.errors import PluginLoadWarning, ReaderRegistrationError, UnsupportedFormat
from leafnb.formats.base import Reader

__all__ = [
    "BUILTIN_READERS",
    "ENTRY_POINT_GROUP",
    "get_reader",
    "list_readers",
    "refresh_readers",
]

ENTRY_POINT_GROUP = "leafnb.readers"

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
def list_readers() -> dict[str, Reader]:
    """Return every installed reader by name: built-ins first, then plugins.

    A plugin that fails to load gives a :class:`~leafnb.errors.PluginLoadWarning` and is
    skipped; a plugin whose name equals a built-in is ignored with a warning (the
    built-in stays).
    """
    readers: dict[str, Reader] = {}
    for name, target in BUILTIN_READERS.items():
        try:
            readers[name] = _instantiate(name, _load(target))
        except ModuleNotFoundError as exc:
            if not exc.name or not exc.name.startswith("leafnb"):
                raise
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in readers:
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
    readers = list_readers()
    try:
        return readers[name]
    except KeyError:
        raise UnsupportedFormat(
            f"no reader named {name!r}; installed readers: {', '.join(sorted(readers))}. "
            f"Third-party readers register under the entry-point group {ENTRY_POINT_GROUP!r}."
        ) from None
