import math
import random

import numpy as np
import pytest

from refinedweb.data.dedup.shingles import Sketcher, band_keys, shingle_hashes, word_hashes


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return len(np.intersect1d(a, b)) / len(np.union1d(a, b))


def perturb(text: str, rate: float, rng: random.Random) -> str:
    return " ".join(w if rng.random() > rate else f"x{rng.randrange(10**6)}" for w in text.split())


def test_words_ignore_case_punctuation_and_spacing():
    assert np.array_equal(word_hashes("Hello, World!\n\nhello   world."), word_hashes("hello world hello world"))
    assert len(word_hashes("...  !!")) == 0


def test_short_documents_get_one_shingle_and_empty_ones_none():
    assert len(shingle_hashes("two words", 5)) == 1
    assert not np.array_equal(shingle_hashes("two words", 5), shingle_hashes("other words", 5))
    assert len(shingle_hashes("", 5)) == 0


@pytest.mark.parametrize("num_hashes", [112, 9000])
def test_sketch_agreement_estimates_exact_jaccard(pages, num_hashes):
    """Per bin, two sets agree with probability J; over k bins the estimate has sd <= sqrt(J(1-J)/k)."""
    rng = random.Random(7)
    sketcher = Sketcher(num_hashes, seed=3)
    errors = []
    for page in pages[:20]:
        a = shingle_hashes(page["text"], 5)
        b = shingle_hashes(perturb(page["text"], rng.choice([0.02, 0.05, 0.1]), rng), 5)
        j = exact_jaccard(a, b)
        estimate = float(np.mean(sketcher.signature(a) == sketcher.signature(b)))
        sd = math.sqrt(max(j * (1 - j), 1e-4) / num_hashes)
        errors.append(abs(estimate - j) / sd)
    assert max(errors) < 5  # no estimate off by five standard deviations
    assert np.mean(errors) < 1.5  # and on average within the expected error


def test_sketch_is_deterministic_and_seeded(pages):
    a = shingle_hashes(pages[0]["text"], 5)
    assert np.array_equal(Sketcher(112, seed=1).signature(a), Sketcher(112, seed=1).signature(a))
    assert not np.array_equal(Sketcher(112, seed=1).signature(a), Sketcher(112, seed=2).signature(a))


def test_tiny_sets_fill_every_bin():
    signature = Sketcher(200).signature(np.array([42], dtype=np.uint64))
    assert (signature != np.iinfo(np.uint64).max).all()


def test_band_keys_match_only_equal_bands():
    sig = np.arange(16, dtype=np.uint64)
    other = sig.copy()
    other[5] = 99  # inside band 1 of 4 x 4
    keys, keys2 = band_keys(sig, 4, 4), band_keys(other, 4, 4)
    assert list(keys == keys2) == [True, False, True, True]
