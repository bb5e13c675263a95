"""Next-token choice from logits: repetition penalty, temperature, top-k, top-p, then argmax or a draw.

The order and the definitions are those of Hugging Face ``generate`` (``RepetitionPenaltyLogitsProcessor``, then the
``Temperature`` / ``TopK`` / ``TopP`` warpers), so a setting means the same thing here as there and the filters can be
checked against theirs on fixed logits (``tests/model/test_sampling.py``):

- repetition penalty (Keskar et al. 2019, CTRL, section 4.1): a token already in the sequence has its logit divided
  by ``penalty`` when positive and multiplied by it when negative, so ``penalty > 1`` always makes it less likely;
- top-k keeps every token whose logit is at least the k-th largest (ties at the boundary are kept);
- top-p (Holtzman et al. 2020, nucleus sampling) keeps the smallest set of most likely tokens whose probability
  reaches ``top_p``: a token is removed when the mass of it and every less likely token is at most ``1 - top_p``;
  the most likely token always stays.

Shapes: B rows, V vocabulary.
"""

from __future__ import annotations

import torch


def repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """logits (B, V), seen (B, V) bool: which tokens each row already holds -> penalised logits (B, V)."""
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(seen, penalised, logits)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Set every logit below the k-th largest of its row to -inf; ``k=0`` (or k >= V) changes nothing."""
    if k <= 0 or k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the nucleus of probability ``p`` of each row (see the module docstring); ``p=1`` changes nothing."""
    if p >= 1.0:
        return logits
    ascending, order = torch.sort(logits, dim=-1)  # (B, V), least likely first
    mass_up_to = ascending.softmax(dim=-1).cumsum(dim=-1)  # mass of each token and every less likely one
    drop_sorted = mass_up_to <= (1.0 - p)
    drop_sorted[..., -1] = False  # the most likely token always stays
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def choose_next(
    logits: torch.Tensor,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """(B, V) float logits (already penalised) -> (B,) token ids: argmax when ``temperature == 0``, otherwise a draw
    from softmax(filtered logits / temperature) using ``generator`` (so a seed fixes the result)."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = top_p_filter(top_k_filter(logits / temperature, top_k), top_p)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
