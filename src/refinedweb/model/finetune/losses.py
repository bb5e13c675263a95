"""The training objective: task loss, distillation term and replay term.

Every token-level loss is returned as a (sum, count) pair so that gradient accumulation divides by the number of
labelled positions in the whole accumulated batch, not per micro-batch (the transformers fix of October 2024,
PR #34191): k micro-batches of b then give the same gradient as one batch of k*b.

- Task loss: cross-entropy on the labelled positions: the example (cls), the first sub-token of each word (ner),
  the response tokens shifted by one (sft).
- Distillation (Hinton et al. 2015): ``T^2 * KL(softmax(teacher/T) || softmax(student/T))`` summed over the same
  positions; the T^2 keeps its gradient scale comparable to the task loss. The step loss is
  ``(1 - alpha) * task + alpha * distill``.
- Replay: the LM loss (mean over tokens) of a batch of pretraining windows; the step loss is
  ``(1 - r) * task + r * replay``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def positions(logits: torch.Tensor, labels: torch.Tensor, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [N, C], labels [N]) of the positions that carry loss."""
    if task == "cls":
        return logits, labels  # [B, C], [B]
    if task == "sft":
        logits, labels = logits[:, :-1], labels[:, 1:]  # position t predicts token t+1
    keep = labels != -100
    return logits[keep], labels[keep]


def count(labels: torch.Tensor, task: str) -> int:
    if task == "cls":
        return len(labels)
    if task == "sft":
        labels = labels[:, 1:]
    return int((labels != -100).sum())


def task_loss_sum(logits: torch.Tensor, labels: torch.Tensor, task: str) -> torch.Tensor:
    flat_logits, flat_labels = positions(logits, labels, task)
    return F.cross_entropy(flat_logits.float(), flat_labels, reduction="sum")


def distill_loss_sum(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, task: str,
                     temperature: float) -> torch.Tensor:
    s, _ = positions(student, labels, task)
    t, _ = positions(teacher, labels, task)
    log_s = F.log_softmax(s.float() / temperature, dim=-1)
    log_t = F.log_softmax(t.float() / temperature, dim=-1)
    kl = (log_t.exp() * (log_t - log_s)).sum(-1)  # KL(teacher || student) per position
    return kl.sum() * temperature**2


def lm_loss(model, windows: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss of ``windows`` [B, T+1] under a causal LM."""
    logits = model(input_ids=windows[:, :-1]).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), windows[:, 1:].reshape(-1))
