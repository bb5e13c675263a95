from __future__ import annotations

import numpy as np
import pytest

from refinedweb.data.tokenize.loader import ShardLoader
from refinedweb.data.tokenize.shards import ShardMeta, ShardWriter
from refinedweb.errors import ConfigError


@pytest.fixture
def shard_dir(tmp_path):
    """Three shards holding the stream 0, 1, 2, ..., 999 (as 100 ten-token documents), so a window's first token
    tells where it starts."""
    meta = ShardMeta("uint16", 0, 0, 9, "cd" * 32, "synthetic")
    writer = ShardWriter(tmp_path, "u", meta, max_tokens=370)
    writer.add(np.arange(1000), np.full(100, 10))
    assert len(writer.close()) == 3
    return tmp_path


def _starts(batches) -> list[int]:
    return [int(row[0]) for batch in batches for row in batch]


def test_batches_are_packed_windows_of_the_stream(shard_dir):
    loader = ShardLoader(shard_dir, batch_size=4, seq_len=16, seed=3)
    assert loader.samples_per_epoch == (1000 - 1) // 16
    batch = next(loader)
    assert batch.shape == (4, 17) and batch.dtype == np.int64
    for row in batch:  # contiguous, also across the shard boundaries at 370 and 740
        assert row.tolist() == list(range(row[0], row[0] + 17)) and row[0] % 16 == 0


def test_an_epoch_visits_every_window_once_in_a_seeded_order(shard_dir):
    loader = ShardLoader(shard_dir, batch_size=1, seq_len=16, seed=0)
    n = loader.samples_per_epoch
    first = _starts(next(loader) for _ in range(n))
    assert sorted(first) == [16 * w for w in range(n)]
    assert loader.epoch == 1
    second = _starts(next(loader) for _ in range(n))
    assert sorted(second) == sorted(first) and second != first
    again = ShardLoader(shard_dir, batch_size=1, seq_len=16, seed=0)
    assert _starts(next(again) for _ in range(n)) == first
    other_seed = ShardLoader(shard_dir, batch_size=1, seq_len=16, seed=1)
    assert _starts(next(other_seed) for _ in range(n)) != first


def test_ranks_see_disjoint_samples_that_cover_the_epoch(shard_dir):
    n = ShardLoader(shard_dir, batch_size=2, seq_len=16).samples_per_epoch  # 62 windows
    steps = n // 4  # 2 ranks x batches of 2: 15 steps take 60 of the 62 windows
    per_rank = []
    for rank in range(2):
        loader = ShardLoader(shard_dir, batch_size=2, seq_len=16, rank=rank, world_size=2, seed=5)
        per_rank.append(_starts(next(loader) for _ in range(steps)))
    assert not set(per_rank[0]) & set(per_rank[1])
    single = ShardLoader(shard_dir, batch_size=1, seq_len=16, seed=5)
    order = _starts(next(single) for _ in range(n))
    assert per_rank[0] == order[0 : 4 * steps : 2] and per_rank[1] == order[1 : 4 * steps : 2]
    # the last 2 windows of the epoch come in the next step (with 2 of the next epoch): nothing is skipped
    seen: set[int] = set()
    for rank in range(2):
        loader = ShardLoader(shard_dir, batch_size=2, seq_len=16, rank=rank, world_size=2, seed=5)
        seen |= set(_starts(next(loader) for _ in range(steps + 1)))
    assert {16 * w for w in range(n)} <= seen


def test_restoring_the_state_gives_the_same_next_batches(shard_dir):
    loader = ShardLoader(shard_dir, batch_size=3, seq_len=8, rank=1, world_size=2, seed=11)
    for _ in range(50):  # past the end of the first epoch (124 windows)
        next(loader)
    state = loader.state_dict()
    expected = [next(loader) for _ in range(5)]
    resumed = ShardLoader(shard_dir, batch_size=3, seq_len=8, rank=1, world_size=2, seed=11)
    resumed.load_state_dict(state)
    for want in expected:
        np.testing.assert_array_equal(next(resumed), want)


def test_resume_on_another_world_size_keeps_the_global_order(shard_dir):
    ranks = [ShardLoader(shard_dir, batch_size=2, seq_len=8, rank=r, world_size=2, seed=4) for r in range(2)]
    for _ in range(3):
        for loader in ranks:
            next(loader)
    state = ranks[0].state_dict()  # 12 samples consumed in all
    single = ShardLoader(shard_dir, batch_size=1, seq_len=8, seed=4)
    order = _starts(next(single) for _ in range(16))
    one = ShardLoader(shard_dir, batch_size=4, seq_len=8, seed=4)
    one.load_state_dict(state)
    assert _starts([next(one)]) == order[12:16]


def test_state_from_other_data_is_refused(shard_dir):
    state = ShardLoader(shard_dir, batch_size=2, seq_len=8, seed=4).state_dict()
    with pytest.raises(ConfigError, match="seq_len"):
        ShardLoader(shard_dir, batch_size=2, seq_len=16, seed=4).load_state_dict(state)
    with pytest.raises(ConfigError, match="seed"):
        ShardLoader(shard_dir, batch_size=2, seq_len=8, seed=5).load_state_dict(state)
    state["samples_consumed"] = 3
    with pytest.raises(ConfigError, match="world size"):
        ShardLoader(shard_dir, batch_size=2, seq_len=8, seed=4, world_size=2).load_state_dict(state)


def test_bad_arguments_and_empty_folders_are_config_errors(tmp_path, shard_dir):
    with pytest.raises(ConfigError, match="no token shards"):
        ShardLoader(tmp_path / "missing", batch_size=1, seq_len=8)
    with pytest.raises(ConfigError, match="rank"):
        ShardLoader(shard_dir, batch_size=1, seq_len=8, rank=2, world_size=2)
    with pytest.raises(ConfigError, match="fewer than seq_len"):
        ShardLoader(shard_dir, batch_size=1, seq_len=1000)
