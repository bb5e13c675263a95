"""HTML → a table of rendered lines with the cheap facts the scorer needs.

The DOM work is done in C: lexbor parses the page (resiliparse's ``HTMLTree``) and resiliparse's
``extract_plain_text(preserve_formatting="minimal_html", links=True)`` renders *every* visible line with a reduced
markup: ``<p>``, ``<h1-6>``, ``<ul>/<ol>/<li>``, ``<pre>``, ``<a>`` and ``<br>``; table cells are tab-separated.
Elements that are boilerplate by their own markup (``<nav>``, ``<footer>``, form controls) or that the page hides
(``SKIP_SELECTORS``) are skipped inside that C pass.

Python never walks the DOM (a Python walk over a lexbor tree costs more per page than resiliparse's whole C
extraction). The rendering is read in one C pass (``_linetable.c``, a small extension built with the package) that
gives each line's text and its counts (visible characters, characters inside links, punctuation, digits, CJK
characters, words); the numpy version it replaced cost six times as much per page. The compromise: container
boundaries (which ``<div>`` a line came from) are lost; the scorer recovers locality from line order, blank lines and
the neighbouring lines' statistics instead. Character counts include HTML entities as written (``&amp;`` is five
characters); only the text handed back is unescaped.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass

import numpy as np

from refinedweb.errors import InputError

# Elements skipped inside the C render:
# - page furniture by its tag alone (HTML's sectioning elements for navigation, tangential content and footers, and
#   form controls);
# - elements the page itself hides: the ``hidden`` attribute, ``aria-hidden="true"`` and an inline
#   ``display: none`` (browsers, Readability and resiliparse's main-content mode do not show them either; they hold
#   menus, pop-ups, duplicated quotes, image metadata). Inline ``visibility: hidden`` is *not* skipped: WeChat
#   articles hide their whole body that way until a script reveals it;
# - OneTrust's consent banner, the most common one (17 magic-html pages of different sites, often longer than the
#   article). Substring selectors for any consent banner (``[id*=consent]``, ``[class*=consent]``) did as well but
#   cost 0.05 ms a page, 2-3% of the engine's time; an id selector costs nothing measurable.
# Measured on the development sets (benchmarks/extraction.md): with the model retrained, the leave-one-set-out F1
# rose on every set. Each attribute selector costs the engine about 0.01-0.03 ms a page (lexbor tests it on every
# element), which is why the list is short. Class and id cues for related-article lists, share
# widgets and comment sections are not used: skipping them lost whole articles on some pages (related / share: the
# best possible F1 over the kept lines fell from 0.978 to 0.958 on mozilla), and comments split the sets (dragnet's
# gold keeps them: skipping comment containers cost dragnet 0.08 F1 for +0.008 on aeb).
SKIP_SELECTORS: tuple[str, ...] = (
    "nav", "footer", "aside", "button", "select", "textarea", "template",
    "[hidden]", "[aria-hidden=true]", "[style*='display:none']", "[style*='display: none']",
    "#onetrust-consent-sdk",
)

# Block kinds, in the order of the one-hot feature columns.
KINDS = ("text", "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "cell")

# Character categories, counted per line by ``_linetable.c``: white space (space, CR, NBSP, ideographic space),
# tab (a table cell boundary), punctuation (, ; : and their CJK forms), sentence ends (. ! ? and CJK forms), digits,
# CJK (kana, CJK ideographs, hangul), separators (| · » › /) and everything else. Line ends and link marks are not
# text. A line "ends like a sentence" when its last character is one of . ! ? 。！？ " ' ” 」 ).

STATS = ("chars", "words", "link_chars", "punct", "digits", "cjk", "seps", "ends_sentence", "gap_before")
"""Columns of ``Lines.stats``: visible non-space characters; word-equivalents (spaces + 1, as resiliparse collapses
runs of spaces, plus half a word per CJK character); characters inside links (spaces included); punctuation; digits; CJK characters;
separators (| · » › /); 1 if the line ends like a sentence; 1 if a blank line precedes it (a paragraph boundary)."""


@dataclass
class Lines:
    """The non-empty rendered lines of a page."""

    texts: list[str]
    """Visible text, tags removed, entities still escaped, spaces trimmed."""
    kind: np.ndarray
    """Index into ``KINDS``: the block element the line starts with (``cell`` for tab-separated table rows)."""
    stats: np.ndarray
    """(lines, len(STATS)) float counts, see ``STATS``."""

    def __len__(self) -> int:
        return len(self.texts)

    def text_of(self, keep: np.ndarray) -> str:
        """The kept lines, one per line, entities decoded."""
        out = "\n".join([t for t, k in zip(self.texts, keep.tolist()) if k])
        return html_lib.unescape(out) if "&" in out else out


def parse_tree(html: str):
    """Parse with lexbor; raise ``InputError("extract_error")`` when the page cannot be parsed."""
    from resiliparse.parse.html import HTMLParserException, HTMLTree

    if not isinstance(html, str):
        raise InputError("extract_error", f"extraction needs str HTML, got {type(html).__name__}")
    try:
        tree = HTMLTree.parse(html)
    except (HTMLParserException, ValueError, UnicodeError) as exc:  # the page, not the run, is bad
        # Only parser errors: the step's time-limit exception must pass through untouched.
        raise InputError("extract_error", f"HTML parse failed: {exc}") from exc
    if tree.body is None:
        raise InputError("extract_error", "page has no <body>")
    return tree


def render(tree) -> str:
    """The page's visible lines in resiliparse's minimal HTML (see the module docstring)."""
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(
        tree,
        preserve_formatting="minimal_html",
        main_content=False,
        links=True,
        list_bullets=True,
        alt_texts=False,
        form_fields=False,
        noscript=False,
        skip_elements=list(SKIP_SELECTORS),
    )


def load_linetable():
    """The C extension module (``_linetable.c``); a clear error when the checkout was never built."""
    try:
        from refinedweb.data.extract import _linetable
    except ImportError as exc:  # a source checkout used without installing
        raise ImportError(
            "refinedweb's C line table (refinedweb/data/extract/_linetable.c) is not built: run `pip install -e .` "
            "(or `python setup.py build_ext --inplace`) in the repository; it needs a C compiler"
        ) from exc
    return _linetable


def split_lines(rendered: str) -> Lines:
    """Turn the minimal-HTML rendering into a ``Lines`` table (empty lines dropped, remembered as gaps).

    The pass over the characters is C (``_linetable.c``, built with the package): a tag runs from ``<`` to the next
    ``>`` (text in the rendering is escaped), ``<a ...>`` opens a link that ``</a>`` or the line's end closes, and
    each character is counted in one of the categories above. The page's own ``\x01``/``\x02`` control characters
    are dropped.
    """
    texts, kind, stats = load_linetable().split(rendered)
    if not texts:
        return _empty()
    return Lines(
        texts=texts,
        kind=np.frombuffer(kind, dtype=np.int64),
        stats=np.frombuffer(stats, dtype=np.float64).reshape(len(texts), len(STATS)),
    )


def _empty() -> Lines:
    return Lines([], np.zeros(0, dtype=np.int64), np.zeros((0, len(STATS))))
