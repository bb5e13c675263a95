"""The shape every dedup method shares, and the keyed methods (exact, URL, MinHash) built on it.

A stage runs in two halves. ``find(ctx)`` looks at the whole corpus (the stage's input files) in resumable pieces
and leaves its decisions on disk under the stage folder. ``decider(unit)`` then returns, inside the worker that
rewrites one input file, a function ``(index, doc) -> None | (reason, keeper_ref)`` that keeps a document (possibly
after changing its text) or drops it, naming the document it duplicates when there is one.

Keyed stages give every document zero or more 64-bit keys; documents sharing a key are duplicates. The per-unit pass
writes ``(key, ref)`` records, the per-shard pass turns each bucket of equal keys into edges ``(member, smallest
ref)``, and ``resolve`` turns edges into final ``(member, keeper)`` rows sorted by member: as they are for exact and
URL dedup (a document has one key), through connected components for MinHash.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import xxhash

from refinedweb.config import Config
from refinedweb.data.dedup.buckets import load_shard, save_array, star_edges, write_unit_records
from refinedweb.data.dedup.corpus import INDEX_BITS, make_ref, read_documents
from refinedweb.data.dedup.tasks import Pieces, state_write
from refinedweb.document import Document

Decider = Callable[[int, Document], "tuple[str, int | None] | None"]


@dataclasses.dataclass
class StageContext:
    """What a stage may look at: its input files (one unit each, in ref order), its own folder, and the runner of
    its resumable pieces."""

    inputs: list[str]
    names: list[str]
    stage_dir: Path
    pieces: Pieces


class DedupStage:
    """Base of the dedup methods; subclasses set ``Config``, ``reason`` and implement ``find`` and ``decider``."""

    Config: ClassVar[type[Config]] = Config
    reason: ClassVar[str] = "duplicate"

    def __init__(self, config: Config, name: str):
        self.config = config
        self.name = name

    def find(self, ctx: StageContext) -> dict:
        """Decide over the whole corpus; return counters for the stage stats (JSON-able ints)."""
        raise NotImplementedError

    def decider(self, ctx: StageContext, unit: int) -> Decider:
        raise NotImplementedError


@dataclasses.dataclass
class KeyedConfig(Config):
    records_per_shard: int = 4_000_000
    """Bucket records one shard holds in memory (16 bytes each): bounds the memory of the grouping pass."""

    def validate(self) -> None:
        self.check_range("records_per_shard", 1000)


class KeyedStage(DedupStage):
    """Documents that share a key are duplicates; the smallest ref of each group (or cluster) stays."""

    def key_text(self, doc: Document) -> str:
        """The text that identifies ``doc`` for a one-key method (its text, its normalised URL); "" exempts it."""
        raise NotImplementedError

    def doc_keys(self, doc: Document) -> np.ndarray:
        """uint64 keys of ``doc``; an empty array exempts it. By default the 64-bit xxh3 of ``key_text``."""
        text = self.key_text(doc)
        if not text:
            return np.empty(0, dtype=np.uint64)
        return np.array([xxhash.xxh3_64_intdigest(text.encode("utf-8"))], dtype=np.uint64)

    def resolve(self, ctx: StageContext, edge_files: list[Path]) -> tuple[list[Path], dict]:
        """Turn edge files into ``(member, keeper)`` files sorted by member; exact and URL edges are final."""
        return edge_files, {}

    def find(self, ctx: StageContext) -> dict:
        keys_dir = ctx.stage_dir / "keys"
        unit_results = ctx.pieces.run(_KeyPass(self, ctx), list(range(len(ctx.inputs))), keys_dir / "markers",
                                      ctx.names)
        records = sum(r["records"] for r in unit_results)
        shards = max(1, -(-records // self.config.records_per_shard))
        key_files = [keys_dir / f"{name}.npy" for name in ctx.names]
        group = _GroupPass(key_files, ctx.stage_dir / "edges", shards)
        ctx.pieces.run(group, list(range(shards)), ctx.stage_dir / "edges" / "markers",
                       [f"s{j}" for j in range(shards)])
        edge_files = [ctx.stage_dir / "edges" / f"s{j}.npy" for j in range(shards)]
        removal_files, counters = self.resolve(ctx, edge_files)
        with state_write(ctx.stage_dir / "removals.json") as handle:
            handle.write(json.dumps([str(p) for p in removal_files]).encode("utf-8"))
        counters.update({"records": records, "shards": shards})
        for result in unit_results:
            for key, value in result.get("counters", {}).items():
                counters[key] = counters.get(key, 0) + value
        return counters

    def decider(self, ctx: StageContext, unit: int) -> Decider:
        files = [Path(p) for p in json.loads((ctx.stage_dir / "removals.json").read_text(encoding="utf-8"))]
        low, high = make_ref(unit, 0), make_ref(unit + 1, 0)
        parts = []
        for path in files:
            rows = np.load(path, mmap_mode="r")
            start, stop = np.searchsorted(rows[:, 0], np.array([low, high], dtype=np.uint64))
            parts.append(np.array(rows[start:stop]))
        rows = np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.uint64)
        keeper_of = dict(zip((rows[:, 0] - np.uint64(low)).tolist(), rows[:, 1].tolist()))
        reason = self.reason

        def decide(index: int, doc: Document):
            keeper = keeper_of.get(index)
            return None if keeper is None else (reason, keeper)

        return decide


class _KeyPass:
    def __init__(self, stage: KeyedStage, ctx: StageContext):
        self.stage, self.ctx = stage, ctx

    def __call__(self, unit: int) -> dict:
        keys: list[np.ndarray] = []
        refs: list[np.ndarray] = []
        ids: list[str] = []
        counters = {"unkeyed": 0}
        for index, doc in enumerate(read_documents(self.ctx.inputs[unit])):
            ids.append(doc.id)
            doc_keys = self.stage.doc_keys(doc)
            if len(doc_keys) == 0:
                counters["unkeyed"] += 1
                continue
            keys.append(doc_keys)
            refs.append(np.full(len(doc_keys), make_ref(unit, index), dtype=np.uint64))
        all_keys = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
        all_refs = np.concatenate(refs) if refs else np.empty(0, dtype=np.uint64)
        directory = self.ctx.stage_dir / "keys"
        with state_write(directory / f"{self.ctx.names[unit]}.ids.json") as handle:
            handle.write(json.dumps(ids, ensure_ascii=False).encode("utf-8"))
        write_unit_records(directory / f"{self.ctx.names[unit]}.npy", all_keys, all_refs)
        return {"records": int(len(all_keys)), "counters": counters}


class _GroupPass:
    def __init__(self, key_files: list[Path], out_dir: Path, shards: int):
        self.key_files, self.out_dir, self.shards = key_files, out_dir, shards

    def __call__(self, shard: int) -> dict:
        edges = star_edges(load_shard(self.key_files, shard, self.shards))
        save_array(self.out_dir / f"s{shard}.npy", edges)
        return {"edges": int(len(edges))}


def keeper_id(stage_dir: Path, names: list[str], keeper: int, cache: dict[int, list[str]]) -> str:
    """The id of the document ``keeper`` (a ref), read from the per-unit id lists of the key pass. ``cache`` keeps
    the lists of the last few units only, so writing rejects never holds the ids of the whole corpus."""
    unit = keeper >> INDEX_BITS
    if unit not in cache:
        if len(cache) >= _ID_CACHE_UNITS:
            del cache[next(iter(cache))]  # the oldest entry (dicts keep insertion order)
        path = stage_dir / "keys" / f"{names[unit]}.ids.json"
        cache[unit] = json.loads(path.read_text(encoding="utf-8"))
    return cache[unit][keeper & ((1 << INDEX_BITS) - 1)]


_ID_CACHE_UNITS = 8
