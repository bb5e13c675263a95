"""Build script for the one C extension (everything else is in pyproject.toml).

``refinedweb.data.extract._linetable`` reads the extraction engine's rendered lines in one C pass (see the file's
header comment). setuptools builds it on ``pip install .`` and ``pip install -e .``; it needs a C compiler and the
Python headers, nothing else; without them the install goes on without it.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "refinedweb.data.extract._linetable",
            sources=["src/refinedweb/data/extract/_linetable.c"],
            extra_compile_args=["-O3"],
            # Without a compiler the install still succeeds: only the `refinedweb` extraction engine (not the
            # default) is then unavailable, with an error that says how to build it.
            optional=True,
        )
    ]
)
