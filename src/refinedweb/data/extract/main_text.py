"""The ``refinedweb`` engine: one C walk over the HTML → learned line classifier → main text.

    rendering = render(html)                # our streaming HTML walk: visible lines + their containers (C)
    lines = split_lines(rendering.text)     # the line table (C)
    keep = model.keep(features, rendering.containers, rendering.parents)  # 3 classifiers + a keep rule (C)

Why this shape: a DOM library's tree building plus a renderer cost more per page than the whole rest of the
engine, and a Python walk over a DOM costs more than both; one C pass that renders while it walks keeps the DOM
work in C and hands Python one short record per rendered line, with the container each line came from. The
classifier replaces fixed main-content rules with weights learned from gold main text (see docs/extraction.md for
the training and the held-out numbers). Headings, list items and table rows stay separate lines; table cells are
joined by a tab.
"""

from __future__ import annotations

import html as html_lib
import re

from refinedweb.data.extract.base import Extracted
from refinedweb.data.extract.blocks import load_extension, load_linetable, render, split_lines
from refinedweb.data.extract.features import block_features
from refinedweb.data.extract.scoring import load_model
from refinedweb.errors import InputError


_HTML_LANG = re.compile(r"""<html\b[^>]*?\b(?:xml:)?lang\s*=\s*["']?\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""", re.I)
_META_LANG = re.compile(
    r"""<meta\b[^>]*?http-equiv\s*=\s*["']?content-language["']?[^>]*?content\s*=\s*["']?\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)""",
    re.I,
)
_HEAD_CHARS = 16_384


_TITLE_OPEN = re.compile(r"<title\b", re.I)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.I)
_OG_TITLE = re.compile(
    r"""<meta\b(?=[^>]*?\bproperty\s*=\s*["']?og:title\b)[^>]*?\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_SPACE = re.compile(r"\s+")


def _title_text(html: str) -> str | None:
    """The text of the first ``<title>`` element, found with three forward searches: one regex with a lazy
    ``(.*?)</title>`` restarts at every ``<title`` of a page without the end tag, quadratic time in one C call the
    per-document timer cannot interrupt (8,000 of them took 3 s)."""
    area = html[: _HEAD_CHARS * 4]
    start = _TITLE_OPEN.search(area)
    if start is None:
        return None
    gt = area.find(">", start.end())
    end = _TITLE_CLOSE.search(area, gt + 1) if gt >= 0 else None
    return area[gt + 1 : end.start()] if end is not None else None


def _og_title(head: str) -> str | None:
    match = _OG_TITLE.search(head)
    return next((g for g in match.groups() if g is not None), "") if match else None


def page_hints(html: str) -> tuple[str | None, str | None]:
    """Title (``<title>``, else og:title) and language hint (``<html lang>``, else content-language meta), read with
    forward searches from the start of the page (they are in the head; the walk skips the head)."""
    head = html[:_HEAD_CHARS]
    title = None
    for find in (lambda: _title_text(html), lambda: _og_title(head)):  # og:title only when <title> gives nothing
        value = find()
        title = _SPACE.sub(" ", html_lib.unescape(value)).strip() or None if value else None
        if title:
            break
    match = _HTML_LANG.search(head) or _META_LANG.search(head)
    lang = match.group(1).lower().replace("_", "-") if match else None
    return title, lang


# The engine's C extensions, loaded when the engine is chosen (``base.get_engine`` imports this module in the
# step's setup): a run whose install has no compiled extensions stops there with the build hint, not at its first page.
load_extension("_htmlwalk")
load_linetable()


# Far above real pages: over 2,100 pages of the extraction dev sets (aeb, cleaneval, dragnet, magic-html, mozilla)
# and the crawl samples (archivesunleashed, dolma-wget), the largest rendering had 4,915 lines (median 22-203 per
# set, 99th percentile under 4,000), so the cap is ten times that. Memory grows with the lines of the rendering
# (line table, features, scores), in C calls the per-document timer cannot interrupt: a hostile page of ~800k lines
# peaked at ~850 MB; a generated page of 200,000 ``x<br>`` lines added 115 MB to peak RSS here and one of 50,000
# lines 30 MB (one run each, 2-core VM, 2026-11-22).
MAX_LINES = 50_000


def refinedweb(html: str, url: str = "", max_lines: int = MAX_LINES) -> Extracted:
    """Main text of ``html``; raises ``InputError('extract_error')`` for input that is not a string and
    ``InputError('too_many_lines')`` for one whose rendering has more than ``max_lines`` lines (counted before the
    line table, features and scores are built, whose memory grows with the number of lines)."""
    rendering = render(html)
    title, lang = page_hints(html)
    rendered = rendering.text
    if rendered.count("\n") > max_lines:  # one C pass over the string, no allocation
        raise InputError("too_many_lines", f"the page renders to more than {max_lines} lines (extract.max_lines)")
    lines = split_lines(rendered)
    features = (block_features(lines, title, rendering.containers, rendering.parents, rendering.cue_ranges)
                if len(lines) else None)
    text = lines.text_of(load_model().keep(features, rendering.containers, rendering.parents)) if len(lines) else ""
    return Extracted(text=text, title=title, lang=lang)
