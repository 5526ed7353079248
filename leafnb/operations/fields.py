"""Field boundaries: reading (GeoJSON, shapefile, GeoPackage, WKT; any CRS), repair, area.

A boundary is always stored as a WGS84 GeoJSON ``MultiPolygon`` (holes and several parts
kept). Areas are computed in the local UTM zone of the boundary (metres), reported in ha.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from leafnb.errors import InvalidRequest

if TYPE_CHECKING:  # pyproj is imported where used: ~0.1 s of ``import leafnb``
    from pyproj import CRS

__all__ = [
    "area_m2",
    "geojson_shape",
    "geometry_hash",
    "intersection_area_m2",
    "load_boundary",
    "local_utm",
    "to_multipolygon",
]


def geojson_shape(geometry: dict[str, Any]):
    """A GeoJSON geometry as shapely's: :func:`shapely.geometry.shape`, (multi)polygons faster.

    A coverage is a (multi)polygon of tens of thousands of vertices; ``shape`` builds
    it through a Python sequence per ring (25 ms a file), here the rings are arrays
    made in one call each (3x faster). Anything else, and a polygon ``shape`` would
    refuse or read otherwise (3-D positions, empty parts), goes through ``shape``.

    >>> g = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]],
    ...                                         [[1, 1], [2, 1], [2, 2], [1, 1]]]}
    >>> geojson_shape(g).wkb == shape(g).wkb
    True
    """
    kind = geometry.get("type")
    parts = geometry.get("coordinates")
    if kind == "Polygon":
        parts = [parts]
    if kind not in ("Polygon", "MultiPolygon") or not parts or not all(parts):
        return shape(geometry)
    rings = [ring for part in parts for ring in part]
    try:
        coords = np.concatenate([np.asarray(ring, dtype=np.float64) for ring in rings])
        if coords.ndim != 2 or coords.shape[1] != 2:
            return shape(geometry)
        lines = shapely.linearrings(
            coords, indices=np.repeat(np.arange(len(rings)), [len(r) for r in rings])
        )
        polygons = shapely.polygons(
            lines, indices=np.repeat(np.arange(len(parts)), [len(p) for p in parts])
        )
    except (ValueError, TypeError, shapely.errors.GEOSException):
        return shape(geometry)  # its own error, or its own reading
    return polygons[0] if kind == "Polygon" else shapely.multipolygons(polygons)


def local_utm(geom) -> CRS:
    """The UTM CRS of the centroid of a WGS84 geometry."""
    from pyproj import CRS

    c = geom.centroid if not geom.is_empty else shapely.Point(0, 0)
    zone = int((c.x + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if c.y >= 0 else 32700) + zone)


def _project(geom, crs_from, crs_to):
    from pyproj import Transformer

    t = Transformer.from_crs(crs_from, crs_to, always_xy=True)
    return shapely.transform(
        geom, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1]))
    )


def to_utm(geom, utm: CRS | None = None):
    """Project a WGS84 geometry to *utm* (default: its own zone)."""
    return _project(geom, "EPSG:4326", utm or local_utm(geom))


def area_m2(geom, utm: CRS | None = None) -> float:
    """Area of a WGS84 (multi)polygon in m², in the local UTM zone."""
    if geom is None or geom.is_empty:
        return 0.0
    return float(to_utm(geom, utm).area)


def intersection_area_m2(a, b, utm: CRS | None = None) -> float:
    """Area of a ∩ b (both WGS84) in m²."""
    if a is None or b is None or a.is_empty or b.is_empty:
        return 0.0
    utm = utm or local_utm(b)
    pa_, pb = to_utm(a, utm), to_utm(b, utm)
    if not pa_.is_valid:
        pa_ = shapely.make_valid(pa_)
    if not pb.is_valid:
        pb = shapely.make_valid(pb)
    return float(shapely.intersection(pa_, pb).area)


def to_multipolygon(geom, *, fix: bool = True):
    """Return *geom* as a valid MultiPolygon (repaired with make_valid when *fix*)."""
    if geom is None or geom.is_empty:
        raise InvalidRequest("the boundary geometry is empty")
    if not geom.is_valid:
        if not fix:
            raise InvalidRequest(
                f"invalid boundary geometry ({shapely.is_valid_reason(geom)}); "
                "enable automaticFixBoundary or fix it before uploading"
            )
        geom = shapely.make_valid(geom)
    polys = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if g.geom_type == "Polygon":
            if not g.is_empty and g.area > 0:
                polys.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            stack.extend(g.geoms)
    if not polys:
        raise InvalidRequest(f"the boundary has no polygon area (got {geom.geom_type})")
    out = (
        shapely.MultiPolygon(polys)
        if len(polys) > 1
        else shapely.MultiPolygon([polys[0]])
    )
    if len(polys) > 1:
        out = shapely.union_all(polys)
        out = out if out.geom_type == "MultiPolygon" else shapely.MultiPolygon([out])
    return out


def _from_geojson(doc: dict[str, Any]):
    """(geometry, crs name, field name) of a GeoJSON object; malformed -> InvalidRequest."""
    try:
        return _parse_geojson(doc)
    except InvalidRequest:
        raise
    except (
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        shapely.errors.ShapelyError,
    ) as exc:
        raise InvalidRequest(
            f"not a valid GeoJSON boundary ({type(exc).__name__}: {exc}); coordinates "
            "must be nested arrays of [longitude, latitude] numbers"
        ) from None


def _parse_geojson(doc: dict[str, Any]):
    kind = doc.get("type")
    crs = None
    if isinstance(doc.get("crs"), dict):  # old-style GeoJSON named CRS
        crs = doc["crs"].get("properties", {}).get("name")
    if kind == "FeatureCollection":
        geoms = [
            shape(f["geometry"]) for f in doc.get("features", []) if f.get("geometry")
        ]
        if not geoms:
            raise InvalidRequest("the GeoJSON FeatureCollection has no geometry")
        geom = shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]
        name = next(
            (
                f.get("properties", {}).get("name")
                for f in doc["features"]
                if (f.get("properties") or {}).get("name")
            ),
            None,
        )
        return geom, crs, name
    if kind == "Feature":
        return shape(doc["geometry"]), crs, (doc.get("properties") or {}).get("name")
    if kind in ("Polygon", "MultiPolygon", "GeometryCollection"):
        return shape(doc), crs, None
    raise InvalidRequest(
        f"unsupported GeoJSON type {kind!r} for a boundary (Polygon, MultiPolygon, Feature, FeatureCollection)"
    )


def _from_file(path: Path):
    import pyogrio

    try:
        df = pyogrio.read_dataframe(path)
    except Exception as exc:
        raise InvalidRequest(f"cannot read boundary file {path.name}: {exc}") from None
    if df.empty or df.geometry.isna().all():
        raise InvalidRequest(f"boundary file {path.name} has no geometry")
    geoms = [g for g in df.geometry if g is not None and not g.is_empty]
    crs = df.crs.to_string() if df.crs is not None else None
    name = None
    for col in ("name", "Name", "NAME", "field", "Field", "FIELD"):
        if col in df.columns and df[col].notna().any():
            name = str(df[col].dropna().iloc[0])
            break
    geom = (
        shapely.union_all(
            [shapely.make_valid(g) if not g.is_valid else g for g in geoms]
        )
        if len(geoms) > 1
        else geoms[0]
    )
    return geom, crs, name


def load_boundary(
    geometry: Any = None,
    path: str | Path | None = None,
    crs: str | None = None,
    *,
    fix: bool = True,
):
    """Read a boundary from a GeoJSON dict/string, WKT, shapely geometry or a file.

    Returns ``(MultiPolygon in WGS84, name found in the source or None)``. *crs* overrides
    the source CRS (default: the file's CRS, else WGS84).
    """
    name = None
    src_crs = None
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise InvalidRequest(f"boundary file {p} does not exist")
        if p.suffix.lower() in (".geojson", ".json"):
            geom, src_crs, name = _from_geojson(json.loads(p.read_text("utf-8")))
        elif p.suffix.lower() in (".wkt", ".txt"):
            geom = shapely.from_wkt(p.read_text("utf-8").strip())
        else:
            geom, src_crs, name = _from_file(p)
    elif isinstance(geometry, dict):
        geom, src_crs, name = _from_geojson(geometry)
    elif isinstance(geometry, str):
        text = geometry.strip()
        if text.startswith("{"):
            geom, src_crs, name = _from_geojson(json.loads(text))
        else:
            try:
                geom = shapely.from_wkt(text)
            except shapely.errors.GEOSException as exc:
                raise InvalidRequest(f"not a GeoJSON geometry nor WKT: {exc}") from None
    elif isinstance(geometry, shapely.Geometry):
        geom = geometry
    elif hasattr(geometry, "__geo_interface__"):
        gi = geometry.__geo_interface__
        geom, src_crs, name = _from_geojson(gi)
        if getattr(geometry, "crs", None) is not None:
            src_crs = geometry.crs.to_string()
    else:
        raise InvalidRequest(
            "give a boundary: geometry (GeoJSON dict/str, WKT, shapely) or path (GeoJSON, shapefile, GeoPackage, WKT)"
        )
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        source_crs = CRS.from_user_input(crs or src_crs or "EPSG:4326")
    except CRSError as exc:
        raise InvalidRequest(f"unknown boundary CRS ({exc})") from None
    if not source_crs.equals(CRS.from_epsg(4326)) and not source_crs.equals(
        CRS.from_user_input("OGC:CRS84")
    ):
        geom = _project(geom, source_crs, "EPSG:4326")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidRequest(
            f"boundary coordinates {geom.bounds} are not longitude/latitude; give its crs"
        )
    return to_multipolygon(geom, fix=fix), name


def geometry_hash(geom) -> str:
    """A stable hash of a geometry (normalized WKB rounded to ~1 cm)."""
    g = shapely.set_precision(shapely.normalize(geom), 1e-7)
    return hashlib.sha1(shapely.to_wkb(g)).hexdigest()


def geojson(geom) -> dict[str, Any]:
    """GeoJSON mapping of a shapely geometry (plain lists)."""
    return json.loads(json.dumps(mapping(geom)))
