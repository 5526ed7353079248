"""Leaf's wire shape of leafnb's resources: pure functions the resource builders call.

leafnb's catalog keeps its own, richer states (a batch is PROCESSING while it runs, a
step message says ``ok: 6061 records (…)``). Leaf documents fewer (spec §3, §4.2,
issue 17), and a client ported from Leaf compares against those, so the Python face and
HTTP both answer in Leaf's terms; leafnb's detail stays under extra keys:

==========================  ==============================================================
Leaf's wire                 where leafnb's detail goes
==========================  ==============================================================
batch ``status`` is         ``processingStatus: "PROCESSING"`` (leafnb's state) and
``RECEIVED`` while work     ``statusDetails`` say what is going on
goes on (PROCESSED/FAILED
at the end)
a successful step's         ``detail`` holds leafnb's message (``ok: 6061 records …``)
``message`` is ``"ok"``
steps include               ``propertiesPNGs`` is ``processed`` once the standard points
``propertiesPNGs``          exist: the PNGs are rendered on the first
                            ``GET /files/{id}/images`` (``detail`` says so)
units are Leaf's strings    :mod:`leafnb.standard.leaf_units` (``prcnt``, ``yieldVolume``)
``rawGeojson`` and          each holds where the GeoJSON is (or will be) written; the
``standardGeojson`` (+      server's link produces it on first download
``download…``) on a file
``originalFile``,           the original is extracted again from the batch's upload, the
``rawGeoparquet``           raw table read again from it, on first use
                            (:mod:`leafnb.pipeline.originals`, :func:`ensure_artifact`)
==========================  ==============================================================

Examples
--------
>>> batch_wire({"id": "b", "status": "PROCESSING"})["status"]
'RECEIVED'
>>> steps_wire({"rawGeojson": {"status": "processed", "message": "ok: 5 records"}})[
...     "rawGeojson"
... ]
{'status': 'processed', 'message': 'ok', 'detail': 'ok: 5 records'}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from leafnb.clean.output import EXPORTS as FILTER_EXPORTS
from leafnb.clean.output import MASK, materialize
from leafnb.pipeline import originals
from leafnb.standard.leaf_units import summary_wire
from leafnb.store.layout import RAW, RAW_SOURCE, STANDARD, STANDARD_EXPORT

__all__ = [
    "LAZY_GEOJSON",
    "artifact_file",
    "asset_wire",
    "batch_wire",
    "ensure_artifact",
    "field_file_wire",
    "file_resource_wire",
    "lazy_source",
    "steps_wire",
]

#: file-artifact GeoJSON written on first download -> the GeoParquet it is written from
LAZY_GEOJSON = {"raw.geojson": "raw.parquet", "standard.geojson": "standard.parquet"}

_PROCESSING_DETAIL = "PROCESSING: the files of the batch are being converted"


def batch_wire(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch resource with Leaf's states: RECEIVED until PROCESSED or FAILED."""
    if batch.get("status") == "PROCESSING":
        batch.update(status="RECEIVED", processingStatus="PROCESSING")
        batch.setdefault("statusDetails", _PROCESSING_DETAIL)
    return batch


def steps_wire(steps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A file's step map with Leaf's messages: a processed step's ``message`` is ``ok``.

    A processed ``standardGeojson`` also makes ``propertiesPNGs`` processed (the PNGs
    are rendered on request, see the module table).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, step in steps.items():
        step = dict(step)
        message = step.get("message") or ""
        if step.get("status") == "processed" and message != "ok":
            step["message"] = "ok"
            if message:
                step["detail"] = message
        out[name] = step
    if steps and "propertiesPNGs" not in out:
        out["propertiesPNGs"] = _pngs_step(steps)
    return out


def _pngs_step(steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    std = (steps.get("standardGeojson") or {}).get("status")
    if std == "processed":
        return {
            "status": "processed",
            "message": "ok",
            "detail": "rendered on the first GET /files/{id}/images",
        }
    if std in (None, "processing"):
        return {"status": "processing", "message": ""}
    return {"status": "skipped", "message": "skipped"}


def file_resource_wire(resource: dict[str, Any], folder: Path) -> dict[str, Any]:
    """*resource* (a file) in Leaf's shape: GeoJSON URL pairs, summary units.

    ``rawGeojson`` / ``standardGeojson`` (and their ``download…`` URLs) hold the
    artifact's path (``file://`` URI) as soon as the GeoParquet it is written from
    exists, whether or not the GeoJSON was written yet: :func:`ensure_artifact` (and the
    server's download link) writes it on first use. Before that (a file still
    converting, or failed) both stay ``None``. The embedded ``summary`` gets Leaf's
    unit strings.
    """
    for key, name in (
        ("rawGeojson", "raw.geojson"),
        ("standardGeojson", "standard.geojson"),
    ):
        target = folder / name
        ready = target.exists() or lazy_source(target) is not None
        resource[key] = str(target) if ready else None
        resource["download" + key[0].upper() + key[1:]] = (
            target.as_uri() if ready else None
        )
    summary = resource.get("summary")
    if summary is not None:
        resource["summary"] = summary_wire(summary)
    return resource


def lazy_source(path: Path) -> Path | None:
    """What a missing artifact *path* is made from on first use (None: not made on request).

    ==================================  ==============================================
    *path*                              made from
    ==================================  ==============================================
    ``files/<id>/raw.geojson``,         the GeoParquet beside it (``raw.parquet`` is
    ``files/<id>/standard.geojson``     made on request too)
    ``files/<id>/raw.parquet``          ``files/<id>/raw.json`` (how the rawGeojson
                                        step read the original)
    ``batches/<id>/extracted/…``        ``batches/<id>/upload.zip``
    ``filtered.parquet``,               ``filter.parquet`` + the standard points
    ``removed.parquet``,                (:mod:`leafnb.clean.output`), of a file or
    ``filtered.geojson``                an operation
    ``export/standard.parquet``         ``standard.parquet`` of the file or operation
                                        (complete: every property a column)
    ==================================  ==============================================
    """
    path = Path(path)
    if path.name in FILTER_EXPORTS:  # a file's or operation's filter result
        return path.with_name(MASK) if (path.parent / MASK).is_file() else None
    folder = path.parent.parent  # files/<id> or operations/<id>
    if (
        path.name == STANDARD
        and path.parent.name == Path(STANDARD_EXPORT).parent.name
        and folder.parent.name in ("files", "operations")
    ):
        source = folder / STANDARD
        return source if source.is_file() else None
    if path.parent.parent.name == "files":
        if path.name in LAZY_GEOJSON:
            source = path.with_name(LAZY_GEOJSON[path.name])
            ready = source.is_file() or lazy_source(source) is not None
            return source if ready else None
        if path.name == RAW:
            source = path.with_name(RAW_SOURCE)
            return source if source.is_file() else None
        return None
    found = _extracted_original(path)
    if found is None:
        return None
    upload = found[0] / originals.UPLOAD
    return upload if upload.is_file() else None


def _extracted_original(path: Path) -> tuple[Path, str] | None:
    """``(batch folder, dataset folder)`` of an original in ``<workspace>/batches/<id>/extracted/``.

    The outermost ``batches/<id>/extracted`` below a folder holding a catalog counts, so
    an upload holding such folders itself never names another upload.
    """
    for folder in reversed(path.parents):
        batches = folder.parent.parent
        if (
            folder.name == originals.EXTRACTED
            and batches.name == "batches"
            and (batches.parent / "catalog.sqlite").is_file()
        ):
            return originals.locate(batches.parent, path)
    return None


def ensure_artifact(path: str | Path) -> Path:
    """*path*, made first when it is an artifact made on request and missing (else as is).

    A lazy GeoJSON is written from its GeoParquet, a raw table read again from the
    original, an original extracted again (its dataset's folder) from the batch's
    upload into ``batches/<id>/extracted/``, where it stays until the batch runs again
    (:mod:`leafnb.pipeline.originals`). Raises
    :class:`~leafnb.errors.OriginalUnavailable` when the upload cannot be extracted.

    Examples
    --------
    >>> ensure_artifact(ws.get_file(fid)["rawGeojson"])  # doctest: +SKIP
    PosixPath('…/files/<id>/raw.geojson')
    >>> ensure_artifact(ws.get_file(fid)["originalFile"]).read_bytes()  # doctest: +SKIP
    """
    from leafnb.store.artifacts import export_points, read_points_table, write_geojson

    path = Path(path)
    if path.exists():
        return path
    found = _extracted_original(path)
    if found is not None:
        originals.restore(*found)
        return path
    source = lazy_source(path)
    if source is None:
        return path
    if path.name in FILTER_EXPORTS:
        materialize(path)
    elif path.name == STANDARD:
        export_points(source, path)
    elif path.name == RAW:
        originals.make_raw(path.parent)
    else:
        table, _ = read_points_table(ensure_artifact(source))
        write_geojson(path, table)
    return path


@contextlib.contextmanager
def artifact_file(path: str | Path) -> Iterator[Path]:
    """A readable file for *path* while the context lasts (a download streams it).

    An original is extracted again into a temporary folder of the caller, deleted at
    exit, even while ``extracted/`` holds it (a batch that settles deletes that folder;
    two downloads never share or delete each other's files); anything else is
    :func:`ensure_artifact`.
    """
    path = Path(path)
    found = _extracted_original(path)
    if found is None or not (found[0] / originals.UPLOAD).is_file():
        yield ensure_artifact(path)
        return
    bdir, folder = found
    with originals.private_extraction(bdir, folder) as tmp:
        yield tmp / path.relative_to(bdir / originals.EXTRACTED)


def field_file_wire(resource: dict[str, Any]) -> dict[str, Any]:
    """An item of a field's operation-file listing (fields service) from a file resource.

    Keys of the documented sample: ``id``, ``operationType``, ``origin``, ``startTime``,
    ``endTime``, ``crops``, ``varieties``, ``providerFileId``, ``provider``,
    ``leafUserId``; crops and varieties come from the file's summary.
    """
    props = (resource.get("summary") or {}).get("properties") or {}
    crops = props.get("crop") or []
    if isinstance(crops, str):
        crops = [crops]
    varieties = [v.get("name") for v in props.get("varieties") or [] if v.get("name")]
    return {
        "id": resource["id"],
        "operationType": resource.get("operationType"),
        "origin": resource.get("origin"),
        "startTime": resource.get("startTime"),
        "endTime": resource.get("endTime"),
        "crops": list(crops),
        "varieties": varieties,
        "providerFileId": resource["id"],
        "provider": resource.get("provider"),
        "leafUserId": resource.get("leafUserId"),
    }


#: keys of Leaf's asset resources (beta assets service) beyond id/leafUserId/name
_ASSET_KEYS = {
    "machine": (
        "provider",
        "providerMachineId",
        "providerOrganizationId",
        "originType",
        "createdTime",
        "serialNumber",
        "vin",
        "model",
        "make",
        "category",
        "modelYear",
    ),
    "implement": (
        "provider",
        "providerImplementId",
        "providerOrganizationId",
        "originType",
        "serialNumber",
        "model",
        "make",
        "category",
    ),
    "operator": (
        "provider",
        "providerOperatorId",
        "providerOrganizationId",
        "originType",
        "license",
        "updatedTime",
        "status",
    ),
}


def asset_wire(
    kind: str, item: dict[str, Any], leaf_user_id: str, file: dict[str, Any]
) -> dict[str, Any]:
    """A machine / implement / operator named by a file, as Leaf's asset resource.

    *item* is what the file's source says (``name``, ``serialNumber``, ``brand``);
    leafnb assets come from files, so ``originType`` is ``FILE_POOLED``; the
    ``provider…Id`` keys hold the source's own id when it has one (ISOXML ``WKR``), the
    brand becomes ``make``, and every other documented key is ``None``.
    """
    out: dict[str, Any] = dict.fromkeys(("id", "leafUserId", "name"))
    out.update(dict.fromkeys(_ASSET_KEYS[kind]))
    brand = item.get("brand")
    out.update(
        id=item["id"],
        leafUserId=leaf_user_id,
        name=item.get("name"),
        provider=file.get("provider"),
        originType="FILE_POOLED",
    )
    if kind == "machine":
        out["createdTime"] = file.get("createdTime")
    if kind == "operator":
        out["providerOperatorId"] = item.get("sourceId")
        out["updatedTime"] = file.get("updatedTime")
        out["status"] = "ACTIVE"
    else:
        out["serialNumber"] = item.get("serialNumber")
        out["make"] = brand if brand and brand != "unknown" else None
    return out
