"""``ShardLoader``: packed, shuffled, rank-split, resumable batches from a folder of token shards.

The contract (issues 7 and 8 code against it):

- ``ShardLoader(path, batch_size, seq_len, rank=0, world_size=1, seed=0)``; ``path`` is a folder of shards such as
  ``SHARDS/train``. Iterating yields ``(batch_size, seq_len + 1)`` ``int64`` numpy arrays forever:
  ``x, y = batch[:, :-1], batch[:, 1:]``.
- Packing: the shards, in file-name order, are one token stream (documents separated by EOS, as written). Sample
  ``w`` is the window ``stream[w*T : w*T + T + 1]``; consecutive windows share one token, so every token but the
  first is a target exactly once per epoch. There are ``samples_per_epoch = (num_tokens - 1) // T`` samples; a
  window may span two shards; the last partial window is left out.
- Shuffling: epoch ``e`` visits the samples in the order ``numpy.random.default_rng([seed, e]).permutation``; the
  epochs follow each other without a gap, so batches stay full and every rank yields the same number of them.
- Ranks: position ``g`` of that endless sequence goes to rank ``g % world_size``: the ranks see disjoint samples
  and together all of them. All ranks must use the same ``seed``.
- ``state_dict()`` records how many samples the ranks have consumed (all ranks in lock-step, as in DDP);
  ``load_state_dict`` restores the exact position, so the next batch is the one that would have come. It also
  works with a new ``world_size`` when the samples consumed divide evenly. Resuming on different shards, a
  different ``seq_len`` or ``seed`` is refused with a ``ConfigError``.

Memory: the shards are memory-mapped; one epoch's permutation (8 bytes per sample) is held in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from refinedweb.data.tokenize.shards import list_shards, open_shard
from refinedweb.errors import ConfigError

STATE_VERSION = 1


class ShardLoader:
    def __init__(self, path: str | Path, batch_size: int, seq_len: int, rank: int = 0, world_size: int = 1, seed: int = 0):
        if batch_size < 1 or seq_len < 1:
            raise ConfigError(f"batch_size={batch_size} and seq_len={seq_len} must both be at least 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank={rank} must be in [0, world_size={world_size})")
        self.path = Path(path)
        self.batch_size, self.seq_len = batch_size, seq_len
        self.rank, self.world_size, self.seed = rank, world_size, seed
        if (self.path / "train").is_dir() and not any(self.path.glob("*.bin")):
            raise ConfigError(f"{self.path} is a tokenize output folder; pass {self.path / 'train'} or {self.path / 'val'}")
        stems = list_shards(self.path) if self.path.is_dir() else []
        if not stems:
            raise ConfigError(f"no token shards (*.json sidecars) in {self.path}; run `refinedweb tokenize` first")
        shards = [open_shard(stem) for stem in stems]
        hashes = {s.meta.tokenizer_sha256 for s in shards}
        if len(hashes) > 1:
            raise ConfigError(f"the shards in {self.path} come from {len(hashes)} different tokenizers; keep one per folder")
        self.shard_names = [stem.name for stem in stems]
        self.tokenizer_sha256 = hashes.pop()
        self.eos_id = shards[0].meta.eos_id
        self._tokens = [s.tokens for s in shards]
        # _starts[i] is the stream position of shard i's first token; _starts[-1] the total
        self._starts = np.concatenate([[0], np.cumsum([len(t) for t in self._tokens])]).astype(np.int64)
        self.num_tokens = int(self._starts[-1])
        self.samples_per_epoch = (self.num_tokens - 1) // seq_len
        if self.samples_per_epoch < 1:
            raise ConfigError(f"{self.path} holds {self.num_tokens} tokens, fewer than seq_len + 1 = {seq_len + 1}")
        self._consumed = 0  # samples this rank has yielded
        self._epoch_cached, self._order = -1, np.zeros(0, dtype=np.int64)

    @property
    def epoch(self) -> int:
        """The epoch of the next sample."""
        return self._global_position(self._consumed) // self.samples_per_epoch

    def __iter__(self) -> "ShardLoader":
        return self

    def __next__(self) -> np.ndarray:
        batch = np.empty((self.batch_size, self.seq_len + 1), dtype=np.int64)
        for row in range(self.batch_size):
            epoch, index = divmod(self._global_position(self._consumed), self.samples_per_epoch)
            self._read_window(int(self._permutation(epoch)[index]), batch[row])
            self._consumed += 1
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "samples_consumed": self._consumed * self.world_size,  # by all ranks together
            "seed": self.seed,
            "seq_len": self.seq_len,
            "num_tokens": self.num_tokens,
            "tokenizer_sha256": self.tokenizer_sha256,
            "shards": list(self.shard_names),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ConfigError(f"loader state version {state.get('version')!r}; this refinedweb reads {STATE_VERSION}")
        for key, mine in (("seed", self.seed), ("seq_len", self.seq_len), ("num_tokens", self.num_tokens),
                          ("tokenizer_sha256", self.tokenizer_sha256), ("shards", self.shard_names)):
            if state.get(key) != mine:
                raise ConfigError(
                    f"loader state was saved with a different {key} ({state.get(key)!r:.80} vs {mine!r:.80}); "
                    "resume with the same shards, seq_len and seed"
                )
        consumed, rest = divmod(int(state["samples_consumed"]), self.world_size)
        if rest:
            raise ConfigError(
                f"loader state holds {state['samples_consumed']} consumed samples, which world_size="
                f"{self.world_size} does not divide; resume with a world size that divides it"
            )
        self._consumed = consumed

    def _global_position(self, consumed: int) -> int:
        return consumed * self.world_size + self.rank

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch_cached:
            self._order = np.random.default_rng([self.seed, epoch]).permutation(self.samples_per_epoch)
            self._epoch_cached = epoch
        return self._order

    def _read_window(self, window: int, out: np.ndarray) -> None:
        """Copy stream[window*T : window*T + T + 1] into ``out``, across shard boundaries when needed."""
        start, filled = window * self.seq_len, 0
        shard = int(np.searchsorted(self._starts, start, side="right")) - 1
        while filled < len(out):
            offset = start + filled - int(self._starts[shard])
            piece = self._tokens[shard][offset : offset + len(out) - filled]
            out[filled : filled + len(piece)] = piece
            filled += len(piece)
            shard += 1
