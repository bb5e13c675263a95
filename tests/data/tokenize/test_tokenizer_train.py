from __future__ import annotations

import json

import pytest

from refinedweb.cli import main
from refinedweb.data.tokenize.files import load_tokenizer, save_tokenizer
from refinedweb.data.tokenize.train import SpecialTokens, TrainConfig, train_tokenizer
from refinedweb.errors import ConfigError


def test_special_tokens_get_the_first_ids_in_role_order(tokenizer_dir):
    loaded = load_tokenizer(tokenizer_dir)
    tok = loaded.tokenizer
    assert [tok.token_to_id(t) for t in ("<|bos|>", "<|endoftext|>", "<|pad|>", "<|unk|>")] == [0, 1, 2, 3]
    assert loaded.eos_id == 1 and loaded.vocab_size == 600


def test_disabled_special_tokens_are_left_out(records):
    config = TrainConfig.from_dict({"vocab_size": 300, "special": {"bos": None, "pad": None, "unk": None, "eos": "</s>"}})
    tok = train_tokenizer((r["text"] for r in records[:3]), config)
    assert tok.token_to_id("</s>") == 0
    assert tok.token_to_id("<|bos|>") is None


def test_bad_training_configs_are_config_errors():
    with pytest.raises(ConfigError, match="eos"):
        SpecialTokens.from_dict({"eos": ""})
    with pytest.raises(ConfigError, match="distinct"):
        SpecialTokens.from_dict({"bos": "<s>", "eos": "<s>"})
    with pytest.raises(ConfigError, match="vocab_size"):
        TrainConfig.from_dict({"vocab_size": 100})


def test_decode_of_encode_is_identity_in_every_script(tokenizer_dir, records):
    tok = load_tokenizer(tokenizer_dir).tokenizer
    scripts = {r["metadata"]["lang"] for r in records}
    assert {"en", "rus_Cyrl", "zho_Hans", "zho_Hant"} <= scripts
    for record in records:
        ids = tok.encode(record["text"], add_special_tokens=False).ids
        assert tok.decode(ids) == record["text"], record["id"]


def test_transformers_autotokenizer_loads_our_folder(tokenizer_dir, records):
    transformers = pytest.importorskip("transformers")
    hf = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tok = load_tokenizer(tokenizer_dir).tokenizer
    assert (hf.bos_token_id, hf.eos_token_id, hf.pad_token_id, hf.unk_token_id) == (0, 1, 2, 3)
    for record in records:
        ids = hf(record["text"], add_special_tokens=False)["input_ids"]
        assert ids == tok.encode(record["text"], add_special_tokens=False).ids
        assert hf.decode(ids) == record["text"]


def test_load_a_bare_tokenizer_json_needs_an_eos(tokenizer_dir, tmp_path):
    bare = tmp_path / "bare" / "tokenizer.json"
    bare.parent.mkdir()
    bare.write_bytes((tokenizer_dir / "tokenizer.json").read_bytes())
    with pytest.raises(ConfigError, match="--eos-token"):
        load_tokenizer(bare)
    loaded = load_tokenizer(bare, eos_token="<|endoftext|>")
    assert loaded.eos_id == 1
    # the hash is the file's, so `sha256sum tokenizer.json` checks a sidecar
    assert loaded.sha256 == load_tokenizer(tokenizer_dir).sha256
    with pytest.raises(ConfigError, match="not in the vocabulary"):
        load_tokenizer(bare, eos_token="<no such token>")


def test_load_a_hugging_face_folder_with_added_token_dict(tokenizer_dir, tmp_path):
    """Hugging Face folders often spell special tokens as AddedToken dicts in tokenizer_config.json."""
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes((tokenizer_dir / "tokenizer.json").read_bytes())
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": {"content": "<|pad|>", "special": True}}))
    assert load_tokenizer(folder).eos_id == 2


def test_a_missing_tokenizer_folder_is_a_clear_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_tokenizer(tmp_path / "nope")


def test_a_corrupt_tokenizer_json_is_a_clear_config_error(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read tokenizer"):
        load_tokenizer(tmp_path)


def test_cli_train_then_import(tmp_path, documents_path):
    out = tmp_path / "tok"
    code = main(["tokenizer", "train", str(documents_path), "--vocab-size", "400", "--output", str(out), "--pad-token", ""])
    assert code == 0
    record = json.loads((out / "refinedweb_tokenizer.json").read_text())
    assert record["documents"] == 12 and record["vocab_size"] == 400
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert config["eos_token"] == "<|endoftext|>" and "pad_token" not in config

    copy = tmp_path / "copy"
    assert main(["tokenizer", "import", str(out / "tokenizer.json"), "--output", str(copy),
                 "--eos-token", "<|endoftext|>"]) == 0
    assert (copy / "tokenizer.json").read_bytes() == (out / "tokenizer.json").read_bytes()
    assert load_tokenizer(copy).eos_token == "<|endoftext|>"


def test_cli_train_errors(tmp_path, capsys):
    assert main(["tokenizer", "train", str(tmp_path / "*.jsonl"), "--vocab-size", "400", "--output",
                 str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err
    assert main(["tokenizer", "train", str(tmp_path / "missing.jsonl"), "--vocab-size", "400", "--output",
                 str(tmp_path / "o")]) == 1
    assert "cannot open input file" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["tokenizer", "train", str(empty), "--vocab-size", "400", "--output", str(tmp_path / "o")]) == 2
    assert "no document with text" in capsys.readouterr().err
    assert main(["tokenizer", "import", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_load_a_gpt2_style_folder_without_tokenizer_json(tokenizer_dir, records, tmp_path):
    """vocab.json + merges.txt + tokenizer_config.json (the GPT-2 layout): transformers builds the fast tokenizer."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer

    ours = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    folder = tmp_path / "gpt2-style"
    folder.mkdir()
    ours.model.save(str(folder))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "GPT2Tokenizer", "eos_token": "<|endoftext|>", "add_prefix_space": False}))
    loaded = load_tokenizer(folder)
    assert loaded.eos_id == 1
    for record in records:
        assert (loaded.tokenizer.encode(record["text"], add_special_tokens=False).ids
                == ours.encode(record["text"], add_special_tokens=False).ids)
