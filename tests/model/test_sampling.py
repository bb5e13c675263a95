"""Our logit filters against Hugging Face's logits processors on the same fixed logits."""

import pytest
import torch

from refinedweb.model.sampling import choose_next, repetition_penalty, top_k_filter, top_p_filter

generation = pytest.importorskip("transformers.generation.logits_process")


def _logits():
    torch.manual_seed(0)
    logits = torch.randn(4, 50) * 3
    logits[1, :5] = 7.0  # a tie at the top
    return logits


@pytest.mark.parametrize("ours, theirs, setting", [
    (top_k_filter, "TopKLogitsWarper", k) for k in (1, 3, 10, 49, 50)
] + [
    (top_p_filter, "TopPLogitsWarper", p) for p in (0.05, 0.3, 0.5, 0.9, 0.99)
])
def test_filters_equal_hf(ours, theirs, setting):
    logits = _logits()
    filtered = ours(logits, setting)
    assert torch.equal(filtered, getattr(generation, theirs)(setting)(None, logits.clone()))
    kept = filtered[0] > float("-inf")
    if ours is top_k_filter:
        assert kept.sum() == setting
    else:  # the kept set holds at least p of the mass
        assert logits[0].softmax(-1)[kept].sum() >= setting


def test_filters_off_change_nothing():
    logits = _logits()
    assert torch.equal(top_k_filter(logits, 0), logits) and torch.equal(top_p_filter(logits, 1.0), logits)


def test_repetition_penalty_equals_hf():
    logits = _logits()
    input_ids = torch.tensor([[1, 2, 3], [4, 4, 5], [0, 49, 7], [10, 11, 12]])
    seen = torch.zeros_like(logits, dtype=torch.bool).scatter(1, input_ids, True)
    theirs = generation.RepetitionPenaltyLogitsProcessor(1.5)(input_ids, logits.clone())
    assert torch.allclose(repetition_penalty(logits, seen, 1.5), theirs)


def test_sampling_respects_the_filters_and_the_seed():
    logits = _logits()
    draws = [choose_next(logits, 1.0, 3, 1.0, torch.Generator().manual_seed(s)) for s in range(20)]
    allowed = top_k_filter(logits, 3) > float("-inf")
    assert all(allowed[torch.arange(4), d].all() for d in draws)
    again = choose_next(logits, 1.0, 3, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(draws[0], again)
    assert torch.equal(choose_next(logits, 0.0, 0, 1.0, None), logits.argmax(-1))
