"""Exact document dedup: documents with byte-identical text are duplicates; the first (smallest ref) stays.

The key is the 64-bit xxh3 hash of the UTF-8 text (the ROOTS ``dedup_document`` and datatrove ``ExactDedup`` idea).
With 64-bit keys, two different texts collide with probability about n**2 / 2**65: about one chance in 40 for a
billion documents. Empty texts are exempt: they are not duplicates of each other, and the readers already skip them.
"""

from __future__ import annotations

from refinedweb.data.dedup.stage import KeyedConfig, KeyedStage
from refinedweb.document import Document


class ExactDedup(KeyedStage):
    Config = KeyedConfig
    reason = "exact_duplicate"

    def key_text(self, doc: Document) -> str:
        return doc.text
