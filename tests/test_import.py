import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, leafnb; ws = leafnb.Workspace\n"
        "heavy = [m for m in ('ipywidgets', 'ipyleaflet', 'rasterio', 'xarray', 'dask', 'matplotlib', 'geopandas', 'pyproj') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
