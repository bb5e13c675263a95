"""Sharded ``(key, ref)`` records on disk: the exchange format between the per-unit and the per-shard passes.

The per-unit pass of every keyed method (exact text hash, normalised URL, MinHash band) writes one file per unit of
``(key, ref)`` rows sorted by key. Keys are uniform 64-bit hashes, so shard ``j`` of ``S`` is a key range, found by
binary search in the memory-mapped unit files: the per-shard pass holds about ``1/S`` of the records, never all of
them, and ``S`` can be chosen after the per-unit pass, from the number of records it wrote.

Records with equal keys form a bucket; ``star_edges`` links every member of a bucket to its smallest ref. For exact
and URL dedup those edges are final (a document has one key); for MinHash they are the edges of the graph whose
connected components are the duplicate clusters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refinedweb.data.dedup.tasks import state_write

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def save_array(path: Path, array: np.ndarray) -> None:
    with state_write(path) as handle:
        np.save(handle, array, allow_pickle=False)


def write_unit_records(path: Path, keys: np.ndarray, refs: np.ndarray) -> None:
    """Write one unit's ``(key, ref)`` records sorted by key then ref."""
    order = np.lexsort((refs, keys))
    records = np.stack([keys[order], refs[order]], axis=1).astype(np.uint64).reshape(-1, 2)
    save_array(path, records)


def key_range(shard: int, shards: int) -> tuple[int, int]:
    """Shard ``shard`` of ``shards`` covers keys in ``[low, high)``; keys are uniform hashes, so shards balance."""
    step = -(-(1 << 64) // shards)
    return shard * step, min((shard + 1) * step, 1 << 64)


def load_shard(paths: list[Path], shard: int, shards: int) -> np.ndarray:
    """The ``(key, ref)`` rows of one key range from every unit file, as one array of shape (n, 2)."""
    low, high = key_range(shard, shards)
    parts = []
    for path in paths:
        records = np.load(path, mmap_mode="r")
        keys = records[:, 0]
        start = int(np.searchsorted(keys, np.uint64(low), side="left"))
        stop = len(keys) if high >= 1 << 64 else int(np.searchsorted(keys, np.uint64(high), side="left"))
        parts.append(np.array(records[start:stop]))
    return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.uint64)


def shard_of(nodes: np.ndarray, shards: int) -> np.ndarray:
    """Spread 64-bit node refs over ``shards`` partitions after a multiplicative mix."""
    mixed = (nodes * _GOLDEN) >> np.uint64(32)
    return (mixed % np.uint64(shards)).astype(np.int64)


def star_edges(records: np.ndarray) -> np.ndarray:
    """For every bucket of equal keys with two or more refs, rows ``(member, keeper)`` where keeper is the smallest
    ref of the bucket; shape (m, 2), sorted by member. A ref repeated inside one bucket counts once."""
    if len(records) == 0:
        return np.empty((0, 2), dtype=np.uint64)
    order = np.lexsort((records[:, 1], records[:, 0]))
    keys, refs = records[order, 0], records[order, 1]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    group = np.cumsum(first) - 1
    keeper = refs[first][group]
    member = ~first & (refs != keeper)
    edges = np.stack([refs[member], keeper[member]], axis=1)
    return unique_rows(edges)


def unique_rows(pairs: np.ndarray) -> np.ndarray:
    """Distinct rows of an (n, 2) uint64 array, sorted by first then second column."""
    if len(pairs) == 0:
        return pairs.reshape(0, 2).astype(np.uint64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs = pairs[order]
    keep = np.ones(len(pairs), dtype=bool)
    keep[1:] = (pairs[1:, 0] != pairs[:-1, 0]) | (pairs[1:, 1] != pairs[:-1, 1])
    return pairs[keep]
