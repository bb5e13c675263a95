"""Fixtures: real text (tests/data/pretrain/shakespeare.txt) as byte-level token shards in the refinedweb-shard v1
format that `refinedweb tokenize` writes (issue 6), built with numpy so these tests do not depend on that code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "pretrain"
EOS = "<|endoftext|>"


def byte_tokenizer():
    """A real `tokenizers` tokenizer: byte-level BPE with no merges (256 byte tokens) and EOS = 256."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    vocab[EOS] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([EOS])
    return tok


def write_shard(path: Path, docs: list[list[int]], eos_id: int, tokenizer_sha: str) -> None:
    tokens = np.concatenate([np.array(d + [eos_id], dtype=np.uint16) for d in docs])
    ends = np.cumsum([len(d) + 1 for d in docs]).astype(np.uint64)
    tokens.tofile(path.with_suffix(".bin"))
    ends.tofile(path.with_suffix(".idx"))
    meta = {
        "format": "refinedweb-shard", "version": 1, "dtype": "uint16", "num_tokens": int(len(tokens)),
        "num_documents": len(docs), "eos_id": eos_id, "tokenizer_sha256": tokenizer_sha,
        "source": "tests/data/pretrain/shakespeare.txt",
    }
    path.with_suffix(".json").write_text(json.dumps(meta))


def build_shards(root: Path) -> Path:
    """root/{tokenizer/tokenizer.json, train/*.bin|idx|json (2 shards), val/*.bin|idx|json}, the layout of
    `refinedweb tokenize` output; returns root."""
    tok = byte_tokenizer()
    (root / "tokenizer").mkdir(parents=True)
    tok.save(str(root / "tokenizer" / "tokenizer.json"))
    sha = hashlib.sha256((root / "tokenizer" / "tokenizer.json").read_bytes()).hexdigest()
    eos_id = tok.token_to_id(EOS)
    text = (DATA / "shakespeare.txt").read_text(encoding="utf-8")
    docs = [tok.encode(speech).ids for speech in text.split("\n\n") if speech.strip()]
    n_val = len(docs) // 10
    train, val = docs[:-n_val], docs[-n_val:]
    (root / "train").mkdir()
    (root / "val").mkdir()
    half = len(train) // 2
    write_shard(root / "train" / "shard-00000", train[:half], eos_id, sha)
    write_shard(root / "train" / "shard-00001", train[half:], eos_id, sha)
    write_shard(root / "val" / "shard-00000", val, eos_id, sha)
    return root


@pytest.fixture(scope="session")
def shards(tmp_path_factory) -> Path:
    return build_shards(tmp_path_factory.mktemp("shards"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: the tiny models here gain nothing from two, and on a shared 2-core machine two threads
    spin-wait on each other (measured ~5x slower steps under load)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
