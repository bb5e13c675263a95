"""Beam search for one prompt, with the semantics of Hugging Face ``generate(num_beams=K)`` (its defaults:
``length_penalty=1``, ``early_stopping=False``), so both return the same tokens:

- K beams start from the prompt; only the first is live at step one (the others score -1e9), so the K beams do not
  all pick the same token;
- each step scores every (beam, token) by the beam's summed log-probability plus the token's log-softmax (after the
  repetition penalty, applied to log-probabilities as HF does), and keeps the best ``max(2, 1 + #EOS) * K``
  candidates, enough for K to go on even when the best ones end;
- a candidate among the K best that ends (an EOS token, or the last allowed step) becomes a finished hypothesis
  scored ``sum of log-probs / generated_length ** length_penalty`` (its EOS counted); the best K are kept;
- the search stops when K hypotheses are finished and the best live beam, scored at its current length, cannot beat
  the worst of them (the ``early_stopping=False`` heuristic), or at ``max_new_tokens``.

The KV cache follows the beams: after each step it is reordered with the index of the beam each survivor came from.
"""

from __future__ import annotations

from typing import Any

import torch

from refinedweb.model.sampling import repetition_penalty

LENGTH_PENALTY = 1.0  # exponent of the length normaliser (HF default: scores are mean log-prob per token)
DEAD = -1.0e9  # score of a beam that must not be picked (HF uses the same constant, so ties break alike)


def beam_search(gen: Any, prompt: list[int], params: Any, max_new: int) -> tuple[list[int], bool]:
    """The best hypothesis for ``prompt``: its new token ids and whether it ended with an EOS token.
    ``gen`` is a ``refinedweb.model.generate.Generator``; ``params`` its ``GenerationParams``."""
    k = params.num_beams
    ids, mask = gen.left_pad([prompt] * k)  # (K, T): every beam starts as the prompt
    device = ids.device
    positions = torch.arange(ids.shape[1], device=device).expand(k, -1)  # (K, T)
    eos = torch.tensor(gen.eos_token_ids or [-1], device=device)
    n_candidates = max(2, 1 + len(gen.eos_token_ids)) * k
    beam_scores = torch.full((k,), DEAD, device=device)
    beam_scores[0] = 0.0
    generated = ids.new_empty((k, 0))  # (K, step): new tokens of each live beam
    seen = gen._seen_tokens(ids, mask) if params.repetition_penalty != 1.0 else None
    finished: list[tuple[float, list[int], bool]] = []  # (score, tokens, ended with EOS), best first, at most K
    past = None
    with torch.inference_mode():
        for step in range(max_new):
            logits, past = gen.step(ids, mask, positions, past, params.use_cache)
            log_probs = logits.log_softmax(dim=-1)  # (K, V)
            if seen is not None:
                log_probs = repetition_penalty(log_probs, seen, params.repetition_penalty)
            vocab = log_probs.shape[-1]
            scores = (log_probs + beam_scores[:, None]).view(1, -1)  # (1, K*V)
            top_scores, top_index = torch.topk(scores, n_candidates)  # (1, C) best first
            top_scores, top_index = top_scores[0], top_index[0]
            from_beam, token = top_index // vocab, top_index % vocab  # (C,), (C,)
            last_step = step + 1 == max_new
            hits_eos = torch.isin(token, eos)  # (C,)
            ends = hits_eos | last_step  # (C,)

            length = (step + 1) ** LENGTH_PENALTY
            for rank, (end, eos_hit) in enumerate(zip(ends[:k].tolist(), hits_eos[:k].tolist())):
                if end:  # only the K best candidates may finish
                    tokens = generated[from_beam[rank]].tolist() + [int(token[rank])]
                    finished.append((float(top_scores[rank]) / length, tokens, eos_hit))
            finished = sorted(finished, key=lambda h: -h[0])[:k]
            if last_step:
                break

            live_scores = top_scores + ends.float() * DEAD  # a finished candidate does not go on
            survivors = torch.topk(live_scores, k).indices  # (K,)
            beam_idx, new_tokens = from_beam[survivors], token[survivors]
            beam_scores = live_scores[survivors]
            generated = torch.cat([generated[beam_idx], new_tokens[:, None]], dim=1)
            if seen is not None:
                seen = seen[beam_idx]
                seen[torch.arange(k, device=device), new_tokens] = True
            if len(finished) == k and float(beam_scores.max()) / length <= finished[-1][0]:
                break  # no live beam can beat the worst kept hypothesis any more
            ids = torch.cat([ids[beam_idx], new_tokens[:, None]], dim=1)
            mask = torch.cat([mask, mask.new_ones((k, 1))], dim=1)
            positions = torch.cat([positions, positions[:, -1:] + 1], dim=1)
            if past is not None:
                past.reorder_cache(beam_idx)
    best = finished[0]
    return best[1], best[2]
