"""Token statistics of a tokenize run (``SHARDS/stats.json``), computed from the finished shards.

Computed from the ``.idx`` files rather than accumulated while writing, so the numbers describe exactly what is on
disk, also after a resumed run. Document lengths count the document's own tokens, not its trailing EOS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from refinedweb.data.tokenize.shards import list_shards, open_shard


def length_histogram(lengths: np.ndarray) -> list[dict[str, int]]:
    """Counts of ``lengths`` in power-of-two bins ``[0, 1)``, ``[1, 2)``, ``[2, 4)``, ``[4, 8)``, ..., from the
    first bin that holds a document to the one that holds the longest; each bin is ``{"min": lo, "max": hi
    (exclusive), "count": n}``."""
    if len(lengths) == 0:
        return []
    top = max(1, int(lengths.max()).bit_length())
    edges = np.concatenate([[0], 2 ** np.arange(top + 1, dtype=np.int64)])
    counts, _ = np.histogram(lengths, bins=edges)
    first = int(np.flatnonzero(counts)[0])
    bins = zip(edges[first:-1], edges[first + 1 :], counts[first:])
    return [{"min": int(lo), "max": int(hi), "count": int(n)} for lo, hi, n in bins]


def split_summary(folder: Path) -> dict[str, Any]:
    lengths = []
    num_tokens = 0
    stems = list_shards(folder) if folder.is_dir() else []
    for stem in stems:
        shard = open_shard(stem)
        ends = np.asarray(shard.ends, dtype=np.int64)
        lengths.append(np.diff(ends, prepend=0) - 1)
        num_tokens += shard.meta.num_tokens
    all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    per_doc: dict[str, Any] = {}
    if len(all_lengths):
        p50, p90, p99 = np.percentile(all_lengths, [50, 90, 99])
        per_doc = {
            "mean": round(float(all_lengths.mean()), 2),
            "p50": float(p50),
            "p90": float(p90),
            "p99": float(p99),
            "max": int(all_lengths.max()),
            "histogram": length_histogram(all_lengths),
        }
    return {
        "num_shards": len(stems),
        "num_tokens": num_tokens,  # EOS tokens included
        "num_documents": int(len(all_lengths)),
        "tokens_per_document": per_doc,
    }


def summarize(output: Path, splits: tuple[str, ...] = ("train", "val")) -> dict[str, Any]:
    """Statistics of every split folder under ``output``."""
    per_split = {split: split_summary(Path(output) / split) for split in splits}
    return {
        "total_tokens": sum(s["num_tokens"] for s in per_split.values()),
        "total_documents": sum(s["num_documents"] for s in per_split.values()),
        "splits": per_split,
    }
