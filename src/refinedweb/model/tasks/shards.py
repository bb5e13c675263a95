"""A small reader of the refinery's token shards, for replay batches and held-out perplexity.

A shard is ``NAME.bin`` (uint16 or uint32 token ids, EOS between documents), ``NAME.idx`` (uint64 document end
offsets) and ``NAME.json`` (sidecar with at least ``dtype`` and ``eos_id``). Files are memory-mapped, never read
whole. This stands in until ``refinedweb.data.tokenize.loader.ShardLoader`` is available; only the window sampling
below is needed here, not resumable positions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from refinedweb.errors import ConfigError

_DTYPES = {"uint16": np.uint16, "uint32": np.uint32}


class TokenShards:
    """All ``*.bin`` shards of a folder (or one ``.bin`` file), seen as one token stream."""

    def __init__(self, path: str | Path):
        path = Path(path)
        bins = sorted(path.glob("*.bin")) if path.is_dir() else [path]
        if not bins or not all(b.exists() for b in bins):
            raise ConfigError(f"{path}: no token shards (*.bin with *.json sidecars) found; run `refinedweb tokenize` "
                              "first or point to its output folder")
        self.arrays = []
        self.eos_id = None
        for bin_path in bins:
            sidecar = bin_path.with_suffix(".json")
            if not sidecar.exists():
                raise ConfigError(f"{bin_path}: the sidecar {sidecar.name} is missing; shards need their .json")
            meta = json.loads(sidecar.read_text())
            dtype = _DTYPES.get(str(meta.get("dtype")))
            if dtype is None:
                raise ConfigError(f"{sidecar}: dtype {meta.get('dtype')!r} is not uint16 or uint32")
            self.eos_id = meta.get("eos_id", self.eos_id)
            self.arrays.append(np.memmap(bin_path, dtype=dtype, mode="r"))
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
