"""From task files to padded tensor batches: reading the splits, the label set, encoding, length-grouped batching.

Encoding rules:

- ner: words go through the tokenizer as pre-split words; each word's label sits on its first sub-token and the other
  sub-tokens get -100 (ignored by the loss), as in BERT's CoNLL setup (Devlin et al. 2019, section 5.3). Words cut
  off by ``max_length`` are predicted ``O`` and counted in ``truncated_words``.
- cls: the text with the tokenizer's special tokens, one label per example.
- sft: see ``refinedweb.model.tasks.instructions`` (loss on response tokens only).

Unlabelled examples (``--distill-data``) are encoded the same way with every label -100: they carry no task loss,
only the teacher's soft targets, cached per example in ``feature["teacher"]`` (ner: one row per first sub-token;
cls: one row) and gathered by ``collate`` into ``batch["teacher"]`` with ``batch["teacher_mask"]`` marking the
student positions they belong to (ner).

The label set is the training file's; a validation or test label that training never saw is an error (the head
has no output for it, so every such entity or example would silently count as wrong).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from refinedweb.errors import ConfigError
from refinedweb.model.tasks.conll import read_conll
from refinedweb.model.tasks.instructions import encode_pair, read_pairs
from refinedweb.model.tasks.tabular import read_labelled_texts


@dataclass
class Split:
    path: str
    examples: list  # Sentence, Example or Pair
    features: list[dict] = field(default_factory=list)
    truncated: int = 0  # ner: words beyond max_length; cls/sft: examples cut
    labelled: bool = True  # False: distillation-only examples, their targets come from the teacher


def read_split(task: str, path: str, cfg, limit: int | None, labelled: bool = True) -> Split:
    if task == "ner":
        examples = read_conll(path, cfg.label_scheme, labelled)
    elif task == "cls":
        examples = read_labelled_texts(path, cfg.text_column, cfg.label_column, labelled)
    else:
        examples = read_pairs(path)
    return Split(path, examples[:limit] if limit else examples, labelled=labelled)


def label_set(task: str, train: Split) -> list[str] | None:
    if task == "sft":
        return None
    if task == "ner":
        seen = {tag for s in train.examples for tag in s.labels}
        # "O" first, then each type's B- before its I-, so the order reads naturally in reports
        return ["O"] + sorted(seen - {"O"}, key=lambda t: (t[2:], t[0]))
    return sorted({e.label for e in train.examples}, key=lambda x: (len(x), x))


def check_labels(task: str, split: Split, labels: list[str] | None) -> None:
    if labels is None:
        return
    known = set(labels)
    for example in split.examples:
        unseen = [t for t in (example.labels if task == "ner" else [example.label]) if t not in known]
        if unseen:
            raise ConfigError(
                f"{split.path}:{example.line}: label {unseen[0]!r} never occurs in the training file, so the model "
                f"cannot predict it (training labels: {', '.join(labels)}); add training examples with it or "
                "map/remove it in this file"
            )


def encode(task: str, split: Split, tokenizer, labels: list[str] | None, max_length: int) -> None:
    """Fill ``split.features`` with dicts of token ids (and ``labels``) per example."""
    index = {label: i for i, label in enumerate(labels or [])}
    features, truncated = [], 0
    if task == "ner":
        words = [s.tokens for s in split.examples]
        encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        for i, sentence in enumerate(split.examples):
            word_ids = encoded.word_ids(i)
            targets, first_positions, previous = [], [], None
            for position, word in enumerate(word_ids):
                if word is None or word == previous:
                    targets.append(-100)
                else:
                    targets.append(index[sentence.labels[word]] if split.labelled else -100)
                    first_positions.append(position)
                previous = word
            truncated += len(sentence.tokens) - len(first_positions)
            features.append({"input_ids": encoded["input_ids"][i], "labels": targets, "first": first_positions})
    elif task == "cls":
        encoded = tokenizer([e.text for e in split.examples], truncation=True, max_length=max_length)
        for i, example in enumerate(split.examples):
            features.append({"input_ids": encoded["input_ids"][i],
                             "label": index[example.label] if split.labelled else -100})
        truncated = sum(len(f["input_ids"]) >= max_length for f in features)
    else:
        for pair in split.examples:
            feature = encode_pair(tokenizer, pair, max_length)
            truncated += len(feature["input_ids"]) >= max_length
            features.append(feature)
    split.features, split.truncated = features, truncated


def make_batches(lengths: list[int], batch_size: int, shuffle: bool, seed: int, group_by_length: bool) -> list[list[int]]:
    """Index batches. With grouping, examples are shuffled, cut into mega-batches, sorted by length inside each, then
    batches are shuffled: similar lengths share a batch (little padding) while every epoch still sees a random order
    (the scheme of transformers' LengthGroupedSampler). A mega-batch holds min(n / (4 * batch_size), 50) batches, as
    there: on a small set, sorting everything at once would make whole batches of 2-token fragments and swing the
    gradients. Without shuffling (evaluation), batches follow the sorted lengths."""
    order = list(range(len(lengths)))
    if not shuffle:
        order.sort(key=lambda i: lengths[i])
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng = random.Random(seed)
    rng.shuffle(order)
    if group_by_length:
        mega = batch_size * max(1, min(len(order) // (4 * batch_size), 50))
        order = [i for s in range(0, len(order), mega) for i in sorted(order[s:s + mega], key=lambda i: -lengths[i])]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length:
        rng.shuffle(batches)
    return batches


def pad_multiple(device) -> int:
    """The padded-width multiple ``collate`` gets on ``device``: 8 on a GPU (see ``collate``); 1 on a CPU, where every
    padded position is paid for in full."""
    return 8 if device.type == "cuda" else 1


def collate(features: list[dict], pad_id: int, task: str, multiple: int = 1):
    """Right-padded ``input_ids``/``attention_mask`` and ``labels`` (-100 on padding) as tensors; with cached teacher
    outputs also ``teacher`` (rows in the order of ``teacher_mask``'s true positions, row-major) and, for ner,
    ``teacher_mask`` (the first sub-token of each kept word).

    ``multiple``: the padded width is rounded up to a multiple of it. On a GPU, 8 keeps bf16 matrix shapes aligned for
    the tensor cores, spares PyTorch's memory-efficient attention a padded copy of an unaligned mask at every
    attention call, and bounds the number of distinct shapes (with two other changes: NER on an H100 42.6 -> 36.3 s,
    BENCHMARKS.md)."""
    import numpy as np
    import torch

    width = max(len(f["input_ids"]) for f in features)
    width = -(-width // multiple) * multiple
    ids = np.full((len(features), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(features), width), dtype=np.int64)
    for row, f in enumerate(features):
        ids[row, :len(f["input_ids"])] = f["input_ids"]
        mask[row, :len(f["input_ids"])] = 1
    batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
    if task == "cls":
        batch["labels"] = torch.tensor([f["label"] for f in features])
    else:
        labels = np.full((len(features), width), -100, dtype=np.int64)
        for row, f in enumerate(features):
            labels[row, :len(f["labels"])] = f["labels"]
        batch["labels"] = torch.from_numpy(labels)
    if "teacher" in features[0]:
        if task == "ner":
            first = torch.zeros((len(features), width), dtype=torch.bool)
            for row, f in enumerate(features):
                first[row, f["first"]] = True
            batch["teacher_mask"] = first
            batch["teacher"] = torch.cat([f["teacher"] for f in features])
        else:
            batch["teacher"] = torch.stack([f["teacher"] for f in features])
    return batch
