"""Splitting text into words, lines, paragraphs and sentences: the one definition every filter shares.

The rules, chosen to be fast (one compiled regex each, no model, no NLTK data) and to work across scripts:

- A **word** is a run of letters, digits, combining marks and underscores, which may contain an
  inner apostrophe, hyphen or dot between two such runs (``don't``, ``state-of-the-art``, ``3.14``, ``U.S``).
  Punctuation and symbols are never words, so ``"end."`` is the one word ``end``.
- **Chinese and Japanese** have no spaces between words, so every Han ideograph, hiragana and katakana character
  (and the katakana prolonged-sound mark) is one word on its own; Latin letters or digits next to them still form
  words as above. ``"我爱Python"`` → ``["我", "爱", "Python"]``. This over-counts words compared with a real
  segmenter (jieba, MeCab), so word-count thresholds tuned on segmented text need adjusting for zh/ja (ROOTS'
  zh row, min 1 word, already assumes a tokenizer that makes many short units). Korean uses spaces and is split
  like Latin text. Thai, Lao, Khmer and Burmese also lack spaces and are *not* segmented: a whole phrase is one
  word; filters that count words are not meaningful for them.
- A **token** is a word or a single punctuation/symbol character. Some thresholds (FineWeb's newline ratio) were
  set with tokenizers that emit punctuation tokens, and use this count.
- **Lines** are separated by ``\\n``; **paragraphs** by two or more newlines (Gopher, as in datatrove).
- **Sentences** (for C4's "at least 5 sentences"): a line holds one sentence per run of terminal punctuation that is
  followed by whitespace or the end of the line (full-width CJK marks need no space), plus one for trailing text
  without it. This is a regex stand-in
  for NLTK punkt; it over-splits abbreviations such as "Dr. Smith".
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Chinese and Japanese characters that are each one word: CJK radicals, 々〆〇 and Hangzhou numerals, hiragana,
# katakana (with ー, without the middle dot ・), CJK extension A, unified ideographs, compatibility ideographs,
# half-width katakana; and, in the supplementary planes, extensions B-G.
_CJK_BMP = (
    (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B), (0x3041, 0x30FA), (0x30FC, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
)
_CJK_SUPPLEMENTARY = "\U00020000-\U0003134F"
# Supplementary-plane letters and digits (historic scripts, mathematical alphanumerics) up to the emoji blocks.
_WORD_SUPPLEMENTARY = "\U00010000-\U0001F0FF"

# A word (as split_words makes them) without a letter: decimal digits and underscores, with inner ' . -
_NUMBER_WORD_RE = re.compile(r"(?<![^ ])[\d_'’.\-]+(?![^ ])")
PARAGRAPH_SPLIT_RE = re.compile(r"\n{2,}")
LINE_SPLIT_RE = re.compile(r"\n+")

# Sentence-ending punctuation in the scripts we see most: Latin, CJK full-width, Devanagari danda, Arabic/Urdu,
# Armenian, Ethiopic, Burmese. Quotes after the mark belong to the sentence ("Hi." she said).
TERMINAL_PUNCTUATION = (".", "!", "?", "…", "。", "！", "？", "．", "｡", "।", "॥", "؟", "۔", "։", "።", "။", "‼", "⁇", "⁈", "⁉")
# Latin-style marks end a sentence when followed by whitespace or the end of the line; full-width CJK marks always.
_SENTENCE_END_RE = re.compile(r"[.!?…।॥؟۔։።။‼⁇⁈⁉]+[\"'”’)\]»]*(?=\s|$)|[。！？｡．]+[」』”’）)]*")


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)


@functools.cache
def _regexes() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Compile the word and token regexes once per process (about 0.1 s, so not at import time).

    Python's ``re`` has no ``\\p{M}`` and its ``\\w`` omits combining marks (Devanagari vowel signs, Arabic
    harakat), so the word-character class is enumerated from ``unicodedata`` over the Basic Multilingual Plane.
    This is 2-3x faster than the ``regex`` module's ``[\\w\\p{M}--\\p{Han}]`` on the same texts.
    """
    cjk = {cp for a, b in _CJK_BMP for cp in range(a, b + 1)}
    # Combining marks, except variation selectors (they only restyle the emoji or symbol before them).
    marks = {cp for cp in range(0x10000) if unicodedata.category(chr(cp))[0] == "M"} - set(range(0xFE00, 0xFE10))
    word = _ranges(lambda cp, ch: (ch.isalnum() or ch == "_" or cp in marks) and cp not in cjk)
    letter = _ranges(lambda cp, ch: ch.isalpha() or cp in marks)
    word_char = f"[{_char_class(word)}{_WORD_SUPPLEMENTARY}]"
    cjk_char = f"[{_char_class(list(_CJK_BMP))}{_CJK_SUPPLEMENTARY}]"
    word_pattern = rf"{cjk_char}|{word_char}+(?:['’.\-]{word_char}+)*"
    # A token is a word or any other single non-space character (punctuation, symbol, emoji).
    return re.compile(word_pattern), re.compile(rf"{word_pattern}|[^\s]"), re.compile(f"[{_char_class(letter)}]+")


def _ranges(predicate) -> list[tuple[int, int]]:
    """Code-point ranges of the Basic Multilingual Plane where ``predicate(code point, character)`` holds."""
    out, start = [], None
    for cp in range(0x10001):
        ok = cp < 0x10000 and predicate(cp, chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


_last_split: tuple[str | None, list[str]] = (None, [])


def split_words(text: str) -> list[str]:
    """Words of ``text`` by the rule in the module docstring (punctuation excluded, CJK one per character).

    The result for the most recent text object is remembered, so consecutive filters on the same unchanged
    document split it once. Treat the returned list as read-only.
    """
    global _last_split
    last = _last_split  # one atomic read: safe if threads share this module
    if last[0] is text:
        return last[1]
    words = _regexes()[0].findall(text)
    _last_split = (text, words)
    return words


def split_tokens(text: str) -> list[str]:
    """Words plus single punctuation/symbol characters, in order."""
    return _regexes()[1].findall(text)


def count_tokens(text: str, words: list[str] | None = None) -> int:
    """``len(split_tokens(text))`` without building the list: every non-space character outside a word is a token.
    Pass ``words`` (``split_words(text)``) if you have them."""
    if words is None:
        words = split_words(text)
    non_space = len("".join(text.split()))
    return len(words) + non_space - sum(map(len, words))


def count_letter_words(words: list[str]) -> int:
    """How many of ``words`` contain at least one letter (one regex pass over the joined words). A "letter" here is
    a word character that is not a decimal digit or ``_``, so the rare numeric symbols ½, Ⅲ, ① count as letters."""
    return len(words) - len(_NUMBER_WORD_RE.findall(" ".join(words)))


def count_letters(text: str) -> int:
    """Number of letters and combining marks (any script, Basic Multilingual Plane) in ``text``."""
    return sum(map(len, _regexes()[2].findall(text)))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: the stripped text split on runs of two or more newlines."""
    return PARAGRAPH_SPLIT_RE.split(text.strip())


def split_lines(text: str) -> list[str]:
    """Lines: the text split on runs of newlines (so blank lines are not lines)."""
    return LINE_SPLIT_RE.split(text)


def count_sentences(line: str) -> int:
    """Number of sentences in one line (0 for a blank line)."""
    line = line.strip()
    if not line:
        return 0
    ends = list(_SENTENCE_END_RE.finditer(line))
    trailing = 1 if not ends or ends[-1].end() < len(line) else 0
    return len(ends) + trailing


def ends_with_terminal_punctuation(line: str) -> bool:
    return line.rstrip().endswith(TERMINAL_PUNCTUATION)
