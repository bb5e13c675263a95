"""FineWeb's own quality filter (Penedo et al. 2024, arXiv 2406.17557, §3.6), thresholds as in datatrove's
``FineWebQualityFilter`` (``reference/pipeline-anchors.md`` §3.2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from refinedweb.data.filters.gopher import duplicates
from refinedweb.data.step import Filter, FilterConfig
from refinedweb.data.text import TERMINAL_PUNCTUATION, count_tokens
from refinedweb.document import Document
from refinedweb.registry import register


@dataclasses.dataclass
class FineWebQualityConfig(FilterConfig):
    line_punct_thr: float | None = 0.12
    """Drop if fewer than this share of non-empty lines end in terminal punctuation."""
    line_punct_exclude_zero: bool = False
    """Do not apply ``line_punct_thr`` to documents where no line ends in terminal punctuation."""
    short_line_thr: float | None = 0.67
    """Drop if more than this share of non-empty lines are at most ``short_line_length`` characters."""
    short_line_length: int = 30
    char_duplicates_ratio: float | None = 0.01
    """Drop if characters in repeated lines ÷ characters (newlines excluded) exceed this. datatrove's default;
    the paper's text says 0.1 (see reference §3.2): set 0.1 to follow the paper."""
    new_line_ratio: float | None = 0.3
    """Drop if newlines ÷ tokens exceed this (tokens include punctuation, like the tokenizer the value was set with)."""

    def validate(self) -> None:
        for key in ("line_punct_thr", "short_line_thr", "char_duplicates_ratio"):
            self.check_range(key, 0.0, 1.0)
        self.check_range("new_line_ratio", 0.0)
        self.check_range("short_line_length", 0)


@register("fineweb_quality")
class FineWebQualityFilter(Filter):
    """Drop list-like and boilerplate-heavy pages. Reasons: ``fineweb_line_punct_ratio``,
    ``fineweb_short_line_ratio``, ``fineweb_char_dup_ratio``, ``fineweb_list_ratio``, ``empty``.
    Terminal punctuation is ``refinedweb.data.text.TERMINAL_PUNCTUATION`` (a smaller set than datatrove's, covering
    Latin, CJK, Indic, Arabic, Armenian, Ethiopic and Burmese marks)."""

    Config = FineWebQualityConfig
    config: FineWebQualityConfig

    def score(self, doc: Document) -> dict[str, Any]:
        text = doc.text
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return {"empty": True}
        n_lines = len(lines)
        chars = len(text) - text.count("\n")
        tokens = count_tokens(text)
        return {
            "line_punct_ratio": sum(line.endswith(TERMINAL_PUNCTUATION) for line in lines) / n_lines,
            "short_line_ratio": sum(len(line) <= self.config.short_line_length for line in lines) / n_lines,
            "char_dup_ratio": duplicates(lines)[1] / max(chars, 1),
            "list_ratio": text.count("\n") / max(tokens, 1),
        }

    def decide(self, s: dict[str, Any]) -> str | None:
        if s.get("empty"):
            return "empty"
        c = self.config
        if c.line_punct_thr is not None and s["line_punct_ratio"] < c.line_punct_thr:
            if not (s["line_punct_ratio"] == 0 and c.line_punct_exclude_zero):
                return "fineweb_line_punct_ratio"
        if c.short_line_thr is not None and s["short_line_ratio"] > c.short_line_thr:
            return "fineweb_short_line_ratio"
        if c.char_duplicates_ratio is not None and s["char_dup_ratio"] > c.char_duplicates_ratio:
            return "fineweb_char_dup_ratio"
        if c.new_line_ratio is not None and s["list_ratio"] > c.new_line_ratio:
            return "fineweb_list_ratio"
        return None
