"""train.py: averaging stage 2's hidden-layer fits over seeds is exact; its page F1 is the benchmark's."""

import numpy as np

from refinedweb.data.extract.devsets import page_prf, tokens
from refinedweb.data.extract.train import PageData, average_fits, kept_f1


def _logit(fit, x):
    w, b, hh, hc, hv = fit
    return x @ w + b + np.tanh(x @ hh + hc) @ hv


def test_averaged_fits_give_the_mean_log_odds():
    rng = np.random.default_rng(0)
    d = 6
    fits = [(rng.normal(size=d), float(rng.normal()), rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=h))
            for h in (4, 4, 3)]
    x = rng.normal(size=(9, d))
    merged = average_fits(fits)
    assert merged[2].shape == (d, 11)
    assert np.allclose(_logit(merged, x), np.mean([_logit(f, x) for f in fits], axis=0))
    assert average_fits(fits[:1]) is fits[0]


def test_kept_f1_is_the_mean_of_the_benchmark_page_f1():
    empty = np.zeros(0)
    pages = [
        PageData("s", "a", gold, texts, empty, empty, empty, tokens(gold))
        for gold, texts in (("One two three four.", ["one two", "menu", "three"]), ("Solo.", ["nothing"]))
    ]
    kept = [np.array([True, True, False]), np.array([False])]
    expected = (page_prf("One two three four.", "one two\nmenu")[2] + page_prf("Solo.", "")[2]) / 2
    assert kept_f1(pages, kept) == expected and 0 < expected < 1
