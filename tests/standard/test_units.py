import numpy as np
import pytest

from leafnb.standard.units import (
    UnitSystem,
    conversion_factor,
    convert,
    leaf_unit,
    parse_unit,
    target_unit,
)
from tests.conftest import python_output


@pytest.mark.parametrize(
    ("leaf", "pint_name"),
    [
        ("ft", "foot"),
        ("mi/hr", "mile / hour"),
        ("arcdeg", "degree"),
        ("prcnt", "percent"),
        ("percentage", "percent"),
        ("bu/ac", "bushel / intl_acre"),
        ("seeds/ac", "seed / intl_acre"),
        ("lbf", "force_pound"),
        ("m2", "meter ** 2"),
        ("gal/ac", "gallon / intl_acre"),
        ("t/ha", "metric_ton / hectare"),
        ("in", "inch"),
    ],
)
def test_leaf_unit_strings_parse(leaf, pint_name):
    assert str(parse_unit(leaf)) == pint_name


def test_round_trip_spelling():
    for leaf in (
        "ft",
        "mi/hr",
        "arcdeg",
        "bu/ac",
        "seeds/ac",
        "lb/ac",
        "gal/ac",
        "m2",
        "t/ha",
        "lbf",
    ):
        assert leaf_unit(leaf) == leaf


def test_factors_against_independent_constants():
    assert conversion_factor("mi/hr", "m/s") == pytest.approx(0.44704)
    assert conversion_factor("ft", "m") == pytest.approx(0.3048)
    assert conversion_factor("ac", "m2") == pytest.approx(4046.8564224, rel=1e-12)
    assert conversion_factor("bu/acre", "bu/ac") == 1.0
    assert conversion_factor("bu", "L") == pytest.approx(35.2391, rel=1e-5)
    assert conversion_factor("seeds/ac", "seeds/ha") == pytest.approx(2.47105, rel=1e-5)
    assert conversion_factor("lb/ac", "kg/ha") == pytest.approx(1.12085, rel=1e-5)
    np.testing.assert_allclose(convert([1.0, np.nan], "in", "cm"), [2.54, np.nan])


def test_unknown_unit_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown unit 'bananas/ac'"):
        parse_unit("bananas/ac")


def test_target_units_by_system():
    assert target_unit("speed", "mi/hr", UnitSystem.METRIC) == "m/s"
    assert target_unit("speed", "mph", UnitSystem.DEFAULT) == "mi/hr"
    assert target_unit("mass", "kg", "IMPERIAL") == "lb"
    assert target_unit("application_rate", "lb/ac", "METRIC") == "kg/ha"
    assert target_unit("application_rate", "gal/ac", "METRIC") == "L/ha"
    assert target_unit("grain_volume_per_area", "bu/ac", "METRIC") == "m3/ha"


def test_pint_cache_folder_is_per_installation(tmp_path, monkeypatch):
    """pint's shared cache names entries by file content but stores absolute paths: an
    entry from another environment must not be found (it made every registry parse
    its definitions twice)."""
    import types

    import pint

    from leafnb.standard import units

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    here = units._cache_folder(pint)
    other = units._cache_folder(
        types.SimpleNamespace(__file__=str(tmp_path / "venv" / "pint" / "__init__.py"))
    )
    assert here.parent == other.parent and here != other
    assert units.get_registry().Quantity(1.0, "hectare").to("m**2").magnitude == 10_000


def test_registry_imports_pint_without_dask():
    """pint's registry does not import dask; a quantity of a dask array still works."""
    code = (
        "import sys\n"
        "from leafnb.standard.units import get_registry\n"
        "reg = get_registry()\n"
        "print('dask' in sys.modules)\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('dask') is not None:\n"
        "    import dask, dask.array as da\n"
        "    q = reg.Quantity(da.arange(4, chunks=2), 'm')\n"
        "    assert q.compute().magnitude.tolist() == [0, 1, 2, 3]\n"
        "    assert q.persist().units == reg.meter\n"
        "    assert q.__dask_graph__() is not None\n"
        "    (r,) = dask.compute(q)\n"
        "    assert r.magnitude.tolist() == [0, 1, 2, 3] and str(r.units) == 'meter'\n"
        "    assert reg.Quantity(1.0, 'm').__dask_graph__() is None\n"
        "print('ok')\n"
    )
    assert python_output(code).split() == ["False", "ok"]


def test_one_registry_when_threads_ask_at_once(monkeypatch):
    from leafnb.standard import units

    """Threads asking first at once get one registry (each made its own, and units of
    two registries met: "Cannot operate with Unit and Unit of different registries")."""
    import threading
    import time

    made = []

    def slow():  # creating a registry takes a while: every thread would be inside
        made.append(object())
        time.sleep(0.05)
        return made[-1]

    monkeypatch.setattr(units, "_registry", None)
    monkeypatch.setattr(units, "_new_registry", slow)
    start = threading.Barrier(4)
    got = []

    def ask():
        start.wait()
        got.append(units.get_registry())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(r is made[0] for r in got)
