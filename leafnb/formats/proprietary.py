"""Recognised-only readers for closed monitor formats (spec §4.3–4.4).

These formats have no open decoder. leafnb still *finds* them in an upload, names the
provider, format and (where the layout tells it) the operation type, and turns each
dataset into a leaf file whose ``rawGeojson`` step fails with a message saying how to get
the data converted. Every reader here has ``decodes = False`` and scores at most
:data:`MAX_SCORE` (0.5), so a decoder plugin registered under the ``leafnb.readers``
entry-point group that sniffs the same files with a higher score (e.g. 0.9) wins
detection without any change to leafnb (see ``docs/readers.md``).

All classes are generated from one declarative table, :data:`FORMATS`.

Datasets and layouts
    *folder* formats (GS2, GS3, Gen4, CN1, Trimble AgData) are one dataset per monitor
    folder (``RCD/``, ``GS3_2630/``, ``JD-Data/``, ``<name>.cn1/``, ``AgData/``): every
    signature file in it sniffs the same score, detection lets the shallowest (then
    alphabetically first) one claim the dataset, and :meth:`sidecars` claims the rest of
    the folder. The marker folder is matched case-insensitively at any depth, so a card
    copied into ``My Card/`` or nested in other folders is found as-is (score
    :data:`CANONICAL`). When the marker folder is missing (flattened files, renamed
    folders) the files are still recognised with lower confidence (:data:`REPAIRED`) and
    the dataset is the signature files of their folder.

    *file* formats (Climate ``.dat``, ``.2020``, ``.ilf``, ``.yld``, ``.jdp``) are one dataset
    per file; Ag Leader ``.agdata`` claims its ``.agsetup`` and Raven FMIS ``.xml`` its
    ``.tab``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from leafnb.errors import UnsupportedFormat
from leafnb.formats.base import RawRead, Reader

__all__ = [
    "CANONICAL",
    "FORMATS",
    "MAX_SCORE",
    "READERS",
    "REPAIRED",
    "ProprietaryFormat",
    "ProprietaryReader",
    "not_decodable_message",
]

#: score of a file in the layout the monitor writes (marker folder present)
CANONICAL = 0.5
#: score of a file recognised after repair (marker folder missing, partner file missing)
REPAIRED = 0.3
#: no recognised-only reader scores more: a decoder plugin must sniff higher than this
MAX_SCORE = CANONICAL

_JUNK = {".ds_store", "thumbs.db", "desktop.ini", ".localized"}
_ISOXML_ROOT = b"ISO11783_TaskData"


@dataclass(frozen=True)
class ProprietaryFormat:
    """One row of the format table.

    Parameters
    ----------
    name : str
        Registry name (snake_case).
    provider : str
        Leaf provider string.
    file_format : str
        Leaf ``fileFormat`` value.
    what : str
        Noun phrase used in the message, with its article ("a John Deere ... data card").
    export_from : str
        The software or monitor that can export the data as ISOXML or shapefile.
    extensions : tuple of str
        Lower-case endings of the signature files.
    marker : str, optional
        Folder name (case-insensitive, ``fnmatch`` pattern) that holds one dataset.
    main_first : tuple of str
        Endings (or exact lower-case names) preferred as the dataset's main file.
    patterns : dict
        ``{fnmatch pattern of the lower-case file name: operation type or None}``; when
        given, only matching files are recognised.
    partner : str, optional
        Ending of the companion file expected next to the main file (same folder).
    partner_same_stem : bool
        The partner must have the main file's stem (Raven ``.xml`` + ``.tab``).
    operation_type : str, optional
        Operation type known from the format itself.
    """

    name: str
    provider: str
    file_format: str
    what: str
    export_from: str
    extensions: tuple[str, ...]
    marker: str | None = None
    main_first: tuple[str, ...] = ()
    patterns: Mapping[str, str | None] = field(default_factory=dict)
    partner: str | None = None
    partner_same_stem: bool = False
    operation_type: str | None = None
    description: str = ""
    #: extra check on the main file (cheap, may raise: sniff turns it into 0)
    check: Callable[[Path], bool] | None = None


def _not_isoxml_or_dataset(path: Path) -> bool:
    """A Raven FMIS ``.xml``: not ISOXML TASKDATA, not a .NET DataSet dump."""
    with open(path, "rb") as fh:
        head = fh.read(2048)
    return _ISOXML_ROOT not in head and b"<NewDataSet" not in head


_JD_EXPORT = "John Deere Operations Center or Apex"

FORMATS: tuple[ProprietaryFormat, ...] = (
    ProprietaryFormat(
        "jd_gs2",
        "JohnDeere",
        "GS2",
        "a John Deere GreenStar 2 (2600) data card",
        _JD_EXPORT,
        (".fdd", ".fdl"),
        marker="rcd",
        description="John Deere GreenStar 2 (2600) data card: RCD/*.fdd, *.fdl",
    ),
    ProprietaryFormat(
        "jd_gs3",
        "JohnDeere",
        "GS3",
        "a John Deere GreenStar 3 (2630) data card",
        _JD_EXPORT,
        (".fdd", ".fdl", ".ver"),
        marker="gs3_2630*",
        main_first=("global.ver",),
        description="John Deere GreenStar 3 (2630) data card: GS3_2630/.../RCD/EIC/global.ver",
    ),
    ProprietaryFormat(
        "jd_gen4",
        "JohnDeere",
        "GEN4",
        "a John Deere Generation 4 (4600/4630) display log",
        _JD_EXPORT,
        (".jdl",),
        marker="jd-data",
        description="John Deere Gen 4 CommandCenter / 4600 / 4630: JD-Data/log/*.jdl",
    ),
    ProprietaryFormat(
        "climate_dat",
        "ClimateFieldView",
        "CLIMATE_DAT",
        "a Precision Planting 20|20 SeedSense Gen 1/2 monitor file",
        "Climate FieldView",
        (".dat",),
        patterns={
            "harvest_*.dat": "harvested",
            "field_map_*.dat": "planted",
            "liquid_map_*.dat": "applied",
        },
        description="Climate FieldView / 20|20 Gen 1/2: harvest_*.dat, field_map_*.dat, liquid_map_*.dat",
    ),
    ProprietaryFormat(
        "pp2020",
        "PrecisionPlanting",
        "PP2020",
        "a Precision Planting 20|20 SeedSense Gen 3 monitor file",
        "Climate FieldView or Precision Planting Panorama",
        (".2020",),
        description="Precision Planting 20|20 Gen 3: *.2020",
    ),
    ProprietaryFormat(
        "cnh_cn1",
        "CNHI",
        "CN1",
        "a Case IH AFS Pro 700 / New Holland IntelliView IV (Voyager 2) data folder",
        "Case IH AFS Connect / New Holland PLM Connect desktop software",
        (".vy1",),
        marker="*.cn1",
        main_first=("index.vy1",),
        patterns={"index.vy1": None},
        description="CNHI Pro 700 / IntelliView IV: <name>.cn1/index.vy1",
    ),
    ProprietaryFormat(
        "agleader_agdata",
        "AgLeader",
        "AGDATA",
        "an Ag Leader INTEGRA/VERSA/COMPASS (firmware 3.5+) data file",
        "Ag Leader SMS",
        (".agdata",),
        partner=".agsetup",
        description="Ag Leader INTEGRA >= 3.5 / VERSA / COMPASS: *.agdata + *.agsetup",
    ),
    ProprietaryFormat(
        "agleader_ilf",
        "AgLeader",
        "ILF",
        "an Ag Leader Edge/Insight/INTEGRA (firmware up to 3.4) log file",
        "Ag Leader SMS",
        (".ilf",),
        description="Ag Leader Edge / Insight / INTEGRA 3.4: *.ilf",
    ),
    ProprietaryFormat(
        "agleader_yld",
        "AgLeader",
        "YLD",
        "an Ag Leader PF Advantage/PF3000/YM2000 yield monitor file",
        "Ag Leader SMS",
        (".yld",),
        operation_type="harvested",
        description="Ag Leader PF Advantage / PF 3000 (Pro) / YM2000: *.yld",
    ),
    ProprietaryFormat(
        "trimble_agdata",
        "Trimble",
        "TRIMBLE_AGDATA",
        "a Trimble FmX/CFX-750 AgData folder",
        "Trimble Ag Software or Farm Works",
        (".agt", ".agf", ".agi", ".agm", ".agu", ".agv"),
        marker="agdata",
        main_first=(".agt",),
        description="Trimble FmX / CFX: AgData/{Fields,implements,prescriptions,Tasks,Users,vehicles}",
    ),
    ProprietaryFormat(
        "raven_fmis",
        "RavenSlingshot",
        "RAVEN_FMIS",
        "a Raven FMIS job file",
        "Raven Slingshot",
        (".xml",),
        partner=".tab",
        partner_same_stem=True,
        check=_not_isoxml_or_dataset,
        description="Raven Slingshot FMIS: *.xml + *.tab",
    ),
    ProprietaryFormat(
        "raven_jdp",
        "RavenSlingshot",
        "RAVEN_JDP",
        "a Raven job data (JDP) file",
        "Raven Slingshot",
        (".jdp",),
        description="Raven Slingshot JDP: *.jdp",
    ),
)


def _is_junk(path: Path) -> bool:
    return (
        path.name.lower() in _JUNK
        or path.name.startswith("._")
        or "__MACOSX" in path.parts
    )


def _marker_root(path: Path, marker: str) -> Path | None:
    """The outermost ancestor folder of *path* whose lower-case name matches *marker*."""
    found = None
    for parent in path.parents:
        if fnmatch.fnmatchcase(parent.name.lower(), marker):
            found = parent
    return found


def _sibling(path: Path, name_or_suffix: str, same_stem: bool) -> Path | None:
    want_stem = path.stem.lower()
    try:
        for p in sorted(path.parent.iterdir()):
            if not p.is_file():
                continue
            low = p.name.lower()
            if low.endswith(name_or_suffix) and (
                not same_stem or p.stem.lower() == want_stem
            ):
                return p
    except OSError:
        return None
    return None


def _in_gs3(path: Path) -> bool:
    """GreenStar 3 layout: under ``GS3_2630*`` or an ``RCD/EIC/global.ver`` tree."""
    low = [p.lower() for p in path.parts]
    return (
        any(p.startswith("gs3_2630") for p in low)
        or "global.ver" in low
        or path.name.lower() == "global.ver"
    )


def _gs3_root(path: Path) -> Path | None:
    root = _marker_root(path, "gs3_2630*")
    if root is not None:
        return root
    # no GS3_2630 folder: the RCD folder above EIC/global.ver holds the dataset
    return _marker_root(path, "rcd")


def not_decodable_message(fmt: ProprietaryFormat, shown: str) -> str:
    """The ``rawGeojson`` failure message of a recognised-only dataset."""
    return (
        f"{shown!r} is {fmt.what} ({fmt.file_format}), recognised but not decodable by leafnb: "
        f"export the data as ISOXML or shapefile from {fmt.export_from}, "
        f"or install a leafnb reader plugin for {fmt.name!r}."
    )


class ProprietaryReader(Reader):
    """Base of the recognised-only readers; subclasses only set :attr:`fmt`."""

    fmt: ClassVar[ProprietaryFormat]
    decodes: ClassVar[bool] = False
    #: read() only says what the format is
    in_process_safe: ClassVar[bool] = True

    # ------------------------------------------------------------------ layout
    def _root(self, path: Path) -> tuple[Path | None, bool]:
        """(dataset folder, canonical layout?) for a folder format; (None, True) for file formats."""
        fmt = self.fmt
        if fmt.name == "jd_gs3":
            root = _gs3_root(path)
            return (root, True) if root is not None else (path.parent, False)
        if fmt.marker is None:
            return None, True
        root = _marker_root(path, fmt.marker)
        if root is not None:
            return root, True
        return path.parent, False

    def _signature(self, path: Path) -> bool:
        low = path.name.lower()
        if not low.endswith(self.fmt.extensions):
            return False
        if self.fmt.patterns:
            return any(fnmatch.fnmatchcase(low, pat) for pat in self.fmt.patterns)
        return True

    def _main_rank(self, path: Path) -> float:
        """A small bonus for the preferred main file of a folder dataset."""
        if not self.fmt.main_first:
            return 0.0
        low = path.name.lower()
        return (
            0.0
            if any(low == m or low.endswith(m) for m in self.fmt.main_first)
            else -0.01
        )

    # ------------------------------------------------------------------ contract
    def sniff(self, path: Path) -> float:
        try:
            path = Path(path)
            if not path.is_file() or _is_junk(path) or not self._signature(path):
                return 0.0
            fmt = self.fmt
            if fmt.name == "jd_gs2" and _in_gs3(path):
                return 0.0  # a GreenStar 3 card is jd_gs3's
            if fmt.name == "jd_gs3" and not _in_gs3(path):
                return 0.0
            if fmt.check is not None and not fmt.check(path):
                return 0.0
            if fmt.partner is not None:
                partner = _sibling(path, fmt.partner, fmt.partner_same_stem)
                if partner is None:
                    # Raven .xml without its .tab is just some XML; .agdata alone is still Ag Leader
                    return 0.0 if fmt.partner_same_stem else REPAIRED
                return CANONICAL
            if fmt.marker is None and fmt.name != "jd_gs3":
                return CANONICAL
            _root, canonical = self._root(path)
            return (CANONICAL if canonical else REPAIRED) + self._main_rank(path)
        except Exception:
            return 0.0

    def sidecars(self, path: Path) -> list[Path]:
        path = Path(path)
        fmt = self.fmt
        try:
            if fmt.partner is not None:
                found = _sibling(path, fmt.partner, fmt.partner_same_stem)
                return [found] if found is not None else []
            if fmt.marker is None and fmt.name != "jd_gs3":
                return []
            root, canonical = self._root(path)
            if root is None:
                return []
            if canonical:  # the whole monitor folder belongs to the dataset
                files = (p for p in root.rglob("*") if p.is_file())
            else:  # repaired: only the signature files next to the main file
                files = (
                    p for p in root.iterdir() if p.is_file() and self._signature(p)
                )
            return sorted(
                p for p in files if p != path and not _is_junk(p.relative_to(root))
            )
        except OSError:
            return []

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "file_format": self.file_format,
        }
        op = self.fmt.operation_type
        low = Path(path).name.lower()
        for pat, pat_op in self.fmt.patterns.items():
            if pat_op and fnmatch.fnmatchcase(low, pat):
                op = pat_op
        if op:
            out["operation_type"] = op
        return out

    def _shown(self, path: Path) -> str:
        """The path shown in messages: from the monitor folder down, else the file name."""
        root, canonical = self._root(path)
        if root is not None and canonical:
            try:
                return path.relative_to(root.parent).as_posix()
            except ValueError:
                pass
        return path.name

    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        path = Path(path)
        raise UnsupportedFormat(
            not_decodable_message(self.fmt, self._shown(path)),
            path=path,
            reader=self.name,
            provider=self.provider,
            format_name=self.file_format,
        )


def _class_name(name: str) -> str:
    return "".join(w.capitalize() for w in name.split("_")) + "Reader"


def _make(fmt: ProprietaryFormat) -> type[ProprietaryReader]:
    attrs = {
        "__module__": __name__,
        "__doc__": f"Recognised-only reader: {fmt.description}.",
        "fmt": fmt,
        "name": fmt.name,
        "description": fmt.description,
        "provider": fmt.provider,
        "file_format": fmt.file_format,
        "extensions": fmt.extensions,
    }
    return type(_class_name(fmt.name), (ProprietaryReader,), attrs)


#: registry name -> generated class (e.g. ``READERS["jd_gs2"]`` is ``JdGs2Reader``)
READERS: dict[str, type[ProprietaryReader]] = {f.name: _make(f) for f in FORMATS}
# module attributes, so the registry can name them as "leafnb.formats.proprietary:JdGs2Reader"
globals().update({cls.__name__: cls for cls in READERS.values()})
