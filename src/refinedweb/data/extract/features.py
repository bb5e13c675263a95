"""Blocks → a numeric feature matrix for the block classifier (``scoring.py``).

Features describe each line and its neighbourhood, the cues that readability-style extractors and boilerpipe use
(Kohlschütter et al., "Boilerplate detection using shallow text features", WSDM 2010): text length, link density,
sentence punctuation, the block element, list nesting, position in the page, repetition inside the page, match with
the page title, boilerplate vocabulary, and the same statistics averaged over windows of neighbouring lines (the
"text density" of the region). Length is measured in word-equivalents so that Chinese and Japanese lines (no spaces)
are not mistaken for one-word lines: a CJK character counts as half a word.

Per-line counts come from ``blocks.split_lines`` as arrays. Every per-line loop is C (``_linetable.c``: repetition
and title flags, the boilerplate-word scan, the numeric columns); Python only chooses the title variants.
The column order is part of the model format: ``FEATURE_NAMES`` is saved with the model and checked when it loads.
"""

from __future__ import annotations

import numpy as np

from refinedweb.data.extract.blocks import KINDS, STATS, Lines, load_extension, load_linetable

_LI = KINDS.index("li")

# Words that mark page furniture in the languages of the development sets (en, zh, de, fr, es, pt, it, ru), in
# lower case; a short line containing one is flagged (case-insensitive). _BOILERPLATE_WHOLE words must also end
# there ("comments", not "commentary").
_BOILERPLATE = (
    "copyright", "\u00a9", "all rights reserved", "cookie", "privacy", "terms of use", "terms of service", "subscribe",
    "newsletter", "sign up", "sign in", "log in", "login", "register", "follow us", "share this", "share on",
    "advertisement", "sponsored", "related posts", "related articles", "related stories", "read more", "click here",
    "load more", "reply", "posted by", "tag:", "tags:", "category:", "categories:",
    "\u7248\u6743", "\u767b\u5f55", "\u6ce8\u518c", "\u5173\u6ce8", "\u5206\u4eab", "\u8bc4\u8bba", "\u5e7f\u544a",
    "\u76f8\u5173", "\u4e0a\u4e00\u7bc7", "\u4e0b\u4e00\u7bc7", "\u9996\u9875", "\u8fd4\u56de",
    "\u8d23\u4efb\u7f16\u8f91", "\u6765\u6e90",
    "impressum", "datenschutz", "mentions l\u00e9gales", "aviso legal", "\u0432\u043e\u0439\u0442\u0438",
)
_BOILERPLATE_WHOLE = ("comment", "comments")

_SHORT_WORDS = 12

_RATES = ("link_chars", "punct", "digits", "cjk", "seps")
_LOGS = ("chars", "words", "punct")
_CONTEXT = ("log_words", "link_chars_rate", "ends_sentence", "punct_rate")
_WINDOWS = (1, 3, 8)
_MASS_WINDOWS = (8, 24)
_COL = {name: i for i, name in enumerate(STATS)}
_CONTAINER_COLUMNS = 12
CUE_GROUPS = (
    "caption", "figure", "credit", "gallery", "comment", "byline", "related", "share", "newsletter", "ad", "meta",
    "tags", "image", "sidebar", "header", "respond", "bio",
)
"""Kinds of page furniture that class, id and itemprop names give away, in the order of ``_htmlwalk.c``'s CUES
table, which holds each group's substrings (and the tags figcaption, figure, header and form); the module's
``N_CUE_GROUPS`` must equal this tuple's length (tested)."""
CUE_SHARE = 0.1
"""A cue counts only on an element holding under this share of the page's words: names like "has-gallery" or
"comments-open" on a page-wide wrapper say nothing about the lines inside (measured: benchmarks/extraction.md)."""

FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"kind_{k}" for k in KINDS)
    + tuple(f"log_{name}" for name in _LOGS)
    + tuple(f"{name}_rate" for name in _RATES)
    + ("ends_sentence", "gap_before", "in_list", "duplicated", "title_match", "boilerplate_word")
    + ("rel_len", "is_longest", "position", "mass_before", "mass_after", "dist_to_longest")
    + tuple(f"{name}_w{w}" for w in _WINDOWS for name in _CONTEXT)
    + ("page_log_words", "page_link_density")
    + tuple(f"mass_share_w{w}" for w in _MASS_WINDOWS)
    + tuple(f"mass_peak_w{w}" for w in _MASS_WINDOWS)
    + tuple(f"{c}_{name}" for c in ("c0", "c1") for name in ("word_share", "log_words", "link_rate", "log_lines"))
    + ("container_depth", "c0_of_largest_prose", "c1_of_largest_prose", "c0_is_largest_prose")
    + tuple(f"cue_{g}" for g in CUE_GROUPS)
)


def _title_variants(title: str | None) -> frozenset[str]:
    """The title and its parts around the usual site-name separators ("Headline | Site", "Headline - Site")."""
    title = (title or "").strip()
    if len(title) < 8:
        return frozenset()
    parts = {title}
    for sep in (" | ", " - ", " \u2013 ", " \u2014 ", " :: ", "_"):
        parts.update(p.strip() for p in title.split(sep))
    return frozenset(p for p in parts if len(p) >= 8)


def _boilerplate_hits(texts: list[str], words: np.ndarray) -> np.ndarray:
    """1 for short lines (menus, widgets: at most ``_SHORT_WORDS`` words) that contain a boilerplate word. The scan
    is C (``_linetable.keyword_lines``): a regex over the short lines cost more than the rest of this module."""
    out = load_linetable().keyword_lines(
        texts, np.ascontiguousarray(words, dtype=np.float64), float(_SHORT_WORDS), _BOILERPLATE, _BOILERPLATE_WHOLE
    )
    return np.frombuffer(out, dtype=np.float64)


def cue_columns(words: np.ndarray, cue_ranges: np.ndarray | None) -> np.ndarray:
    """(n, len(CUE_GROUPS)) 0/1: the line lies in an element (``blocks.Rendering.cue_ranges``) that has the group's
    cue and holds under ``CUE_SHARE`` of the page's words (C: ``_htmlwalk.cue_columns``)."""
    n = len(words)
    if cue_ranges is None or not len(cue_ranges) or not n:
        return np.zeros((n, len(CUE_GROUPS)))
    out = load_extension("_htmlwalk").cue_columns(
        np.ascontiguousarray(words, dtype=np.float64), np.ascontiguousarray(cue_ranges, dtype=np.int32), CUE_SHARE)
    return np.frombuffer(out, dtype=np.float64).reshape(n, len(CUE_GROUPS))


def block_features(lines: Lines, title: str | None, containers: np.ndarray | None = None,
                   parents: np.ndarray | None = None, cue_ranges: np.ndarray | None = None) -> np.ndarray:
    """The (len(lines), len(FEATURE_NAMES)) float matrix; rows follow ``lines``.

    The repetition / title flags (``_linetable.repeat_flags``), the boilerplate-word scan
    (``_linetable.keyword_lines``) and the numeric columns, in ``FEATURE_NAMES`` order (``_linetable.features``),
    are C: per-line Python loops and per-column numpy calls cost more than the page's whole HTML walk on
    small pages. The columns:

    - kind one-hot; log1p of chars, words, punctuation; link, punctuation, digit, CJK, separator rates (per char);
    - ends_sentence, gap_before, in_list, duplicated, title_match, boilerplate_word; words / the longest line's
      words, is_longest, position (0..1), the page's word share before and after the line, signed distance to
      the longest line (in lines / page lines);
    - the means of (log1p words, link rate, ends_sentence, punctuation rate) over lines i-w..i+w for w in
      ``_WINDOWS`` (fewer at the page's edges);
    - the page's log1p words and link density;
    - text mass: the share of the page's words within i-h..i+h for h in ``_MASS_WINDOWS``, and that sum relative
      to the page's densest window. The article body is the densest region; teaser lists and footers are thinner;
    - the line's container (``containers``, ``parents``: ``blocks.Rendering``; without them every line is in the
      document) and that container's parent: each one's share of the page's words, log1p words, link share and
      log1p lines, over the lines of the container and its descendants (``ValueError`` when ``containers`` does not
      have one entry per line); the container's depth; both word shares
      relative to the page's largest prose container (link share under 0.3), and whether the line's container is
      that one (``_htmlwalk.container_features``). An article body is one large container of prose; a teaser list or a
      comment thread is a container of its own, with its own size and links;
    - for each of ``CUE_GROUPS``, whether the line lies in a small element whose class, id or itemprop names it
      (``cue_columns``; none without ``cue_ranges``).
    """
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)))
    texts = lines.texts
    linetable = load_linetable()
    flags = np.frombuffer(linetable.repeat_flags(texts, _title_variants(title)), dtype=np.float64)
    boiler = _boilerplate_hits(texts, lines.stats[:, _COL["words"]])
    out = linetable.features(lines.stats, lines.kind, flags, boiler, len(KINDS), _LI, _WINDOWS, _MASS_WINDOWS)
    line_cols = np.frombuffer(out, dtype=np.float64).reshape(n, len(FEATURE_NAMES) - _CONTAINER_COLUMNS
                                                              - len(CUE_GROUPS))
    if containers is None or parents is None:
        containers, parents = np.zeros(n, dtype=np.int32), np.array([-1], dtype=np.int32)
    elif len(containers) != n:  # as stage 3 and the keep rule do: a walk/line-table mismatch is a bug, not a page
        raise ValueError(f"block_features: {len(containers)} line containers for {n} lines")
    stats = lines.stats
    words = np.ascontiguousarray(stats[:, _COL["words"]])
    link_words = words * stats[:, _COL["link_chars"]] / np.maximum(stats[:, _COL["chars"]], 1.0)
    cols = load_extension("_htmlwalk").container_features(
        words, np.ascontiguousarray(link_words), np.ascontiguousarray(containers, dtype=np.int32),
        np.ascontiguousarray(parents, dtype=np.int32))
    return np.hstack((line_cols, np.frombuffer(cols, dtype=np.float64).reshape(n, _CONTAINER_COLUMNS),
                      cue_columns(words, cue_ranges)))
