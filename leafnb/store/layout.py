"""Where everything of a workspace lives on disk: one object names every folder and artifact.

::

    <root>/catalog.sqlite              batches, files, steps, operations, fields, configs, events
    <root>/batches/<batch id>/         the upload and its extracted files
    <root>/files/<file id>/            a file's artifacts (raw/standard/filtered GeoParquet, JSON)
    <root>/operations/<operation id>/  an operation's artifacts (same names)

Artifact names inside a file or operation folder: :data:`STANDARD`, :data:`SUMMARY`,
:data:`UNITS` (and the filtering and image artifacts of :mod:`leafnb.clean` and
:mod:`leafnb.render`).

>>> layout = Layout(Path("/ws"))
>>> layout.file_dir("f1") / STANDARD
PosixPath('/ws/files/f1/standard.parquet')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FILTER_MASK",
    "MANIFEST",
    "RAW",
    "RAW_SOURCE",
    "STANDARD",
    "STANDARD_EXPORT",
    "SUMMARY",
    "UNITS",
    "Layout",
]

RAW, STANDARD, SUMMARY = "raw.parquet", "standard.parquet", "summary.json"
#: where a folder of an earlier leafnb kept its units map (now in :data:`STANDARD`'s
#: footer: :func:`leafnb.store.artifacts.stored_units`)
UNITS = "units.json"
#: the filter result beside standard points: which filter removed each point
#: (:mod:`leafnb.clean.output`; ``filtered.parquet`` is written from it on request)
FILTER_MASK = "filter.parquet"
#: a merged/automerged file's "original file": the list of its member files
MANIFEST = "merge.json"
#: the complete standard GeoParquet for download (every property a column; written on
#: request from :data:`STANDARD`, which leaves out what it rebuilds on read)
STANDARD_EXPORT = "export/standard.parquet"
#: how a file's raw table (:data:`RAW`, made on request) is read again: reader, original,
#: part and options of its conversion (:mod:`leafnb.pipeline.originals`)
RAW_SOURCE = "raw.json"


@dataclass(frozen=True)
class Layout:
    """The folders of a workspace rooted at *root*."""

    root: Path

    @property
    def catalog(self) -> Path:
        """The SQLite catalog."""
        return self.root / "catalog.sqlite"

    def batch_dir(self, batch_id: str) -> Path:
        """Folder of an upload and its extracted files."""
        return self.root / "batches" / batch_id

    def file_dir(self, file_id: str) -> Path:
        """Artifact folder of a file."""
        return self.root / "files" / file_id

    def operation_dir(self, op_id: str) -> Path:
        """Artifact folder of a field operation."""
        return self.root / "operations" / op_id

    def resolve(self, relative: str) -> Path:
        """A path stored relative to the root (e.g. a file's original) made absolute."""
        return self.root / relative

    def relative(self, path: Path) -> str:
        """*path* relative to the root, as stored in the catalog."""
        return Path(path).relative_to(self.root).as_posix()
