"""Word n-gram shingles and MinHash signatures, computed with numpy (no Python loop over words or hashes).

Text normalisation (as in datatrove's ``simplify_text`` and text-dedup): lower case, and every character that is
not a letter, digit or mark separates words (a lookup table over code points), so punctuation, quote style and
spacing changes do not change shingles. A word is hashed with a polynomial rolling hash over its code points
(prefix sums mod 2**64, so all words of a document are hashed at once); an n-gram combines its n word hashes the
same way and is finished with the splitmix64 mixer. Documents shorter than n words give one shingle of all their
words, so short documents still match their exact copies and do not all collapse onto one signature (text-dedup
#77).

The ``k`` MinHash values come from Fast Similarity Sketching (Dahlgaard, Knudsen, Thorup, FOCS 2017) instead of
``k`` independent hash functions: in round ``i`` every shingle draws a random bin and a value in ``[i, i+1)``; a
bin keeps its minimum. For rounds ``k..2k-1`` shingle goes to bin ``i-k``, so every bin is filled by round ``2k``,
and since values grow with the round, the sketch is final as soon as all bins hold a value, after about
``k ln k / |shingles|`` rounds. Two sets agree in a bin with probability exactly their Jaccard similarity (the
bin's minimum comes from a shared shingle), as with classic MinHash, but the cost is ``O(|shingles| + k log k)``
instead of ``O(|shingles| * k)``: what makes 9,000 hashes per document (RefinedWeb) affordable. Bands of ``r``
rows are hashed to one 64-bit key each.
"""

from __future__ import annotations

import functools
import math
import unicodedata

import numpy as np

_P = np.uint64(0x100000001B3)  # odd, so invertible mod 2**64
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_Q = np.uint64(0x9E3779B97F4A7C15)
_BLOCK = 64 * 1024  # elements of the (shingles x hashes) block computed at once


def splitmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _Powers:
    """Cached powers P**i and P**-i mod 2**64, grown on demand."""

    def __init__(self) -> None:
        self.pos = np.ones(1, dtype=np.uint64)
        self.neg = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pos) < n:
            size = max(n, 2 * len(self.pos))
            self.pos = np.concatenate([[np.uint64(1)], np.cumprod(np.full(size - 1, _P, dtype=np.uint64))])
            self.neg = np.concatenate([[np.uint64(1)], np.cumprod(np.full(size - 1, _P_INV, dtype=np.uint64))])
        return self.pos[:n], self.neg[:n]


_POWERS = _Powers()


def span_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit polynomial hashes of the byte spans ``data[starts[i]:ends[i]]``, all at once. Unmixed: spans that
    differ in one byte differ by a small multiple of a power of P, so pass them through ``splitmix`` before using
    some of their bits."""
    pos, neg = _POWERS.upto(len(data) + 1)
    prefix = np.concatenate([[np.uint64(0)], np.cumsum((data.astype(np.uint64) + np.uint64(1)) * pos[: len(data)])])
    return (prefix[ends] - prefix[starts]) * neg[starts]


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


@functools.cache
def _word_codepoints() -> np.ndarray:
    """Which code points belong to words: ASCII letters and digits, and every non-ASCII character except
    punctuation, symbols and spaces (Unicode categories P*, S*, Z*). Index 0x10000 stands for all characters
    beyond the Basic Multilingual Plane (word characters). Built once, in about 40 ms."""
    table = np.zeros(0x10001, dtype=bool)
    for code in range(0x10000):
        char = chr(code)
        table[code] = char.isalnum() if code < 0x80 else unicodedata.category(char)[0] not in "PSZC"
    table[0x10000] = True
    return table


def word_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the normalised words of ``text``, in order (computed on Unicode code points)."""
    data = np.frombuffer(text.lower().encode("utf-32-le", "replace"), dtype=np.uint32)
    starts, ends = runs(_word_codepoints()[np.minimum(data, 0x10000)])
    if len(starts) == 0:
        return np.empty(0, dtype=np.uint64)
    return span_hashes(data, starts, ends)


def shingle_hashes(text: str, n: int) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the word n-grams of ``text`` (one shingle if it has 1..n-1 words)."""
    words = word_hashes(text)
    if len(words) == 0:
        return words
    if len(words) < n:
        n = len(words)
    count = len(words) - n + 1
    acc = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        acc = acc * _Q + words[k : k + count]
    return np.unique(splitmix(acc + np.uint64(n)))


class Sketcher:
    """``num_hashes`` MinHash values per shingle set, by Fast Similarity Sketching; parameters depend only on
    ``seed``."""

    def __init__(self, num_hashes: int, seed: int = 1):
        self.num_hashes = num_hashes
        rounds = np.arange(2 * num_hashes, dtype=np.uint64)
        # Per round, two multiply-shift hashes (Dietzfelbinger et al. 1997) of the already mixed shingle hash:
        # one picks the bin, the other the value. Cheaper than a full mixer, and enough for uniform inputs.
        rng = np.random.default_rng(seed)
        self.mul = rng.integers(0, 1 << 63, size=(2, 2 * num_hashes), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.add = rng.integers(0, 1 << 63, size=(2, 2 * num_hashes), dtype=np.uint64)
        self.round_tags = rounds << np.uint64(32)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """uint64 array of ``num_hashes`` values; bin ``k`` of two sets is equal with probability their Jaccard
        similarity. All 2**64-1 for an empty set."""
        k = self.num_hashes
        out = np.full(k, np.iinfo(np.uint64).max, dtype=np.uint64)
        if len(shingles) == 0:
            return out
        # Rounds expected to fill every bin (coupon collector), capped so one block stays in the CPU cache.
        expected = int(k * (math.log(k) + 1) / len(shingles)) + 1
        per_block = max(1, min(expected, _BLOCK // len(shingles)))
        start = 0
        while start < 2 * k:
            stop = min(start + per_block, 2 * k)
            x = shingles[None, :]
            h = self.mul[0, start:stop, None] * x + self.add[0, start:stop, None]  # (rounds, shingles)
            bins = ((h >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32)  # uniform in [0, k): first k rounds
            late = np.arange(start, stop) >= k
            if late.any():  # rounds k..2k-1 put every element into bin (round - k), so every bin gets filled
                bins[late] = (np.arange(start, stop)[late] - k).astype(np.uint64)[:, None]
            values = self.round_tags[start:stop, None] | (
                (self.mul[1, start:stop, None] * x + self.add[1, start:stop, None]) >> np.uint64(32))
            np.minimum.at(out, bins.ravel().astype(np.intp), values.ravel())
            start = stop
            # A later round's values are larger than any value already in a bin, so once every bin holds one,
            # nothing can change: stopping here gives exactly the sketch of all 2k rounds.
            if out.max() != np.iinfo(np.uint64).max:
                break
        return out


def band_keys(signature: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of ``rows`` consecutive values."""
    table = signature[: bands * rows].reshape(bands, rows).astype(np.uint64)
    acc = np.zeros(bands, dtype=np.uint64)
    for j in range(rows):
        acc = acc * _Q + table[:, j]
    return splitmix(acc)
