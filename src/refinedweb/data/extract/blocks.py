"""HTML → a table of rendered lines with the cheap facts the scorer needs.

The DOM work is done in C: lexbor parses the page (resiliparse's ``HTMLTree``) and resiliparse's
``extract_plain_text(preserve_formatting="minimal_html", links=True)`` renders *every* visible line with a reduced
markup: ``<p>``, ``<h1-6>``, ``<ul>/<ol>/<li>``, ``<pre>``, ``<a>`` and ``<br>``; table cells are tab-separated.
Elements that are boilerplate by their own markup (``<nav>``, ``<footer>``, hidden elements, cookie banners, share
widgets; ``SKIP_SELECTORS``) are skipped inside that C pass.

Python never walks the DOM (a Python walk over a lexbor tree costs more per page than resiliparse's whole C
extraction). The rendering is read as one array of code points, and per-line counts (visible characters, characters
inside links, punctuation, digits, CJK characters, words) are numpy reductions over it. The compromise: container
boundaries (which ``<div>`` a line came from) are lost; the scorer recovers locality from line order, blank lines and
the neighbouring lines' statistics instead. Character counts include HTML entities as written (``&amp;`` is five
characters); only the text handed back is unescaped.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

import numpy as np

from refinedweb.errors import InputError

# Elements that are page furniture by their tag alone (HTML's sectioning elements for navigation, tangential
# content and footers, and form controls). Only tag selectors: in lexbor a tag selector costs less than rendering
# the element would, while attribute selectors (class/id cues) cost more than the whole remaining pipeline; those
# cues are left to the classifier, which sees the text they produce.
SKIP_SELECTORS: tuple[str, ...] = ("nav", "footer", "aside", "button", "select", "textarea", "template")

# Block kinds, in the order of the one-hot feature columns.
KINDS = ("text", "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "cell")
_KIND_ID = {k: i for i, k in enumerate(KINDS)}
TEXT, CELL = _KIND_ID["text"], _KIND_ID["cell"]

_ANY_TAG = re.compile(r"<[^>]*>")
_OPEN, _CLOSE = "\x01", "\x02"  # stand-ins for <a ...> and </a> while counting
_LINK_SPAN = re.compile("\x01[^\x02\n]*\x02?")

# Exclusive character categories (a lookup table over all code points). A line's counts are one bincount over
# (line, category, inside a link).
UNCOUNTED, SPACE, TAB, OTHER, PUNCT_END, PUNCT, DIGIT, CJK, SEP = range(9)
_N_CAT = 9
_CATEGORY = np.full(0x110000, OTHER, dtype=np.uint8)
for _c in " \r\u00a0\u3000":
    _CATEGORY[ord(_c)] = SPACE
for _c in "\n" + _OPEN + _CLOSE:  # line ends and link marks are not text
    _CATEGORY[ord(_c)] = UNCOUNTED
_CATEGORY[ord("\t")] = TAB
for _c in ",;:\uff0c\u3001\uff1b\uff1a":
    _CATEGORY[ord(_c)] = PUNCT
for _c in ".!?\u3002\uff01\uff1f":
    _CATEGORY[ord(_c)] = PUNCT_END
for _c in "|\u00b7\u00bb\u203a/":
    _CATEGORY[ord(_c)] = SEP
_CATEGORY[ord("0") : ord("9") + 1] = DIGIT
for _lo, _hi in ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF)):
    _CATEGORY[_lo : _hi + 1] = CJK
_SENTENCE_END = frozenset(".!?\u3002\uff01\uff1f\"'\u201d\u300d)")
_START_KIND = {"<p>": _KIND_ID["p"], "<li": _KIND_ID["li"], "<pr": _KIND_ID["pre"]}
_START_KIND.update({f"<h{i}": _KIND_ID[f"h{i}"] for i in range(1, 7)})


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


def split_lines(rendered: str) -> Lines:
    """Turn the minimal-HTML rendering into a ``Lines`` table (empty lines dropped, remembered as gaps)."""
    if not rendered:
        return _empty()
    if _OPEN in rendered or _CLOSE in rendered:  # the page's own control characters would pass for link marks
        rendered = rendered.replace(_OPEN, "").replace(_CLOSE, "")
    raw_lines = rendered.split("\n")
    n_lines = len(raw_lines)
    # Visible text with links marked by one control character each; tags never span lines in this rendering.
    marked = _ANY_TAG.sub("", rendered.replace("<a ", _OPEN + "<a ").replace("</a>", _CLOSE))
    codes = np.frombuffer(marked.encode("utf-32-le"), dtype=np.uint32)
    newline = codes == 10
    cells = (np.cumsum(newline) - newline) * _N_CAT + _CATEGORY[codes]  # a newline belongs to the line it ends
    per_line = np.bincount(cells, minlength=n_lines * _N_CAT).reshape(n_lines, _N_CAT)
    chars = per_line[:, OTHER:].sum(axis=1)
    has = chars > 0
    keep = np.flatnonzero(has)
    keep_list = keep.tolist()
    clean = marked.replace(_OPEN, "").replace(_CLOSE, "")
    texts_all = clean.split("\n")
    # Link text: what goes when the marked link spans (up to the closing mark or the line end) are cut out.
    unlinked = _LINK_SPAN.sub("", marked).replace(_CLOSE, "")
    link_chars = np.fromiter(map(len, texts_all), np.int64, n_lines)[keep] - _line_lengths(unlinked)[keep]
    texts = [texts_all[i].strip() for i in keep_list]
    # The line's block element: the reduced tag it starts with (block elements start their line here).
    kind = np.fromiter([_START_KIND.get(raw_lines[i].lstrip()[:3], -1) for i in keep_list], np.int64, len(keep))
    kept = per_line[keep]
    kind = np.where(kind >= 0, kind, np.where(kept[:, TAB] > 0, CELL, TEXT))
    ends = np.fromiter([t[-1:] in _SENTENCE_END for t in texts], np.float64, len(keep))
    gap = np.concatenate(([False], ~has[:-1]))[keep]
    stats = np.column_stack(
        (
            chars[keep],
            kept[:, SPACE] + 1.0 + 0.5 * kept[:, CJK],
            link_chars,
            kept[:, PUNCT] + kept[:, PUNCT_END],
            kept[:, DIGIT],
            kept[:, CJK],
            kept[:, SEP],
            ends,
            gap,
        )
    ).astype(np.float64)
    return Lines(texts=texts, kind=kind, stats=stats)


def _line_lengths(text: str) -> np.ndarray:
    return np.fromiter(map(len, text.split("\n")), np.int64)


def _empty() -> Lines:
    return Lines([], np.zeros(0, dtype=np.int64), np.zeros((0, len(STATS))))
