"""Optional C extension of leafnb (all metadata lives in pyproject.toml).

``leafnb.formats.isoxml._tlgkernel`` speeds up ISOXML time-log decoding; it is optional:
without a C compiler the build skips it and ``leafnb.formats.isoxml.tlg`` uses numpy.
The numpy decoder is linear in the input, hostile logs included (issue 14), and gives
identical results, so a missing kernel costs speed, never correctness or a stalled
worker; ``leafnb.formats.isoxml.tlg.kernel_available()`` says which one runs.
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
