"""HTML → a table of rendered lines with the cheap facts the scorer needs, and the container each line sits in.

The DOM work is one C pass of ours (``_htmlwalk.c``): a streaming walk over the HTML with a stack of open elements
(HTML's common implied end tags, raw-text elements, void elements) that writes every visible line in a reduced
markup: ``<p>``, ``<h1-6>``, ``<li>``, ``<pre>`` prefixes, links as ``<a >...</a>``, table cells after a tab.
Elements that are boilerplate by their own markup (``<nav>``, ``<footer>``, ``<aside>``, form controls,
``<template>``, ``<head>``) or that the page hides (the ``hidden`` attribute, ``aria-hidden="true"``, an inline
``display: none``, OneTrust's consent banner) are skipped with their content. Every line is tagged with its
innermost container element (``div``, ``section``, ``article``, ``ul``, ``table``, ...), whose size and link share
become features (``features.py``): the flat rendering the engine used before (lexbor + resiliparse's renderer)
lost that; with the container features the held-out mean F1 rose 0.8683 -> 0.8830 (benchmarks/extraction.md).

The rendering is read in one C pass (``_linetable.c``) that gives each line's text and its counts (visible
characters, characters inside links, punctuation, digits, CJK characters, words). Character counts include HTML
entities as written (``&amp;`` is five characters); only the text handed back is unescaped.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass

import numpy as np

from refinedweb.errors import InputError

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


@dataclass
class Rendering:
    """The walk's output: the minimal-HTML text, and per line with text (the lines ``split_lines`` keeps, in
    order) its container; ``parents[c]`` is container c's parent (-1 for container 0, the document);
    ``cue_ranges``, one row (first line, end line, cue bits) per element whose class, id or itemprop names a kind
    of page furniture (``features.CUE_GROUPS``), covering lines [first, end)."""

    text: str
    containers: np.ndarray
    parents: np.ndarray
    cue_ranges: np.ndarray


def render(html: str) -> Rendering:
    """Walk ``html`` (C, ``_htmlwalk.c``); ``InputError("extract_error")`` for input that is not a string or holds
    lone surrogate code points (not text: no writer could encode what the page would become)."""
    if not isinstance(html, str):
        raise InputError("extract_error", f"extraction needs str HTML, got {type(html).__name__}")
    try:
        text, containers, parents, cues = load_extension("_htmlwalk").walk(html)
    except UnicodeError as exc:  # lone surrogates: the page, not the run, is bad
        raise InputError("extract_error", str(exc)) from exc
    return Rendering(text, np.frombuffer(containers, dtype=np.int32), np.frombuffer(parents, dtype=np.int32),
                     np.frombuffer(cues, dtype=np.int32).reshape(-1, 3))


def load_extension(name: str):
    """One of the engine's C extension modules (``_linetable``, ``_htmlwalk``); a clear error when the checkout
    was never built."""
    import importlib

    try:
        return importlib.import_module(f"refinedweb.data.extract.{name}")
    except ImportError as exc:  # a source checkout used without installing
        raise ImportError(
            f"refinedweb's C extension refinedweb/data/extract/{name}.c is not built: run `pip install -e .` "
            "(or `python setup.py build_ext --inplace`) in the repository; it needs a C compiler. Without it, "
            "choose another extraction engine (extract.engine: resiliparse)"
        ) from exc


def load_linetable():
    """The line table's C extension (``_linetable.c``)."""
    return load_extension("_linetable")


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
