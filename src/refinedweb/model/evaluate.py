"""Evaluation of language models and fine-tuned models.

- ``loglikelihoods``: the lm-evaluation-harness request type. For (context, continuation), trailing spaces of the
  context move to the continuation, the pair is tokenized whole and the continuation's tokens are those after the
  context's tokens (lm-eval ``HFLM._encode_pair``); leading special tokens (BOS) are kept as the tokenizer adds them,
  trailing ones are not, and an empty context is replaced by the BOS/EOS token. Returns the summed log-probability of the continuation and whether it is the greedy decode.
- ``evaluate_choice``: multiple choice (acc, acc_norm) or LAMBADA (acc, perplexity), zero- or few-shot.
- ``perplexity``: held-out token perplexity of a text file or token shards, in non-overlapping windows of the
  model's context (each window's first token is context only, as in a fresh document).
- ``evaluate_finetuned``: NER (entity P/R/F1 per type) and classification (accuracy, macro-F1, confusion matrix)
  reports of a fine-tuned model on a labelled file.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from refinedweb.errors import ConfigError


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    if not context:
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        return [prefix], tokenizer.encode(continuation, add_special_tokens=False)
    whole = _encode(tokenizer, context + continuation)
    context_ids = _encode(tokenizer, context)
    return context_ids, whole[len(context_ids):]


def _encode(tokenizer, text: str) -> list[int]:
    """Token ids with the tokenizer's own leading special tokens (a Llama-style BOS), as lm-eval >= 0.4.9 encodes, but
    without trailing ones: a BERT-style [SEP] at the end of the context would otherwise swallow the continuation's
    first token."""
    ids = tokenizer.encode(text)
    specials = set(tokenizer.all_special_ids)
    while ids and ids[-1] in specials:
        ids.pop()
    return ids


@torch.inference_mode()
def loglikelihoods(model, tokenizer, requests: list[tuple[str, str]], batch_size: int = 16,
                   max_length: int | None = None) -> list[tuple[float, bool]]:
    """(sum of log p(continuation | context), continuation == greedy decode) per request."""
    model.eval()
    max_length = max_length or getattr(model.config, "max_position_embeddings", 2048)
    rows = []
    for context, continuation in requests:
        context_ids, cont_ids = _encode_pair(tokenizer, context, continuation)
        if not cont_ids:
            raise ConfigError(f"continuation {continuation!r} encodes to no tokens")
        ids = (context_ids + cont_ids)[-(max_length + 1):][:-1]
        rows.append((ids, cont_ids))
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))
    results: list = [None] * len(rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = _device(model)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(len(rows[i][0]) for i in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, i in enumerate(chunk):
            ids[r, :len(rows[i][0])] = torch.tensor(rows[i][0])
            mask[r, :len(rows[i][0])] = 1
        logprobs = F.log_softmax(model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float(), -1)
        for r, i in enumerate(chunk):
            inp, cont = rows[i]
            n = len(cont)
            lp = logprobs[r, len(inp) - n:len(inp)]  # [n, V]: positions that predict the continuation
            target = torch.tensor(cont, device=lp.device)
            results[i] = (float(lp.gather(1, target[:, None]).sum()), bool((lp.argmax(-1) == target).all()))
    return results


def evaluate_choice(model, tokenizer, task: str, data_dir: str, num_fewshot: int = 0, seed: int = 1234,
                    limit: int | None = None, batch_size: int = 16) -> dict:
    """acc and acc_norm (multiple choice) or acc and perplexity (lambada) with binomial standard errors."""
    from refinedweb.model.tasks.choice import add_fewshot, load_items

    items = load_items(task, data_dir)
    items = add_fewshot(items, num_fewshot, seed)
    if limit:
        items = items[:limit]
    requests = [(c, x) for item in items for c, x in zip(item.contexts, item.continuations)]
    scores = loglikelihoods(model, tokenizer, requests, batch_size)
    n = len(items)
    if task == "lambada":
        acc = sum(greedy for _, greedy in scores) / n
        ppl = math.exp(-sum(ll for ll, _ in scores) / n)
        return {"acc": acc, "acc_stderr": _stderr(acc, n), "perplexity": ppl, "n": n, "num_fewshot": num_fewshot}
    correct = correct_norm = 0
    at = 0
    for item in items:
        lls = [ll for ll, _ in scores[at:at + len(item.continuations)]]
        at += len(item.continuations)
        correct += max(range(len(lls)), key=lambda j: lls[j]) == item.gold
        normed = [ll / max(length, 1) for ll, length in zip(lls, item.norm_lengths)]
        correct_norm += max(range(len(normed)), key=lambda j: normed[j]) == item.gold
    acc, acc_norm = correct / n, correct_norm / n
    return {"acc": acc, "acc_stderr": _stderr(acc, n), "acc_norm": acc_norm, "acc_norm_stderr": _stderr(acc_norm, n),
            "n": n, "num_fewshot": num_fewshot}


def _stderr(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else 0.0


@torch.inference_mode()
def perplexity(model, tokenizer, path: str, max_length: int | None = None, limit_tokens: int | None = None) -> dict:
    """Token perplexity of a text file (``.txt``, ``.gz``, ``.zst``) or a folder/file of token shards."""
    model.eval()
    max_length = max_length or min(getattr(model.config, "max_position_embeddings", 1024), 1024)
    target = Path(path)
    if not target.exists():
        raise ConfigError(f"ppl:{path}: no such file or folder")
    if target.is_dir() or target.suffix == ".bin":
        from refinedweb.model.tasks.shards import TokenShards

        windows = TokenShards(path).sequential_windows(max_length, limit_tokens)
    else:
        from refinedweb.io import open_text_stream

        with open_text_stream(path) as handle:
            text = handle.read()
        ids = tokenizer.encode(text, add_special_tokens=False)
        if limit_tokens:
            ids = ids[:limit_tokens]
        windows = (torch.tensor(ids[i:i + max_length]) for i in range(0, len(ids) - 1, max_length))
    nll, tokens = 0.0, 0
    device = _device(model)
    for window in windows:
        window = torch.as_tensor(window, dtype=torch.long)[None].to(device)
        if window.size(1) < 2:
            continue
        logits = model(input_ids=window).logits.float()
        nll += float(F.cross_entropy(logits[0, :-1], window[0, 1:], reduction="sum"))
        tokens += window.size(1) - 1
    if tokens == 0:
        raise ConfigError(f"ppl:{path}: no text to score (the file is empty)")
    return {"perplexity": math.exp(nll / tokens), "nll_per_token": nll / tokens, "tokens": tokens,
            "window": max_length}


def evaluate_finetuned(model_path: str, task: str, path: str, batch_size: int = 64,
                       max_length: int = 512) -> tuple[dict, list[dict]]:
    """Scores and per-example predictions of a fine-tuned cls/ner model (full or adapter folder) on ``path``."""
    from refinedweb.model.finetune import data as D
    from refinedweb.model.finetune.config import FinetuneConfig
    from refinedweb.model.finetune.models import load_finetuned, load_tokenizer
    from refinedweb.model.finetune.predict import predict

    model, meta = load_finetuned(model_path)
    if meta["task"] != task:
        raise ConfigError(f"{model_path} was fine-tuned for {meta['task']}, not {task}; use {meta['task']}:FILE")
    tokenizer = load_tokenizer(model_path)
    labels = meta.get("labels")
    cfg = FinetuneConfig(task=task, model=model_path, train=path, output="-", max_length=max_length)
    split = D.read_split(task, path, cfg, None)
    D.check_labels(task, split, labels)
    D.encode(task, split, tokenizer, labels, max_length)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    return predict(model, split, task, labels, tokenizer.pad_token_id, batch_size, device)
