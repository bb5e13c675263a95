"""Exact-substring dedup (Lee et al. 2022, "Deduplicating Training Data Makes Language Models Better"; RefinedWeb
removes "any match of more than 50 consecutive tokens", pipeline-anchors.md §1.2 stage 8).

Tokens are the whitespace-separated words of the text, exactly as written (no normalisation: the removed text
must be byte-identical to its earlier copy), each mapped to a 30-bit hash id. We have no BPE tokenizer at this point
of the pipeline; 50 words is about 65 GPT-2 tokens, so ``min_tokens: 50`` is slightly more conservative than the
paper's threshold.

Passes:
1. per unit: token ids of every document (``<unit>.tokens.npy`` + per-document offsets);
2. per shard (a run of consecutive units holding at most ``shard_tokens`` tokens): the shard's documents are
   concatenated with a distinct separator id after each one (so no match crosses a document boundary), a suffix
   array is built with libdivsufsort (``pydivsufsort``), then the LCP array (Kasai) and the longest-previous-factor
   array: ``lpf[i]`` is the length of the longest prefix of the suffix at ``i`` that also starts at an earlier
   position. Every span ``[i, i + lpf[i])`` with ``lpf[i] >= min_tokens`` is removed. So the first occurrence
   of a repeated passage stays and every later one goes, and text that occurs once is never touched;
3. per unit: the spans are cut from the text (from the span's first token to the start of the next kept token);
   a document that loses more than ``max_removed_fraction`` of its tokens is dropped as
   ``substring_duplicate``.

Cross-shard strategy: like RefinedWeb, which ran its dedup on each of 100 parts of CommonCrawl separately, a
passage is only compared with the passages of its own shard; repeats that span two shards survive once per shard.
``shard_tokens`` bounds memory (about 20 bytes per token during pass 2) and sets how far apart repeats are found;
put the inputs that are most likely to share text (the same crawl, the same site) in neighbouring files.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from refinedweb.config import Config
from refinedweb.data.dedup.buckets import save_array
from refinedweb.data.dedup.corpus import read_documents
from refinedweb.data.dedup.shingles import runs, span_hashes, splitmix
from refinedweb.data.dedup.stage import DedupStage, Decider, StageContext
from refinedweb.document import Document
from refinedweb.errors import ConfigError

_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 10, 11, 12, 13, 32]] = True
_ID_BITS = 30


@dataclasses.dataclass
class SubstringConfig(Config):
    min_tokens: int = 50
    """Remove repeated spans of at least this many tokens (RefinedWeb: 50)."""
    max_removed_fraction: float = 0.5
    """Drop a document that loses more than this fraction of its tokens (our choice; the paper gives none)."""
    shard_tokens: int = 20_000_000
    """Tokens per suffix-array shard: bounds memory (about 20 bytes per token) and the reach of the search."""

    def validate(self) -> None:
        self.check_range("min_tokens", 1)
        self.check_range("max_removed_fraction", 0.0, 1.0)
        self.check_range("shard_tokens", 1000, 2**31 - 2**30)


def token_spans(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``text``, and the byte start and end of each whitespace-separated token."""
    data = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    starts, ends = runs(~_SPACE[data])
    return data, starts, ends


def token_ids(text: str) -> np.ndarray:
    data, starts, ends = token_spans(text)
    if len(starts) == 0:
        return np.empty(0, dtype=np.int32)
    return (splitmix(span_hashes(data, starts, ends)) >> np.uint64(64 - _ID_BITS)).astype(np.int32)


class SubstringDedup(DedupStage):
    Config = SubstringConfig
    reason = "substring_duplicate"

    def find(self, ctx: StageContext) -> dict:
        try:
            import pydivsufsort  # noqa: F401  (fail before any work, not in a worker)
        except ImportError:
            raise ConfigError("substring dedup needs pydivsufsort, a dependency of refinedweb: "
                              "run `pip install pydivsufsort`") from None
        tokens_dir = ctx.stage_dir / "tokens"
        sizes = ctx.pieces.run(_TokenPass(ctx), list(range(len(ctx.inputs))), tokens_dir / "markers", ctx.names)
        shards = _group_units([s["tokens"] for s in sizes], self.config.shard_tokens)
        results = ctx.pieces.run(_SuffixPass(ctx, self.config.min_tokens), shards, ctx.stage_dir / "spans" / "markers",
                             [f"s{i}" for i in range(len(shards))])
        return {
            "shards": len(shards),
            "tokens": sum(s["tokens"] for s in sizes),
            "tokens_removed": sum(r["tokens_removed"] for r in results),
        }

    def decider(self, ctx: StageContext, unit: int) -> Decider:
        spans = np.load(ctx.stage_dir / "spans" / f"{ctx.names[unit]}.npy")  # rows (doc, first token, end token)
        by_doc: dict[int, list[tuple[int, int]]] = {}
        for doc, first, end in spans.tolist():
            by_doc.setdefault(doc, []).append((first, end))
        limit = self.config.max_removed_fraction
        reason = self.reason

        def decide(index: int, doc: Document):
            cuts = by_doc.get(index)
            if not cuts:
                return None
            text, removed, total = _cut(doc.text, cuts)
            if total == 0 or removed / total > limit or not text.strip():
                return reason, None
            doc.text = text
            return None

        return decide


def _cut(text: str, cuts: list[tuple[int, int]]) -> tuple[str, int, int]:
    """Remove token ranges ``[first, end)`` from ``text``; return the new text, tokens removed, tokens before."""
    data, starts, ends = token_spans(text)
    keep = np.ones(len(starts), dtype=bool)
    for first, end in cuts:
        keep[first:end] = False
    removed = int((~keep).sum())
    byte_keep = np.ones(len(data), dtype=bool)
    # A removed token takes the whitespace after it, up to the next token, so no gap of spaces is left behind.
    next_start = np.append(starts[1:], len(data))
    for first, stop in zip(*runs(~keep)):
        byte_keep[starts[first] : next_start[stop - 1]] = False
    return data[byte_keep].tobytes().decode("utf-8", "replace"), removed, len(starts)


def _group_units(sizes: list[int], limit: int) -> list[list[int]]:
    """Consecutive units into shards of at most ``limit`` tokens (a larger unit is a shard of its own)."""
    shards: list[list[int]] = []
    total = 0
    for unit, size in enumerate(sizes):
        if not shards or total + size > limit:
            shards.append([])
            total = 0
        shards[-1].append(unit)
        total += size
    return shards


class _TokenPass:
    def __init__(self, ctx: StageContext):
        self.ctx = ctx

    def __call__(self, unit: int) -> dict:
        docs = [token_ids(doc.text) for doc in read_documents(self.ctx.inputs[unit])]
        offsets = np.cumsum([0] + [len(d) for d in docs]).astype(np.int64)
        directory = self.ctx.stage_dir / "tokens"
        save_array(directory / f"{self.ctx.names[unit]}.ids.npy",
                   np.concatenate(docs) if docs else np.empty(0, dtype=np.int32))
        save_array(directory / f"{self.ctx.names[unit]}.offsets.npy", offsets)
        return {"tokens": int(offsets[-1]), "documents": len(docs)}


class _SuffixPass:
    def __init__(self, ctx: StageContext, min_tokens: int):
        self.ctx, self.min_tokens = ctx, min_tokens

    def __call__(self, units: list[int]) -> dict:
        import pydivsufsort

        directory = self.ctx.stage_dir / "tokens"
        pieces, owners = [], []  # owners: (unit, doc, start in the shard stream, tokens) per document
        position = 0
        for unit in units:
            ids = np.load(directory / f"{self.ctx.names[unit]}.ids.npy")
            offsets = np.load(directory / f"{self.ctx.names[unit]}.offsets.npy")
            for doc in range(len(offsets) - 1):
                pieces.append(ids[offsets[doc] : offsets[doc + 1]])
                pieces.append(np.array([(1 << _ID_BITS) + len(owners)], dtype=np.int32))  # unique separator
                length = int(offsets[doc + 1] - offsets[doc])
                owners.append((unit, doc, position, length))
                position += length + 1
        stream = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int32)
        removed = np.zeros(len(stream), dtype=bool)
        if len(stream):
            sa = pydivsufsort.divsufsort(stream)
            lpf = pydivsufsort.longest_previous_factor(stream, sa, pydivsufsort.kasai(stream, sa))
            starts = np.flatnonzero(lpf >= self.min_tokens)
            # Union of the spans [start, start + lpf) in linear time (a repeated region of length L has about L
            # starts, so marking span by span would cost L**2): +1 at each start, -1 at each end, covered where > 0.
            depth = np.zeros(len(stream) + 1, dtype=np.int64)
            np.add.at(depth, starts, 1)
            np.add.at(depth, starts + lpf[starts].astype(np.int64), -1)
            removed = np.cumsum(depth[:-1]) > 0
        per_unit: dict[int, list[tuple[int, int, int]]] = {unit: [] for unit in units}
        for unit, doc, start, length in owners:
            # separators are unique, so no repeat (and no removed span) reaches across a document boundary
            begin, stop = runs(removed[start : start + length])
            per_unit[unit].extend((doc, int(b), int(e)) for b, e in zip(begin, stop))
        for unit, rows in per_unit.items():
            array = np.array(rows, dtype=np.int64).reshape(-1, 3)
            save_array(self.ctx.stage_dir / "spans" / f"{self.ctx.names[unit]}.npy", array)
        return {"tokens_removed": int(removed.sum())}
