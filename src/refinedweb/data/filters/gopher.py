"""Gopher (MassiveWeb) repetition and quality filters.

Source: Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from Training Gopher",
arXiv 2112.11446, Appendix A (Table A1 and the quality rules); thresholds as used by RefinedWeb (Penedo et al. 2023)
and FineWeb, and as shipped in datatrove's ``GopherRepetitionFilter``/``GopherQualityFilter`` and DCLM's
``refinedweb.yaml`` (see ``reference/pipeline-anchors.md`` §1.6 and §3.2). Words follow ``refinedweb.data.text``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from refinedweb.data.step import Filter, FilterConfig
from refinedweb.data.text import count_letter_words, count_tokens, split_lines, split_paragraphs, split_words
from refinedweb.document import Document
from refinedweb.registry import register


def duplicates(parts: list[str]) -> tuple[int, int]:
    """(number of elements seen before, characters in them), counting every repeat after the first."""
    if len(set(parts)) == len(parts):
        return 0, 0
    seen: set[str] = set()
    count = chars = 0
    for part in parts:
        if part in seen:
            count += 1
            chars += len(part)
        else:
            seen.add(part)
    return count, chars


@dataclasses.dataclass
class GopherRepetitionConfig(FilterConfig):
    """Maximum fractions (Gopher Table A1); ``null`` disables a check."""

    dup_para_frac: float | None = 0.3
    dup_para_char_frac: float | None = 0.2
    dup_line_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    top_2_gram_frac: float | None = 0.20
    top_3_gram_frac: float | None = 0.18
    top_4_gram_frac: float | None = 0.16
    dup_5_gram_frac: float | None = 0.15
    dup_6_gram_frac: float | None = 0.14
    dup_7_gram_frac: float | None = 0.13
    dup_8_gram_frac: float | None = 0.12
    dup_9_gram_frac: float | None = 0.11
    dup_10_gram_frac: float | None = 0.10

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            if field.name != "annotate_only":
                self.check_range(field.name, 0.0, 1.0)


_TOP_NS = (2, 3, 4)
_DUP_NS = (5, 6, 7, 8, 9, 10)


@register("gopher_repetition")
class GopherRepetitionFilter(Filter):
    """Drop documents made of repeated paragraphs, lines or n-grams (Gopher Table A1).

    Signals (all divided by the text length in characters, except the two element fractions):

    - ``dup_para_frac`` / ``dup_line_frac``: share of paragraphs (split on 2+ newlines) / lines that repeat an
      earlier one; ``dup_para_char_frac`` / ``dup_line_char_frac``: characters in those repeats.
    - ``top_{2,3,4}_gram_frac``: characters in all occurrences of the most frequent word n-gram (words joined by
      one space), max 0.20 / 0.18 / 0.16.
    - ``dup_{5..10}_gram_frac``: characters (without spaces) of n-grams that repeat an earlier n-gram, scanning left
      to right and skipping past each repeat so no word is counted twice; max 0.15 / 0.14 / ... / 0.10.

    Drop reasons: ``gopher_rep_dup_para_frac``, ``gopher_rep_dup_para_char_frac``, ``gopher_rep_dup_line_frac``,
    ``gopher_rep_dup_line_char_frac``, ``gopher_rep_top_{n}_gram``, ``gopher_rep_dup_{n}_gram``, and ``empty``.

    Speed: see ``ngram_chars``; one pass for words, one C pass (or numpy) for n-gram counting.
    """

    Config = GopherRepetitionConfig
    config: GopherRepetitionConfig

    def score(self, doc: Document) -> dict[str, Any]:
        text = doc.text
        length = len(text)
        if not text.strip():
            return {"empty": True}
        paragraphs = split_paragraphs(text)
        para_dups, para_chars = duplicates(paragraphs)
        lines = split_lines(text)
        line_dups, line_chars = duplicates(lines)
        scores: dict[str, Any] = {
            "dup_para_frac": para_dups / len(paragraphs),
            "dup_para_char_frac": para_chars / length,
            "dup_line_frac": line_dups / len(lines),
            "dup_line_char_frac": line_chars / length,
        }
        top, dup = ngram_chars(split_words(text))
        for n, chars in top.items():
            scores[f"top_{n}_gram_frac"] = chars / length
        for n, chars in dup.items():
            scores[f"dup_{n}_gram_frac"] = chars / length
        return scores

    def decide(self, scores: dict[str, Any]) -> str | None:
        if scores.get("empty"):
            return "empty"
        cfg = self.config
        for key in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"):
            limit = getattr(cfg, key)
            if limit is not None and scores[key] > limit:
                return f"gopher_rep_{key}"
        for n in _TOP_NS:
            limit = getattr(cfg, f"top_{n}_gram_frac")
            if limit is not None and scores[f"top_{n}_gram_frac"] > limit:
                return f"gopher_rep_top_{n}_gram"
        for n in _DUP_NS:
            limit = getattr(cfg, f"dup_{n}_gram_frac")
            if limit is not None and scores[f"dup_{n}_gram_frac"] > limit:
                return f"gopher_rep_dup_{n}_gram"
        return None


_P = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier for the rolling n-gram hash


try:
    from refinedweb.data.filters._ngrams import ngram_chars as _ngram_chars_c
except ImportError:  # built without a C compiler: the numpy version below gives the same results
    _ngram_chars_c = None


def ngram_chars(words: list[str]) -> tuple[dict[int, int], dict[int, int]]:
    """The n-gram repetition signals of Gopher Table A1, in characters (see ``ngram_chars_numpy``). Computed by
    the C extension ``_ngrams.c`` when it is built (0.38 -> 0.055 ms a document on 1,129 real FineWeb-kept
    pages), else by numpy; both hash n-grams the same way and give identical results."""
    if _ngram_chars_c is None:
        return ngram_chars_numpy(words)
    top, dup = _ngram_chars_c(words if type(words) is list else list(words), _TOP_NS, _DUP_NS)
    return dict(zip(_TOP_NS, top)), dict(zip(_DUP_NS, dup))


def ngram_chars_numpy(words: list[str]) -> tuple[dict[int, int], dict[int, int]]:
    """The n-gram repetition signals of Gopher Table A1, in characters:

    - ``top[n]`` for n = 2, 3, 4: characters covered by all occurrences of the most frequent n-gram, each occurrence
      counted as its words joined by single spaces (the first n-gram seen wins ties).
    - ``dup[n]`` for n = 5..10: characters (without spaces) of n-grams that repeat an earlier n-gram, scanning left
      to right and jumping past each repeat so that no word is counted twice (as in Gopher and datatrove).

    Each n-gram is a 64-bit rolling hash of Python's string hashes (a collision is astronomically unlikely and
    would at worst count one n-gram as repeated); counting is done by sorting in numpy. A repeated n-gram can only
    start where the (n-1)-gram repeats, so the left-to-right scan (the only Python loop) visits just those positions.
    """
    n_words = len(words)
    top = dict.fromkeys(_TOP_NS, 0)
    dup = dict.fromkeys(_DUP_NS, 0)
    if n_words < _TOP_NS[0]:
        return top, dup
    unigrams = np.fromiter(map(hash, words), dtype=np.int64, count=n_words).view(np.uint64)
    ends = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=n_words), out=ends[1:])
    hashes = unigrams
    candidates = None
    for n in range(2, _DUP_NS[-1] + 1):
        if n > n_words:
            break
        hashes = hashes[: n_words - n + 1] * _P + unigrams[n - 1 :]  # hashes[i] covers words i .. i+n-1
        if n in top:
            ordered = np.sort(hashes)
            starts, counts = _runs(ordered)
            most = int(counts.max())
            if most == 1:
                start = 0  # all n-grams differ: the first one wins the tie
            else:
                tied = ordered[starts[counts == most]]
                # The first occurrence of any most-frequent n-gram (first seen wins ties, as Counter.most_common).
                hits = hashes == tied[0] if len(tied) == 1 else np.isin(hashes, tied)
                start = int(np.argmax(hits))
            top[n] = most * int(ends[start + n] - ends[start] + n - 1)
            continue
        positions = np.arange(len(hashes)) if candidates is None else candidates[candidates < len(hashes)]
        order = np.argsort(hashes[positions])
        counts = _runs(hashes[positions][order])[1]
        candidates = np.sort(positions[order[np.repeat(counts > 1, counts)]])
        if len(candidates) == 0:
            break
        dup[n] = _scan_repeats(candidates.tolist(), hashes[candidates].tolist(), ends, n)
    return top, dup


def _runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in a sorted array (cheaper than ``np.unique``)."""
    starts = np.empty(len(sorted_values), dtype=bool)
    starts[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=starts[1:])
    starts = np.flatnonzero(starts)
    counts = np.empty(len(starts), dtype=np.int64)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = len(sorted_values) - starts[-1]
    return starts, counts


def _scan_repeats(positions: list[int], keys: list[int], ends: np.ndarray, n: int) -> int:
    seen: set[int] = set()
    chars = 0
    next_free = 0
    for position, key in zip(positions, keys):
        if position < next_free:
            continue  # inside a repeat already counted: the scan jumped over this position
        if key in seen:
            chars += int(ends[position + n] - ends[position])
            next_free = position + n
        else:
            seen.add(key)
    return chars


@dataclasses.dataclass
class GopherQualityConfig(FilterConfig):
    """Gopher's document-quality rules; ``null`` disables a check."""

    min_words: int | None = 50
    """Fewest words (punctuation is not a word)."""
    max_words: int | None = 100_000
    min_mean_word_length: float | None = 3.0
    max_mean_word_length: float | None = 10.0
    max_symbol_word_ratio: float | None = 0.1
    """Most ``#`` per word, and separately most ellipses (``...`` or ``…``) per word."""
    max_bullet_lines_ratio: float | None = 0.9
    """Most lines starting with a bullet (``•``, ``-``, ``*``, ``●``, ``▪``, ``◦``, ``‣``)."""
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    """Fewest words containing at least one alphabetic character."""
    min_stop_words: int | None = 2
    """Fewest distinct stop words present (case-sensitive, as in datatrove)."""
    punctuation_tokens: bool = False
    """Count punctuation marks as words in the denominators of the hash, ellipsis and alphabetic-word ratios, as
    datatrove's tokenizers (spaCy, NLTK) do; FineWeb was filtered that way. Off: ratios over words, as Gopher words
    them. On, a news article with 10% punctuation tokens is already near the 0.8 alphabetic-word limit."""
    stop_words: list[str] = dataclasses.field(
        default_factory=lambda: ["the", "be", "to", "of", "and", "that", "have", "with"]
    )

    def validate(self) -> None:
        self.check_range("min_words", 0)
        self.check_range("max_words", 1)
        self.check_range("min_mean_word_length", 0)
        self.check_range("max_mean_word_length", 0)
        for key in ("max_symbol_word_ratio", "max_bullet_lines_ratio", "max_ellipsis_lines_ratio",
                    "min_alpha_words_ratio"):
            self.check_range(key, 0.0, 1.0)
        self.check_range("min_stop_words", 0)


_BULLETS = ("•", "-", "*", "●", "▪", "◦", "‣", "·")
_ELLIPSES = ("...", "…")


@register("gopher_quality")
class GopherQualityFilter(Filter):
    """Drop documents that do not look like natural prose (Gopher, Appendix A):

    - fewer than 50 or more than 100,000 words (``gopher_quality_min_words`` / ``gopher_quality_max_words``);
    - mean word length outside 3-10 characters (``gopher_quality_mean_word_length``);
    - more than 0.1 ``#`` or ellipses per word (``gopher_quality_hash_ratio`` / ``gopher_quality_ellipsis_ratio``);
    - more than 90% of lines starting with a bullet (``gopher_quality_bullet_lines``);
    - more than 30% of lines ending with an ellipsis (``gopher_quality_ellipsis_lines``);
    - fewer than 80% of words with an alphabetic character (``gopher_quality_alpha_words``);
    - fewer than 2 of the stop words the, be, to, of, and, that, have, with (``gopher_quality_stop_words``).

    Words exclude punctuation, so by default the ratios are over words, as Gopher states them; datatrove (and so
    FineWeb) counts punctuation tokens too, which ``punctuation_tokens: true`` reproduces. The stop-word list is English, like the rule: use it on English text.
    """

    Config = GopherQualityConfig
    config: GopherQualityConfig

    def setup(self) -> None:
        self._stop_words = frozenset(self.config.stop_words)

    def score(self, doc: Document) -> dict[str, Any]:
        text = doc.text
        words = split_words(text)
        n_words = len(words)
        lines = text.splitlines() or [""]
        denominator = max(count_tokens(text, words) if self.config.punctuation_tokens else n_words, 1)
        return {
            "n_words": n_words,
            "mean_word_length": sum(map(len, words)) / max(n_words, 1),
            "hash_ratio": text.count("#") / denominator,
            "ellipsis_ratio": (text.count("...") + text.count("…")) / denominator,
            "bullet_lines_ratio": sum(line.lstrip().startswith(_BULLETS) for line in lines) / len(lines),
            "ellipsis_lines_ratio": sum(line.rstrip().endswith(_ELLIPSES) for line in lines) / len(lines),
            "alpha_words_ratio": count_letter_words(words) / denominator,
            "stop_words": len(self._stop_words.intersection(words)),
        }

    def decide(self, s: dict[str, Any]) -> str | None:
        c = self.config
        if c.min_words is not None and s["n_words"] < c.min_words:
            return "gopher_quality_min_words"
        if c.max_words is not None and s["n_words"] > c.max_words:
            return "gopher_quality_max_words"
        mean = s["mean_word_length"]
        if (c.min_mean_word_length is not None and mean < c.min_mean_word_length) or (
            c.max_mean_word_length is not None and mean > c.max_mean_word_length
        ):
            return "gopher_quality_mean_word_length"
        if c.max_symbol_word_ratio is not None:
            if s["hash_ratio"] > c.max_symbol_word_ratio:
                return "gopher_quality_hash_ratio"
            if s["ellipsis_ratio"] > c.max_symbol_word_ratio:
                return "gopher_quality_ellipsis_ratio"
        if c.max_bullet_lines_ratio is not None and s["bullet_lines_ratio"] > c.max_bullet_lines_ratio:
            return "gopher_quality_bullet_lines"
        if c.max_ellipsis_lines_ratio is not None and s["ellipsis_lines_ratio"] > c.max_ellipsis_lines_ratio:
            return "gopher_quality_ellipsis_lines"
        if c.min_alpha_words_ratio is not None and s["alpha_words_ratio"] < c.min_alpha_words_ratio:
            return "gopher_quality_alpha_words"
        if c.min_stop_words is not None and s["stop_words"] < c.min_stop_words:
            return "gopher_quality_stop_words"
        return None

