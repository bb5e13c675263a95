"""RefinedWeb's line-wise corrections (Penedo et al. 2023, arXiv 2306.01116, Macrodata Refinement stage 6).

The paper describes removing "undesirable lines" such as social-media counters and navigation buttons, and
dropping the whole document when the corrections remove more than 5% of it. The concrete rules below follow DCLM's
public re-implementation (``baselines/baselines_configs/refinedweb.yaml``; ``reference/pipeline-anchors.md`` §1.6),
whose line modifiers and ``word_removal_ratio_filter`` they mirror.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from refinedweb.data.step import Filter, FilterConfig
from refinedweb.data.text import split_words
from refinedweb.document import Document
from refinedweb.registry import register

# "12 likes", "3.4K shares", "1,234 Comments", "Retweets: 5" ... alone on a line (a number and a counter word).
_COUNTER_WORDS = (
    r"likes?|shares?|comments?|retweets?|reposts?|views?|followers?|following|replies|reply|upvotes?|"
    r"downvotes?|points?|reactions?|subscribers?|pins?|votes?|reviews?|stars?"
)
_COUNTER_RE = re.compile(
    rf"^\W*(?:\d[\d,.]*\s*[kmb]?\+?\s*(?:{_COUNTER_WORDS})|(?:{_COUNTER_WORDS})\s*:?\s*\d[\d,.]*\s*[kmb]?)\W*$",
    re.IGNORECASE,
)


@dataclasses.dataclass
class RefinedWebLinesConfig(FilterConfig):
    max_removed_word_frac: float = 0.05
    """Drop the document when the corrections remove more than this share of its words (RefinedWeb: 5%)."""
    max_uppercase_frac: float | None = 0.5
    """Remove lines whose letters are more than this share upper-case."""
    remove_numeric_lines: bool = True
    """Remove lines made only of digits, punctuation and spaces."""
    remove_counter_lines: bool = True
    """Remove social-media counter lines ("3 likes", "1.2K shares", "Comments: 4")."""
    min_words_per_line: int | None = 2
    """Remove lines with fewer words (RefinedWeb's single-word lines: menu items, buttons)."""
    boilerplate_max_words: int = 10
    """Strip "items in cart", "Read more..." (suffix) and "Sign-in" (prefix) from lines of at most this many words."""

    def validate(self) -> None:
        self.check_range("max_removed_word_frac", 0.0, 1.0)
        self.check_range("max_uppercase_frac", 0.0, 1.0)
        self.check_range("min_words_per_line", 0)
        self.check_range("boilerplate_max_words", 0)


_READ_MORE_RE = re.compile(r"\s*read more\s*(?:\.\.\.|…)?\s*$", re.IGNORECASE)
_SIGN_IN_RE = re.compile(r"^\s*sign[- ]?in\b\W*", re.IGNORECASE)
_CART_RE = re.compile(r"items? in (?:your )?cart", re.IGNORECASE)


@register("refinedweb_lines")
class RefinedWebLinesFilter(Filter):
    """Remove noisy lines; drop the document if that removes more than 5% of its words.

    A line is removed when (each rule can be switched off) its letters are more than 50% upper-case, it holds no
    letter (digits/punctuation only), it is a social-media counter, or it has fewer than 2 words. In lines of at
    most 10 words, "items in cart" is deleted, a trailing "Read more..." and a leading "Sign-in" are stripped.
    Words are counted with ``refinedweb.data.text.split_words`` before and after.

    Metadata: ``removed_word_frac`` and the number of lines removed by each rule. Drop reasons:
    ``refinedweb_lines_removed_frac`` (over the limit) and ``empty`` (nothing left). A kept document's text is the
    corrected one, except in ``annotate_only`` mode, which leaves the text alone.
    """

    Config = RefinedWebLinesConfig
    config: RefinedWebLinesConfig

    def score(self, doc: Document) -> dict[str, Any]:
        cfg = self.config
        counts = {"uppercase": 0, "numeric": 0, "counter": 0, "short": 0, "boilerplate": 0}
        kept: list[str] = []
        words_before = words_after = 0
        for line in doc.text.split("\n"):
            n_words = len(split_words(line))
            words_before += n_words
            if not line.strip():
                kept.append(line)
                continue
            reason = self._line_rule(line, n_words)
            if reason is None and n_words <= cfg.boilerplate_max_words:
                fixed = _CART_RE.sub("", _SIGN_IN_RE.sub("", _READ_MORE_RE.sub("", line)))
                if fixed != line:
                    counts["boilerplate"] += 1
                    line = fixed
                    n_words = len(split_words(line))
                    if not line.strip():
                        continue
            if reason is not None:
                counts[reason] += 1
                continue
            words_after += n_words
            kept.append(line)
        self._kept_text = "\n".join(kept).strip()
        removed = (words_before - words_after) / words_before if words_before else 0.0
        return {"removed_word_frac": removed, "empty": not self._kept_text, **counts}

    def _line_rule(self, line: str, n_words: int) -> str | None:
        cfg = self.config
        letters, upper = _letter_counts(line)
        if not letters:
            if cfg.remove_numeric_lines:
                return "numeric"
        elif cfg.max_uppercase_frac is not None and upper / letters > cfg.max_uppercase_frac:
            return "uppercase"
        if cfg.remove_counter_lines and _COUNTER_RE.match(line):
            return "counter"
        if cfg.min_words_per_line is not None and n_words < cfg.min_words_per_line:
            return "short"
        return None

    def decide(self, s: dict[str, Any]) -> str | None:
        if s["empty"]:
            return "empty"
        if s["removed_word_frac"] > self.config.max_removed_word_frac:
            return "refinedweb_lines_removed_frac"
        return None

    def keep(self, doc: Document) -> str | None:
        reason = super().keep(doc)
        if reason is None and not self.config.annotate_only:
            doc.text = self._kept_text
        return reason


_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LETTERS = _ASCII_UPPER + bytes(range(ord("a"), ord("z") + 1))


def _letter_counts(line: str) -> tuple[int, int]:
    """(letters, upper-case letters) in ``line``; ASCII lines are counted with ``bytes.translate`` (C speed)."""
    if line.isascii():
        raw = line.encode("ascii")
        return len(raw) - len(raw.translate(None, _ASCII_LETTERS)), len(raw) - len(raw.translate(None, _ASCII_UPPER))
    upper = 0 if line.islower() else sum(map(str.isupper, line))
    return sum(map(str.isalpha, line)), upper
