"""Zero- and few-shot evaluation items in the lm-evaluation-harness style, read from the local files in
``/work/shared/data/eval`` (or any folder with the same layout; nothing downloads).

An item is a list of (context, continuation) requests and the gold index. The model's score for each choice is the
summed log-likelihood of the continuation given the context (``acc``), and that sum divided by the continuation's
length in characters (``acc_norm``, lm-eval's ``len(choice)`` normalisation). Two shapes occur:

- shared context, one continuation per choice (HellaSwag, ARC, PIQA, BoolQ, COPA);
- one context per choice and a shared continuation (Winogrande's "partial evaluation", Sakaguchi et al. 2019).

LAMBADA is a single request per item, scored by whether the continuation is the greedy decode (``acc``) and by
perplexity. Prompt formats follow lm-eval's task YAMLs (``Question: ...\\nAnswer:`` for ARC/PIQA, ``\\nAnswer:`` after
BoolQ's passage and question, a space before every continuation). Files:

| task | file | format |
|---|---|---|
| hellaswag | ``hellaswag/hellaswag_val_full.txt.bz2`` | 6 lines per item: ``label: ctx``, gold, 4 endings |
| arc_easy, arc_challenge | ``llm-foundry-local-data/world_knowledge/arc_{easy,challenge}.jsonl.gz`` | query/choices/gold |
| piqa | ``.../commonsense_reasoning/piqa.jsonl.gz`` | query/choices/gold |
| copa | ``.../commonsense_reasoning/copa.jsonl`` | query/choices/gold |
| boolq | ``.../reading_comprehension/boolq.jsonl.gz`` | query/choices/gold |
| winogrande | ``.../language_understanding/winogrande.jsonl.gz`` | context_options/continuation/gold |
| lambada | ``.../language_understanding/lambada_openai.jsonl.gz`` | context/continuation |
"""

from __future__ import annotations

import bz2
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from refinedweb.errors import ConfigError
from refinedweb.io import open_text_stream

_FOUNDRY = "llm-foundry-local-data"
FILES = {
    "hellaswag": "hellaswag/hellaswag_val_full.txt.bz2",
    "arc_easy": f"{_FOUNDRY}/world_knowledge/arc_easy.jsonl.gz",
    "arc_challenge": f"{_FOUNDRY}/world_knowledge/arc_challenge.jsonl.gz",
    "piqa": f"{_FOUNDRY}/commonsense_reasoning/piqa.jsonl.gz",
    "copa": f"{_FOUNDRY}/commonsense_reasoning/copa.jsonl",
    "boolq": f"{_FOUNDRY}/reading_comprehension/boolq.jsonl.gz",
    "winogrande": f"{_FOUNDRY}/language_understanding/winogrande.jsonl.gz",
    "lambada": f"{_FOUNDRY}/language_understanding/lambada_openai.jsonl.gz",
}
# text appended to the query before the choices, as in lm-eval's doc_to_text for the same task
_ANSWER_CUE = {"arc_easy": "\nAnswer:", "arc_challenge": "\nAnswer:", "piqa": "\nAnswer:", "boolq": "\nAnswer:"}


@dataclass
class Item:
    contexts: list[str]  # one per choice (equal for shared-context tasks)
    continuations: list[str]  # one per choice, with the leading space
    gold: int
    norm_lengths: list[int]  # characters of each choice, for acc_norm


def load_items(task: str, data_dir: str | Path) -> list[Item]:
    """Read every item of ``task`` from ``data_dir`` (the folder that holds ``hellaswag/`` and ``llm-foundry-local-data/``)."""
    if task not in FILES:
        raise ConfigError(f"unknown evaluation task {task!r}; choose from {', '.join(FILES)} or ppl:PATH")
    path = Path(data_dir) / FILES[task]
    if not path.exists():
        raise ConfigError(f"{path} not found for task {task!r}; pass --data-dir pointing at the evaluation data folder")
    if task == "hellaswag":
        return _hellaswag(path)
    rows = _jsonl(path)
    if task == "winogrande":
        return [Item([c for c in r["context_options"]], [" " + r["continuation"]] * len(r["context_options"]),
                     int(r["gold"]), [len(r["continuation"])] * len(r["context_options"])) for r in rows]
    if task == "lambada":
        return [Item([r["context"]], [" " + r["continuation"]], 0, [len(r["continuation"])]) for r in rows]
    cue = _ANSWER_CUE.get(task, "")
    items = []
    for r in rows:
        query = r["query"].strip() + cue
        items.append(Item([query] * len(r["choices"]), [" " + c for c in r["choices"]], int(r["gold"]),
                          [len(c) for c in r["choices"]]))
    return items


def _jsonl(path: Path) -> list[dict]:
    with open_text_stream(str(path)) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _hellaswag_clean(text: str) -> str:
    # lm-eval's hellaswag preprocess: WikiHow "[title]" markers become sentence breaks, other brackets go
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def _hellaswag(path: Path) -> list[Item]:
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    items = []
    for start in range(0, len(lines) - 5, 6):
        context, gold, *endings = lines[start:start + 6]
        endings = [_hellaswag_clean(e) for e in endings]
        items.append(Item([_hellaswag_clean(context)] * 4, [" " + e for e in endings], int(gold),
                          [len(e) for e in endings]))
    return items


def add_fewshot(items: list[Item], k: int, seed: int) -> list[Item]:
    """Prefix each item's contexts with ``k`` solved items drawn (without the item itself) with a fixed seed, joined
    by blank lines as lm-eval does. The same seed gives the same shots."""
    if k <= 0:
        return items
    if k >= len(items):
        raise ConfigError(f"--num-fewshot {k} needs more than {k} items in the task; lower it")
    rng = random.Random(seed)
    out = []
    for index, item in enumerate(items):
        picks = [j for j in rng.sample(range(len(items)), k + 1) if j != index][:k]
        shots = "".join(items[j].contexts[items[j].gold] + items[j].continuations[items[j].gold] + "\n\n"
                        for j in picks)
        out.append(Item([shots + c for c in item.contexts], item.continuations, item.gold, item.norm_lengths))
    return out
