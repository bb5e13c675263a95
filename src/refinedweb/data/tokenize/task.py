"""What one work unit of ``refinedweb tokenize`` does: read documents, split them into train and validation by id,
encode them in batches and write shards named after the unit.

Per unit the outputs are ``OUTPUT/train/{unit id}-{k:05d}.*`` and ``OUTPUT/val/{unit id}-{k:05d}.*``. A rerun of
a unit first deletes any shard of that unit left by a killed attempt, then writes the same shards again: with the
same input and tokenizer the output is byte-identical, so resume never duplicates or loses a document.

Speed: documents are encoded ``batch_documents`` at a time with ``encode_batch_fast`` (no offsets computed, which
we do not need), and the ids are turned into one numpy array per batch; there is no Python loop over tokens.
A BPE tokenizer's word cache is widened to ``bpe_cache_words``: ``tokenizers`` caches the merges of at most 10,000
distinct pre-tokenized words and then stops inserting, so on a corpus of any size most of the long tail of words is
merged again at every occurrence (on 12 MB of mixed-script text: 68 % of words hit a 10,000-word cache; 224,000
distinct words, so 90 % hit a cache that holds them all).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from refinedweb.config import Config
from refinedweb.data.executors.base import WorkUnit
from refinedweb.data.readers import ReaderConfig, read_documents
from refinedweb.data.tokenize.files import LoadedTokenizer, load_tokenizer
from refinedweb.data.tokenize.shards import ShardMeta, ShardWriter, token_dtype
from refinedweb.errors import ConfigError
from refinedweb.stats import StepStats

SPLITS = ("train", "val")


@dataclasses.dataclass
class TokenizeConfig(Config):
    """How ``refinedweb tokenize`` turns documents into shards."""

    tokenizer: str = ""  # a tokenizer folder or tokenizer.json (see refinedweb.data.tokenize.files)
    eos_token: str | None = None  # None: the tokenizer's configured eos_token
    val_fraction: float = 0.0  # share of documents (by id hash) held out in val/
    shard_tokens: int = 100_000_000  # tokens per shard at most; llm.c's FineWeb shards hold 1e8
    batch_documents: int = 256  # documents per encode_batch call
    # Distinct words whose BPE merges are cached (tokenizers' default: 10,000). Each costs about 0.9 kB of memory
    # (measured on mixed-script text), so the default costs a worker up to ~220 MB.
    bpe_cache_words: int = 250_000
    reader: ReaderConfig = dataclasses.field(default_factory=ReaderConfig)

    def validate(self) -> None:
        if not self.tokenizer:
            raise ConfigError("TokenizeConfig.tokenizer is empty; set it to a tokenizer folder or tokenizer.json")
        self.check_range("val_fraction", 0.0, 1.0)
        self.check_range("shard_tokens", 1)
        self.check_range("batch_documents", 1)
        self.check_range("bpe_cache_words", 0)


def is_validation(doc_id: str, fraction: float) -> bool:
    """Whether a document belongs to the validation split: ``xxh64(id as UTF-8, seed 0) / 2**64 < fraction``.
    Deterministic and independent of the order, the unit and the worker that sees the document."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8")) < fraction * 2**64


def widen_bpe_cache(tokenizer, words: int) -> None:
    """Let a BPE model cache ``words`` distinct words (no effect on the ids it produces; other models and
    ``tokenizers`` releases without ``_resize_cache`` are left as they are)."""
    resize = getattr(tokenizer.model, "_resize_cache", None)
    if resize is not None:
        resize(words)


class TokenizeTask:
    """Picklable; the tokenizer is loaded in ``setup`` in each worker."""

    def __init__(self, config: TokenizeConfig, output: str | Path, loaded: LoadedTokenizer | None = None):
        self.config = config
        self.output = Path(output)
        # The parent's already-loaded tokenizer, used when the units run in-process (it is not pickled).
        self.loaded = loaded

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "loaded": None}

    def setup(self) -> None:
        # One thread per worker: parallelism comes from the worker processes (and the Rust thread pool would not
        # survive a fork anyway).
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        if self.loaded is None:
            self.loaded = load_tokenizer(self.config.tokenizer, self.config.eos_token)
        # Text that happens to spell a special token (e.g. "<|endoftext|>") is encoded as ordinary text, so a
        # document can never inject an EOS of its own.
        self.loaded.tokenizer.encode_special_tokens = True
        widen_bpe_cache(self.loaded.tokenizer, self.config.bpe_cache_words)

    def run(self, unit: WorkUnit) -> list[dict[str, Any]]:
        loaded = self.loaded
        assert loaded is not None, "setup() was not called"
        read_stats, stats = StepStats("read"), StepStats("tokenize")
        started = time.perf_counter()
        template = ShardMeta(
            dtype=token_dtype(loaded.vocab_size),
            num_tokens=0,
            num_documents=0,
            eos_id=loaded.eos_id,
            tokenizer_sha256=loaded.sha256,
            source=unit.path,
        )
        writers = {}
        for split in SPLITS:
            folder = self.output / split
            folder.mkdir(parents=True, exist_ok=True)
            # Shards and temporary files (".NAME.tmp-PID") a killed attempt of this unit left.
            for pattern in (f"{unit.id}-?????.*", f".{unit.id}-?????.*"):
                for stale in folder.glob(pattern):
                    stale.unlink()
            writers[split] = ShardWriter(folder, unit.id, template, self.config.shard_tokens)
        try:
            batch: list[tuple[str, str]] = []
            docs = read_documents(unit.path, self.config.reader, read_stats, unit.start, unit.end)
            for doc in docs:
                stats.total += 1
                if not doc.text:
                    stats.drop("empty_text")
                    continue
                batch.append((doc.id, doc.text))
                if len(batch) >= self.config.batch_documents:
                    self._encode(batch, writers, stats)
                    batch = []
            if batch:
                self._encode(batch, writers, stats)
            for writer in writers.values():
                writer.close()
        except BaseException:
            for writer in writers.values():
                writer.abort()
            raise
        # Reading is interleaved with tokenizing; the time of both is reported under "tokenize".
        stats.seconds = time.perf_counter() - started
        return [read_stats.to_dict(), stats.to_dict()]

    def _encode(self, batch: list[tuple[str, str]], writers: dict[str, ShardWriter], stats: StepStats) -> None:
        loaded = self.loaded
        encodings = loaded.tokenizer.encode_batch_fast([text for _, text in batch], add_special_tokens=False)
        val = [is_validation(doc_id, self.config.val_fraction) for doc_id, _ in batch]
        for split in SPLITS:
            chosen = [enc.ids for enc, v in zip(encodings, val) if v == (split == "val")]
            if not chosen:
                continue
            flat: list[int] = []
            for ids in chosen:
                flat += ids
                flat.append(loaded.eos_id)
            lengths = np.fromiter(map(len, chosen), dtype=np.int64, count=len(chosen)) + 1
            writers[split].add(np.array(flat, dtype=writers[split].dtype), lengths)
            stats.kept += len(chosen)
            stats.counters[f"{split}_documents"] += len(chosen)
            stats.counters[f"{split}_tokens"] += len(flat)
