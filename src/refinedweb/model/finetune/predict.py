"""Predicting with a fine-tuned model and scoring the predictions; shared by training (validation, test) and
``refinedweb evaluate`` (``ner:FILE``, ``cls:FILE``)."""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch

from refinedweb.model.finetune.data import Split, collate, make_batches, pad_multiple
from refinedweb.model.finetune.losses import count, task_loss_sum
from refinedweb.model.tasks.metrics import classification_scores, ner_scores


def autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


@torch.inference_mode()
def predict(model, split: Split, task: str, labels: list[str] | None, pad_id: int, batch_size: int,
            device: torch.device, bf16: bool = False) -> tuple[dict, list[dict]]:
    """(scores, one prediction record per example). Scores: ner_scores / classification_scores, plus ``loss``."""
    model.eval()
    lengths = [len(f["input_ids"]) for f in split.features]
    predicted: list = [None] * len(split.features)
    loss_sum, loss_count = 0.0, 0
    for batch_ids in make_batches(lengths, batch_size, shuffle=False, seed=0, group_by_length=True):
        batch = collate([split.features[i] for i in batch_ids], pad_id, task, pad_multiple(device))
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device, bf16):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss_sum += float(task_loss_sum(logits, batch["labels"], task))
        loss_count += count(batch["labels"], task)
        if task == "sft":
            continue
        best = logits.argmax(-1).cpu()
        for row, i in enumerate(batch_ids):
            if task == "cls":
                predicted[i] = labels[int(best[row])]
            else:
                first = split.features[i]["first"]
                tags = [labels[int(best[row, p])] for p in first]
                predicted[i] = tags + ["O"] * (len(split.examples[i].tokens) - len(tags))
    loss = loss_sum / max(loss_count, 1)
    if task == "sft":
        return {"loss": loss, "perplexity": math.exp(min(loss, 50)), "tokens": loss_count}, []
    if task == "ner":
        scores = ner_scores([s.labels for s in split.examples], predicted)
        scores["truncated_words"] = split.truncated
        records = [{"tokens": s.tokens, "gold": s.labels, "predicted": p} for s, p in zip(split.examples, predicted)]
    else:
        scores = classification_scores([e.label for e in split.examples], predicted, labels)
        scores["truncated_examples"] = split.truncated
        records = [{"text": e.text, "gold": e.label, "predicted": p} for e, p in zip(split.examples, predicted)]
    scores["loss"] = loss
    return scores, records


def selection_metric(task: str, scores: dict) -> float:
    """Higher is better: entity F1 (ner), accuracy (cls), minus the loss (sft)."""
    return {"ner": lambda: scores["f1"], "cls": lambda: scores["accuracy"], "sft": lambda: -scores["loss"]}[task]()


@torch.inference_mode()
def cache_teacher_outputs(teacher, split: Split, task: str, pad_id: int, batch_size: int, device: torch.device,
                          bf16: bool = False) -> None:
    """Run the teacher once over ``split`` and keep its logits (float32, on the CPU) in ``feature["teacher"]``: one
    row per example (cls) or per first sub-token (ner). Dropout is off, so the targets are the same every epoch and
    the teacher's forward pass is paid once instead of once per epoch."""
    teacher.eval()
    lengths = [len(f["input_ids"]) for f in split.features]
    for batch_ids in make_batches(lengths, batch_size, shuffle=False, seed=0, group_by_length=True):
        features = [split.features[i] for i in batch_ids]
        batch = {k: v.to(device) for k, v in collate(features, pad_id, task, pad_multiple(device)).items()}
        with autocast(device, bf16):
            logits = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logits = logits.float().cpu()
        for row, feature in enumerate(features):
            feature["teacher"] = logits[row] if task == "cls" else logits[row, feature["first"]]
