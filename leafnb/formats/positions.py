"""Where the records are: CRS handling and the plausibility of coordinates.

Rules:

Declared projected CRS (a ``.prj``, a GeoPackage SRS, ``options={"crs": ...}``)
    1. Values that are all within ±180/±90 *and*, read as degrees, fall inside the
       CRS's area of use (pyproj ``CRS.area_of_use``) are degrees written under a
       wrong ``.prj``: read as WGS84, with a note. (Projected into UTM they would
       collapse to a few metres around the zone's origin — one point.)
    2. Otherwise the points are reprojected and checked against the area of use
       (2° margin). When most fall outside but the x/y-swapped values fall inside, the
       axes were swapped: swapped back, with a note. When neither fits, the file
       fails: the ``.prj`` does not describe the data.
Declared geographic CRS other than WGS84 (NAD83, ETRS89, GDA94 …)
    Transformed to WGS84; points outside the area of use are reported (a lat/lon
    swap is undone when the swapped points fit).
No CRS
    Degrees are read as WGS84 (noted); anything else fails. A ``.prj`` that exists but
    cannot be parsed is said to be unreadable, never "missing".
Latitude/longitude order (WGS84 data)
    When every latitude is beyond ±90° and every longitude within ±90°, the two
    columns are swapped. When both orders are in range, the file's own motion decides:
    the logged heading and distance of each record are compared with the bearing and
    step length computed from the positions in either order; the swapped order is
    taken only when it agrees closely and clearly better — median heading error below
    10° and under a third of the other order's (which must exceed 8°), median distance
    error below 8 % and under a third of the other order's (which must exceed 10 %);
    every available kind of evidence must agree. Near the equator, or for a track at
    45°, the two orders look alike and the file's order is kept; without logged motion
    the order cannot be judged and is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from leafnb.errors import CorruptFile

__all__ = ["check_axis_order", "to_wgs84", "unreadable_prj_note"]

_MARGIN = 2.0


def _in_degrees(x: np.ndarray, y: np.ndarray) -> bool:
    f = np.isfinite(x) & np.isfinite(y)
    if f.all():  # the usual case: no copies of the finite values
        return bool(len(f)) and _all_within(x, 180) and _all_within(y, 90)
    return bool(f.any()) and _all_within(x[f], 180) and _all_within(y[f], 90)


def _all_within(v: np.ndarray, limit: float) -> bool:
    """True when every value of *v* is within ±*limit*."""
    return bool(len(v) == 0 or (v.min() >= -limit and v.max() <= limit))


def _inside(area, lon: np.ndarray, lat: np.ndarray) -> float:
    """Share of finite points inside *area* (pyproj AreaOfUse) widened by the margin."""
    f = np.isfinite(lon) & np.isfinite(lat)
    if not f.any() or area is None:
        return 1.0
    west, east = area.west - _MARGIN, area.east + _MARGIN
    lo = lon[f]
    crosses = west > east  # an area crossing the antimeridian
    ok_lon = ((lo >= west) | (lo <= east)) if crosses else ((lo >= west) & (lo <= east))
    ok = ok_lon & (lat[f] >= area.south - _MARGIN) & (lat[f] <= area.north + _MARGIN)
    return float(ok.mean())


def _area_text(crs) -> str:
    a = crs.area_of_use
    if a is None:
        return crs.name
    return (
        f"{crs.name} (area of use {a.name}: {a.west:g}..{a.east:g}°E, "
        f"{a.south:g}..{a.north:g}°N)"
    )


def unreadable_prj_note(prj: Path | None) -> str | None:
    """The note for a ``.prj`` that exists but could not be parsed (None if absent)."""
    if prj is None or not prj.is_file():
        return None
    try:
        head = prj.read_bytes()[:60].decode("latin-1", errors="replace")
    except OSError:
        head = ""
    head = " ".join(head.split())
    return f"{prj.name} cannot be read as a coordinate system ({head!r})"


def to_wgs84(
    x: np.ndarray,
    y: np.ndarray,
    crs: Any,
    *,
    name: str,
    reader: str,
    path: Path | None = None,
    prj_note: str | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Bring coordinates in *crs* (None = undeclared) to WGS84 lon/lat, checking them.

    Raises
    ------
    CorruptFile
        No CRS and the values are not degrees, or the declared CRS does not fit the
        values in any reading.
    """
    from pyproj import CRS, Transformer

    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    notes: list[str] = []
    if crs is None:
        if not _in_degrees(x, y):
            why = prj_note or "no CRS (.prj missing)"
            raise CorruptFile(
                f"{name}: {why}, and its coordinates are not degrees; cannot place "
                "the points",
                path=path,
                reader=reader,
            )
        notes.append(
            f"{name}: {prj_note or 'no CRS (.prj missing)'}; coordinates read as WGS84 degrees"
        )
        return x, y, notes
    src = CRS.from_user_input(crs)
    wgs84 = CRS.from_epsg(4326)
    if src.equals(wgs84, ignore_axis_order=True):
        return x, y, notes
    area = src.area_of_use
    if src.is_projected:
        if _in_degrees(x, y) and _inside(area, x, y) >= 0.9:
            notes.append(
                f"{name}: coordinates are degrees although the CRS says {src.name}; "
                "read as WGS84"
            )
            return x, y, notes
        tr = Transformer.from_crs(src, wgs84, always_xy=True)
        lon, lat = (np.asarray(v, dtype="float64") for v in tr.transform(x, y))
        if _inside(area, lon, lat) >= 0.5:
            return lon, lat, notes
        slon, slat = (np.asarray(v, dtype="float64") for v in tr.transform(y, x))
        if _inside(area, slon, slat) >= 0.9:
            notes.append(f"{name}: x and y were swapped for {src.name}; swapped back")
            return slon, slat, notes
        raise CorruptFile(
            f"{name}: the coordinates do not fit the declared CRS {_area_text(src)}; "
            "the .prj/CRS does not describe this data",
            path=path,
            reader=reader,
        )
    tr = Transformer.from_crs(src, wgs84, always_xy=True)
    lon, lat = (np.asarray(v, dtype="float64") for v in tr.transform(x, y))
    if _inside(area, lon, lat) < 0.5:
        slon, slat = (np.asarray(v, dtype="float64") for v in tr.transform(y, x))
        if _in_degrees(y, x) and _inside(area, slon, slat) >= 0.9:
            notes.append(f"{name}: latitude and longitude were swapped; swapped back")
            return slon, slat, notes
        notes.append(f"{name}: points lie outside the area of use of {_area_text(src)}")
    return lon, lat, notes


# ---------------------------------------------------------------- lat/lon order by motion
def _bearing(lon1, lat1, lon2, lat2) -> np.ndarray:
    from leafnb.standard.area_yield import initial_bearing

    return initial_bearing(lon1, lat1, lon2, lat2)


def _steps(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    from leafnb.standard.area_yield import haversine

    return haversine(lon[:-1], lat[:-1], lon[1:], lat[1:])


def _angle_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs((a - b + 180.0) % 360.0 - 180.0)
    return d


def check_axis_order(
    lon: np.ndarray,
    lat: np.ndarray,
    motion: Mapping[str, np.ndarray],
    *,
    name: str,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Swap lon/lat when the data say so (see module rules); returns (lon, lat, note).

    *motion* may hold ``heading`` (degrees) and ``distance`` (metres) per record.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    f = np.isfinite(lon) & np.isfinite(lat)
    if not f.any():
        return lon, lat, None
    flat, flon = (lat, lon) if f.all() else (lat[f], lon[f])
    if np.abs(flat).min() > 90 and _all_within(flon, 90):
        return (
            lat,
            lon,
            f"{name}: latitude values are beyond ±90°: the columns are swapped",
        )
    if not _in_degrees(lat, lon):  # swapped would be out of range: keep
        return lon, lat, None
    heading = motion.get("heading")
    distance = motion.get("distance")
    if heading is None and distance is None:
        return lon, lat, None
    step = _steps(lon, lat)
    step_s = _steps(lat, lon)
    moving = np.isfinite(step) & (step > 0.3) & np.isfinite(step_s)
    verdicts = []
    if heading is not None:
        h = np.asarray(heading, dtype="float64")[1:]
        ok = moving & np.isfinite(h)
        if ok.sum() >= 20:
            b = _bearing(lon[:-1], lat[:-1], lon[1:], lat[1:])
            bs = _bearing(lat[:-1], lon[:-1], lat[1:], lon[1:])
            ea = float(np.median(_angle_error(b[ok], h[ok])))
            eb = float(np.median(_angle_error(bs[ok], h[ok])))
            verdicts.append(eb < 10 and ea > max(3 * eb, 8))
    if distance is not None:
        d = np.asarray(distance, dtype="float64")[1:]
        ok = moving & np.isfinite(d) & (d > 0.3)
        if ok.sum() >= 20:
            ra = float(np.median(np.abs(step[ok] / d[ok] - 1)))
            rb = float(np.median(np.abs(step_s[ok] / d[ok] - 1)))
            verdicts.append(rb < 0.08 and ra > max(3 * rb, 0.1))
    if verdicts and all(verdicts):
        return (
            lat,
            lon,
            (
                f"{name}: positions read as latitude/longitude contradict the logged "
                "heading/distance; the two coordinate columns were swapped back"
            ),
        )
    return lon, lat, None
