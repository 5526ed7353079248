"""Workspace methods for images, legends, GeoTIFFs and grids (spec §7)."""

from __future__ import annotations


class RenderingAPI:
    """Mixin of :class:`leafnb.Workspace`: images (V1), imagesV2, geotiffImages, grid()."""
