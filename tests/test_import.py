from tests.conftest import python_output


def test_import_is_light():
    code = (
        "import sys, leafnb; ws = leafnb.Workspace\n"
        "heavy = [m for m in ('ipywidgets', 'ipyleaflet', 'rasterio', 'xarray', 'dask', 'matplotlib', 'geopandas', 'pyproj') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    assert python_output(code).strip() == ""


def test_inline_upload_is_light(tmp_path):
    """Converting a small CSV in process imports no dask (pint's optional probe included),
    no plotting, widgets, server or GeoDataFrame stack."""
    code = (
        "import sys, zipfile, leafnb\n"
        "from leafnb.testing import make_points, write_as\n"
        f"root = {str(tmp_path)!r}\n"
        "p = write_as(make_points('harvested', 10, seed=1), 'sms_csv', root + '/src', 'f')\n"
        "with zipfile.ZipFile(root + '/in.zip', 'w') as z:\n"
        "    z.write(p, p.name)\n"
        "ws = leafnb.Workspace(root + '/ws', executor='inline')\n"
        "b = ws.upload_batch(root + '/in.zip', 'u', progress=False)\n"
        "assert ws.get_file(b['leafFiles'][0])['status'] == 'processed'\n"
        "assert 'pint' in sys.modules  # the units were parsed\n"
        "heavy = ('dask', 'distributed', 'matplotlib', 'geopandas', 'ipywidgets',\n"
        "         'ipyleaflet', 'leafnb.server', 'leafnb.widgets')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    assert python_output(code).strip() == ""
