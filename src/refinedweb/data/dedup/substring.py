"""Exact-substring dedup (Lee et al. 2022, "Deduplicating Training Data Makes Language Models Better"; RefinedWeb
removes "any match of more than 50 consecutive tokens", pipeline-anchors.md §1.2 stage 8).

Tokens are the whitespace-separated words of the text, exactly as written (no normalisation: the removed text
must be byte-identical to its earlier copy), each mapped to a 30-bit hash id. We have no BPE tokenizer at this point
of the pipeline; 50 words is about 65 GPT-2 tokens, so ``min_tokens: 50`` is slightly more conservative than the
paper's threshold.

Passes:
1. per unit: token ids of every document (``<unit>.ids.npy`` + per-document offsets);
2. per shard (a run of consecutive units holding at most ``shard_tokens`` tokens): the shard's documents are
   concatenated with a distinct separator id after each one (so no match crosses a document boundary), a suffix
   array is built with libdivsufsort (``pydivsufsort``), then the LCP array (Kasai) and the longest-previous-factor
   array: ``lpf[i]`` is the length of the longest prefix of the suffix at ``i`` that also starts at an earlier
   position. Every span ``[i, i + lpf[i])`` with ``lpf[i] >= min_tokens`` is marked. So the first occurrence of a
   repeated passage stays and every later one goes, and text that occurs once is never touched. The pass also
   saves the sorted hashes of the shard's ``min_tokens``-token windows;
3. per shard, across shards: every window of this shard whose hash occurs in an earlier shard is marked too. A
   position is covered by a repeated span of at least ``min_tokens`` tokens exactly when it lies in a repeated
   ``min_tokens``-window, so this finds what one suffix array over both shards would find (up to 64-bit hash
   collisions), holding this shard and one earlier shard's hashes at a time;
4. per unit: the marked spans are cut from the text (from the span's first token to the start of the next kept
   token); a document that loses more than ``max_removed_fraction`` of its tokens is dropped as
   ``substring_duplicate``.

Cross-shard strategy, in short: suffix arrays within shards (peak memory about 60 bytes per token, measured with
tracemalloc; ``shard_tokens``),
hashed windows across shards (pass 3, ``shards * (shards - 1) / 2`` sorted-set lookups). The first occurrence in
input order always stays.
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
_WINDOW_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the window hash


@dataclasses.dataclass
class SubstringConfig(Config):
    min_tokens: int = 50
    """Remove repeated spans of at least this many tokens (RefinedWeb: 50)."""
    max_removed_fraction: float = 0.5
    """Drop a document that loses more than this fraction of its tokens (our choice; the paper gives none)."""
    shard_tokens: int = 10_000_000
    """Tokens per suffix-array shard: bounds memory (measured peak about 60 bytes per token, so 600 MB); repeats
    across shards are found by hashed windows."""

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
        names = [f"s{i}" for i in range(len(shards))]
        within = ctx.pieces.run(_SuffixPass(ctx, shards, self.config.min_tokens), list(range(len(shards))),
                                ctx.stage_dir / "within" / "markers", names)
        across = ctx.pieces.run(_CrossShardPass(ctx, shards, self.config.min_tokens), list(range(len(shards))),
                                ctx.stage_dir / "spans" / "markers", names)
        return {
            "shards": len(shards),
            "tokens": sum(s["tokens"] for s in sizes),
            "tokens_removed": sum(r["tokens_removed"] for r in across),
            "tokens_removed_across_shards": sum(r["tokens_removed"] for r in across)
            - sum(r["tokens_removed"] for r in within),
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


def _shard_stream(ctx: StageContext, units: list[int]) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The token ids of a shard's documents, each followed by a separator id used nowhere else, and per document
    ``(unit, doc, start in the stream, tokens)``."""
    directory = ctx.stage_dir / "tokens"
    pieces, owners = [], []
    position = 0
    for unit in units:
        ids = np.load(directory / f"{ctx.names[unit]}.ids.npy")
        offsets = np.load(directory / f"{ctx.names[unit]}.offsets.npy")
        for doc in range(len(offsets) - 1):
            pieces.append(ids[offsets[doc] : offsets[doc + 1]])
            pieces.append(np.array([(1 << _ID_BITS) + len(owners)], dtype=np.int32))
            length = int(offsets[doc + 1] - offsets[doc])
            owners.append((unit, doc, position, length))
            position += length + 1
    return (np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int32)), owners


def _cover(starts: np.ndarray, lengths: np.ndarray, size: int) -> np.ndarray:
    """Union of the spans ``[start, start + length)`` as a mask, in linear time (a repeated region of L tokens has
    about L starts, so marking span by span would cost L**2): +1 at each start, -1 at each end, covered where > 0."""
    depth = np.zeros(size + 1, dtype=np.int64)
    np.add.at(depth, starts, 1)
    np.add.at(depth, np.minimum(starts + lengths, size), -1)
    return np.cumsum(depth[:-1]) > 0


def _window_hashes(stream: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of the ``k`` tokens starting at every position, and whether that window lies inside one
    document (contains no separator)."""
    count = len(stream) - k + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=bool)
    acc = np.zeros(count, dtype=np.uint64)
    for j in range(k):
        acc *= _WINDOW_MULT
        acc += stream[j : j + count].astype(np.uint64)
    separators = np.concatenate([[0], np.cumsum(stream >= (1 << _ID_BITS))])
    inside = separators[k : k + count] == separators[:count]
    return splitmix(acc), inside


class _SuffixPass:
    """Within one shard: the suffix array marks every span that repeats an earlier one. Saves the mask, and the
    hashes of the shard's ``min_tokens``-token windows for the cross-shard pass."""

    def __init__(self, ctx: StageContext, shards: list[list[int]], min_tokens: int):
        self.ctx, self.shards, self.min_tokens = ctx, shards, min_tokens

    def __call__(self, shard: int) -> dict:
        import pydivsufsort

        stream, _ = _shard_stream(self.ctx, self.shards[shard])
        directory = self.ctx.stage_dir / "within"
        hashes, inside = _window_hashes(stream, self.min_tokens)
        save_array(directory / f"s{shard}.windows.npy", np.unique(hashes[inside]))
        del hashes, inside  # one large array at a time: the suffix array comes next
        removed = np.zeros(len(stream), dtype=bool)
        if len(stream):
            sa = pydivsufsort.divsufsort(stream)
            lpf = pydivsufsort.longest_previous_factor(stream, sa, pydivsufsort.kasai(stream, sa))
            del sa
            starts = np.flatnonzero(lpf >= self.min_tokens)
            removed = _cover(starts, lpf[starts].astype(np.int64), len(stream))
        save_array(directory / f"s{shard}.mask.npy", removed)
        return {"tokens_removed": int(removed.sum())}


class _CrossShardPass:
    """Across shards: a window of ``min_tokens`` tokens whose hash occurs in an earlier shard is removed too (the
    union of such windows is exactly the text an earlier shard already holds). Holds this shard and one earlier
    shard's window hashes at a time. Then writes each unit's spans ``(doc, first token, end token)``."""

    def __init__(self, ctx: StageContext, shards: list[list[int]], min_tokens: int):
        self.ctx, self.shards, self.min_tokens = ctx, shards, min_tokens

    def __call__(self, shard: int) -> dict:
        stream, owners = _shard_stream(self.ctx, self.shards[shard])
        directory = self.ctx.stage_dir / "within"
        removed = np.load(directory / f"s{shard}.mask.npy")
        if shard > 0 and len(stream):
            hashes, inside = _window_hashes(stream, self.min_tokens)
            seen = np.zeros(len(hashes), dtype=bool)
            for earlier in range(shard):
                known = np.load(directory / f"s{earlier}.windows.npy")  # sorted, distinct
                if len(known):
                    at = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
                    seen |= inside & (known[at] == hashes)
            starts = np.flatnonzero(seen)
            removed |= _cover(starts, np.full(len(starts), self.min_tokens, dtype=np.int64), len(stream))
        per_unit: dict[int, list[tuple[int, int, int]]] = {unit: [] for unit in self.shards[shard]}
        for unit, doc, start, length in owners:
            # separators are unique, so no removed span reaches across a document boundary
            begin, stop = runs(removed[start : start + length])
            per_unit[unit].extend((doc, int(b), int(e)) for b, e in zip(begin, stop))
        for unit, rows in per_unit.items():
            array = np.array(rows, dtype=np.int64).reshape(-1, 3)
            save_array(self.ctx.stage_dir / "spans" / f"{self.ctx.names[unit]}.npy", array)
        return {"tokens_removed": int(removed.sum())}
