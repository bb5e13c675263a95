"""Connected components of the duplicate graph, partitioned on disk so no process holds all edges.

The algorithm is the alternating Large-Star / Small-Star of Kiveris et al., "Connected Components in MapReduce and
Beyond" (SoCC 2014). Every undirected edge is stored in both directions, in the partition of its source node
(``hash(node) % partitions``). One round applies one operation to every partition independently:

- Large-Star: for each node ``u`` with ``m = min(u, neighbours(u))``, link every neighbour ``v > u`` to ``m``.
- Small-Star: for each node ``u`` with ``m = min(u, neighbours(u) <= u)``, link ``u`` and its neighbours ``<= u``
  to ``m``.

Both keep the components and shrink them towards stars centred on their smallest node. When a Large-Star and a
Small-Star in a row leave the edge set unchanged (checked with an order-independent fingerprint of the
partitions), every component is a star around its minimum: each non-root node has exactly one edge, to the root.
Rounds are O(log n) in practice; each holds one partition (about ``2 * edges / partitions`` rows) in memory.

Roots are minimal refs, so the cluster of a document and the member that is kept (the root) depend only on the
graph, not on the number of partitions or workers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refinedweb.data.dedup.buckets import save_array, shard_of, unique_rows
from refinedweb.data.dedup.tasks import Pieces

_MIX = np.uint64(0xBF58476D1CE4E5B9)


class ComponentFinder:
    """Turn edge files (``.npy`` arrays of shape (n, 2), uint64 node refs) into per-partition files of
    ``(node, root)`` rows for every non-root node, sorted by node."""

    def __init__(self, work_dir: Path, partitions: int, pieces: Pieces, max_rounds: int = 200):
        self.work_dir = work_dir
        self.partitions = max(1, partitions)
        self.pieces = pieces
        self.max_rounds = max_rounds

    def run(self, edge_files: list[Path]) -> list[Path]:
        parts = range(self.partitions)
        scatter = _Scatter(self.work_dir / "r0000", self.partitions)
        self.pieces.run(scatter, list(enumerate(edge_files)), self.work_dir / "r0000" / "markers",
                        [f"in{i}" for i in range(len(edge_files))])
        sources = [f"in{i}" for i in range(len(edge_files))]
        fingerprints: list[tuple[int, int]] = []
        for round_no in range(self.max_rounds):
            here = self.work_dir / f"r{round_no:04d}"
            step = _StarRound(here, self.work_dir / f"r{round_no + 1:04d}", sources, self.partitions,
                              large=round_no % 2 == 0)
            results = self.pieces.run(step, list(parts), here / "markers", [f"p{p}" for p in parts])
            fingerprints.append((sum(r["edges"] for r in results), sum(r["hash"] for r in results) % (1 << 64)))
            if len(fingerprints) >= 3 and fingerprints[-1] == fingerprints[-2] == fingerprints[-3]:
                final = _EmitRoots(here, self.work_dir / "roots", sources)
                self.pieces.run(final, list(parts), self.work_dir / "roots" / "markers", [f"p{p}" for p in parts])
                return [self.work_dir / "roots" / f"p{p}.npy" for p in parts]
            sources = [f"from{p}" for p in parts]
        raise RuntimeError(f"connected components did not converge in {self.max_rounds} rounds")


def _load_partition(directory: Path, sources: list[str], part: int) -> np.ndarray:
    arrays = [np.load(directory / f"{source}_to{part}.npy") for source in sources]
    edges = np.concatenate(arrays) if arrays else np.empty((0, 2), dtype=np.uint64)
    return unique_rows(edges)


def _write_scattered(directory: Path, source: str, edges: np.ndarray, partitions: int) -> None:
    """Store undirected ``edges`` in both directions, each row in the partition of its first column."""
    edges = edges[edges[:, 0] != edges[:, 1]]
    directed = np.concatenate([edges, edges[:, ::-1]]) if len(edges) else edges.reshape(0, 2)
    owner = shard_of(directed[:, 0], partitions)
    for part in range(partitions):
        save_array(directory / f"{source}_to{part}.npy", unique_rows(directed[owner == part]))


def _group_min(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """For rows sorted by ``src``: ``min(dst)`` over each row's src group, repeated per row."""
    starts = np.flatnonzero(np.concatenate([[True], src[1:] != src[:-1]]))
    mins = np.minimum.reduceat(dst, starts)
    return np.repeat(mins, np.diff(np.append(starts, len(src))))


class _Scatter:
    def __init__(self, directory: Path, partitions: int):
        self.directory = directory
        self.partitions = partitions

    def __call__(self, item: tuple[int, Path]) -> dict:
        index, path = item
        edges = np.load(path).astype(np.uint64).reshape(-1, 2)
        _write_scattered(self.directory, f"in{index}", edges, self.partitions)
        return {"edges": int(len(edges))}


class _StarRound:
    def __init__(self, here: Path, there: Path, sources: list[str], partitions: int, large: bool):
        self.here, self.there, self.sources = here, there, sources
        self.partitions, self.large = partitions, large

    def __call__(self, part: int) -> dict:
        edges = _load_partition(self.here, self.sources, part)  # sorted by (src, dst)
        src, dst = edges[:, 0], edges[:, 1]
        fingerprint = int(np.sum(((src * _MIX) ^ dst) * _MIX, dtype=np.uint64)) if len(edges) else 0
        if self.large:
            m = np.minimum(_group_min(src, dst), src) if len(edges) else src
            keep = dst > src
            out = np.stack([dst[keep], m[keep]], axis=1)
        else:
            low = dst < src
            s, d = src[low], dst[low]
            m = _group_min(s, d) if len(s) else d
            out = np.concatenate([np.stack([d, m], axis=1), np.stack([s, m], axis=1)])
        _write_scattered(self.there, f"from{part}", out, self.partitions)
        return {"edges": int(len(edges)), "hash": fingerprint}


class _EmitRoots:
    def __init__(self, here: Path, out_dir: Path, sources: list[str]):
        self.here, self.out_dir, self.sources = here, out_dir, sources

    def __call__(self, part: int) -> dict:
        edges = _load_partition(self.here, self.sources, part)
        pairs = edges[edges[:, 0] > edges[:, 1]]
        if len(np.unique(pairs[:, 0])) != len(pairs):
            raise RuntimeError("connected components: a node has two roots after convergence")
        save_array(self.out_dir / f"p{part}.npy", pairs)
        # In a star every leaf's edge to its root lives in the root's partition, so sizes are counted here.
        roots = edges[edges[:, 0] < edges[:, 1], 0]
        _, leaves = np.unique(roots, return_counts=True)
        return {"nodes": int(len(pairs)), "cluster_sizes": size_histogram(leaves + 1)}


def size_histogram(sizes: np.ndarray) -> dict[str, int]:
    """Cluster sizes binned by powers of two: ``{"2": n, "3-4": n, "5-8": n, ...}``."""
    out: dict[str, int] = {}
    for size in sizes.tolist():
        high = 2
        while high < size:
            high *= 2
        label = "2" if high == 2 else f"{high // 2 + 1}-{high}"
        out[label] = out.get(label, 0) + 1
    return out
