"""scoring.py: the shipped block model loads, matches the features, and refuses a model of other features."""

import json
from importlib import resources

import numpy as np
import pytest

from refinedweb.data.extract.features import FEATURE_NAMES
from refinedweb.data.extract.scoring import (
    MODEL_RESOURCE, STAGE2_NAMES, STAGE2_SIDES, STAGE2_WINDOWS, BlockModel, keep_lines, line_words, load_model,
    stage2_inputs,
)
from refinedweb.errors import FatalError


def test_shipped_model_loads_and_predicts():
    model = load_model()
    assert model.w1.shape == (len(FEATURE_NAMES),)
    assert model.w2.shape == (len(FEATURE_NAMES) + len(STAGE2_NAMES),)
    assert 0 < model.threshold < 1
    x = np.random.default_rng(0).normal(size=(7, len(FEATURE_NAMES)))
    p = model.predict(x)
    assert p.shape == (7,) and np.all((p >= 0) & (p <= 1))
    assert np.array_equal(model.keep(x), keep_lines(p, line_words(x), model.threshold, model.ratio))
    assert model.predict(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)


def test_folded_weights_equal_the_standardised_two_stage_model():
    model = load_model()
    x = np.random.default_rng(1).normal(size=(11, len(FEATURE_NAMES)))
    xs = model.standardize(x)
    assert np.allclose(model.stage2(xs, model.stage1(xs)), 1.0 / (1.0 + np.exp(-model.logit(x))))


def test_model_with_other_features_is_refused():
    data = json.loads(resources.files("refinedweb.resources").joinpath("extract", MODEL_RESOURCE).read_text())
    data["feature_names"] = data["feature_names"][:-1] + ["something_else"]
    with pytest.raises(FatalError, match="retrain"):
        BlockModel.from_dict(data)
    with pytest.raises(FatalError):
        BlockModel.from_dict({"format": "other"})


def test_model_with_other_stage3_inputs_is_refused_and_round_trips():
    data = json.loads(resources.files("refinedweb.resources").joinpath("extract", MODEL_RESOURCE).read_text())
    assert data["stage3"] is not None  # the shipped model has a stage 3
    model = BlockModel.from_dict(data)
    assert BlockModel.from_dict(json.loads(json.dumps(model.to_dict()))).stage3[1] == model.stage3[1]
    data["stage3_names"] = data["stage3_names"][:-1]
    with pytest.raises(FatalError, match="stage-3 inputs differ"):
        BlockModel.from_dict(data)


def test_c_forward_pass_without_a_hidden_layer():
    shipped = load_model()
    model = BlockModel(shipped.mean, shipped.scale, shipped.w1, shipped.b1, shipped.w2, shipped.b2, shipped.threshold)
    x = np.random.default_rng(2).normal(size=(9, len(FEATURE_NAMES)))
    xs = model.standardize(x)
    assert np.allclose(model.stage2(xs, model.stage1(xs)), model.predict(x))
    assert not np.allclose(model.predict(x), shipped.predict(x))  # the hidden layer was really left out


def _numpy_stage2_inputs(p1: np.ndarray, words: np.ndarray) -> np.ndarray:
    """STAGE2_NAMES from their definitions in scoring.stage2_inputs, in numpy."""
    n = len(p1)
    i = np.arange(n)
    cs = np.concatenate(([0.0], np.cumsum(p1)))
    cols = [p1, np.concatenate(([0.0], p1[:-1])), np.concatenate((p1[1:], [0.0]))]
    for w in STAGE2_WINDOWS:
        lo, hi = np.maximum(i - w, 0), np.minimum(i + w + 1, n)
        cols.append((cs[hi] - cs[lo]) / (hi - lo))
    cols.append(np.full(n, p1.mean()))
    for k in STAGE2_SIDES:
        lo, hi = np.maximum(i - k, 0), np.minimum(i + k + 1, n)
        cols.append((cs[i] - cs[lo]) / np.maximum(i - lo, 1))
        cols.append((cs[hi] - cs[i + 1]) / np.maximum(hi - i - 1, 1))
    # best run by brute force over all (a, b)
    score = (p1 - 0.5) * np.maximum(words, 1.0)
    a, b = max(((a, b) for a in range(n) for b in range(a, n)), key=lambda ab: (score[ab[0] : ab[1] + 1].sum(), -ab[1], -ab[0]))
    run_mean = p1[a : b + 1].mean()
    dist = np.where(i < a, -np.log1p(np.maximum(a - i, 0)), np.where(i > b, np.log1p(np.maximum(i - b, 0)), 0.0))
    cols += [(i < a) * 1.0, (i > b) * 1.0, dist, np.full(n, run_mean), p1 - run_mean,
             np.full(n, (p1 * words).sum() / max(words.sum(), 1.0))]
    return np.column_stack(cols)


def test_stage2_inputs_match_their_definitions():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 40):
        p1 = rng.random(n)
        words = rng.integers(0, 60, n).astype(float)
        assert np.allclose(stage2_inputs(p1, words), _numpy_stage2_inputs(p1, words), atol=1e-12)


def test_page_relative_keep_rule_drops_weak_lines_outside_the_best_run():
    # An article (lines 0-2, p about 0.93), five short furniture lines, then a thread at p 0.6: a global threshold of
    # 0.5 keeps the thread, the per-page rule with ratio 0.8 (cut about 0.74) drops it; a page whose best text
    # scores 0.6 keeps it.
    p = np.array([0.95, 0.9, 0.95, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6, 0.6])
    words = np.array([50.0, 40, 60, 3, 3, 3, 3, 3, 20, 20])
    article = [True] * 3 + [False] * 5
    assert keep_lines(p, words, 0.5, 0.0).tolist() == article + [True, True]
    assert keep_lines(p, words, 0.5, 0.8).tolist() == article + [False, False]
    weak_page = np.array([0.6, 0.6, 0.2, 0.55])
    assert keep_lines(weak_page, np.array([30.0, 30, 2, 30]), 0.5, 0.8).tolist() == [True, True, False, True]


def test_c_keep_rule_equals_the_numpy_rule():
    from dataclasses import replace

    shipped = load_model()
    assert shipped.ratio > 0 or shipped.tree_ratio > 0  # the shipped model uses a per-page rule
    model = replace(shipped, ratio=0.8)  # the line-run part, whether or not the shipped model uses it
    rng = np.random.default_rng(4)
    for n in (1, 5, 30):
        x = rng.normal(size=(n, len(FEATURE_NAMES)))
        x[:, FEATURE_NAMES.index("log_words")] = np.log1p(rng.integers(0, 80, n))
        for m in (shipped, model):
            assert np.array_equal(m.keep(x), keep_lines(m.predict(x), line_words(x), m.threshold, m.ratio))


def test_subtree_keep_rule_drops_a_thread_beside_the_article():
    # The document (0) holds a wrapper (1) with the article (2) and, as the article's sibling, a comment thread
    # (3: a title line at 0.3 and two comments, 4 and 5, at 0.7). The line-run rule keeps the comments: the best run
    # of (p - 0.5) * words runs through them. With margin 0.7 the best subtree is the article (3 * 50 * 0.25 = 37.5;
    # the wrapper 37.5 - 0.8 for the title line, the thread -0.8), whose mean p is 0.95: the comments at 0.7 are
    # under 0.8 * 0.95 and go.
    p = np.array([0.95, 0.95, 0.95, 0.3, 0.7, 0.7])
    words = np.array([50.0, 50, 50, 2, 30, 30])
    containers = np.array([2, 2, 2, 3, 4, 5], dtype=np.int32)
    parents = np.array([-1, 0, 1, 1, 3, 3], dtype=np.int32)
    assert keep_lines(p, words, 0.5, 0.8).tolist() == [True, True, True, False, True, True]
    kept = keep_lines(p, words, 0.5, 0.8, containers, parents, 0.7, 0.8)
    assert kept.tolist() == [True, True, True, False, False, False]
    # Without containers, or with tree_ratio 0, the rule is the line-run rule alone.
    assert keep_lines(p, words, 0.5, 0.8, None, None, 0.7, 0.8).tolist() == [True] * 3 + [False, True, True]
    assert keep_lines(p, words, 0.5, 0.8, containers, parents, 0.7, 0.0).tolist() == [True] * 3 + [False, True, True]
    # A page with one container: the document is the best subtree and everything is inside it.
    flat = keep_lines(p, words, 0.5, 0.0, np.zeros(6, dtype=np.int32), np.array([-1], dtype=np.int32), 0.7, 0.8)
    assert flat.tolist() == (p >= 0.5).tolist()


def test_c_subtree_rule_equals_the_numpy_rule_and_refuses_bad_containers():
    from dataclasses import replace

    model = replace(load_model(), tree_margin=0.6, tree_ratio=0.8)
    rng = np.random.default_rng(5)
    for n in (1, 6, 40):
        m = int(rng.integers(1, 12))
        parents = np.array([-1] + [int(rng.integers(0, c)) for c in range(1, m)], dtype=np.int32)
        containers = rng.integers(0, m, n).astype(np.int32)
        x = rng.normal(size=(n, len(FEATURE_NAMES)))
        x[:, FEATURE_NAMES.index("log_words")] = np.log1p(rng.integers(0, 80, n))
        expected = keep_lines(model.predict(x, containers, parents), line_words(x), model.threshold, model.ratio,
                              containers, parents, 0.6, 0.8)
        assert np.array_equal(model.keep(x, containers, parents), expected)
    with pytest.raises(ValueError, match="out of range"):
        model.keep(x, np.full(len(x), 99, dtype=np.int32), parents)
    with pytest.raises(ValueError, match="one int32 per line|mismatched sizes"):
        model.keep(x, containers[:-1], parents)


def _stage3_reference(p2, words, containers, parents):
    from refinedweb.data.extract.scoring import STAGE3_MARGINS, best_subtree

    w = np.maximum(words, 1.0)
    q = np.clip(p2, 1e-6, 1 - 1e-6)
    cols = [np.log(q / (1 - q))]
    for margin in STAGE3_MARGINS:
        inside = best_subtree((p2 - margin) * w, containers, parents)[containers]
        mean = (p2[inside] * w[inside]).sum() / w[inside].sum() if inside.any() else p2.mean()
        cols += [inside.astype(float), p2 - mean]
    m = len(parents)
    total, weight = np.zeros(m), np.zeros(m)
    np.add.at(total, containers, p2 * w)
    np.add.at(weight, containers, w)
    for c in range(m - 1, 0, -1):
        if 0 <= parents[c] < c:
            total[parents[c]] += total[c]
            weight[parents[c]] += weight[c]
    mean_of = total / np.maximum(weight, 1e-9)
    up = np.array([parents[c] if 0 <= parents[c] < c else c for c in range(m)])
    return np.column_stack(cols + [mean_of[containers], mean_of[up[containers]]])


def test_stage3_inputs_match_their_definitions():
    from refinedweb.data.extract.scoring import STAGE3_NAMES, stage3_inputs

    rng = np.random.default_rng(6)
    for n in (1, 7, 50):
        m = int(rng.integers(1, 15))
        parents = np.array([-1] + [int(rng.integers(0, c)) for c in range(1, m)], dtype=np.int32)
        containers = rng.integers(0, m, n).astype(np.int32)
        p2, words = rng.random(n), rng.integers(0, 60, n).astype(float)
        got = stage3_inputs(p2, words, containers, parents)
        assert got.shape == (n, len(STAGE3_NAMES))
        np.testing.assert_allclose(got, _stage3_reference(p2, words, containers, parents), atol=1e-12)
    # Without a tree every line is in the document.
    flat = stage3_inputs(np.array([0.2, 0.9]), np.array([3.0, 40.0]), None, None)
    np.testing.assert_allclose(flat[:, 5], flat[:, 6])
    with pytest.raises(ValueError, match="out of range"):
        stage3_inputs(np.array([0.5]), np.array([1.0]), np.array([5], dtype=np.int32), np.array([-1], dtype=np.int32))


def test_shipped_model_keeps_what_its_final_probabilities_and_rule_say():
    model = load_model()
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, len(FEATURE_NAMES)))
    x[:, FEATURE_NAMES.index("log_words")] = np.log1p(rng.integers(0, 80, 30))
    parents = np.array([-1, 0, 1, 1, 3], dtype=np.int32)
    containers = rng.integers(0, 5, 30).astype(np.int32)
    p = model.predict(x, containers, parents)
    expected = keep_lines(p, line_words(x), model.threshold, model.ratio, containers, parents, model.tree_margin,
                          model.tree_ratio)
    assert np.array_equal(model.keep(x, containers, parents), expected)
