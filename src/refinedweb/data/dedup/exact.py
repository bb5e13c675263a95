"""Exact document dedup: documents with byte-identical text are duplicates; the first (smallest ref) stays.

The key is the 64-bit xxh3 hash of the UTF-8 text (the ROOTS ``dedup_document`` and datatrove ``ExactDedup`` idea;
a 64-bit collision between different texts is expected once in about 4 * 10**9 documents squared / 2**64, i.e.
never at web scale for practical purposes). Empty texts are exempt: they are not duplicates of each other, and a
filter earlier in the pipeline is the place to drop them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xxhash

from refinedweb.data.dedup.stage import KeyedConfig, KeyedStage
from refinedweb.document import Document


@dataclasses.dataclass
class ExactConfig(KeyedConfig):
    pass


class ExactDedup(KeyedStage):
    Config = ExactConfig
    reason = "exact_duplicate"

    def doc_keys(self, doc: Document) -> np.ndarray:
        if not doc.text:
            return np.empty(0, dtype=np.uint64)
        return np.array([xxhash.xxh3_64_intdigest(doc.text.encode("utf-8"))], dtype=np.uint64)
