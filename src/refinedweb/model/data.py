"""Token shards for training: find the splits, check the sidecars, open a loader.

Shards (written by ``refinedweb tokenize``, issue 6) live in ``DATA/train/`` and ``DATA/val/``: per shard a ``.bin``
of uint16/uint32 tokens (each document followed by one EOS), a ``.idx`` of uint64 document end offsets, and a
``.json`` sidecar ``{"format": "refinedweb-shard", "version": 1, "dtype", "num_tokens", "num_documents", "eos_id",
"tokenizer_sha256", "source"}``.

The loader is ``refinedweb.data.tokenize.loader.ShardLoader`` (issue 6). Until that module is on main, a minimal
stand-in, ``InterimShardLoader`` below, implements the same interface.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from refinedweb.errors import ConfigError

SHARD_FORMAT, SHARD_VERSION = "refinedweb-shard", 1


@dataclass(frozen=True)
class ShardSet:
    """What the sidecars of one split say, checked for consistency."""

    path: Path
    eos_id: int
    tokenizer_sha256: str
    num_tokens: int
    num_documents: int


def read_split(data: str | Path, split: str) -> ShardSet:
    """Read and cross-check the sidecars of ``data/split``; a missing split or a foreign file is a ConfigError."""
    path = Path(data) / split
    sidecars = sorted(path.glob("*.json")) if path.is_dir() else []
    if not sidecars:
        raise ConfigError(
            f"no token shards in {path}: expected {split}/*.bin with .idx and .json sidecars, "
            "as written by `refinedweb tokenize`"
        )
    metas = []
    for sidecar in sidecars:
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"shard sidecar {sidecar} is not valid JSON: {exc}") from None
        if meta.get("format") != SHARD_FORMAT or meta.get("version") != SHARD_VERSION:
            raise ConfigError(
                f"{sidecar} is not a {SHARD_FORMAT} v{SHARD_VERSION} sidecar "
                f"(format={meta.get('format')!r}, version={meta.get('version')!r}); re-tokenize the data"
            )
        metas.append(meta)
    for key in ("eos_id", "tokenizer_sha256"):
        values = {m[key] for m in metas}
        if len(values) > 1:
            raise ConfigError(f"shards in {path} disagree on {key} ({sorted(map(str, values))}); mixed tokenizers?")
    return ShardSet(
        path=path,
        eos_id=int(metas[0]["eos_id"]),
        tokenizer_sha256=str(metas[0]["tokenizer_sha256"]),
        num_tokens=sum(int(m["num_tokens"]) for m in metas),
        num_documents=sum(int(m["num_documents"]) for m in metas),
    )


def open_loader(path: Path, batch_size: int, seq_len: int, rank: int = 0, world_size: int = 1, seed: int = 0):
    """The project's shard loader when it is installed, else the interim one. Yields int64 (B, T+1) arrays."""
    try:
        from refinedweb.data.tokenize.loader import ShardLoader
    except ImportError:
        ShardLoader = InterimShardLoader
    return ShardLoader(str(path), batch_size, seq_len, rank=rank, world_size=world_size, seed=seed)


class InterimShardLoader:
    """INTERIM (delete when ``refinedweb.data.tokenize.loader`` lands): the ShardLoader interface, minimally.

    All shards of the split are memory-mapped and read as one token stream, cut into non-overlapping windows of
    T+1 tokens that start every T tokens (so every token is a target once per epoch). Window order is shuffled per
    epoch from ``seed``; rank r takes windows r, r+world_size, ... . One ``iter()`` is one epoch (or its rest,
    after ``load_state_dict``); iterate again for the next. The last partial batch of an epoch is dropped.
    """

    def __init__(self, path: str, batch_size: int, seq_len: int, rank: int = 0, world_size: int = 1, seed: int = 0):
        self.batch_size, self.seq_len, self.rank, self.world_size, self.seed = (
            batch_size, seq_len, rank, world_size, seed
        )
        self.arrays = []
        for sidecar in sorted(Path(path).glob("*.json")):
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            self.arrays.append(np.memmap(sidecar.with_suffix(".bin"), dtype=np.dtype(meta["dtype"]), mode="r"))
        self.offsets = np.cumsum([0] + [len(a) for a in self.arrays])
        n_windows = (int(self.offsets[-1]) - 1) // seq_len
        self.batches_per_epoch = (n_windows // world_size) // batch_size
        if self.batches_per_epoch == 0:
            raise ConfigError(f"{path} holds too few tokens for one batch of {batch_size} x {seq_len + 1}")
        self.n_windows = n_windows
        self.epoch, self.batch_index = 0, 0

    def _tokens(self, start: int, length: int) -> np.ndarray:
        out = np.empty(length, dtype=np.int64)
        done = 0
        while done < length:
            shard = int(np.searchsorted(self.offsets, start + done, side="right")) - 1
            local = start + done - int(self.offsets[shard])
            piece = self.arrays[shard][local : local + length - done]
            out[done : done + len(piece)] = piece
            done += len(piece)
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n_windows)[self.rank :: self.world_size]
        while self.batch_index < self.batches_per_epoch:
            starts = order[self.batch_index * self.batch_size : (self.batch_index + 1) * self.batch_size]
            self.batch_index += 1
            yield np.stack([self._tokens(int(s) * self.seq_len, self.seq_len + 1) for s in starts])
        self.epoch, self.batch_index = self.epoch + 1, 0

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batch_index": self.batch_index}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.batch_index = int(state["epoch"]), int(state["batch_index"])
