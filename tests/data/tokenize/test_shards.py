from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinedweb.data.tokenize.files import load_tokenizer
from refinedweb.data.tokenize.shards import ShardMeta, ShardWriter, list_shards, open_shard, token_dtype
from refinedweb.errors import ConfigError

EOS = 1


def _template(dtype: str = "uint16") -> ShardMeta:
    return ShardMeta(dtype=dtype, num_tokens=0, num_documents=0, eos_id=EOS, tokenizer_sha256="ab" * 32, source="x.jsonl")


def _write(folder, documents: list[list[int]], max_tokens: int, dtype: str = "uint16") -> list[ShardMeta]:
    writer = ShardWriter(folder, "unit", _template(dtype), max_tokens)
    flat = [t for doc in documents for t in doc + [EOS]]
    writer.add(np.array(flat, dtype=np.int64), np.array([len(d) + 1 for d in documents]))
    return writer.close()


def test_dtype_follows_vocabulary_size():
    assert token_dtype(65_535) == "uint16"
    assert token_dtype(65_536) == "uint32"
    with pytest.raises(ConfigError):
        token_dtype(2**32 + 1)


def test_cap_splits_at_document_boundaries_and_a_long_document_gets_its_own_shard(tmp_path):
    documents = [[5] * 3, [6] * 2, [7] * 9, [8], [9] * 2]  # with EOS: 4, 3, 10, 2, 3 tokens
    written = _write(tmp_path, documents, max_tokens=7)
    assert [m.num_tokens for m in written] == [7, 10, 5]
    assert [m.num_documents for m in written] == [2, 1, 2]
    stems = list_shards(tmp_path)
    assert [s.name for s in stems] == ["unit-00000", "unit-00001", "unit-00002"]
    got = [open_shard(s).document(i).tolist() for s in stems for i in range(open_shard(s).meta.num_documents)]
    assert got == documents
    sidecar = json.loads(stems[0].with_suffix(".json").read_text())
    assert sidecar["format"] == "refinedweb-shard" and sidecar["version"] == 1 and sidecar["dtype"] == "uint16"
    assert set(sidecar) == {"format", "version", "dtype", "num_tokens", "num_documents", "eos_id",
                            "tokenizer_sha256", "source"}


def test_batches_continue_the_current_shard(tmp_path):
    writer = ShardWriter(tmp_path, "u", _template("uint32"), max_tokens=100)
    writer.add(np.array([70_000, EOS]), np.array([2]))
    writer.add(np.array([3, 4, EOS]), np.array([3]))
    (meta,) = writer.close()
    shard = open_shard(tmp_path / "u-00000")
    assert meta.num_documents == 2 and shard.tokens.tolist() == [70_000, EOS, 3, 4, EOS]
    assert shard.ends.tolist() == [2, 5]
    assert shard.tokens.dtype == np.dtype("<u4")


def test_nothing_written_without_documents_and_abort_leaves_nothing(tmp_path):
    assert ShardWriter(tmp_path, "u", _template(), 10).close() == []
    writer = ShardWriter(tmp_path, "u", _template(), 10)
    writer.add(np.array([3, EOS]), np.array([2]))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_truncated_or_foreign_shards_are_refused(tmp_path):
    _write(tmp_path, [[3, 4, 5]], max_tokens=10)
    stem = tmp_path / "unit-00000"
    data = stem.with_suffix(".bin").read_bytes()
    stem.with_suffix(".bin").write_bytes(data[:-2])
    with pytest.raises(ConfigError, match="truncated"):
        open_shard(stem)
    sidecar = json.loads(stem.with_suffix(".json").read_text())
    stem.with_suffix(".json").write_text(json.dumps({**sidecar, "version": 99}))
    with pytest.raises(ConfigError, match="version"):
        open_shard(stem)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=60), min_size=1, max_size=8), cap=st.integers(1, 40))
def test_round_trip_of_random_unicode(tokenizer_dir, tmp_path_factory, texts, cap):
    """Encode random Unicode (any plane, control characters, text that spells special tokens), write shards with a
    random cap, read them back: every document decodes to its text and the stream decodes to the texts joined by
    EOS."""
    loaded = load_tokenizer(tokenizer_dir)
    tok = loaded.tokenizer
    tok.encode_special_tokens = True
    texts = [t + "<|endoftext|>" if i == 0 else t for i, t in enumerate(texts)]
    ids = [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]
    folder = tmp_path_factory.mktemp("shards")
    writer = ShardWriter(folder, "u", ShardMeta("uint16", 0, 0, loaded.eos_id, loaded.sha256, "x"), cap)
    flat = [t for doc in ids for t in doc + [loaded.eos_id]]
    writer.add(np.array(flat), np.array([len(d) + 1 for d in ids]))
    writer.close()
    shards = [open_shard(s) for s in list_shards(folder)]
    decoded = [tok.decode(s.document(i).tolist()) for s in shards for i in range(s.meta.num_documents)]
    assert decoded == texts
    stream = np.concatenate([s.tokens for s in shards]).tolist()
    assert tok.decode(stream, skip_special_tokens=False) == "".join(t + "<|endoftext|>" for t in texts)
