"""Train a byte-level BPE tokenizer (GPT-2 style) with Hugging Face ``tokenizers``.

Byte-level BPE starts from the 256 byte symbols, so every string encodes without an unknown token and decodes back
to exactly the same text (Radford et al. 2019, GPT-2, section 2.2). Pre-tokenization uses the GPT-2 regex (split
on letters, digits, punctuation and spaces) without a prefix space, so ``decode(encode(text)) == text``. Special
tokens get the first ids, in the order BOS, EOS, PAD, UNK, skipping the ones that are disabled.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable, Iterator

from refinedweb.config import Config
from refinedweb.errors import ConfigError
from refinedweb.stats import StepStats


@dataclasses.dataclass
class SpecialTokens(Config):
    """The special tokens of a tokenizer. ``None`` disables one; EOS is required (it separates documents in shards)."""

    bos: str | None = "<|bos|>"
    eos: str = "<|endoftext|>"
    pad: str | None = "<|pad|>"
    unk: str | None = "<|unk|>"

    def validate(self) -> None:
        if not self.eos:
            raise ConfigError("SpecialTokens.eos must be set: shards put an EOS token after every document")
        names = self.as_list()
        if len(set(names)) != len(names):
            raise ConfigError(f"special tokens must be distinct, got {names}; give each role its own string")

    def as_list(self) -> list[str]:
        """The enabled special tokens in id order (BOS, EOS, PAD, UNK)."""
        return [t for t in (self.bos, self.eos, self.pad, self.unk) if t]

    def as_roles(self) -> dict[str, str]:
        """``{"bos_token": ..., ...}`` for the enabled ones: the keys ``transformers`` reads."""
        roles = {"bos_token": self.bos, "eos_token": self.eos, "pad_token": self.pad, "unk_token": self.unk}
        return {k: v for k, v in roles.items() if v}


@dataclasses.dataclass
class TrainConfig(Config):
    """How to train a tokenizer."""

    vocab_size: int = 32000  # including the 256 byte symbols and the special tokens
    min_frequency: int = 2  # a pair must occur this often to be merged
    max_documents: int | None = None  # stop reading after this many documents; None reads all
    special: SpecialTokens = dataclasses.field(default_factory=SpecialTokens)

    def validate(self) -> None:
        # 256 byte symbols + the special tokens are the floor; 2**32 is the largest id a uint32 shard can hold.
        self.check_range("vocab_size", 256 + len(self.special.as_list()) + 1, 2**32 - 1)
        self.check_range("min_frequency", 1)
        self.check_range("max_documents", 1)


def train_tokenizer(texts: Iterable[str], config: TrainConfig):
    """Train a byte-level BPE tokenizer on ``texts`` and return the ``tokenizers.Tokenizer``.

    The training itself runs in Rust on all cores; ``texts`` is consumed once, as a stream.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=config.special.unk))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=config.special.as_list(),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def train_on_documents(inputs: list[str], config: TrainConfig, output: str | Path) -> dict:
    """Train on the texts of the documents in ``inputs`` (files, globs or folders of JSONL/Parquet/WARC) and save
    the tokenizer to ``output`` (see ``files.save_tokenizer``), with ``refinedweb_tokenizer.json`` recording what it
    was trained on. Returns that record."""
    from refinedweb.data.readers import read_documents
    from refinedweb.data.tokenize.files import save_tokenizer
    from refinedweb.io import atomic_write_text, expand_inputs

    files = expand_inputs(inputs)
    read = StepStats("read")
    documents = 0

    def texts() -> Iterator[str]:
        nonlocal documents
        for path in files:
            for doc in read_documents(path, stats=read):
                if config.max_documents is not None and documents >= config.max_documents:
                    return
                documents += 1
                yield doc.text

    tokenizer = train_tokenizer(texts(), config)
    if documents == 0:
        raise ConfigError(f"no document with text in {', '.join(files)}; a tokenizer needs training text")
    save_tokenizer(tokenizer.to_str(pretty=True), config.special.as_roles(), output)
    record = {
        "inputs": files,
        "documents": documents,
        "records_skipped": dict(read.dropped),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "config": config.to_dict(),
    }
    atomic_write_text(Path(output) / "refinedweb_tokenizer.json", json.dumps(record, indent=1, ensure_ascii=False))
    return record
