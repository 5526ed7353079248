"""Machines and operators named by columns of tabular exports (leafnb.formats.assets)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from leafnb.formats.assets import MAX_DISTINCT, assets_from_columns

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
AGLEADER = SHARED / "shapefile" / "isu_strips_yield" / "agleader_advanced_export"


def test_serial_machine_and_operator_columns():
    t = pa.table(
        {
            "Serial Number": [976285, 976285, 2007713498],
            "Vehicle Name": ["Combine 1", "Combine 1", None],
            "Driver": ["Ann", "Bo", "Ann"],
            "Yld_Mass": [1.0, 2.0, 3.0],
        }
    )
    found = assets_from_columns(t)
    assert found["machinery"] == [
        {
            "name": "976285",
            "type": "machine",
            "brand": "unknown",
            "serialNumber": "976285",
        },
        {
            "name": "2007713498",
            "type": "machine",
            "brand": "unknown",
            "serialNumber": "2007713498",
        },
        {"name": "Combine 1", "type": "machine", "brand": "unknown"},
    ]
    assert found["operators"] == [
        {"id": "Ann", "name": "Ann"},
        {"id": "Bo", "name": "Bo"},
    ]


def test_a_column_with_a_value_per_record_names_no_asset():
    t = pa.table({"Machine": [f"m{i}" for i in range(MAX_DISTINCT + 1)]})
    assert assets_from_columns(t) == {}
    assert (
        assets_from_columns(pa.table({"Operator": pa.array([None, ""], pa.string())}))
        == {}
    )


def test_agleader_serial_reaches_sessions_and_machines(tmp_path):
    # the display serial the shapefile itself holds (read with pyogrio, not leafnb)
    shp = AGLEADER / "2007-basswood.shp"
    if not shp.exists():
        pytest.skip("shared data absent")
    import zipfile

    import pyogrio

    from leafnb import Workspace

    serials = {
        str(v)
        for v in pyogrio.read_dataframe(shp, columns=["SERIAL"], read_geometry=False)[
            "SERIAL"
        ].unique()
    }
    z = tmp_path / "u.zip"
    with zipfile.ZipFile(z, "w") as out:
        for ext in (".shp", ".shx", ".dbf", ".prj"):  # the shapefile alone
            out.write(shp.with_suffix(ext), shp.with_suffix(ext).name)
    ws = Workspace(tmp_path / "ws", executor="inline")
    batch = ws.upload_batch(z, "grower")
    assert batch["status"] == "PROCESSED", batch
    # the uploaded file (the batch also lists the operation's automerged file)
    (fid,) = [f for f in batch["leafFiles"] if ws.get_file(f)["origin"] == "uploaded"]
    machinery = ws.get_file_summary(fid)["properties"]["machinery"]
    assert {m.get("serialNumber") for m in machinery} == serials
    # the user's machines (``/machines``, the beta asset look-ups) list it by serial
    from leafnb.operations.sessions import file_assets

    machines = file_assets(ws.ctx, fid)["machines"]
    assert {m["serialNumber"] for m in machines} == serials
