"""PNG writing and the GDAL ``.aux.xml`` (PAM) sidecar that georeferences it."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from leafnb.render.raster import GridSpec

__all__ = ["crs_wkt", "pam_xml", "write_png"]


def crs_wkt(crs: str) -> str:
    """WKT1 (GDAL flavour, read by every GDAL/QGIS version) of *crs*."""
    from pyproj import CRS

    return CRS.from_user_input(crs).to_wkt("WKT1_GDAL")


def pam_xml(spec: GridSpec, metadata: dict[str, str] | None = None) -> str:
    """The GDAL PAM document (``<PAMDataset>``: SRS, GeoTransform, optional metadata) of *spec*."""
    gt = ", ".join(repr(float(v)) for v in spec.geotransform)
    md = ""
    items = dict(metadata or {})
    if spec.note:
        items.setdefault("leafnb_note", spec.note)
    if items:
        md = (
            "  <Metadata>\n"
            + "".join(
                f'    <MDI key="{escape(str(k))}">{escape(str(v))}</MDI>\n'
                for k, v in items.items()
            )
            + "  </Metadata>\n"
        )
    return (
        "<PAMDataset>\n"
        f"  <SRS>{escape(crs_wkt(spec.crs))}</SRS>\n"
        f"  <GeoTransform>{gt}</GeoTransform>\n"
        f"{md}"
        "</PAMDataset>\n"
    )


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_png(
    path: str | Path,
    rgba: np.ndarray,
    spec: GridSpec | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write an RGBA ``(h, w, 4)`` uint8 array as PNG, plus ``<path>.aux.xml`` when *spec* is given."""
    from PIL import Image

    path = Path(path)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), "RGBA").save(
        buf, format="PNG", compress_level=1
    )
    _atomic_write(path, buf.getvalue())
    if spec is not None:
        _atomic_write(
            path.with_name(path.name + ".aux.xml"),
            pam_xml(spec, metadata).encode("utf-8"),
        )
    return path
