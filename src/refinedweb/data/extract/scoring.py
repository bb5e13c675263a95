"""The block classifier: three stacked scorers over ``features.block_features`` (the third optional).

Stage 1 scores each line from its own and its neighbourhood's statistics. Stage 2 sees stage 1's probabilities
smoothed over windows of neighbouring lines (main text comes in runs, boilerplate in runs) and placed relative to the
page's best run of main text, which is a cheap stand-in for a sequence model. Stage 2 is a logistic regression plus,
optionally, one small tanh hidden layer beside it. Stage 3 (optional) rescores each line from stage 2's
probability with the page's element tree known (``stage3_inputs``: inside the best subtree or not, relative to its
mean, the means of the line's container and its parent). A line is kept when the final probability reaches
``threshold`` and, outside the page's best run, ``ratio`` times that run's mean probability, and, outside the
page's best subtree of containers, ``tree_ratio`` times that subtree's mean probability (``keep_lines``).

The weights are package data (``refinedweb/resources/extract/blocks_v1.json``, about 35 kB of JSON): the feature names
are stored with them and must equal ``features.FEATURE_NAMES``, so a feature change without retraining fails loudly
instead of scoring garbage. ``refinedweb.data.extract.train`` produces the file; docs/extraction.md tells how.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from refinedweb.data.extract.blocks import load_linetable
from refinedweb.data.extract.features import FEATURE_NAMES
from refinedweb.errors import FatalError

MODEL_RESOURCE = "blocks_v1.json"
STAGE2_WINDOWS = (1, 2, 4)
STAGE2_SIDES = (8, 24)
STAGE2_NAMES = (
    ("p1", "p1_prev", "p1_next") + tuple(f"p1_w{w}" for w in STAGE2_WINDOWS) + ("p1_page_mean",)
    + tuple(f"p1_{side}{k}" for k in STAGE2_SIDES for side in ("before", "after"))
    + ("before_best_run", "after_best_run", "dist_best_run", "best_run_p1", "p1_minus_best_run", "p1_page_word_mean")
)
_WORDS_COL = FEATURE_NAMES.index("log_words")
STAGE3_MARGINS = (0.5, 0.7)
STAGE3_NAMES = (
    ("p2_logit",)
    + tuple(f"{name}_m{round(m * 100)}" for m in STAGE3_MARGINS for name in ("in_subtree", "p2_minus_subtree"))
    + ("p2_container_mean", "p2_parent_mean")
)


def line_words(x: np.ndarray) -> np.ndarray:
    """Word-equivalents per line from *raw* features (the ``log_words`` column is log1p of them)."""
    return np.expm1(x[:, _WORDS_COL])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)  # = 1 / (1 + exp(-z)), without overflow


def stage2_inputs(p1: np.ndarray, words: np.ndarray) -> np.ndarray:
    """The context of stage 1's probabilities that stage 2 adds to the line features (columns: STAGE2_NAMES):

    - the line's p1, the previous and next lines' (0 past the page's edges), the means over lines i-w..i+w for w
      in ``STAGE2_WINDOWS`` (fewer at the edges) and the page's mean;
    - the means over the k lines before and, separately, after the line (itself excluded) for k in
      ``STAGE2_SIDES``: a comment thread after an article is preceded by text and followed by more of itself;
    - where the line lies relative to the page's *best run*, the contiguous lines maximising the sum of
      (p1 - 0.5) * max(words, 1) (before it, after it, signed log1p distance in lines), that run's mean p1 and the
      line's p1 minus it, and the page's word-weighted mean p1. They let stage 2 judge a line against the page's
      own main block rather than against one global scale.

    ``words``: word-equivalents per line (``line_words``). Computed in C (``_linetable.c``), the same code the
    engine's forward pass uses; ``tests/data/extract/test_scoring.py`` checks it against a numpy version."""
    n = len(p1)
    if n == 0:
        return np.zeros((0, len(STAGE2_NAMES)))
    c = np.ascontiguousarray
    out = load_linetable().stage2_inputs(c(p1, dtype=np.float64), c(words, dtype=np.float64), STAGE2_WINDOWS,
                                         STAGE2_SIDES)
    return np.frombuffer(out, dtype=np.float64).reshape(n, len(STAGE2_NAMES))


def stage3_inputs(p2: np.ndarray, words: np.ndarray, containers: np.ndarray | None,
                  parents: np.ndarray | None) -> np.ndarray:
    """What stage 3 sees (columns: STAGE3_NAMES): stage 2's log-odds; for each of ``STAGE3_MARGINS``, whether the
    line is inside the page's best subtree at that margin (``keep_lines``) and p2 minus that subtree's
    word-weighted mean; the word-weighted mean p2 of the line's container and of its parent (over their lines and
    their descendants'). Without ``containers``/``parents`` every line is in the document. C
    (``_linetable.stage3_inputs``); ``tests/data/extract/test_scoring.py`` checks it against numpy."""
    n = len(p2)
    if n == 0:
        return np.zeros((0, len(STAGE3_NAMES)))
    if containers is None or parents is None:
        containers, parents = np.zeros(n, dtype=np.int32), np.array([-1], dtype=np.int32)
    c = np.ascontiguousarray
    out = load_linetable().stage3_inputs(c(p2, dtype=np.float64), c(words, dtype=np.float64),
                                         c(containers, dtype=np.int32), c(parents, dtype=np.int32), *STAGE3_MARGINS)
    return np.frombuffer(out, dtype=np.float64).reshape(n, len(STAGE3_NAMES))


def keep_lines(p: np.ndarray, words: np.ndarray, threshold: float, ratio: float,
               containers: np.ndarray | None = None, parents: np.ndarray | None = None,
               tree_margin: float = 0.0, tree_ratio: float = 0.0) -> np.ndarray:
    """The keep rule on the model's final probabilities (numpy; training and the tests use it, the engine the same
    rule in C).

    A line is kept when p >= threshold and, if it lies outside the page's best run of kept text (the contiguous
    lines maximising the sum of (p - threshold) * max(words, 1)), also p >= ratio * that run's word-weighted mean
    p. The second condition is a per-page threshold: on a page whose article scores 0.95, a comment thread or
    teaser list after it at 0.6 is dropped, while a page whose best text scores 0.6 keeps it.

    With the lines' ``containers`` and the containers' ``parents`` (``blocks.Rendering``) and ``tree_ratio`` > 0,
    the same holds for the page's best *subtree*: the container (not the document, unless it is the only one) whose
    lines and descendants' lines maximise the sum of (p - tree_margin) * max(words, 1); a line outside it must also
    reach ``tree_ratio`` times its word-weighted mean p. Line order cannot separate an article from the comment
    thread or teaser list right after it; the page's element tree usually can.
    """
    keep = p >= threshold
    if len(p) == 0:
        return keep
    w = np.maximum(words, 1.0)
    if ratio > 0:
        cs = np.concatenate(([0.0], np.cumsum((p - threshold) * w)))
        b = int(np.argmax(cs[1:] - np.minimum.accumulate(cs)[:-1]))
        a = int(np.argmin(cs[: b + 1]))
        cut = ratio * float((p[a : b + 1] * w[a : b + 1]).sum() / w[a : b + 1].sum())
        inside = np.zeros(len(p), dtype=bool)
        inside[a : b + 1] = True
        keep &= (p >= cut) | inside
    if tree_ratio > 0 and containers is not None and parents is not None:
        inside = best_subtree((p - tree_margin) * w, containers, parents)[containers]
        if inside.any():
            keep &= inside | (p >= tree_ratio * float((p[inside] * w[inside]).sum() / w[inside].sum()))
    return keep


def best_subtree(score: np.ndarray, containers: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Per container, whether it is the page's best subtree (see ``keep_lines``) or inside it. Containers are
    numbered in document order, a parent before its children (``blocks.Rendering``)."""
    m = len(parents)
    total = np.zeros(m)
    np.add.at(total, containers, score)
    for c in range(m - 1, 0, -1):
        if 0 <= parents[c] < c:
            total[parents[c]] += total[c]
    best = 1 + int(np.argmax(total[1:])) if m > 1 else 0
    inside = np.zeros(m, dtype=bool)
    inside[best] = True
    for c in range(best + 1, m):
        if 0 <= parents[c] < c and inside[parents[c]]:
            inside[c] = True
    return inside


@dataclass
class BlockModel:
    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: float
    w2: np.ndarray
    b2: float
    threshold: float
    hidden: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    """Stage 2's optional tanh layer (H, c, v): adds tanh(x2.H + c).v to stage 2's log-odds."""
    ratio: float = 0.0
    """The per-page part of the keep rule (``keep_lines``); 0: the global threshold alone."""
    tree_margin: float = 0.0
    tree_ratio: float = 0.0
    """The keep rule's best-subtree part (``keep_lines``); tree_ratio 0: not used."""
    stage3: tuple[np.ndarray, float] | None = None
    """Optional stage 3 (weights, bias): a logistic regression over ``stage3_inputs`` of stage 2's probabilities,
    which rescores each line with the page's element tree known; the keep rule then runs on its probabilities."""

    def __post_init__(self) -> None:
        # Fold the standardisation into the weights once, so prediction works on the raw features (in C).
        n_feat = len(self.mean)
        c = np.ascontiguousarray
        self._w1 = c(self.w1 / self.scale)
        self._b1 = self.b1 - float(self.mean @ self._w1)
        self._w2x = c(self.w2[:n_feat] / self.scale)
        self._w2p = c(self.w2[n_feat:])
        self._b2 = self.b2 - float(self.mean @ self._w2x)
        if self.hidden is not None:
            hh, hc, hv = self.hidden
            self._hx = c(hh[:n_feat] / self.scale[:, None])
            self._hp = c(hh[n_feat:])
            self._hc = c(hc - self.mean @ self._hx)
            self._hv = c(hv)
        else:
            self._hx = np.zeros((n_feat, 0))
            self._hp = np.zeros((len(STAGE2_NAMES), 0))
            self._hc = self._hv = np.zeros(0)
        t = min(max(self.threshold, 1e-9), 1 - 1e-9)
        self._cut = float(np.log(t / (1 - t)))

    def standardize(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale

    def stage1(self, xs: np.ndarray) -> np.ndarray:
        """Stage-1 probabilities from *standardised* features (training uses this)."""
        return _sigmoid(xs @ self.w1 + self.b1)

    def stage2(self, xs: np.ndarray, p1: np.ndarray) -> np.ndarray:
        """Stage-2 probabilities from *standardised* features and stage-1 probabilities (training uses this)."""
        x2 = np.hstack((xs, stage2_inputs(p1, line_words(xs * self.scale + self.mean))))
        z = x2 @ self.w2 + self.b2
        if self.hidden is not None:
            hh, hc, hv = self.hidden
            z = z + np.tanh(x2 @ hh + hc) @ hv
        return _sigmoid(z)

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Stage-2 log-odds that each line (row of raw features ``x``) is main text.

        The same arithmetic as ``stage2(standardize(x), stage1(standardize(x)))``, in one C loop: numpy's matrix
        products go through BLAS, whose threads cost more to wake than these small products cost to compute.
        """
        if len(x) == 0:
            return np.zeros(0)
        out = load_linetable().logits(
            np.ascontiguousarray(x, dtype=np.float64), self._w1, self._b1, self._w2x, self._w2p, self._b2,
            self._hx, self._hp, self._hc, self._hv, STAGE2_WINDOWS, STAGE2_SIDES, _WORDS_COL,
        )
        return np.frombuffer(out, dtype=np.float64)

    def final_logit(self, x: np.ndarray, containers: np.ndarray | None = None,
                    parents: np.ndarray | None = None) -> np.ndarray:
        """The log-odds the keep rule uses: stage 3's when the model has one (its tree inputs from ``containers``
        and ``parents``; without them every line is in the document), else stage 2's."""
        z = self.logit(x)
        if self.stage3 is None or len(z) == 0:
            return z
        w3, b3 = self.stage3
        return stage3_inputs(_sigmoid(z), line_words(x), containers, parents) @ w3 + b3

    def predict(self, x: np.ndarray, containers: np.ndarray | None = None,
                parents: np.ndarray | None = None) -> np.ndarray:
        """Probability that each line is main text."""
        return _sigmoid(self.final_logit(x, containers, parents)) if len(x) else np.zeros(0)

    def keep(self, x: np.ndarray, containers: np.ndarray | None = None,
             parents: np.ndarray | None = None) -> np.ndarray:
        """Which lines to keep: ``keep_lines`` on the final probabilities, in C (``_linetable.keep_lines``).
        ``containers``/``parents`` (``blocks.Rendering``) give stage 3 and the best-subtree rule the page's tree."""
        if len(x) == 0:
            return np.zeros(0, dtype=bool)
        z = self.final_logit(x, containers, parents)
        tree = self.tree_ratio > 0 and containers is not None and parents is not None
        if self.ratio <= 0 and not tree:
            return z >= self._cut  # decided on the log-odds (no second sigmoid)
        x = np.ascontiguousarray(x, dtype=np.float64)
        args = [np.ascontiguousarray(z, dtype=np.float64), x, x.shape[1], _WORDS_COL, self.threshold, self.ratio]
        if tree:
            c = np.ascontiguousarray
            args += [c(containers, dtype=np.int32), c(parents, dtype=np.int32), self.tree_margin, self.tree_ratio]
        return np.frombuffer(load_linetable().keep_lines(*args), dtype=np.bool_)

    def to_dict(self) -> dict:
        return {
            "format": "refinedweb-blocks",
            "version": 1,
            "feature_names": list(FEATURE_NAMES),
            "stage2_names": list(STAGE2_NAMES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "w1": self.w1.tolist(),
            "b1": self.b1,
            "w2": self.w2.tolist(),
            "b2": self.b2,
            "threshold": self.threshold,
            "ratio": self.ratio,
            "tree_margin": self.tree_margin,
            "tree_ratio": self.tree_ratio,
            "hidden": None if self.hidden is None else [a.tolist() for a in self.hidden],
            "stage3_names": list(STAGE3_NAMES),
            "stage3": None if self.stage3 is None else [self.stage3[0].tolist(), self.stage3[1]],
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "model") -> "BlockModel":
        if data.get("format") != "refinedweb-blocks" or data.get("version") != 1:
            raise FatalError(f"{source}: not a refinedweb block model (version 1)")
        if tuple(data["feature_names"]) != FEATURE_NAMES or tuple(data["stage2_names"]) != STAGE2_NAMES:
            raise FatalError(
                f"{source}: its features differ from this code's features.FEATURE_NAMES; retrain it with "
                "`python -m refinedweb.data.extract.train`"
            )
        stage3 = data.get("stage3")
        if stage3 is not None and tuple(data.get("stage3_names", ())) != STAGE3_NAMES:
            raise FatalError(f"{source}: its stage-3 inputs differ from this code's scoring.STAGE3_NAMES; retrain it")
        arr = lambda key: np.asarray(data[key], dtype=np.float64)  # noqa: E731
        hidden = data.get("hidden")
        return cls(arr("mean"), arr("scale"), arr("w1"), float(data["b1"]), arr("w2"), float(data["b2"]),
                   float(data["threshold"]),
                   None if hidden is None else tuple(np.asarray(a, dtype=np.float64) for a in hidden),
                   float(data.get("ratio", 0.0)), float(data.get("tree_margin", 0.0)),
                   float(data.get("tree_ratio", 0.0)),
                   None if stage3 is None else (np.asarray(stage3[0], dtype=np.float64), float(stage3[1])))


@lru_cache(maxsize=1)
def load_model() -> BlockModel:
    """The shipped model (loaded once per process)."""
    text = resources.files("refinedweb.resources").joinpath("extract", MODEL_RESOURCE).read_text(encoding="utf-8")
    return BlockModel.from_dict(json.loads(text), source=MODEL_RESOURCE)
