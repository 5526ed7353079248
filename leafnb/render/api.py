"""Workspace methods for images, legends, GeoTIFFs and grids (spec §7)."""

from __future__ import annotations


class RenderingAPI:
    """Mixin of :class:`leafnb.Workspace`: images (V1), imagesV2, geotiffImages, grid()."""

    def _make_images(self, resource_id: str) -> None:
        """Build the configured images (V1, V2, GeoTIFF) of a file or operation, after filtering."""
        return None
