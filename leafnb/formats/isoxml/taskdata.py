"""TASKDATA.XML parsing (entity expansion off) into a small read-only model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as DET
from defusedxml.common import DefusedXmlException

from leafnb.errors import CorruptFile
from leafnb.formats.members import find_member

__all__ = ["ROOT_TAG", "Taskdata", "find_file", "load_taskdata", "parse_xml"]

ROOT_TAG = "ISO11783_TaskData"


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
        return self.path.parent

    def all(self, tag: str) -> list[Element]:
        return self.elements.get(tag, [])

    def get(self, xml_id: str | None) -> Element | None:
        return self.by_id.get(xml_id) if xml_id else None


def load_taskdata(path: Path) -> Taskdata:
    """Parse TASKDATA.XML and its external files (XFR/XFC) into a :class:`Taskdata`."""
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
