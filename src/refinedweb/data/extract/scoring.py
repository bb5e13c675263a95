"""The block classifier: two stacked scorers over ``features.block_features``.

Stage 1 scores each line from its own and its neighbourhood's statistics. Stage 2 sees stage 1's probabilities
smoothed over windows of neighbouring lines (main text comes in runs, boilerplate in runs), which is a cheap stand-in
for a sequence model. Stage 2 is a logistic regression plus, optionally, one small tanh hidden layer beside it. A line is kept when stage 2's probability reaches ``threshold``.

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
STAGE2_NAMES = ("p1", "p1_prev", "p1_next") + tuple(f"p1_w{w}" for w in STAGE2_WINDOWS) + ("p1_page_mean",)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)  # = 1 / (1 + exp(-z)), without overflow


def stage2_inputs(p1: np.ndarray) -> np.ndarray:
    """The context of stage 1's probabilities that stage 2 adds to the line features (columns: STAGE2_NAMES):
    the line's p1, the previous and next lines' (0 past the page's edges), the means over lines i-w..i+w for w in
    ``STAGE2_WINDOWS`` (fewer at the edges) and the page's mean. Computed in C (``_linetable.c``), the same code
    the engine's forward pass uses."""
    n = len(p1)
    if n == 0:
        return np.zeros((0, len(STAGE2_NAMES)))
    out = load_linetable().stage2_inputs(np.ascontiguousarray(p1, dtype=np.float64), STAGE2_WINDOWS)
    return np.frombuffer(out, dtype=np.float64).reshape(n, len(STAGE2_NAMES))


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
        x2 = np.hstack((xs, stage2_inputs(p1)))
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
            self._hx, self._hp, self._hc, self._hv, STAGE2_WINDOWS,
        )
        return np.frombuffer(out, dtype=np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probability that each line is main text."""
        return _sigmoid(self.logit(x)) if len(x) else np.zeros(0)

    def keep(self, x: np.ndarray) -> np.ndarray:
        """Which lines to keep: probability >= threshold, decided on the log-odds (no second sigmoid)."""
        return self.logit(x) >= self._cut if len(x) else np.zeros(0, dtype=bool)

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
            "hidden": None if self.hidden is None else [a.tolist() for a in self.hidden],
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
        arr = lambda key: np.asarray(data[key], dtype=np.float64)  # noqa: E731
        hidden = data.get("hidden")
        return cls(arr("mean"), arr("scale"), arr("w1"), float(data["b1"]), arr("w2"), float(data["b2"]),
                   float(data["threshold"]),
                   None if hidden is None else tuple(np.asarray(a, dtype=np.float64) for a in hidden))


@lru_cache(maxsize=1)
def load_model() -> BlockModel:
    """The shipped model (loaded once per process)."""
    text = resources.files("refinedweb.resources").joinpath("extract", MODEL_RESOURCE).read_text(encoding="utf-8")
    return BlockModel.from_dict(json.loads(text), source=MODEL_RESOURCE)
