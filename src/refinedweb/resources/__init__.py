"""Word lists shipped with the package, and their loaders. Nothing here is fetched at run time.

- ``ldnoobw/<lang>``: the "List of Dirty, Naughty, Obscene, and Otherwise Bad Words" (CC BY 4.0, see
  ``ldnoobw/LICENSE.txt``), one entry per line, used by ``c4_badwords`` and as ROOTS' flagged words.
- ``stopwords/<lang>.txt``: stop-word lists for ROOTS' stop-word ratio (jusText stoplists, BSD 2-Clause; Chinese
  from the NLTK stopwords corpus). See ``stopwords/SOURCE.md``.
- ``url/``: the default domain blocklist, severity-weighted URL words and RefinedWeb's curated-source exclusions,
  written for this project (see the header of each file).
"""

from __future__ import annotations

import functools
from importlib import resources


def _read_lines(*parts: str) -> list[str]:
    """Non-empty, non-comment lines of a packaged text file."""
    text = resources.files(__name__).joinpath(*parts).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def badwords_languages() -> list[str]:
    return sorted(p.name for p in resources.files(__name__).joinpath("ldnoobw").iterdir() if "." not in p.name)


@functools.cache
def load_badwords(lang: str) -> frozenset[str]:
    """LDNOOBW entries for ``lang``, lower-cased."""
    return frozenset(word.lower() for word in _read_lines("ldnoobw", lang))


def stopwords_languages() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files(__name__).joinpath("stopwords").iterdir() if p.name.endswith(".txt"))


@functools.cache
def load_stopwords(lang: str) -> frozenset[str]:
    """Stop words for ``lang``, lower-cased."""
    return frozenset(word.lower() for word in _read_lines("stopwords", f"{lang}.txt"))


def packaged_lines(*parts: str) -> list[str]:
    """Lines of a packaged list (for ``url/*.txt`` and ``url/*.tsv``), comments and blank lines removed."""
    return _read_lines(*parts)
