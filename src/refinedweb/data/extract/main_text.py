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
from refinedweb.errors import InputError


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


# Far above real pages: over 2,100 pages of the extraction dev sets (aeb, cleaneval, dragnet, magic-html, mozilla)
# and the crawl samples (archivesunleashed, dolma-wget), the largest rendering had 4,915 lines (median 22-203 per
# set, 99th percentile under 4,000), so the cap is ten times that. Memory grows with the lines of the rendering
# (line table, features, scores), in C calls the per-document timer cannot interrupt: a hostile page of ~800k lines
# peaked at ~850 MB; a generated page of 200,000 ``x<br>`` lines added 115 MB to peak RSS here and one of 50,000
# lines 30 MB (one run each, 2-core VM, 2026-11-22).
MAX_LINES = 50_000


def refinedweb(html: str, url: str = "", max_lines: int = MAX_LINES) -> Extracted:
    """Main text of ``html``; raises ``InputError('extract_error')`` for a page lexbor cannot parse and
    ``InputError('too_many_lines')`` for one whose rendering has more than ``max_lines`` lines (counted before the
    line table, features and scores are built, whose memory grows with the number of lines)."""
    tree = parse_tree(html)
    title, lang = page_hints(tree, html)
    rendered = render(tree)
    if rendered.count("\n") > max_lines:  # one C pass over the string, no allocation
        raise InputError("too_many_lines", f"the page renders to more than {max_lines} lines (extract.max_lines)")
    lines = split_lines(rendered)
    text = lines.text_of(load_model().keep(block_features(lines, title))) if len(lines) else ""
    return Extracted(text=text, title=title, lang=lang)
