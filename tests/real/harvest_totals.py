"""Harvest totals computed straight from raw columns (plain pandas/pyogrio, no leafnb code).

Used to check leafnb's summary totals against numbers obtained independently.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_SQFT_PER_ACRE = 43_560.0
_SQIN_PER_ACRE = 6_272_640.0


def independent_totals(path: str | Path) -> dict:
    """Return totals of one real harvest file, from its raw columns.

    Ag Leader SMS shapefile (DBF names ``Yld_Vol_Dr`` …, yields per area, imperial):
        area_ac_i = Distance_f_i × Swth_Wdth_i / 43,560 (ft² → ac);
        dryVolume_bu = Σ Yld_Vol_Dr_i × area_ac_i; wetVolume_bu = Σ Yld_Vol_We_i × area_ac_i;
        wetMass_lb = Σ Yld_Mass_W_i × area_ac_i; dryMass_lb = Σ Yld_Mass_D_i × area_ac_i;
        area_ac = Σ area_ac_i.
    Ag Leader advanced-export text (no header; flow lb/s, cycle s, distance in, swath in):
        wetMass_lb = Σ flow_i × cycle_i; area_ac = Σ distance_i × swath_i / 6,272,640.
    Every record is counted (no cleanup), so leafnb's totals before cleanup should match.
    """
    path = Path(path)
    if path.suffix.lower() == ".shp":
        import pyogrio

        df = pyogrio.read_dataframe(path, read_geometry=False)
        area = df["Distance_f"] * df["Swth_Wdth_"] / _SQFT_PER_ACRE
        return {
            "records": len(df),
            "area_ac": float(area.sum()),
            "dryVolume_bu": float((df["Yld_Vol_Dr"] * area).sum()),
            "wetVolume_bu": float((df["Yld_Vol_We"] * area).sum()),
            "wetMass_lb": float((df["Yld_Mass_W"] * area).sum()),
            "dryMass_lb": float((df["Yld_Mass_D"] * area).sum()),
        }
    df = pd.read_csv(path, header=None)
    flow, cycle, dist, swath = df[2], df[4], df[5], df[6]
    return {
        "records": len(df),
        "area_ac": float((dist * swath).sum() / _SQIN_PER_ACRE),
        "wetMass_lb": float((flow * cycle).sum()),
    }
