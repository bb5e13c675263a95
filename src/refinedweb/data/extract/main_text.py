"""The ``refinedweb`` engine: lexbor render of every visible line → learned line classifier → main text.

    tree = parse_tree(html)                 # lexbor (C)
    lines = split_lines(render(tree))       # resiliparse's minimal-HTML rendering, boilerplate elements skipped (C)
    keep = model.keep(features)             # two stacked classifiers and a per-page keep rule (C)

Why this shape: a Python walk over a lexbor DOM costs more per page than resiliparse's whole C extraction, so the
DOM pass stays in C and Python only sees one short record per rendered line. The classifier replaces resiliparse's
fixed main-content rules with weights learned from gold main text (see docs/extraction.md for the training and the
held-out numbers). Headings, list items and table rows stay separate lines; table cells are joined by a tab.
"""

from __future__ import annotations

import re

from refinedweb.data.extract.base import Extracted
from refinedweb.data.extract.blocks import parse_tree, render, split_lines
from refinedweb.data.extract.features import block_features
from refinedweb.data.extract.scoring import load_model


_HTML_LANG = re.compile(r"""<html\b[^>]*?\b(?:xml:)?lang\s*=\s*["']?\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""", re.I)
_META_LANG = re.compile(
    r"""<meta\b[^>]*?http-equiv\s*=\s*["']?content-language["']?[^>]*?content\s*=\s*["']?\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""",
    re.I,
)
_HEAD_CHARS = 16_384


def page_hints(tree, html: str) -> tuple[str | None, str | None]:
    """Title (``<title>``, else og:title) and language hint (``<html lang>``, else content-language meta).

    The language hint is read from the start of the page with a regex: asking lexbor for the ``<html>`` node costs
    more than the regex, and the attribute is always near the top.
    """
    title = (tree.title or "").strip() or None
    head = html[:_HEAD_CHARS]
    match = _HTML_LANG.search(head) or _META_LANG.search(head)
    lang = match.group(1).lower().replace("_", "-") if match else None
    if title is None and tree.document is not None:
        og = tree.document.query_selector("meta[property='og:title']")
        title = ((og.getattr("content") or "").strip() or None) if og is not None else None
    return title, lang


def refinedweb(html: str, url: str = "") -> Extracted:
    """Main text of ``html``; raises ``InputError('extract_error')`` for a page lexbor cannot parse."""
    tree = parse_tree(html)
    title, lang = page_hints(tree, html)
    lines = split_lines(render(tree))
    text = lines.text_of(load_model().keep(block_features(lines, title))) if len(lines) else ""
    return Extracted(text=text, title=title, lang=lang)
