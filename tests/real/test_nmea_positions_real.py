"""A real logger that writes NMEA positions as magnitudes and hemisphere letters.

``tests/data/ofpe_cropscan_protein_wheat_2019``: a CropScan 3300H grain-protein
analyser on a combine in Montana (OFPEDATA, MIT) logs each sample's GGA fields as
``y, dir_y, x, dir_x`` (46.04, N, 109.18, W). Read without the letters the samples land
in Kyrgyzstan; with them they lie on the field whose yield the same combine logged that
day: 98 samples fall in the John Deere yield export's time span and each is a median
6.3 m from the yield point logged the same second (``facts.json``, computed with pandas
and pyogrio: ``benchmarks/corpus_facts/independent.py``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from leafnb.errors import SkippedRecordsWarning
from leafnb.formats.delimited import CsvReader

pytestmark = pytest.mark.real_data

SET = Path(__file__).resolve().parents[1] / "data" / "ofpe_cropscan_protein_wheat_2019"


@pytest.fixture(scope="module")
def read(tmp_path_factory):
    facts = json.loads((SET / "facts.json").read_text())["facts"]
    out = tmp_path_factory.mktemp("cropscan")
    with zipfile.ZipFile(SET / facts["file"]) as zf:
        zf.extractall(out)
    (csv,) = out.glob("*.csv")
    with pytest.warns(SkippedRecordsWarning):  # the samples taken before a GPS fix
        return CsvReader().read(csv), facts


def test_every_sample_with_a_fix_is_read(read):
    raw, facts = read
    assert raw.table.num_rows == facts["rowsWithPosition"]
    assert raw.meta["skipped_records"] == facts["rows"] - facts["rowsWithPosition"]


def test_the_hemisphere_letters_sign_the_positions(read):
    raw, facts = read
    lon, lat = raw.table["lon"].to_numpy(), raw.table["lat"].to_numpy()
    assert [lon.min(), lon.max()] == pytest.approx(facts["lon"], abs=1e-9)
    assert [lat.min(), lat.max()] == pytest.approx(facts["lat"], abs=1e-9)
    assert (lon < 0).all()  # west of Greenwich, as "W" says
    assert "dir_x" not in raw.table.schema.names
    assert any("dir_y (N/S) and dir_x (E/W)" in i for i in raw.issues)


def test_the_samples_lie_where_the_same_combine_logged_its_yield(read):
    """leafnb's positions against the yield export's, read by pyogrio, second by second."""
    import pandas as pd
    import pyogrio

    raw, facts = read
    check = facts["sameSecondAsHarvest"]
    (export,) = (SET.parent / check["harvestSet"]).glob("*.zip")
    with zipfile.ZipFile(export) as zf:
        (shp,) = [n for n in zf.namelist() if n.endswith(".shp") and "MACOSX" not in n]
    harvest = pyogrio.read_dataframe(f"/vsizip/{export}/{shp}")
    day = pd.Timestamp("2019-08-16", tz="UTC")
    ht = (pd.to_datetime(harvest["IsoTime"], utc=True) - day).dt.total_seconds()
    ht = ht.to_numpy()
    gga = raw.table["misc"].to_numpy()  # the GGA sentence's UTC time, hhmmss.s
    seconds = (gga // 10000) * 3600 + (gga // 100 % 100) * 60 + gga % 100
    dates = np.asarray(raw.table["Date"].to_pylist())
    same = (dates == "16/08/2019") & (seconds >= ht.min()) & (seconds <= ht.max())
    order = np.argsort(ht, kind="stable")
    at = order[np.clip(np.searchsorted(ht[order], seconds[same]), 0, len(ht) - 1)]
    east = raw.table["lon"].to_numpy()[same] - harvest.geometry.x.to_numpy()[at]
    north = raw.table["lat"].to_numpy()[same] - harvest.geometry.y.to_numpy()[at]
    metres = np.hypot(east * 111_320.0 * np.cos(np.radians(46.03)), north * 110_540.0)
    assert int(same.sum()) == check["samples"]
    assert np.median(metres) == pytest.approx(check["medianM"], abs=0.1)
    assert metres.max() < 25  # the analyser and the yield monitor share one combine
