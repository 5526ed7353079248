"""Shared fixtures of the scale tests: a small generated mixed-format season."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def season_zip(tmp_path_factory):
    """12 files, 24k points, every format the generator writes (incl. ISOXML), zipped."""
    from leafnb.datagen import generate, zip_dataset

    out = tmp_path_factory.mktemp("season")
    files = generate(
        out,
        24_000,
        12,
        [
            "sms_shapefile",
            "sms_csv",
            "agleader_text",
            "isoxml",
            "jd_shapefile",
            "geopackage",
        ],
        seed=3,
    )
    return zip_dataset(out, files)
