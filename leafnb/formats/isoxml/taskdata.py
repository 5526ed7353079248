"""TASKDATA.XML parsing (entity expansion off) into a small read-only model, parsed once.

Parse once per upload
---------------------
Detection asks the reader for the parts of a TASKDATA (one per task) and then for facts
about every part; conversion reads every part. Each of those calls needs the parsed
document, so :func:`load_taskdata` keeps the last few parsed documents keyed by the
file's resolved path, modification time (ns) and size: a TASKDATA with 2,000 tasks is
parsed once per process, not once per task (issue 14: 2,000 tasks in a 10 kB upload took
39 s). A changed file (other mtime or size) is parsed again. The cached :class:`Taskdata`
is shared: callers must treat it as read-only. External files (``XFR``/``XFC``) are read
with their TASKDATA.XML and cached with it.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as DET
from defusedxml.common import DefusedXmlException

from leafnb.errors import CorruptFile
from leafnb.formats.members import find_member

if TYPE_CHECKING:
    from leafnb.formats.isoxml.devices import DeviceModel

__all__ = [
    "ROOT_TAG",
    "Taskdata",
    "clear_cache",
    "find_file",
    "load_taskdata",
    "parse_xml",
]

ROOT_TAG = "ISO11783_TaskData"

#: parsed documents kept per process (an upload holds one TASKDATA, rarely a few)
CACHE_SIZE = 8

_TLG_RE = re.compile(r"^TLG\d+\.xml$", re.IGNORECASE)


def parse_xml(path: Path) -> Element:
    """Parse *path* with defusedxml (no DTD entities, no external references).

    Raises
    ------
    CorruptFile
        Malformed XML or forbidden constructs (entities, external references).
    """
    try:
        return DET.parse(str(path)).getroot()
    except DefusedXmlException as exc:
        raise CorruptFile(
            f"{path.name}: XML declares entities or a DTD ({type(exc).__name__}); entity expansion is "
            "disabled for security, so the file is not read",
            path=path,
            reader="isoxml",
        ) from exc
    except (DET.ParseError, LookupError, ValueError) as exc:  # + unknown encodings
        raise CorruptFile(
            f"{path.name}: not well-formed XML ({exc})", path=path, reader="isoxml"
        ) from exc
    except OSError as exc:
        raise CorruptFile(
            f"{path.name}: cannot be read ({exc})", path=path, reader="isoxml"
        ) from exc


def find_file(folder: Path, name: str, *, what: str = "file reference") -> Path | None:
    """Case-insensitive lookup of the plain file name *name* in *folder* (see ``members``)."""
    return find_member(folder, name, what=what)


@dataclass
class Taskdata:
    """Elements of a TASKDATA.XML plus its external files (XFR), by tag and id."""

    path: Path
    attrib: dict[str, str]
    elements: dict[str, list[Element]] = field(default_factory=dict)
    by_id: dict[str, Element] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The TASKDATA folder (where the TLG/BIN files are looked up)."""
        return self.path.parent

    def all(self, tag: str) -> list[Element]:
        """Every element with XML tag *tag* (e.g. ``"TSK"``), in document order."""
        return self.elements.get(tag, [])

    def get(self, xml_id: str | None) -> Element | None:
        """The element with XML id *xml_id* (e.g. ``"DET-1"``), or None."""
        return self.by_id.get(xml_id) if xml_id else None

    @functools.cached_property
    def devices(self) -> DeviceModel:
        """The device model (DVC/DET trees), built once per document."""
        from leafnb.formats.isoxml.devices import DeviceModel

        return DeviceModel.from_taskdata(self)

    @functools.cached_property
    def orphan_logs(self) -> tuple[str, ...]:
        """Time-log names (``TLGnnnnn``) in the folder that no task references, sorted."""
        referenced = {
            (t.get("A") or "").upper()
            for task in self.all("TSK")
            for t in task.iter("TLG")
        }
        out = {
            p.name[:-4]
            for p in self.folder.iterdir()
            if _TLG_RE.match(p.name) and p.name[:-4].upper() not in referenced
        }
        return tuple(sorted(out))


_cache: OrderedDict[tuple, Taskdata] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every parsed document (tests; a long-running process never needs it)."""
    with _lock:
        _cache.clear()


def load_taskdata(path: Path) -> Taskdata:
    """Parse TASKDATA.XML and its external files (XFR/XFC) into a :class:`Taskdata`.

    The result is cached per (resolved path, mtime, size); see the module docstring.

    Raises
    ------
    CorruptFile
        The XML is malformed, declares entities, or its root is not ``ISO11783_TaskData``.
    """
    path = Path(path)
    try:
        st = os.stat(path)
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None  # parse_xml reports the error
    if key is not None:
        with _lock:
            td = _cache.get(key)
            if td is not None:
                _cache.move_to_end(key)
                return td
    td = _load(path)
    if key is not None:
        with _lock:
            _cache[key] = td
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return td


def _load(path: Path) -> Taskdata:
    root = parse_xml(path)
    if root.tag != ROOT_TAG:
        raise CorruptFile(
            f"{path.name}: root element is <{root.tag}>, expected <{ROOT_TAG}>",
            path=path,
            reader="isoxml",
        )
    td = Taskdata(path=path, attrib=dict(root.attrib))
    _collect(td, list(root))
    for xfr in list(td.all("XFR")) + list(td.all("XFC")):
        name = (xfr.get("A") or "").strip()
        if not name:
            continue
        what = f"{xfr.tag} reference"
        ext = find_file(path.parent, name + ".XML", what=what) or find_file(
            path.parent, name, what=what
        )
        if ext is None:
            continue
        sub = parse_xml(ext)
        children = list(sub) if sub.tag in (ROOT_TAG, "XFC") else [sub]
        _collect(td, children)
    return td


def _collect(td: Taskdata, elements: list[Element]) -> None:
    for el in elements:
        td.elements.setdefault(el.tag, []).append(el)
        xml_id = el.get("A")
        if xml_id and el.tag in _ID_TAGS:
            td.by_id[xml_id] = el


# elements whose A attribute is an object id
_ID_TAGS = frozenset(
    {
        "CTR",
        "FRM",
        "PFD",
        "TSK",
        "DVC",
        "PDT",
        "PGP",
        "CTP",
        "CVT",
        "WKR",
        "CPC",
        "CCT",
        "CCG",
        "VPN",
        "BSN",
        "CLD",
        "OTQ",
    }
)
