import math

import pytest
import torch

from refinedweb.errors import ConfigError
from refinedweb.model.config import PRESETS, GPTConfig, preset
from refinedweb.model.gpt import GPT, IGNORE_INDEX, token_loss


def test_forward_shape_and_loss_near_uniform_at_init():
    torch.manual_seed(0)
    cfg = preset("tiny")
    model = GPT(cfg)
    idx = torch.randint(0, cfg.vocab_size, (2, 16))
    logits = model(idx)
    assert logits.shape == (2, 16, cfg.vocab_size)
    targets = torch.randint(0, cfg.vocab_size, (2, 16))
    loss_sum, count = token_loss(logits.detach(), targets)
    # Small init: predictions are close to uniform, so the mean loss on random targets is close to ln(V).
    assert count == 32
    assert abs(float(loss_sum / count) - math.log(cfg.vocab_size)) < 0.2
    assert torch.allclose(model(idx, targets).detach(), loss_sum)  # the loss computed inside forward (for compile)


def test_attention_is_causal():
    torch.manual_seed(0)
    model = GPT(preset("tiny", n_kv_head=2)).eval()
    idx = torch.randint(0, 512, (1, 20))
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 7) % 512
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert torch.equal(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_ignored_targets_do_not_count():
    logits = torch.randn(1, 4, 8)
    targets = torch.tensor([[1, IGNORE_INDEX, 3, IGNORE_INDEX]])
    loss_sum, count = token_loss(logits, targets)
    assert count == 2
    expected = torch.nn.functional.cross_entropy(logits[0, [0, 2]], torch.tensor([1, 3]), reduction="sum")
    assert torch.allclose(loss_sum, expected)


def test_tied_embeddings_share_storage():
    model = GPT(preset("tiny"))
    assert model.lm_head.weight.data_ptr() == model.embed_tokens.weight.data_ptr()
    untied = GPT(preset("tiny", tie_embeddings=False))
    assert untied.lm_head.weight.data_ptr() != untied.embed_tokens.weight.data_ptr()


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build_on_meta_device(name):
    with torch.device("meta"):
        model = GPT(preset(name))
    assert model.num_params() > 0


def test_124m_preset_matches_gpt2_small_size_and_flops():
    """12 x 768 with SwiGLU 2048 and a 50304 tied vocabulary: ~124M parameters, and the 6N + 12LHQT FLOPs per token
    at T=1024 that training-anchors.md derives for GPT-2 124M (~0.855 GFLOP)."""
    with torch.device("meta"):
        model = GPT(preset("124m"))
    assert 123e6 < model.num_params() < 125e6
    assert 0.85e9 < model.flops_per_token(1024) < 0.86e9


def test_bad_shapes_are_config_errors():
    with pytest.raises(ConfigError, match="multiple of n_head"):
        GPTConfig.from_dict({"d_model": 100, "n_head": 3})
    with pytest.raises(ConfigError, match="n_kv_head"):
        GPTConfig.from_dict({"d_model": 128, "n_head": 4, "n_kv_head": 3})
    with pytest.raises(ConfigError, match="unknown model preset"):
        preset("7b")
