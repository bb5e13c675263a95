"""The training objective: task loss, distillation term and replay term.

Every token-level loss is returned as a (sum, count) pair so that gradient accumulation divides by the number of
labelled positions in the whole accumulated batch, not per micro-batch (the transformers fix of October 2024,
PR #34191): k micro-batches of b then give the same gradient as one batch of k*b.

- Task loss: cross-entropy on the labelled positions: the example (cls), the first sub-token of each word (ner),
  the response tokens shifted by one (sft).
- Distillation (Hinton et al. 2015; DistilBERT, Sanh et al. 2019): ``T^2 * KL(softmax(teacher/T) ||
  softmax(student/T))`` summed over the distilled positions: the example (cls), the first sub-token of each word
  (ner, the positions that carry labels, never padding or continuation sub-tokens), the response tokens (sft). The
  direction is the teacher's distribution against the student's (forward KL, the cross-entropy to soft targets up to
  a constant); the T^2 keeps its gradient scale comparable to the task loss as T changes. The step loss is
  ``(sum of (1 - alpha) * task + alpha * distill) / positions``, where ``positions`` counts the distilled
  positions: with labels on every example this is ``(1 - alpha) * mean task + alpha * mean distill``; unlabelled
  examples (``--distill-data``) add only their distill term, so every example weighs the same.
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
        return int((labels != -100).sum())
    if task == "sft":
        labels = labels[:, 1:]
    return int((labels != -100).sum())


def distill_count(batch: dict, task: str) -> int:
    """Distilled positions of a batch: rows (cls), cached first sub-tokens (ner), response tokens (sft)."""
    if task == "cls":
        return len(batch["input_ids"])
    if task == "ner" and "teacher_mask" in batch:
        return int(batch["teacher_mask"].sum())
    return count(batch["labels"], task)


def task_loss_sum(logits: torch.Tensor, labels: torch.Tensor, task: str) -> torch.Tensor:
    # Unlabelled positions (-100) are skipped by cross_entropy's ignore_index rather than cut out by a boolean mask:
    # a mask's result size is data-dependent, which makes the CPU wait for the GPU at every step.
    if task == "sft":
        logits, labels = logits[:, :-1], labels[:, 1:]  # position t predicts token t+1
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1), reduction="sum")


def distilled_positions(logits: torch.Tensor, batch: dict, task: str) -> torch.Tensor:
    """The student's logits [N, C] at the positions the cached ``batch["teacher"]`` rows belong to (cls/ner)."""
    return logits if task == "cls" else logits[batch["teacher_mask"]]


def distill_loss_sum(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * sum_n KL(softmax(teacher_n / T) || softmax(student_n / T))`` over rows of [N, C] logits."""
    log_s = F.log_softmax(student.float() / temperature, dim=-1)
    log_t = F.log_softmax(teacher.float() / temperature, dim=-1)
    kl = (log_t.exp() * (log_t - log_s)).sum(-1)  # KL(teacher || student) per position
    return kl.sum() * temperature**2


def lm_loss(model, windows: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss of ``windows`` [B, T+1] under a causal LM."""
    logits = model(input_ids=windows[:, :-1]).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), windows[:, 1:].reshape(-1))
