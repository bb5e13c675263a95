"""Build script for the C extensions (everything else is in pyproject.toml).

``refinedweb.data.extract._htmlwalk`` walks the HTML and ``refinedweb.data.extract._linetable`` reads the extraction
engine's rendered lines in one C pass each, and ``refinedweb.data.filters._ngrams`` counts the Gopher repetition filter's n-grams (see each file's header comment).
setuptools builds them on ``pip install .`` and ``pip install -e .``; they need a C compiler and the Python headers,
nothing else; without them the install goes on without them.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "refinedweb.data.extract._linetable",
            sources=["src/refinedweb/data/extract/_linetable.c"],
            extra_compile_args=["-O3"],
            # Without a compiler the install still succeeds, but the `refinedweb` extraction engine (the default)
            # is then unavailable: a run that uses it stops at its start with an error that says how to build it or
            # which engine to choose instead (extract.engine: resiliparse).
            optional=True,
        ),
        Extension(
            "refinedweb.data.extract._htmlwalk",
            sources=["src/refinedweb/data/extract/_htmlwalk.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "refinedweb.data.filters._ngrams",
            sources=["src/refinedweb/data/filters/_ngrams.c"],
            extra_compile_args=["-O3"],
            # Without it the Gopher repetition filter uses its numpy version (same results, slower).
            optional=True,
        ),
    ]
)
