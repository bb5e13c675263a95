"""features.py: the C feature columns against their definitions."""

import numpy as np
import pytest

from refinedweb.data.extract.blocks import split_lines
from refinedweb.data.extract.features import FEATURE_NAMES, block_features

RENDERED = "\n".join(
    [
        "<h1>How the river was measured</h1>",
        '<a href="/">Home</a> | <a href="/news">News</a>',
        "<p>The survey team walked the whole length of the river in the spring, counting every bridge.</p>",
        "<p>They found that the water was higher than in any year since the records began.</p>",
        "12 Comments",
        "Alex on September 17, 2018 at 6:34 am said:",
        "<p>Great work, thanks for sharing the numbers with all of us here.</p>",
        "Copyright 2020 River News",
    ]
)


def features():
    lines = split_lines(RENDERED)
    return lines, block_features(lines, "How the river was measured | River News")


def col(name):
    return FEATURE_NAMES.index(name)


def test_shape_and_simple_columns():
    lines, x = features()
    assert x.shape == (len(lines), len(FEATURE_NAMES))
    words = lines.stats[:, 1]
    assert np.allclose(x[:, col("log_words")], np.log1p(words))
    assert x[0, col("kind_h1")] == 1 and x[0, col("title_match")] == 1
    assert x[1, col("link_chars_rate")] > 0.5 and x[2, col("link_chars_rate")] == 0
    longest = int(np.argmax(words))
    assert x[longest, col("is_longest")] == 1 and x[:, col("is_longest")].sum() == 1
    assert np.allclose(x[:, col("position")], np.arange(len(lines)) / (len(lines) - 1))


def test_window_and_mass_columns_follow_their_definitions():
    lines, x = features()
    n = len(lines)
    words = lines.stats[:, 1]
    ends = lines.stats[:, 7]
    for i in range(n):
        lo, hi = max(i - 1, 0), min(i + 2, n)
        assert np.isclose(x[i, col("ends_sentence_w1")], ends[lo:hi].mean())
        lo, hi = max(i - 8, 0), min(i + 9, n)
        assert np.isclose(x[i, col("mass_share_w8")], words[lo:hi].sum() / words.sum())
    assert np.isclose(x[:, col("mass_peak_w8")].max(), 1.0)
    assert np.allclose(x[:, col("mass_before")], (np.cumsum(words) - words) / words.sum())


def test_boilerplate_words_are_flagged_on_short_lines_only():
    lines, x = features()
    assert x[len(lines) - 1, col("boilerplate_word")] == 1  # "Copyright 2020 River News"
    assert x[2, col("boilerplate_word")] == 0


def test_c_functions_reject_bad_arguments_instead_of_crashing():
    import pytest

    from refinedweb.data.extract.blocks import load_linetable

    lt = load_linetable()
    lines, _ = features()
    with pytest.raises(TypeError):
        lt.split(b"<p>bytes</p>")
    with pytest.raises(ValueError):  # one flag row short
        lt.features(lines.stats, lines.kind, np.zeros(len(lines) - 1), np.zeros(len(lines)), 11, 8, (1,), (8,))
    with pytest.raises(ValueError):  # a negative kind count would write before each row
        lt.features(lines.stats, lines.kind, np.zeros(len(lines)), np.zeros(len(lines)), -5, 8, (1,), (8,))
    with pytest.raises(ValueError):  # i + window would overflow
        lt.features(lines.stats, lines.kind, np.zeros(len(lines)), np.zeros(len(lines)), 11, 8, (2**62,), (8,))
    with pytest.raises(ValueError):
        lt.stage2_inputs(np.ones(3), np.ones(3), (1,), (2**62,))
    with pytest.raises(TypeError):
        lt.keyword_lines(lines.texts, lines.stats[:, 1].copy(), 12.0, ("ok", 3), ())
    with pytest.raises(ValueError):
        lt.keyword_lines(lines.texts, np.zeros(2), 12.0, ("ok",), ())
    with pytest.raises(TypeError):
        lt.repeat_flags(lines.texts, ["not", "a", "set"])


def test_misaligned_containers_are_refused():
    # Stage 3 and the keep rule refuse a container list that is not one per line; so do the features, rather than
    # silently scoring the page as if it had no tree.
    lines = split_lines(RENDERED)
    with pytest.raises(ValueError, match="line containers"):
        block_features(lines, None, np.zeros(len(lines) - 1, dtype=np.int32), np.array([-1], dtype=np.int32))
