"""The refinery's token shards seen as one stream of windows, for replay batches and held-out perplexity.

Opening and checking shards is ``refinedweb.data.tokenize.shards``' job (memory maps, sidecar checks); this adds
only the window sampling that fine-tuning and evaluation need, not the loader's resumable positions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refinedweb.data.tokenize.shards import list_shards, open_shard
from refinedweb.errors import ConfigError


class TokenShards:
    """All shards of a folder (``SHARDS/train`` when given the ``tokenize`` output root), or one shard."""

    def __init__(self, path: str | Path):
        path = Path(path)
        stems = (list_shards(path) or list_shards(path / "train")) if path.is_dir() else [path]
        if not stems:
            raise ConfigError(f"{path}: no token shards (*.bin with *.json sidecars) found; run `refinedweb tokenize` "
                              "first or point to its output folder")
        shards = [open_shard(stem) for stem in stems]
        self.arrays = [shard.tokens for shard in shards]
        self.eos_id = shards[-1].meta.eos_id
        self.sizes = np.array([len(a) for a in self.arrays], dtype=np.int64)
        if self.sizes.sum() == 0:
            raise ConfigError(f"{path}: the token shards are empty")

    @property
    def num_tokens(self) -> int:
        return int(self.sizes.sum())

    def random_windows(self, count: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` windows of ``length`` consecutive tokens, each from one shard at a random offset."""
        usable = np.maximum(self.sizes - length, 0)
        if usable.sum() == 0:
            raise ConfigError(f"every shard is shorter than {length} tokens; lower the sequence length")
        shards = rng.choice(len(self.arrays), size=count, p=usable / usable.sum())
        out = np.empty((count, length), dtype=np.int64)
        for row, shard in enumerate(shards):
            start = int(rng.integers(0, usable[shard] + 1))
            out[row] = self.arrays[shard][start:start + length]
        return out

    def sequential_windows(self, length: int, limit_tokens: int | None = None):
        """Non-overlapping windows of up to ``length`` tokens covering every shard in order (the last may be short)."""
        seen = 0
        for array in self.arrays:
            for start in range(0, len(array) - 1, length):
                window = np.asarray(array[start:start + length], dtype=np.int64)
                yield window
                seen += len(window)
                if limit_tokens and seen >= limit_tokens:
                    return
