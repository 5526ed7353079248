"""Optional C extension of leafnb (all metadata lives in pyproject.toml).

``leafnb.formats.isoxml._tlgkernel`` speeds up ISOXML time-log decoding; it is optional:
without a C compiler the build skips it and ``leafnb.formats.isoxml.tlg`` uses numpy.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "leafnb.formats.isoxml._tlgkernel",
            ["leafnb/formats/isoxml/_tlgkernel.c"],
            optional=True,
        )
    ]
)
