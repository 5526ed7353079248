"""Yield Editor output saved as a shapefile by R (OFPEDATA, MIT): names cut to 7 letters.

``tests/data/ofpe_yield_editor_wheat_2016``: the cleaned yield of a Montana wheat field.
Its DBF names are R's cuts of Yield Editor's (``moistur``, ``swth_w_``, ``dist_in``,
``z_metrs``) plus ``orig_file``, which the project's tools add to every table they merge.
The totals are asserted by ``test_corpus.py``; here, what the names say: the height is in
metres (the publisher's documentation: "Height in meters"), and no column makes the file
a John Deere export.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from leafnb.formats.shapefile import ShapefileReader

pytestmark = pytest.mark.real_data

SET = Path(__file__).resolve().parents[1] / "data" / "ofpe_yield_editor_wheat_2016"


@pytest.fixture(scope="module")
def read(tmp_path_factory):
    facts = json.loads((SET / "facts.json").read_text())["facts"]
    out = tmp_path_factory.mktemp("ye")
    with zipfile.ZipFile(SET / facts["file"]) as zf:
        zf.extractall(out)
    (shp,) = out.glob("*.shp")
    return ShapefileReader().read(shp), facts


def test_the_height_is_in_metres(read):
    raw, facts = read
    assert raw.meta["columns"]["z_metrs"].property == "elevation"
    assert raw.meta["columns"]["z_metrs"].unit == "m"
    values = raw.table["z_metrs"].to_numpy()
    assert [np.nanmin(values), np.nanmax(values)] == pytest.approx(facts["elevation_m"])


def test_a_merged_tables_column_does_not_name_the_vendor(read):
    raw, _ = read
    assert raw.meta["family"] != "jd"
    assert raw.meta["columns"]["swth_w_"].unit == "in"
    assert raw.meta["columns"]["dist_in"].unit == "in"
