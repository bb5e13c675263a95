"""Build script for the one C extension (everything else is in pyproject.toml).

``refinedweb.data.extract._linetable`` reads the extraction engine's rendered lines in one C pass (see the file's
header comment). setuptools builds it on ``pip install .`` and ``pip install -e .``; it needs a C compiler and the
Python headers, nothing else.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "refinedweb.data.extract._linetable",
            sources=["src/refinedweb/data/extract/_linetable.c"],
            extra_compile_args=["-O3"],
        )
    ]
)
