"""MinHash-LSH near-duplicate removal, in streaming, memory-bounded passes.

1. Per input unit: word n-gram shingles -> ``bands * rows`` MinHash values -> one 64-bit key per band, written as
   ``(key, ref)`` records (``shingles.py``, ``buckets.py``).
2. Per key range (shard): documents sharing a band key are candidate pairs; each bucket becomes edges to its
   smallest ref. With ``jaccard_threshold`` set, each edge is checked against the exact Jaccard similarity of the
   two shingle sets (stored per unit in pass 1) and dropped below the threshold, which removes LSH false positives.
3. Connected components over the edge shards (``cluster.py``): the partitioned Large-Star/Small-Star algorithm,
   so no process holds all edges. Clusters are transitive, as in FineWeb.
4. Removal: every member of a cluster except its smallest ref (the first in input order) is dropped as
   ``minhash_duplicate``.

Presets (pipeline-anchors.md §1.2 and §3.2): ``fineweb`` = 5-grams, 14 bands x 8 rows (threshold about
(1/14)**(1/8) = 0.72); ``refinedweb`` = 5-grams, 450 bands x 20 rows = 9,000 hashes (Lee et al. 2022's reading of
RefinedWeb's "20 buckets of 450 hashes"; threshold about (1/450)**(1/20) = 0.74). Explicit ``n_grams``, ``bands``
and ``rows`` override the preset's values.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from refinedweb.data.dedup.buckets import save_array
from refinedweb.data.dedup.cluster import ComponentFinder
from refinedweb.data.dedup.corpus import INDEX_BITS, INDEX_MASK, read_documents
from refinedweb.data.dedup.shingles import Sketcher, band_keys, shingle_hashes
from refinedweb.data.dedup.stage import KeyedConfig, KeyedStage, StageContext
from refinedweb.document import Document
from refinedweb.errors import ConfigError

PRESETS = {"fineweb": (5, 14, 8), "refinedweb": (5, 450, 20)}


@dataclasses.dataclass
class MinhashConfig(KeyedConfig):
    preset: str = "fineweb"
    """fineweb (5-grams, 14 x 8) or refinedweb (5-grams, 450 x 20)."""
    n_grams: int | None = None
    """Words per shingle; None takes the preset's."""
    bands: int | None = None
    """LSH bands; None takes the preset's."""
    rows: int | None = None
    """MinHash values per band; None takes the preset's."""
    seed: int = 1
    """Seed of the hash functions: runs that should agree must use the same seed."""
    jaccard_threshold: float | None = None
    """If set, keep only candidate pairs whose exact shingle Jaccard similarity is at least this."""
    edges_per_partition: int = 4_000_000
    """Edges one connected-components partition holds in memory: bounds the memory of clustering."""

    def validate(self) -> None:
        super().validate()
        if self.preset not in PRESETS:
            raise ConfigError(f"minhash.preset={self.preset!r}; use one of {', '.join(PRESETS)}")
        for key, high in (("n_grams", 50), ("bands", 10_000), ("rows", 1_000)):
            self.check_range(key, 1, high)
        self.check_range("jaccard_threshold", 0.0, 1.0)
        self.check_range("edges_per_partition", 1000)

    def resolved(self) -> tuple[int, int, int]:
        n, b, r = PRESETS[self.preset]
        return self.n_grams or n, self.bands or b, self.rows or r


class MinhashDedup(KeyedStage):
    Config = MinhashConfig
    reason = "minhash_duplicate"

    def __init__(self, config: MinhashConfig, name: str):
        super().__init__(config, name)
        self.n_grams, self.bands, self.rows = config.resolved()
        self._sketcher: Sketcher | None = None

    def shingles(self, doc: Document) -> np.ndarray:
        return shingle_hashes(doc.text, self.n_grams)

    def doc_keys(self, doc: Document) -> np.ndarray:
        shingles = self.shingles(doc)
        if len(shingles) == 0:
            return shingles
        if self._sketcher is None:
            self._sketcher = Sketcher(self.bands * self.rows, self.config.seed)
        return band_keys(self._sketcher.signature(shingles), self.bands, self.rows)

    def find(self, ctx: StageContext) -> dict:
        if self.config.jaccard_threshold is not None:
            ctx.pieces.run(_ShinglePass(self, ctx), list(range(len(ctx.inputs))),
                           ctx.stage_dir / "shingles" / "markers", ctx.names)
        return super().find(ctx)

    def resolve(self, ctx: StageContext, edge_files: list[Path]) -> tuple[list[Path], dict]:
        counters: dict = {}
        if self.config.jaccard_threshold is not None:
            check = _JaccardCheck(ctx, self.config.jaccard_threshold)
            results = ctx.pieces.run(check, edge_files, ctx.stage_dir / "checked" / "markers",
                                     [p.stem for p in edge_files])
            counters["candidate_pairs_rejected"] = sum(r["rejected"] for r in results)
            edge_files = [ctx.stage_dir / "checked" / p.name for p in edge_files]
        edges = sum(len(np.load(p, mmap_mode="r")) for p in edge_files)
        partitions = max(1, -(-2 * edges // self.config.edges_per_partition))
        finder = ComponentFinder(ctx.stage_dir / "components", partitions, ctx.pieces)
        roots = finder.run(edge_files)
        counters["candidate_edges"] = int(edges)
        counters["cc_partitions"] = partitions
        for path in sorted((ctx.stage_dir / "components" / "roots" / "markers").glob("*.done.json")):
            for size, n in json.loads(path.read_text())["cluster_sizes"].items():
                key = f"clusters_of_{size}"
                counters[key] = counters.get(key, 0) + n
        return roots, counters


class _ShinglePass:
    """Store each unit's shingle sets (values + offsets) for the optional exact-Jaccard check."""

    def __init__(self, stage: MinhashDedup, ctx: StageContext):
        self.stage, self.ctx = stage, ctx

    def __call__(self, unit: int) -> dict:
        sets = [self.stage.shingles(doc) for doc in read_documents(self.ctx.inputs[unit])]
        offsets = np.cumsum([0] + [len(s) for s in sets]).astype(np.int64)
        values = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
        directory = self.ctx.stage_dir / "shingles"
        save_array(directory / f"{self.ctx.names[unit]}.values.npy", values)
        save_array(directory / f"{self.ctx.names[unit]}.offsets.npy", offsets)
        return {"shingles": int(len(values))}


class _JaccardCheck:
    def __init__(self, ctx: StageContext, threshold: float):
        self.ctx, self.threshold = ctx, threshold

    def _set(self, ref: int, cache: dict) -> np.ndarray:
        unit = ref >> INDEX_BITS
        if unit not in cache:
            directory = self.ctx.stage_dir / "shingles"
            name = self.ctx.names[unit]
            cache[unit] = (np.load(directory / f"{name}.values.npy", mmap_mode="r"),
                           np.load(directory / f"{name}.offsets.npy"))
        values, offsets = cache[unit]
        index = ref & INDEX_MASK
        return np.asarray(values[offsets[index] : offsets[index + 1]])

    def __call__(self, path: Path) -> dict:
        edges = np.load(path)
        cache: dict = {}
        keep = np.zeros(len(edges), dtype=bool)
        for i, (a, b) in enumerate(edges.tolist()):
            x, y = self._set(a, cache), self._set(b, cache)
            common = len(np.intersect1d(x, y, assume_unique=True))
            keep[i] = common >= self.threshold * (len(x) + len(y) - common)
        save_array(self.ctx.stage_dir / "checked" / path.name, edges[keep])
        return {"rejected": int((~keep).sum())}
