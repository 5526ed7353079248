"""Images of standard points (spec §7): V1 PNGs, imagesV2 legends, GeoTIFFs, grids, map overlays.

Light to import (numpy only); rasterio, xarray and PIL load when an image is written.
"""

from leafnb.render.legend import LEAF_COLORS, Legend, quantile_legend
from leafnb.render.ramps import LEAF_RAMP, colorize

__all__ = ["LEAF_COLORS", "LEAF_RAMP", "Legend", "colorize", "quantile_legend"]
