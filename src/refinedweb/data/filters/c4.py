"""C4 heuristics (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", §2.2, and the reference code
``tensorflow_datasets/text/c4_utils.py``), as FineWeb uses them through datatrove's ``C4QualityFilter`` and
``C4BadWordsFilter`` (``reference/pipeline-anchors.md`` §3.2).
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from typing import Any

from refinedweb.data.step import Filter, FilterConfig
from refinedweb.data.text import count_sentences
from refinedweb.document import Document
from refinedweb.errors import ConfigError
from refinedweb.registry import register
from refinedweb.resources import badwords_languages, load_badwords

_CITATION_RE = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
_C4_END_PUNCTUATION = (".", "?", "!", '"', "'")
_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


@dataclasses.dataclass
class C4QualityConfig(FilterConfig):
    remove_citations: bool = True
    """Strip Wikipedia-style citation marks such as ``[1]``, ``[edit]``, ``[citation needed]``."""
    filter_no_terminal_punct: bool = True
    """Drop lines that do not end in ``. ? ! " '`` (or that end in an ellipsis). FineWeb turns this off."""
    min_sentences: int | None = 5
    """Drop the document if fewer sentences remain after line filtering."""
    min_words_per_line: int | None = 3
    max_word_length: int | None = 1000
    """Drop lines holding a whitespace-separated word longer than this."""
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True

    def validate(self) -> None:
        self.check_range("min_sentences", 0)
        self.check_range("min_words_per_line", 0)
        self.check_range("max_word_length", 1)


@register("c4_quality")
class C4QualityFilter(Filter):
    """C4's line and page rules. Line rules remove lines; page rules drop the document.

    Lines (split on newlines, stripped) are removed when they hold a word over ``max_word_length`` characters, do
    not end in terminal punctuation (if enabled), have fewer than ``min_words_per_line`` words, mention
    "javascript", or contain a cookie/terms-of-use phrase. The document is dropped with ``c4_lorem_ipsum`` or
    ``c4_curly_bracket`` if a surviving line holds "lorem ipsum" or "{", and with ``c4_min_sentences`` if fewer
    than ``min_sentences`` sentences remain (sentences per ``refinedweb.data.text.count_sentences``, a regex
    stand-in for the punkt tokenizer). A kept document's text becomes its surviving lines joined by newlines,
    except in ``annotate_only`` mode, which leaves the text alone.
    """

    Config = C4QualityConfig
    config: C4QualityConfig

    def score(self, doc: Document) -> dict[str, Any]:
        cfg = self.config
        kept: list[str] = []
        removed = sentences = 0
        page_flag = ""
        for line in doc.text.splitlines():
            line = line.strip()
            words = line.split()
            if cfg.max_word_length is not None and max(map(len, words), default=0) > cfg.max_word_length:
                removed += 1
                continue
            if cfg.remove_citations and "[" in line:
                line = _CITATION_RE.sub("", line)
            if cfg.filter_no_terminal_punct and (not line.endswith(_C4_END_PUNCTUATION) or line.endswith("...")):
                removed += 1
                continue
            if cfg.min_words_per_line is not None and len(words) < cfg.min_words_per_line:
                removed += 1
                continue
            lower = line.lower()
            if cfg.filter_lorem_ipsum and "lorem ipsum" in lower:
                page_flag = "c4_lorem_ipsum"
                break
            if cfg.filter_javascript and "javascript" in lower:
                removed += 1
                continue
            if cfg.filter_curly_bracket and "{" in line:
                page_flag = "c4_curly_bracket"
                break
            if cfg.filter_policy and any(p in lower for p in _POLICY_PHRASES):
                removed += 1
                continue
            if cfg.min_sentences is not None:
                sentences += count_sentences(line)
            kept.append(line)
        # Kept for ``keep`` below; a step instance handles one document at a time.
        self._kept_lines = kept
        return {"lines_removed": removed, "lines_kept": len(kept), "sentences": sentences, "page_flag": page_flag}

    def decide(self, scores: dict[str, Any]) -> str | None:
        if scores["page_flag"]:
            return scores["page_flag"]
        if self.config.min_sentences is not None and scores["sentences"] < self.config.min_sentences:
            return "c4_min_sentences"
        return None

    def keep(self, doc: Document) -> str | None:
        reason = super().keep(doc)
        if reason is None and not self.config.annotate_only:
            doc.text = "\n".join(self._kept_lines).strip()
        return reason


@dataclasses.dataclass
class C4BadWordsConfig(FilterConfig):
    default_language: str = "en"
    """Language for documents without ``metadata["langid"]["lang"]``."""
    keep_fraction: float = 0.0
    """Share of documents with a bad word to keep anyway, chosen by a hash of the document id (deterministic)."""
    missing_language: str = "keep"
    """What to do with a language that has no list: ``keep`` (counted as ``no_badwords_list_<lang>``) or ``error``."""

    def validate(self) -> None:
        self.check_range("keep_fraction", 0.0, 1.0)
        if self.missing_language not in ("keep", "error"):
            raise ConfigError(f"c4_badwords.missing_language={self.missing_language!r}; use keep or error")


# Languages written without spaces: match bad words anywhere, not only between word boundaries.
_UNSEGMENTED = frozenset({"ja", "th", "zh"})
# Common sub-words in unsegmented languages that would flag >10% of pages (the allowlist of datatrove's C4 filter).
_ALLOWLIST = {"ja": {"sm", "グロ", "女の子"}, "zh": {"性"}}


@register("c4_badwords")
class C4BadWordsFilter(Filter):
    """Drop documents containing a word from the "List of Dirty, Naughty, Obscene, and Otherwise Bad Words"
    (LDNOOBW, CC BY 4.0, shipped in ``refinedweb/resources/ldnoobw``) for the document's language, as C4 did.

    The language is ``metadata["langid"]["lang"]`` (set by the ``langid`` step), else ``default_language``. Text is
    lower-cased; for space-delimited languages an entry matches between non-word characters, for zh/ja/th
    anywhere. Drop reason ``c4_badwords``; metadata ``{"lang", "badword"}`` (the first match, or null).
    """

    Config = C4BadWordsConfig
    config: C4BadWordsConfig

    def setup(self) -> None:
        self._matchers: dict[str, _BadWordMatcher | None] = {}
        self._available = set(badwords_languages())

    def _matcher(self, lang: str) -> _BadWordMatcher | None:
        if lang not in self._matchers:
            if lang not in self._available:
                if self.config.missing_language == "error":
                    raise ConfigError(
                        f"c4_badwords: no bad-word list for language {lang!r}; lists exist for "
                        f"{', '.join(sorted(self._available))}. Set missing_language: keep to pass such documents."
                    )
                self._matchers[lang] = None
            else:
                words = load_badwords(lang) - _ALLOWLIST.get(lang, set())
                self._matchers[lang] = _BadWordMatcher(words, segmented=lang not in _UNSEGMENTED)
        return self._matchers[lang]

    def score(self, doc: Document) -> dict[str, Any]:
        lang = (doc.metadata.get("langid") or {}).get("lang") or self.config.default_language
        matcher = self._matcher(lang)
        if matcher is None:
            self.stats.counters[f"no_badwords_list_{lang}"] += 1
            return {"lang": lang, "badword": None}
        scores = {"lang": lang, "badword": matcher.find(doc.text.lower())}
        if scores["badword"] is not None and self.config.keep_fraction > 0:
            scores["keep_draw"] = _unit_hash(doc.id)
        return scores

    def decide(self, scores: dict[str, Any]) -> str | None:
        if scores["badword"] is None:
            return None
        if "keep_draw" in scores and scores["keep_draw"] < self.config.keep_fraction:
            return None
        return "c4_badwords"


_WORD_RUN_RE = re.compile(r"\w+")


class _BadWordMatcher:
    """Finds a listed entry in lower-cased text (the first in the text among one-word entries).

    Space-delimited languages: an entry matches between non-word characters (as C4/datatrove's
    ``(?:\\W|^)entry(?:\\W|$)``). The text's ``\\w+`` runs are collected once (one C-level ``findall``); an
    entry that is a single run is a set lookup, and an entry with spaces or symbols is searched with its own
    regex only when all of its word runs occur in the text. Unsegmented languages (zh, ja, th): any occurrence,
    by one alternation regex.
    """

    def __init__(self, words: frozenset[str] | set[str], segmented: bool):
        self._segmented = segmented
        if segmented:
            self._single = frozenset(w for w in words if _WORD_RUN_RE.fullmatch(w))
            self._multi = [
                (frozenset(_WORD_RUN_RE.findall(w)), re.compile(rf"(?<!\w){re.escape(w)}(?!\w)"))
                for w in sorted(set(words) - self._single)
            ]
        else:
            self._regex = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))

    def find(self, text: str) -> str | None:
        if not self._segmented:
            found = self._regex.search(text)
            return found.group(0) if found else None
        runs = _WORD_RUN_RE.findall(text)
        for run in runs:
            if run in self._single:
                return run
        present = set(runs)
        for needed, regex in self._multi:
            if needed <= present:
                found = regex.search(text)
                if found:
                    return found.group(0)
        return None


def _unit_hash(text: str) -> float:
    """A deterministic number in [0, 1) from a string."""
    return zlib.crc32(text.encode("utf-8")) / 2**32
