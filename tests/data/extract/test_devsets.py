"""devsets.py and train.py helpers: the reference metric and the line labels."""

import pytest

from refinedweb.data.extract.devsets import load_set, page_prf
from refinedweb.data.extract.train import label_lines
from refinedweb.errors import ConfigError


def test_page_prf_is_the_bag_of_words_metric():
    # gold tokens {a:1, b:2, c:1}; predicted {b:1, c:1, d:1}: 2 in common.
    p, r, f = page_prf("A b, b c.", "b c d")
    assert p == pytest.approx(2 / 3) and r == pytest.approx(2 / 4) and f == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert page_prf("a", "") == (0.0, 0.0, 0.0)
    # A run of CJK characters is one \w+ token, as in the reference scorer.
    assert page_prf("\u4e2d\u6587 x", "\u4e2d\u6587")[0] == 1.0


def test_labels_follow_whole_word_sequences_of_the_gold():
    gold = "The quick brown fox jumps over the lazy dog near the river bank today."
    texts = ["quick brown fox", "Home", "brown quick", "the lazy dog near the river bank yesterday", ""]
    y, n = label_lines(texts, gold)
    assert list(y[:3]) == [1.0, 0.0, 0.0]
    assert 0.8 < y[3] < 1.0  # 7 of 8 words found: a soft label
    assert n[4] == 0


def test_missing_set_names_the_folder(tmp_path):
    with pytest.raises(ConfigError, match="--data"):
        load_set(tmp_path, "aeb")
