"""Train the block classifier of the ``refinedweb`` engine on the extraction development sets.

    python -m refinedweb.data.extract.train --data /work/shared/data/extraction \
        --out src/refinedweb/resources/extract/blocks_v1.json --report benchmarks/extraction_train.json

What it does, and why:

- **Labels.** The rendered lines are aligned to the gold text in page order (``label_lines``): a line is main text
  when its lower-cased words occur as a whole-word sequence at or after the previous match; lines of 6+ words that
  miss by small edits get the share of their words still unclaimed in the gold as a soft label (at least 0.5).
  Lines without a word are not trained on (they cannot change the score).
- **Weights.** The score is F1 over words averaged over pages, so a line weighs its share of the page's words
  (every page sums to 1), and each set is scaled by ``(mean set size / set size) ** SET_WEIGHT_POWER`` so that the
  1,381 dragnet pages do not drown the 58 CleanEval pages.
- **Model.** Stage 1: L2-regularised logistic regression fitted by Newton's method (IRLS) on the line features.
  Stage 2: the line features plus stage 1's probabilities smoothed over neighbouring lines, scored by a logistic
  regression (Newton) with one tanh layer beside it (``HIDDEN`` units, Adam on mini-batches, started from the
  linear solution), fitted for each of ``SEEDS`` and averaged (one seed by default). Stage 2 is trained on
  *out-of-fold* stage-1 probabilities (folds grouped by web site), so it learns how far to trust stage 1 on unseen
  sites rather than on its own training pages. Stage 3 (``STAGE3``), a logistic regression over
  ``scoring.stage3_inputs``, is fitted the same way on out-of-fold stage-2 probabilities (stage 2 fitted once more
  per fold). The keep threshold is the one that maximises the mean over sets of
  the mean page F1 on those out-of-fold predictions; then, at that threshold, the per-page ratio of the keep rule
  (``scoring.keep_lines``) is chosen from ``RATIOS`` the same way, then its best-subtree part (margin, ratio) from
  ``TREE_MARGINS`` x ``TREE_RATIOS`` (or none), and then the ratio once more.
- **Generalisation check.** Leave-one-set-out: for each set, the whole procedure runs on the other sets and the
  held-out set is scored. Those numbers, not the in-sample ones, say how it does on new kinds of pages.
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import pickle
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from refinedweb.data.extract.blocks import render, split_lines
from refinedweb.data.extract.devsets import SETS, load_set, token_prf, tokens, words_in_order
from refinedweb.data.extract.features import FEATURE_NAMES, block_features
from refinedweb.data.extract.main_text import page_hints
from refinedweb.data.extract.scoring import (BlockModel, _sigmoid, keep_lines, line_words, stage2_inputs,
                                             stage3_inputs)
from refinedweb.errors import InputError
from refinedweb.io import atomic_write_text

_SHORT_LINE = 4
_SHORT_REACH = 400
"""How far (in characters of the gold word sequence) a short line may be from the previous match."""
SET_WEIGHT_POWER = 1.0
"""1: every set weighs the same in training, as every set counts the same in the acceptance and in the choice of
the threshold. Measured against 0.5 (sets weighted by the square root of their size, used until extract4): the
leave-one-set-out mean F1 over seeds 0, 1, 2 rose 0.8655 -> 0.8683, no set lower (benchmarks/extraction.md)."""
THRESHOLDS = tuple(np.round(np.arange(0.25, 0.76, 0.05), 2))
RATIOS = (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
"""Candidates for the per-page part of the keep rule (``scoring.keep_lines``), chosen after the threshold."""
TREE_MARGINS = (0.5, 0.6, 0.7)
TREE_RATIOS = (0.6, 0.7, 0.8, 0.9, 1.0)
"""Candidates for the best-subtree part of the keep rule (``scoring.keep_lines``), or none, chosen after the ratio;
then the ratio is chosen again."""
L2 = 1e-3
"""Ridge penalty per standardised weight, relative to the weighted mean log-loss."""
FOLDS = 3
HIDDEN = 24
"""Units of stage 2's hidden layer per seed (0: stage 2 is a plain logistic regression)."""
SEEDS = (0,)
"""Seeds of stage 2's hidden layer; with several, the fits are averaged (``average_fits``). One seed alone moves the
leave-one-set-out mean F1 by up to 0.005, but averaging did not pay for its cost (benchmarks/extraction.md): three
seeds of 24 units gave +0.001 on that mean for 0.18 ms more per page; three of 8 units (the engine's cost of one of
24) gave -0.001."""
EPOCHS = 4
STAGE3 = True
"""Fit stage 3 (``scoring.stage3_inputs``): stage 2 is then fitted once more per fold, for out-of-fold inputs."""


@dataclass
class PageData:
    set: str
    site: str
    gold: str
    texts: list[str]
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    gold_tokens: Counter = field(default_factory=Counter)
    containers: np.ndarray | None = None
    parents: np.ndarray | None = None


def label_lines(texts: list[str], gold: str) -> tuple[np.ndarray, np.ndarray]:
    """(soft label, word count) per line; see the module docstring.

    Lines are aligned to the gold in page order: a line is main text when its words occur as a whole-word sequence
    in the gold at or after the end of the last match. Short lines (under 4 words: "Tech", "Share") must match close
    to that point, so a menu word that happens to occur somewhere in the article is not taken for main text, and a
    long line found only earlier in the gold counts once (the repeated copies of a headline do not).
    """
    gold_words = words_in_order(gold)
    gold_seq = " " + " ".join(gold_words) + " "
    remaining = Counter(gold_words)  # gold words not yet claimed by a line: a second copy of a passage gets none
    y = np.zeros(len(texts))
    n = np.zeros(len(texts))
    cursor = 0
    seen: set[str] = set()
    for i, text in enumerate(texts):
        words = words_in_order(text)
        n[i] = len(words)
        if not words:
            continue
        needle = " " + " ".join(words) + " "
        if len(words) < _SHORT_LINE:
            pos = gold_seq.find(needle, max(cursor - 1, 0), cursor + _SHORT_REACH + len(needle))
        else:
            pos = gold_seq.find(needle, max(cursor - 1, 0))
            if pos < 0 and needle not in seen and needle in gold_seq:
                y[i] = 1.0  # matched out of order: keep it, but do not move the cursor back
                seen.add(needle)
                remaining -= Counter(words)
                continue
        if pos >= 0:
            y[i] = 1.0
            seen.add(needle)
            cursor = pos + len(needle) - 1
            remaining -= Counter(words)
        elif len(words) >= 6:
            claimed = Counter(words) & remaining
            share = sum(claimed.values()) / len(words)
            if share >= 0.5:
                y[i] = share
                remaining -= claimed
    return y, n


def prepare(data_dir: str, sets: tuple[str, ...], limit: int | None) -> list[PageData]:
    pages: list[PageData] = []
    for name in sets:
        for page in load_set(data_dir, name, limit):
            try:
                rendering = render(page.html)
            except InputError:
                continue
            title, _ = page_hints(page.html)
            lines = split_lines(rendering.text)
            if not len(lines):
                continue
            texts = [html_lib.unescape(t) for t in lines.texts]
            y, n = label_lines(texts, page.gold)
            w = n / max(n.sum(), 1.0)
            x = block_features(lines, title, rendering.containers, rendering.parents, rendering.cue_ranges)
            pages.append(PageData(name, urlsplit(page.url).netloc, page.gold, texts, x, y, w, tokens(page.gold),
                                  rendering.containers, rendering.parents))
        print(f"prepared {name}", file=sys.stderr, flush=True)
    sizes = {s: sum(p.set == s for p in pages) for s in sets}
    mean = np.mean(list(sizes.values()))
    for p in pages:
        p.w = p.w * (mean / sizes[p.set]) ** SET_WEIGHT_POWER
    return pages


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2, iters: int = 12) -> tuple[np.ndarray, float]:
    """Weighted logistic regression, loss = weighted mean log-loss + l2/2 * |w|^2 (intercept free), by Newton."""
    xb = np.hstack((x, np.ones((len(x), 1))))
    beta = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    scale = w.sum()
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -30, 30)))
        grad = xb.T @ (w * (p - y)) / scale + reg * beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb / scale + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-4:
            break
    return beta[:-1], float(beta[-1])


def fit_hidden_layer(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, w_lin: np.ndarray, b_lin: float, hidden: int = HIDDEN,
    epochs: int = EPOCHS, batch: int = 4096, lr: float = 2e-3, l2: float = 1e-4, seed: int = 0,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
    """Add a tanh hidden layer beside a fitted logistic regression: z = x.w + b + tanh(x.H + c).v.

    Starts from the linear solution (v = 0), then Adam on mini-batches of the weighted log-loss; returns
    (w, b, H, c, v). The linear part keeps training too, so the layer learns what the linear model cannot.
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    params = [w_lin.copy(), np.array([b_lin]), rng.normal(0, 1 / np.sqrt(d), (d, hidden)), np.zeros(hidden),
              np.zeros(hidden)]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    step = 0
    mean_w = w.mean()
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            xb, yb, wb = x[idx], y[idx], w[idx] / mean_w
            wl, bl, hh, hc, hv = params
            act = np.tanh(xb @ hh + hc)
            z = xb @ wl + bl[0] + act @ hv
            g = wb * (0.5 + 0.5 * np.tanh(0.5 * z) - yb) / len(idx)  # d loss / d z
            g_act = np.outer(g, hv) * (1 - act**2)
            grads = [xb.T @ g + l2 * wl, np.array([g.sum()]), xb.T @ g_act + l2 * hh, g_act.sum(axis=0),
                     act.T @ g + l2 * hv]
            step += 1
            for p, gr, a, b in zip(params, grads, m1, m2):
                a *= 0.9
                a += 0.1 * gr
                b *= 0.999
                b += 0.001 * gr**2
                p -= lr * (a / (1 - 0.9**step)) / (np.sqrt(b / (1 - 0.999**step)) + 1e-8)
    wl, bl, hh, hc, hv = params
    return wl, float(bl[0]), hh, hc, hv


def average_fits(
    fits: list[tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
    """One (w, b, H, c, v) whose log-odds are the mean of the fits' log-odds: the linear parts are averaged and the
    hidden units placed side by side, each output weight divided by the number of fits. Exact, so the engine's
    forward pass needs no change (it costs one hidden layer as wide as all the fits together)."""
    k = len(fits)
    if k == 1:
        return fits[0]
    return (
        np.mean([f[0] for f in fits], axis=0), float(np.mean([f[1] for f in fits])),
        np.hstack([f[2] for f in fits]), np.concatenate([f[3] for f in fits]), np.concatenate([f[4] for f in fits]) / k,
    )


def _stack(pages: list[PageData]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.vstack([p.x for p in pages]), np.concatenate([p.y for p in pages]), np.concatenate([p.w for p in pages]))


def _fold_of(site: str) -> int:
    return sum(site.encode()) % FOLDS


def page_f1(pages: list[PageData], probs: list[np.ndarray], threshold: float, ratio: float = 0.0,
            tree: tuple[float, float] = (0.0, 0.0)) -> float:
    """Mean page F1 of keeping the lines by ``scoring.keep_lines(probs, words, threshold, ratio, containers,
    parents, *tree)`` (the reference metric)."""
    return kept_f1(pages, [keep_lines(pr, line_words(p.x), threshold, ratio, p.containers, p.parents, *tree)
                           for p, pr in zip(pages, probs)])


def kept_f1(pages: list[PageData], kept: list[np.ndarray]) -> float:
    """Mean page F1 of keeping the given lines."""
    scores = []
    for p, k in zip(pages, kept):
        pred = tokens("\n".join([t for t, keep in zip(p.texts, k.tolist()) if keep]))
        scores.append(token_prf(p.gold_tokens, pred)[2])
    return float(np.mean(scores)) if scores else 0.0


def train(pages: list[PageData], seeds: tuple[int, ...] = SEEDS) -> BlockModel:
    """The model trained on ``pages``. With several ``seeds``, stage 2's hidden layer is fitted once per seed and
    the fits are averaged (``average_fits``)."""
    x, y, w = _stack(pages)
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    stdz = lambda a: (a - mean) / scale  # noqa: E731
    w1, b1 = fit_logistic(stdz(x), y, w)
    # Out-of-fold stage-1 probabilities, folds grouped by site.
    folds = [_fold_of(p.site) for p in pages]

    def fit_stage1(idx: list[int]) -> tuple[np.ndarray, float]:
        xk, yk, wk = _stack([pages[i] for i in idx])
        return fit_logistic(stdz(xk), yk, wk)

    oof = _out_of_fold(folds, fit_stage1, lambda m, i: _sigmoid(stdz(pages[i].x) @ m[0] + m[1]), (w1, b1))
    x2s = [np.hstack((stdz(p.x), stage2_inputs(o, line_words(p.x)))) for p, o in zip(pages, oof)]
    w2, b2, hidden = _fit_stage2(x2s, pages, seeds)
    model = BlockModel(mean, scale, w1, b1, w2, b2, 0.5, hidden)
    stage3 = None
    if STAGE3:
        # Stage 3 learns from stage 2's probabilities on pages stage 2 was not fitted on (cross-fitted by site).
        def fit_fold(idx: list[int]) -> BlockModel:
            fw2, fb2, fhidden = _fit_stage2([x2s[i] for i in idx], [pages[i] for i in idx], seeds)
            return BlockModel(mean, scale, w1, b1, fw2, fb2, 0.5, fhidden)

        p2 = _out_of_fold(folds, fit_fold, lambda m, i: m.stage2(stdz(pages[i].x), oof[i]), model)
        x3s = [stage3_inputs(q, line_words(p.x), p.containers, p.parents) for p, q in zip(pages, p2)]
        stage3 = fit_logistic(np.vstack(x3s), y, w)
        probs = [_sigmoid(x3 @ stage3[0] + stage3[1]) for x3 in x3s]
    else:
        probs = [model.stage2(stdz(p.x), o) for p, o in zip(pages, oof)]
    best = float(max(THRESHOLDS, key=lambda t: _weighted_f1(pages, probs, t)))
    ratio = float(max(RATIOS, key=lambda r: _weighted_f1(pages, probs, best, r)))
    grid = [(0.0, 0.0)] + [(m, q) for m in TREE_MARGINS for q in TREE_RATIOS]
    tree = max(grid, key=lambda g: _weighted_f1(pages, probs, best, ratio, g))
    if tree != (0.0, 0.0):
        ratio = float(max(RATIOS, key=lambda r: _weighted_f1(pages, probs, best, r, tree)))
    return BlockModel(mean, scale, w1, b1, w2, b2, best, hidden, ratio, *tree, stage3)


def _out_of_fold(folds: list[int], fit, predict, full) -> list:
    """``predict(model, i)`` for every page i, the model fitted by ``fit(indices)`` on the pages of the other folds;
    a fold with no other pages uses ``full``."""
    out: list = [None] * len(folds)
    for k in range(FOLDS):
        train_idx = [i for i in range(len(folds)) if folds[i] != k]
        test_idx = [i for i in range(len(folds)) if folds[i] == k]
        if not test_idx:
            continue
        model = fit(train_idx) if train_idx else full
        for i in test_idx:
            out[i] = predict(model, i)
    return out


def _fit_stage2(x2s: list[np.ndarray], pages: list[PageData], seeds: tuple[int, ...]):
    """Stage 2 on the given rows: (w, b, (H, c, v) or None)."""
    x2, y, w = np.vstack(x2s), np.concatenate([p.y for p in pages]), np.concatenate([p.w for p in pages])
    w2, b2 = fit_logistic(x2, y, w)
    if not HIDDEN:
        return w2, b2, None
    w2, b2, hh, hc, hv = average_fits([fit_hidden_layer(x2, y, w, w2, b2, hidden=HIDDEN, seed=s) for s in seeds])
    return w2, b2, (hh, hc, hv)


def _weighted_f1(pages: list[PageData], probs: list[np.ndarray], threshold: float, ratio: float = 0.0,
                 tree: tuple[float, float] = (0.0, 0.0)) -> float:
    """Mean over sets of the mean page F1 (every set counts the same when choosing the threshold)."""
    by_set: dict[str, list[int]] = {}
    for i, p in enumerate(pages):
        by_set.setdefault(p.set, []).append(i)
    return float(np.mean([page_f1([pages[i] for i in idx], [probs[i] for i in idx], threshold, ratio, tree)
                          for idx in by_set.values()]))


def evaluate(model: BlockModel, pages: list[PageData]) -> float:
    """Mean page F1 of the model's keep decisions (the engine's C path)."""
    return kept_f1(pages, [model.keep(p.x, p.containers, p.parents) for p in pages])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/work/shared/data/extraction")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--limit", type=int, default=None, help="pages per set (for a quick run)")
    parser.add_argument("--out", default=None, help="where to write the model trained on every set")
    parser.add_argument("--report", default=None, help="JSON with the leave-one-set-out scores")
    parser.add_argument("--no-loso", action="store_true", help="skip the leave-one-set-out check")
    parser.add_argument("--cache", default=None, help="pickle of the prepared pages: read if present, else written")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)),
                        help="comma-separated seeds of stage 2's hidden layer; the fits are averaged")
    args = parser.parse_args(argv)
    sets = tuple(s for s in args.sets.split(",") if s)
    seeds = tuple(int(s) for s in args.seeds.split(",") if s)
    t0 = time.time()
    if args.cache and Path(args.cache).exists():
        with open(args.cache, "rb") as fh:
            pages = [p for p in pickle.load(fh) if p.set in sets]
    else:
        pages = prepare(args.data, sets, args.limit)
        if args.cache:
            with open(args.cache, "wb") as fh:
                pickle.dump(pages, fh)
    report: dict = {"features": list(FEATURE_NAMES), "sets": {}}
    if not args.no_loso:
        for held in sets:
            model = train([p for p in pages if p.set != held], seeds)
            heldout = [p for p in pages if p.set == held]
            f1 = evaluate(model, heldout)
            report["sets"][held] = {"held_out_f1": round(f1, 4), "pages": len(heldout), "threshold": model.threshold,
                                    "ratio": model.ratio, "tree": [model.tree_margin, model.tree_ratio]}
            print(f"leave-one-set-out {held:14s} F1={f1:.4f} (threshold {model.threshold}, ratio {model.ratio}, "
                  f"tree {model.tree_margin}/{model.tree_ratio})", flush=True)
    model = train(pages, seeds)
    for name in sets:
        f1 = evaluate(model, [p for p in pages if p.set == name])
        report["sets"].setdefault(name, {})["in_sample_f1"] = round(f1, 4)
        print(f"in-sample         {name:14s} F1={f1:.4f}", flush=True)
    report["threshold"] = model.threshold
    report["ratio"] = model.ratio
    report["tree"] = [model.tree_margin, model.tree_ratio]
    report["seconds"] = round(time.time() - t0, 1)
    # Atomic: an interrupted run must not leave a truncated model where the package loads it from.
    if args.out:
        atomic_write_text(args.out, json.dumps(model.to_dict(), separators=(",", ":")) + "\n")
    if args.report:
        atomic_write_text(args.report, json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
