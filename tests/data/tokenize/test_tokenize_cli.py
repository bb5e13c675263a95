"""``refinedweb tokenize`` end to end on real documents in three scripts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from refinedweb.cli import main
from refinedweb.data.tokenize.files import load_tokenizer, save_tokenizer
from refinedweb.data.tokenize.loader import ShardLoader
from refinedweb.data.tokenize.shards import list_shards, open_shard
from refinedweb.data.tokenize.task import is_validation, widen_bpe_cache
from refinedweb.errors import ConfigError


@pytest.fixture
def inputs(tmp_path, records) -> list[Path]:
    """The fixture documents split over three files (three work units), one of them gzipped."""
    import gzip

    folder = tmp_path / "in"
    folder.mkdir()
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    paths = [folder / "a.jsonl", folder / "b.jsonl.gz", folder / "c.jsonl"]
    paths[0].write_text("".join(lines[:5]), encoding="utf-8")
    with gzip.open(paths[1], "wt", encoding="utf-8") as handle:
        handle.write("".join(lines[5:9]))
    paths[2].write_text("".join(lines[9:]), encoding="utf-8")
    return paths


def _tokenize(inputs, tokenizer, output, *extra) -> int:
    return main(["tokenize", *map(str, inputs), "--tokenizer", str(tokenizer), "--output", str(output), "--quiet",
                 *extra])


def _documents(folder: Path) -> list[np.ndarray]:
    return [s.document(i) for s in map(open_shard, list_shards(folder)) for i in range(s.meta.num_documents)]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
            and p.parent.name in ("train", "val")}


def test_shards_decode_to_the_documents_joined_by_eos(inputs, tokenizer_dir, records, tmp_path):
    out = tmp_path / "shards"
    assert _tokenize(inputs, tokenizer_dir, out, "--val-fraction", "0.3", "--shard-tokens", "2500") == 0
    tok = load_tokenizer(tokenizer_dir).tokenizer
    expected = {"val": [r["text"] for r in records if is_validation(r["id"], 0.3)]}
    expected["train"] = [r["text"] for r in records if not is_validation(r["id"], 0.3)]
    assert expected["val"] and expected["train"]  # the 0.3 split puts documents on both sides
    for split, texts in expected.items():
        stems = list_shards(out / split)
        stream = np.concatenate([open_shard(s).tokens for s in stems]).tolist()
        assert tok.decode(stream, skip_special_tokens=False) == "".join(t + "<|endoftext|>" for t in texts)
        assert [tok.decode(d.tolist()) for d in _documents(out / split)] == texts
        for stem in stems:
            shard = open_shard(stem)
            assert shard.meta.num_tokens <= 2500 or shard.meta.num_documents == 1
            assert shard.meta.tokenizer_sha256 == load_tokenizer(out / "tokenizer").sha256
            assert (shard.tokens[shard.ends.astype(np.int64) - 1] == shard.meta.eos_id).all()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["total_documents"] == len(records)
    assert stats["total_tokens"] == sum(open_shard(s).meta.num_tokens for d in ("train", "val")
                                        for s in list_shards(out / d))
    histogram = stats["splits"]["train"]["tokens_per_document"]["histogram"]
    assert sum(b["count"] for b in histogram) == len(expected["train"])
    assert stats["dtype"] == "uint16"
    batch = next(ShardLoader(out / "train", batch_size=2, seq_len=64))
    assert batch.shape == (2, 65)
    with pytest.raises(ConfigError, match="tokenize output folder"):
        ShardLoader(out, batch_size=2, seq_len=64)


@pytest.mark.parametrize("words", [0, 3, 1_000_000])
def test_the_bpe_cache_size_changes_no_id(tokenizer_dir, records, words):
    texts = [r["text"] for r in records]
    reference = [e.ids for e in load_tokenizer(tokenizer_dir).tokenizer.encode_batch(texts, add_special_tokens=False)]
    tok = load_tokenizer(tokenizer_dir).tokenizer
    widen_bpe_cache(tok, words)
    for _ in range(2):  # the second pass reads the words the first one cached
        assert [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)] == reference


def test_output_is_deterministic_across_runs_and_worker_counts(inputs, tokenizer_dir, tmp_path):
    assert _tokenize(inputs, tokenizer_dir, tmp_path / "one", "--val-fraction", "0.2", "--shard-tokens", "2000") == 0
    assert _tokenize(inputs, tokenizer_dir, tmp_path / "two", "--val-fraction", "0.2", "--shard-tokens", "2000",
                     "--workers", "2") == 0
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_resume_redoes_only_unfinished_units_and_clears_their_partial_shards(inputs, tokenizer_dir, tmp_path):
    out = tmp_path / "shards"
    args = ("--shard-tokens", "2000")
    assert _tokenize(inputs, tokenizer_dir, out, *args) == 0
    complete = _files(out)
    # simulate a kill during unit 00002: no marker, one of its shards missing, a stray shard of a longer attempt
    (out / ".state" / "tokenize" / "00002-c.jsonl.done").unlink()
    for path in (out / "train").glob("00002-c.jsonl-00000.*"):
        path.unlink()
    (out / "train" / "00002-c.jsonl-00099.json").write_text("{}")
    (out / "train" / ".00002-c.jsonl-00001.bin.tmp-12345").write_text("partial")
    assert _tokenize(inputs, tokenizer_dir, out, *args, "--bpe-cache-words", "100") == 0  # a speed setting only
    assert _files(out) == complete
    units = json.loads((out / "stats.json").read_text())["units"]
    assert units["resumed"] == 2 and units["completed"] == 3


def test_an_output_folder_of_another_run_is_refused(inputs, tokenizer_dir, tmp_path, capsys):
    out = tmp_path / "shards"
    assert _tokenize(inputs, tokenizer_dir, out) == 0
    assert _tokenize(inputs, tokenizer_dir, out, "--val-fraction", "0.5") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert _tokenize(inputs, tokenizer_dir, out, "--val-fraction", "0.5", "--overwrite") == 0
    assert list_shards(out / "val")


def test_empty_files_and_documents_without_text_are_counted(tokenizer_dir, tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"id": "a", "text": ""}\n{"id": "b"}\n{"id": "c", "text": "hello"}\n')
    out = tmp_path / "shards"
    assert main(["tokenize", str(empty), str(mixed), "--tokenizer", str(tokenizer_dir), "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"no document with text in {empty}" in captured.err
    assert "no_text 2" in captured.out
    stats = json.loads((out / "stats.json").read_text())
    read = next(s for s in stats["steps"] if s["name"] == "read")
    assert read["total"] == 3 and read["kept"] == 1 and read["dropped"] == {"no_text": 2}
    assert stats["units"]["without_documents"] == [str(empty)]
    assert stats["total_documents"] == 1


def test_a_missing_tokenizer_or_input_is_a_clear_error(inputs, tokenizer_dir, tmp_path, capsys):
    assert _tokenize(inputs, tmp_path / "no-such-tokenizer", tmp_path / "out") == 2
    assert "no-such-tokenizer does not exist" in capsys.readouterr().err
    assert _tokenize([*inputs, tmp_path / "gone.jsonl"], tokenizer_dir, tmp_path / "out") == 2
    assert "gone.jsonl does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failing_unit_is_reported_and_the_others_finish(inputs, tokenizer_dir, tmp_path, capsys):
    corrupt = tmp_path / "in" / "corrupt.jsonl.gz"
    corrupt.write_bytes(b"this is not gzip data\n")
    out = tmp_path / "shards"
    assert _tokenize([*inputs, corrupt], tokenizer_dir, out) == 1
    assert f"failed: {corrupt}" in capsys.readouterr().err
    assert json.loads((out / "stats.json").read_text())["total_documents"] == 12


def test_large_vocabularies_write_uint32_shards(tokenizer_dir, records, tmp_path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    tok.add_tokens([f"<extra_{i}>" for i in range(65_000)])
    big = tmp_path / "big"
    save_tokenizer(tok.to_str(), {"eos_token": "<|endoftext|>"}, big)
    source = tmp_path / "docs.jsonl"
    # text that spells an added token is encoded as that token (added tokens are not special)
    source.write_text(json.dumps({"id": "x", "text": records[0]["text"] + " <extra_64999>"}) + "\n")
    assert _tokenize([source], big, tmp_path / "out") == 0
    (stem,) = list_shards(tmp_path / "out" / "train")
    shard = open_shard(stem)
    assert shard.meta.dtype == "uint32" and shard.tokens.dtype == np.dtype("<u4")
    assert int(shard.tokens[-2]) == tok.token_to_id("<extra_64999>") > 65_535
    assert tok.decode(shard.document(0).tolist()) == records[0]["text"] + " <extra_64999>"


def test_parquet_and_zstd_inputs_give_the_same_documents(tokenizer_dir, records, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    parquet = tmp_path / "docs.parquet"
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in ("id", "url", "text")} for r in records]), parquet)
    zst = tmp_path / "docs.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")))
    decoded = {}
    tok = load_tokenizer(tokenizer_dir).tokenizer
    for source in (parquet, zst):
        out = tmp_path / source.name.replace(".", "_")
        assert _tokenize([source], tokenizer_dir, out) == 0
        decoded[source.name] = [tok.decode(d.tolist()) for d in _documents(out / "train")]
    assert decoded["docs.parquet"] == decoded["docs.jsonl.zst"] == [r["text"] for r in records]


def test_an_empty_tokenizer_setting_is_a_config_error(inputs, tmp_path):
    from refinedweb.data.tokenize.run import tokenize_corpus
    from refinedweb.data.tokenize.task import TokenizeConfig

    with pytest.raises(ConfigError, match="tokenizer is empty"):
        tokenize_corpus([str(p) for p in inputs], tmp_path / "out", TokenizeConfig())
    with pytest.raises(ConfigError, match="val_fraction"):
        tokenize_corpus([str(p) for p in inputs], tmp_path / "out", TokenizeConfig(tokenizer="x", val_fraction=2.0))


def test_ray_address_reaches_connect_before_any_work(inputs, tokenizer_dir, tmp_path, monkeypatch):
    from refinedweb.data.executors import ray as ray_executor

    calls = []

    def refuse(address, workers):
        calls.append((address, workers))
        raise ConfigError(f"cannot connect to the Ray cluster at {address!r}")

    monkeypatch.setattr(ray_executor, "connect", refuse)
    out = tmp_path / "shards"
    assert _tokenize(inputs, tokenizer_dir, out, "--executor", "ray", "--ray-address", "10.0.0.1:6379",
                     "--workers", "2") == 2
    assert calls == [("10.0.0.1:6379", 2)]
    assert not (out / "train").exists()
