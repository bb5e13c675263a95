"""Parity: our decoder and transformers' LlamaForCausalLM loading our checkpoint give the same logits on CPU.

Tolerance: max |difference| <= 1e-5 in float32 (the two implementations do the same operations in the same order;
on this machine the difference is exactly 0, the tolerance leaves room for other CPU kernels)."""

import json

import pytest
import torch

from refinedweb.errors import ConfigError
from refinedweb.model.checkpoint import load_gpt, save_model
from refinedweb.model.config import preset
from refinedweb.model.gpt import GPT

transformers = pytest.importorskip("transformers")
PARITY_ATOL = 1e-5


@pytest.mark.parametrize("tied,kv_heads", [(True, None), (False, 2)])
def test_transformers_loads_checkpoint_with_same_logits(tmp_path, tied, kv_heads):
    torch.manual_seed(0)
    cfg = preset("tiny", tie_embeddings=tied, n_kv_head=kv_heads)
    model = GPT(cfg).eval()
    save_model(model.state_dict(), cfg, tmp_path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert type(hf).__name__ == "LlamaForCausalLM"
    idx = torch.randint(0, cfg.vocab_size, (2, 100))
    with torch.no_grad():
        ours, theirs = model(idx), hf(idx).logits
    assert (ours - theirs).abs().max().item() <= PARITY_ATOL
    reloaded = load_gpt(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(reloaded(idx), ours)


def test_tied_head_is_stored_once(tmp_path):
    from safetensors import safe_open

    cfg = preset("tiny")
    save_model(GPT(cfg).state_dict(), cfg, tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        names = set(f.keys())
    assert "lm_head.weight" not in names and "model.embed_tokens.weight" in names
    assert json.loads((tmp_path / "config.json").read_text())["tie_word_embeddings"] is True


def test_tokenizer_files_load_in_transformers(tmp_path, shards):
    cfg = preset("tiny", vocab_size=320)
    save_model(GPT(cfg).state_dict(), cfg, tmp_path, tokenizer=shards / "tokenizer", eos_token_id=256)
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path)
    ids = tok("To be, or not to be")["input_ids"]
    assert tok.decode(ids) == "To be, or not to be"
    assert tok.eos_token_id == 256


def test_missing_or_foreign_checkpoint_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config.json not found"):
        load_gpt(tmp_path)
    cfg = preset("tiny")
    save_model(GPT(cfg).state_dict(), cfg, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model_type"] = "gpt2"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="model_type"):
        load_gpt(tmp_path)
