"""Workspace methods for images, legends, GeoTIFFs and grids (spec §7).

Artifacts live in ``<files|operations>/<id>/images/`` (``v1/``, ``v2/``, ``geotiff/``,
``overlay/``), each product with a JSON manifest recording the source parquet, its
modification time and the rendering parameters. They are built on first request (or by
:meth:`_make_images` after processing) and rebuilt when the source parquet is newer, when
the source changes (a filter result appears) or when the parameters change.

On-request methods always answer (a notebook user asking for an image gets one);
the generation switches (``operationsImageCreation``, ``operationsImageAsGeoTiff``)
govern what :meth:`_make_images` pre-builds. Tied quantile classes are not raised as
warnings here: the legend carries ``"tiedClasses": true``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leafnb.errors import InvalidRequest, NotFound
from leafnb.resources import Resource
from leafnb.store.records import file_owner, operation_owner

if TYPE_CHECKING:
    import xarray

    from leafnb.render.images import Prepared
    from leafnb.render.legend import Legend

_MANIFEST_VERSION = 1
log = logging.getLogger(__name__)


class RenderingAPI:
    """Mixin of :class:`leafnb.Workspace`: images (V1), imagesV2, geotiffImages, grid()."""

    # ------------------------------------------------------------------ plumbing
    def _render_source(self, resource_id: str, filtered: bool) -> Path:
        """The filter result when asked for and present, else ``standard.parquet``."""
        if filtered:
            try:
                return self._points_path(resource_id, "filtered")
            except NotFound:
                pass
        return self._points_path(resource_id, "standard")

    def _render_prepared(self, source: Path) -> Prepared:
        from leafnb.render.images import prepare

        points = self._points_at(source)
        try:
            return prepare(points)
        except ValueError as exc:
            raise NotFound(f"nothing to render in {source}: {exc}") from exc

    def _render_config(
        self, resource_id: str, source: Path | None = None
    ) -> dict[str, Any]:
        """Effective config of the resource's leafUserId (files table, operations table, parquet metadata)."""
        uid = None
        for owner in (file_owner, operation_owner):
            try:
                uid = owner(self.catalog, resource_id)
            except sqlite3.Error:
                continue
            if uid is not None:
                break
        if uid is None and source is not None:
            from leafnb.store.artifacts import read_points_table

            try:
                _, meta = read_points_table(source)
                uid = meta.get("leafUserId") or meta.get("leaf_user_id")
            except Exception:
                uid = None
        return dict(self.get_config(uid))

    @staticmethod
    def _is_operation(source: Path) -> bool:
        return source.parent.parent.name == "operations"

    def _render_cached(
        self, kind: str, source: Path, params: dict[str, Any], build
    ) -> dict[str, Any]:
        """Return the manifest of product *kind*, rebuilding it when stale."""
        out_dir = source.parent / "images" / kind
        manifest_path = source.parent / "images" / f"{kind}.json"
        mtime = source.stat().st_mtime_ns
        if manifest_path.exists():
            try:
                doc = json.loads(manifest_path.read_text("utf-8"))
                fresh = (
                    doc.get("version") == _MANIFEST_VERSION
                    and doc.get("source") == source.name
                    and doc.get("sourceMtimeNs", -1) >= mtime
                    and doc.get("params") == json.loads(json.dumps(params))
                    and all(
                        (out_dir / it["file"]).exists() for it in doc.get("items", [])
                    )
                )
                if fresh:
                    return doc
            except (OSError, ValueError, KeyError, TypeError):
                pass
        items, spec = build(out_dir)
        for it in items:
            it["file"] = Path(it.pop("path")).name
        doc = {
            "version": _MANIFEST_VERSION,
            "source": source.name,
            "sourceMtimeNs": mtime,
            "params": params,
            "crs": spec.crs,
            "resolution": spec.res_x,
            "width": spec.width,
            "height": spec.height,
            "bounds": list(spec.bounds),
            "note": spec.note,
            "items": items,
        }
        from leafnb.store.artifacts import write_json

        write_json(manifest_path, doc)
        return doc

    @staticmethod
    def _render_items(
        doc: dict[str, Any], kind_dir: Path, keys: tuple[str, ...]
    ) -> list[Resource]:
        out = []
        for it in doc["items"]:
            path = kind_dir / it["file"]
            r = Resource({k: it[k] for k in keys if k in it})
            r["url"] = str(path)
            r["downloadUrl"] = path.as_uri()
            out.append(r)
        return out

    def _render_properties(
        self, prep: Prepared, cfg: dict[str, Any], operation: bool
    ) -> list[str]:
        from leafnb.render.images import numeric_properties, select_properties

        key = (
            "operationsImageAttributeCreation"
            if operation
            else "filesImageAttributeCreation"
        )
        return select_properties(
            numeric_properties(prep.points), prep.points.operation_type, cfg.get(key)
        )

    # ------------------------------------------------------------------ V1
    def _images_v1(self, resource_id: str) -> list[Resource]:
        from leafnb.render.images import build_v1

        source = self._render_source(resource_id, filtered=False)
        cfg = self._render_config(resource_id, source)
        params = {
            "resolution": cfg.get("geoimagesResolution") or 0.00001,
            "shape": str(cfg.get("geoimagesShape") or "SQUARE").upper(),
            "projection": str(cfg.get("geoimagesProjection") or "EPSG:3857")
            .upper()
            .replace("_", ":"),
            "ramp": cfg.get("geoimagesColorRamp") or None,
        }

        def build(out_dir: Path):
            prep = self._render_prepared(source)
            props = self._render_properties(prep, cfg, self._is_operation(source))
            return build_v1(
                prep,
                out_dir,
                props,
                resolution_deg=params["resolution"],
                shape=params["shape"],
                projection=params["projection"],
                ramp=params["ramp"],
            )

        params["flags"] = cfg.get(
            "operationsImageAttributeCreation"
            if self._is_operation(source)
            else "filesImageAttributeCreation"
        )
        doc = self._render_cached("v1", source, params, build)
        return self._render_items(
            doc, source.parent / "images" / "v1", ("property", "ramp")
        )

    def get_file_images(self, file_id: str) -> list[Resource]:
        """V1 images of a file (``GET /files/{id}/images``): one georeferenced PNG per numeric property.

        Items ``{property, ramp, url, downloadUrl}``; ``url + ".aux.xml"`` is the GDAL
        georeferencing. ``geoimagesResolution`` / ``geoimagesShape`` /
        ``geoimagesProjection`` / ``geoimagesColorRamp`` of the file's leafUserId apply.
        Pixels hold the mean of the points whose swath footprint covers them
        (see :mod:`leafnb.render.raster`), coloured linearly between the ramp's stops
        from the property's minimum (0 %) to maximum (100 %); no data is transparent.
        """
        return self._images_v1(file_id)

    def get_operation_images(self, operation_id: str) -> list[Resource]:
        """V1 images of an operation (``GET /operations/{id}/images``), as :meth:`get_file_images`.

        Properties follow ``operationsImageAttributeCreation`` (spec §7.4): the properties
        switched on for the operation's type, or every numeric property when none is.
        """
        return self._images_v1(operation_id)

    # ------------------------------------------------------------------ V2
    def get_operation_images_v2(self, operation_id: str) -> list[Resource]:
        """imagesV2 (``GET /operations/{id}/imagesV2``): 7 quantile classes with Leaf's colours.

        Built from ``filtered.parquet`` when it exists, else from the standard points.
        Items ``{property, legend: {ranges: [{colorCode, min, max}] × 7}, extent: {xmin,
        xmax, ymin, ymax}, url, downloadUrl}``. The PNG's pixels are an EPSG:3857 grid
        (``.aux.xml`` beside it); ``extent`` is in **EPSG:4326** degrees (lon = x, lat = y)
        of the image's outer edges, ready for a Leaflet ``ImageOverlay``. ``geoimages*``
        configs do not apply (spec §7.2).
        """
        from leafnb.render.images import V2_RESOLUTION_DEG, build_v2

        source = self._render_source(operation_id, filtered=True)
        cfg = self._render_config(operation_id, source)
        flags = (
            cfg.get("operationsImageAttributeCreation")
            if self._is_operation(source)
            else cfg.get("filesImageAttributeCreation")
        )
        params = {"resolution": V2_RESOLUTION_DEG, "flags": flags}

        def build(out_dir: Path):
            prep = self._render_prepared(source)
            return build_v2(
                prep,
                out_dir,
                self._render_properties(prep, cfg, self._is_operation(source)),
            )

        doc = self._render_cached("v2", source, params, build)
        return self._render_items(
            doc, source.parent / "images" / "v2", ("property", "legend", "extent")
        )

    # ------------------------------------------------------------------ GeoTIFF
    def get_operation_geotiff_images(self, operation_id: str) -> list[Resource]:
        """GeotiffImages (``GET /operations/{id}/geotiffImages``): one GeoTIFF per property.

        Cloud-optimised GeoTIFF (COG driver: tiled 512², DEFLATE, overviews), one float32
        band of values (not colours), nodata = lowest float32, in the data's UTM zone at
        1 m; band tags ``units``, ``property`` and ``legend`` (the imagesV2 legend as JSON).
        Built from filtered points when present. Items ``{property, url, downloadUrl}``.
        """
        from leafnb.render.images import GEOTIFF_RESOLUTION_M, build_geotiffs

        source = self._render_source(operation_id, filtered=True)
        cfg = self._render_config(operation_id, source)
        params = {
            "resolution": GEOTIFF_RESOLUTION_M,
            "crs": "utm",
            "flags": cfg.get("operationsImageAttributeCreation")
            if self._is_operation(source)
            else cfg.get("filesImageAttributeCreation"),
        }

        def build(out_dir: Path):
            prep = self._render_prepared(source)
            return build_geotiffs(
                prep,
                out_dir,
                self._render_properties(prep, cfg, self._is_operation(source)),
            )

        doc = self._render_cached("geotiff", source, params, build)
        return self._render_items(
            doc, source.parent / "images" / "geotiff", ("property",)
        )

    def get_file_geotiff_images(self, file_id: str) -> list[Resource]:
        """GeoTIFFs of a file, as :meth:`get_operation_geotiff_images`.

        A leafnb extension: Leaf offers them for operations only.
        """
        return self.get_operation_geotiff_images(file_id)

    # ------------------------------------------------------------------ analysis
    def _render_check_properties(
        self, prep: Prepared, properties: list[str] | str | None
    ) -> list[str]:
        from leafnb.render.images import numeric_properties

        available = numeric_properties(prep.points)
        if properties is None:
            return available
        props = [properties] if isinstance(properties, str) else list(properties)
        unknown = [p for p in props if p not in available]
        if unknown:
            raise InvalidRequest(
                f"not numeric properties with values: {', '.join(unknown)}; available: {', '.join(available)}"
            )
        return props

    def grid(
        self,
        resource_id: str,
        resolution: float | None = None,
        properties: list[str] | str | None = None,
        filtered: bool = True,
        *,
        crs: str = "utm",
        shape: str = "SQUARE",
        max_size: int = 8192,
    ) -> xarray.Dataset:
        """Rasterise a file's or operation's points into an ``xarray.Dataset``.

        One float32 variable per property (default: every numeric property) on ``y``/``x``
        cell-centre coordinates; ``spatial_ref`` grid mapping (rioxarray and GDAL read it);
        attributes ``units``, ``legend`` (imagesV2 legend as JSON) and the rasterising rule:
        a cell is the mean of the points whose swath footprint covers it, NaN where none.
        *crs* ``"utm"`` (default, the data's UTM zone) or any CRS string; *resolution* is in
        CRS units (default 1 m, or 0.00001° for EPSG:4326). Uses filtered points when
        ``filtered`` and they exist.
        """
        from leafnb.render.images import build_grid

        source = self._render_source(resource_id, filtered)
        prep = self._render_prepared(source)
        props = self._render_check_properties(prep, properties)
        return build_grid(
            prep,
            props,
            resolution=resolution,
            crs=crs,
            shape=shape,
            max_size=max_size,
            attrs={
                "source": source.name,
                "resourceId": resource_id,
                "operationType": prep.points.operation_type,
            },
        )

    def legend(self, resource_id: str, property: str, filtered: bool = True) -> Legend:
        """The 7-class quantile legend of one property (imagesV2 colours; filtered points when present)."""
        from leafnb.render.images import legend_of

        prep = self._render_prepared(self._render_source(resource_id, filtered))
        self._render_check_properties(prep, [property])
        return legend_of(prep, property)

    def render_overlay(
        self,
        resource_id: str,
        property: str,
        filtered: bool = True,
        max_size: int = 1024,
    ) -> dict[str, Any]:
        """A map overlay PNG of one property, for ``ipyleaflet.ImageOverlay``.

        Returns ``{"path", "bounds": [[south, west], [north, east]], "legend"}``: an
        EPSG:3857 PNG (≤ *max_size* px per side) coloured with :meth:`legend`, bounds in
        EPSG:4326 degrees, ``legend`` a :class:`~leafnb.render.legend.Legend`. Cached.
        """
        from leafnb.render.images import V2_RESOLUTION_DEG, build_overlay
        from leafnb.render.legend import Legend

        source = self._render_source(resource_id, filtered)
        kind = f"overlay-{source.stem}-{int(max_size)}"
        params = {
            "resolution": V2_RESOLUTION_DEG,
            "maxSize": int(max_size),
            "property": property,
        }

        def build(out_dir: Path):
            prep = self._render_prepared(source)
            self._render_check_properties(prep, [property])
            path = out_dir / f"{property}.png"
            res = build_overlay(prep, path, property, max_size=max_size)
            item = {
                "property": property,
                "path": path,
                "bounds": res["bounds"],
                "legend": res["legend"].to_dict(),
                "unit": res["legend"].unit,
            }
            return [item], res["spec"]

        doc = self._render_cached(f"{kind}-{property}", source, params, build)
        it = doc["items"][0]
        path = source.parent / "images" / f"{kind}-{property}" / it["file"]
        legend = Legend.from_dict(it["legend"], unit=it.get("unit"), property=property)
        return {"path": str(path), "bounds": it["bounds"], "legend": legend}

    # ------------------------------------------------------------------ pipeline hook
    def _make_images(self, resource_id: str) -> None:
        """Build the configured images (V1, V2, GeoTIFF) of a file or operation, after filtering.

        V1 when ``operationsImageCreation`` is on (operations) — files get V1 on request;
        imagesV2 whenever a filter result exists; GeoTIFFs when
        ``operationsImageAsGeoTiff`` (and ``operationsFilteredGeojson``) are on. A failing
        product (e.g. rasterio not installed) is logged and recorded in
        ``images/errors.json``; it never raises into the operation pipeline.
        """
        source = self._render_source(resource_id, filtered=False)
        cfg = self._render_config(resource_id, source)
        has_filtered = self._has_filter_result(source.parent)
        jobs = []
        if self._is_operation(source) and cfg.get("operationsImageCreation"):
            jobs.append(("v1", self.get_operation_images))
        if has_filtered:
            jobs.append(("v2", self.get_operation_images_v2))
        if cfg.get("operationsImageAsGeoTiff") and cfg.get(
            "operationsFilteredGeojson", True
        ):
            jobs.append(("geotiff", self.get_operation_geotiff_images))
        errors = {}
        for kind, fn in jobs:
            try:
                fn(resource_id)
            except Exception as exc:  # an image failure must not fail the operation
                errors[kind] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "images %s of %s failed: %s", kind, resource_id, errors[kind]
                )
        status = source.parent / "images" / "errors.json"
        if errors:
            from leafnb.store.artifacts import write_json

            write_json(status, errors)
        elif status.exists():
            status.unlink(missing_ok=True)
