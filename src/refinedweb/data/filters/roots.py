"""ROOTS per-language document filters (Laurençon et al. 2022, BigScience ROOTS; the "ac_dc" library,
``bigscience-workshop/data_tooling`` ``ac_dc/filtering.py`` and ``parameters_filtering.py``; cutoffs from
``reference/pipeline-anchors.md`` §2.3).

Signals, each compared with the cutoff row of the document's language (``metadata["langid"]["lang"]``):

- ``n_words``: words (``refinedweb.data.text.split_words``) after ac_dc's word cleaning: words longer than the
  language's max word length and words containing ``http``, ``www``, ``.com``, ``href`` or ``//`` are dropped
  (ac_dc removes them from the text; here they are only left out of the counts, the text is not changed).
- ``char_rep_ratio``: of the character n-grams (n = 10, zh 3), the summed count of the top ⌊√(distinct)⌋ most
  frequent repeated ones ÷ the count of all n-grams.
- ``word_rep_ratio``: word 5-grams occurring more than once (all their occurrences) ÷ all word 5-grams.
- ``special_char_ratio``: characters that are not letters or combining marks (punctuation, digits, whitespace,
  symbols, emoji) ÷ all characters.
- ``stopword_ratio`` / ``flagged_ratio``: lower-cased words in the stop-word / flagged-word list ÷ words. For zh
  and vi, joined 2- and 3-grams of words are also looked up (ac_dc's "word augmentation": zh joins with nothing,
  vi with a space) so multi-character entries can match; the ratio is capped at 1.
- ``lang_score``: the langid step's score; dropped below the language's cutoff.
- ``perplexity``: only with ``kenlm_model`` (KenLM ARPA/binary trained on Wikipedia as in CCNet): per line,
  10^(−Σlog10 p / Σ(words + 1)); digits are mapped to 0 first, as CCNet does.

Substitutions (documented limits): stop words are jusText/NLTK lists and flagged words are LDNOOBW plus the
English list (ROOTS used its own lists); for zh, single-character flagged entries are ignored. zh words are
characters, not SentencePiece pieces, so the word count is larger and the zh stop-word ratio runs lower than the
ratios the 0.1691 cutoff was set on: check real zh data with ``annotate_only: true`` and override
``cutoffs: {zh: {min_stopwords: ...}}`` if needed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from typing import Any

import numpy as np

from refinedweb.data.step import Filter, FilterConfig
from refinedweb.data.text import count_letters, split_words
from refinedweb.document import Document
from refinedweb.errors import ConfigError, MissingDependencyError
from refinedweb.registry import register
from refinedweb.resources import badwords_languages, load_badwords, load_stopwords, stopwords_languages

# Per-language cutoffs as shipped in ac_dc parameters_filtering.py (reference §2.3). Columns: min words,
# char-repetition max, word-repetition max, special-character max, stop-word min, flagged-word max, LID min,
# perplexity max, character n-gram length, max word length.
_FIELDS = ("min_words", "max_char_rep", "max_word_rep", "max_special", "min_stopwords", "max_flagged", "min_lang_score",
           "max_perplexity", "char_ngram", "max_word_length")
CUTOFFS: dict[str, dict[str, float]] = {
    lang: dict(zip(_FIELDS, row))
    for lang, row in {
        "default": (10, 0.20, 0.30, 0.40, 0.10, 0.10, 0.70, 10000, 10, 25),
        "en": (20, 0.106, 0.19, 0.40, 0.30, 0.01, 0.80, 1500, 10, 25),
        "fr": (13, 0.14, 0.13, 0.34, 0.27, 0.008, 0.80, 1770, 10, 25),
        "es": (16, 0.14, 0.25, 0.34, 0.40, 0.01, 0.80, 1300, 10, 25),
        "pt": (19, 0.25, 0.98, 0.35, 0.20, 0.007, 0.60, 3038, 10, 25),
        "ca": (15, 0.20, 0.40, 0.25, 0.25, 0.10, 0.80, 2500, 10, 25),
        "eu": (8, 0.20, 0.40, 0.31, 0.05, 0.10, 0.70, 3000, 10, 25),
        "id": (15, 0.15, 0.20, 0.34, 0.15, 0.01, 0.70, 5000, 10, 25),
        "vi": (30, 0.15, 0.20, 0.34, 0.08, 0.005, 0.90, 1600, 10, 25),
        "ar": (20, 0.20, 0.34, 0.30, 0.07, 0.03, 0.81, 2300, 10, 25),
        "hi": (38, 0.18, 0.47, 0.45, 0.01, 0.005, 0.90, 1517, 10, 25),
        "ur": (25, 0.19, 0.50, 0.25, 0.01, 0.025, 0.90, 1495, 10, 25),
        "bn": (33, 0.13, 0.21, 0.45, 0.002, 0.001, 0.95, 2000, 10, 25),
        "zh": (1, 0.20, 0.96, 0.30, 0.1691, 0.001, 0.85, 2095, 3, 1000),
    }.items()
}
_P = np.uint64(0x9E3779B97F4A7C15)
_AUGMENT_JOIN = {"zh": "", "vi": " "}
# ac_dc drops words containing these; split_words already splits at "/", so "//" cannot occur in a word.
_URLISH_RE = re.compile(r"http|www|\.com|href")


@dataclasses.dataclass
class RootsConfig(FilterConfig):
    languages: list[str] | None = None
    """Keep only these languages (``roots_language``); ``null`` keeps any language, using its row or ``default``."""
    default_language: str = "en"
    """Language for documents without langid metadata (their language-score check is skipped)."""
    cutoffs: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    """Overrides of the built-in table, e.g. ``{en: {min_words: 50}}``; a new language starts from ``default``."""
    kenlm_model: str | None = None
    """Path to a KenLM model for the perplexity check (needs ``pip install kenlm``); ``null`` skips it."""

    def validate(self) -> None:
        if not isinstance(self.cutoffs, dict):
            raise ConfigError("roots.cutoffs must map a language code to {cutoff name: value}")
        for lang, row in self.cutoffs.items():
            unknown = set(row) - set(_FIELDS) if isinstance(row, dict) else {"(not a mapping)"}
            if unknown:
                raise ConfigError(f"roots.cutoffs.{lang}: unknown cutoff {sorted(unknown)[0]}; valid: {', '.join(_FIELDS)}")


@register("roots")
class RootsFilter(Filter):
    """ROOTS/BLOOM per-language quality filter. Drop reasons: ``roots_language``, ``roots_min_words``,
    ``roots_char_rep``, ``roots_word_rep``, ``roots_special_chars``, ``roots_stopwords``, ``roots_flagged_words``,
    ``roots_lang_score``, ``roots_perplexity``. Metadata: the signals above plus ``lang``."""

    Config = RootsConfig
    config: RootsConfig

    def setup(self) -> None:
        self._table = {lang: dict(row) for lang, row in CUTOFFS.items()}
        for lang, row in self.config.cutoffs.items():
            self._table.setdefault(lang, dict(CUTOFFS["default"])).update(row)
        self._stop_langs = set(stopwords_languages())
        self._flag_langs = set(badwords_languages())
        self._lm = None
        if self.config.kenlm_model:
            try:
                import kenlm
            except ImportError:
                raise MissingDependencyError("kenlm", "roots") from None
            self._lm = kenlm.Model(self.config.kenlm_model)

    def _lists(self, lang: str) -> tuple[frozenset[str], frozenset[str]]:
        stop = load_stopwords(lang) if lang in self._stop_langs else frozenset()
        flagged = load_badwords("en") | (load_badwords(lang) if lang in self._flag_langs else frozenset())
        if lang in _AUGMENT_JOIN and lang != "vi":
            # Every character is a word here, and single-character entries (乳 milk/breast, 性 nature/sex, 卵 egg)
            # are everyday characters: as words they flag ordinary text, so only multi-character entries count.
            flagged = frozenset(w for w in flagged if len(w) > 1)
        return stop, flagged

    def score(self, doc: Document) -> dict[str, Any]:
        langid = doc.metadata.get("langid") or {}
        lang = langid.get("lang") or self.config.default_language
        row = self._table.get(lang, self._table["default"])
        text = doc.text
        max_len = row["max_word_length"]
        words = split_words(text.lower())
        urlish = set(filter(_URLISH_RE.search, set(words)))
        words = [w for w in words if len(w) <= max_len and w not in urlish]
        n_words = len(words)
        stop, flagged = self._lists(lang)
        lookups = words + _augment(words, _AUGMENT_JOIN[lang]) if lang in _AUGMENT_JOIN else words
        letters = count_letters(text)
        scores: dict[str, Any] = {
            "lang": lang,
            "lang_score": langid.get("score"),
            "n_words": n_words,
            "char_rep_ratio": _char_repetition(text, int(row["char_ngram"])),
            "word_rep_ratio": _word_repetition(words, 5),
            "special_char_ratio": 1 - letters / len(text) if text else 1.0,
            "stopword_ratio": min(sum(w in stop for w in lookups) / n_words, 1.0) if n_words and stop else None,
            "flagged_ratio": min(sum(w in flagged for w in lookups) / n_words, 1.0) if n_words else 0.0,
        }
        if self._lm is not None:
            scores["perplexity"] = _perplexity(self._lm, text)
        return scores

    def decide(self, s: dict[str, Any]) -> str | None:
        lang = s["lang"]
        if self.config.languages is not None and lang not in self.config.languages:
            return "roots_language"
        row = self._table.get(lang, self._table["default"])
        if s["n_words"] < row["min_words"]:
            return "roots_min_words"
        if s["char_rep_ratio"] > row["max_char_rep"]:
            return "roots_char_rep"
        if s["word_rep_ratio"] > row["max_word_rep"]:
            return "roots_word_rep"
        if s["special_char_ratio"] > row["max_special"]:
            return "roots_special_chars"
        if s["stopword_ratio"] is not None and s["stopword_ratio"] < row["min_stopwords"]:
            return "roots_stopwords"
        if s["flagged_ratio"] > row["max_flagged"]:
            return "roots_flagged_words"
        if s["lang_score"] is not None and s["lang_score"] < row["min_lang_score"]:
            return "roots_lang_score"
        if s.get("perplexity") is not None and s["perplexity"] > row["max_perplexity"]:
            return "roots_perplexity"
        return None


def _augment(words: list[str], join: str) -> list[str]:
    return [join.join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)]


def _char_repetition(text: str, n: int) -> float:
    if len(text) < n:
        return 0.0
    # Character n-grams as 64-bit rolling hashes of the code points, counted by sorting (numpy).
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - n + 1
    hashes = codes[:count].copy()
    for k in range(1, n):
        hashes = hashes * _P + codes[k : k + count]
    freqs = np.sort(np.unique(hashes, return_counts=True)[1])[::-1]
    repeated = int(np.count_nonzero(freqs > 1))
    top = min(int(math.sqrt(len(freqs))), repeated)
    return float(freqs[:top].sum() / count)


def _word_repetition(words: list[str], n: int) -> float:
    grams = Counter(zip(*(words[i:] for i in range(n))))
    total = sum(grams.values())
    return sum(c for c in grams.values() if c > 1) / total if total else 0.0


_DIGIT_RE = re.compile(r"\d")


def _perplexity(model: Any, text: str) -> float:
    log_score = 0.0
    length = 0
    for line in text.split("\n"):
        line = _DIGIT_RE.sub("0", line.strip().lower())
        if not line:
            continue
        log_score += model.score(" ".join(split_words(line)))
        length += len(split_words(line)) + 1
    return 10.0 ** (-log_score / length) if length else 0.0
