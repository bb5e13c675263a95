"""``refinedweb evaluate --model PATH --tasks T1,T2,...``: perplexity, zero/few-shot multiple choice, NER and
classification reports. Tasks: ``ppl:PATH`` (text file or token shards), ``hellaswag``, ``arc_easy``,
``arc_challenge``, ``piqa``, ``winogrande``, ``boolq``, ``lambada``, ``copa`` (files under ``--data-dir``), and for
fine-tuned models ``ner:FILE`` and ``cls:FILE``. Prints a table and writes JSON with ``--output``."""

from __future__ import annotations

import argparse
import json

DEFAULT_DATA_DIR = "/work/shared/data/eval"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint or Hugging Face model folder")
    parser.add_argument("--tasks", required=True, help="comma-separated tasks (see the command's description)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="folder holding hellaswag/ and llm-foundry-local-data/")
    parser.add_argument("--num-fewshot", type=int, default=0, help="solved examples before each question")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the few-shot draw")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N items of each task")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=None, help="context window for perplexity")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder if the model folder has none")
    parser.add_argument("--output", default=None, help="write the results JSON here")


def run(args: argparse.Namespace) -> int:
    from refinedweb.errors import ConfigError
    from refinedweb.model.tasks.choice import FILES

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for task in tasks:
        kind = task.split(":", 1)[0]
        if kind not in FILES and kind not in ("ppl", "ner", "cls"):
            raise ConfigError(f"unknown task {task!r}; use ppl:PATH, ner:FILE, cls:FILE or one of {', '.join(FILES)}")
        if kind in ("ppl", "ner", "cls") and ":" not in task:
            raise ConfigError(f"task {kind} needs a file: write {kind}:PATH")

    import torch

    from refinedweb.model import evaluate as E
    from refinedweb.model.finetune.models import check_model_dir, load_tokenizer
    from refinedweb.model.tasks.metrics import format_classification_report, format_ner_report

    check_model_dir(args.model)
    results, lm = {}, None
    for task in tasks:
        kind, _, path = task.partition(":")
        if kind in ("ner", "cls"):
            scores, _ = E.evaluate_finetuned(args.model, kind, path, args.batch_size)
            results[task] = scores
            print(f"\n{task}\n" + (format_ner_report if kind == "ner" else format_classification_report)(scores))
            continue
        if lm is None:
            from transformers import AutoModelForCausalLM

            tokenizer = load_tokenizer(args.model, args.tokenizer)
            model = AutoModelForCausalLM.from_pretrained(args.model, local_files_only=True)
            model.to("cuda" if torch.cuda.is_available() else "cpu")
            lm = (model, tokenizer)
        if kind == "ppl":
            results[task] = E.perplexity(*lm, path, args.max_length)
        else:
            results[task] = E.evaluate_choice(*lm, kind, args.data_dir, args.num_fewshot, args.seed, args.limit,
                                              args.batch_size)
    print(f"\n{'task':<28}{'metric':<14}{'value':>10}{'stderr':>10}{'n':>8}")
    for task, scores in results.items():
        if task.split(":")[0] in ("ner", "cls"):
            main = "f1" if task.startswith("ner") else "accuracy"
            print(f"{task:<28}{main:<14}{scores[main]:>10.4f}{'':>10}{scores['support']:>8}")
            continue
        for metric in ("acc", "acc_norm", "perplexity"):
            if metric in scores:
                err = scores.get(f"{metric}_stderr")
                print(f"{task:<28}{metric:<14}{scores[metric]:>10.4f}{(f'{err:.4f}' if err is not None else ''):>10}"
                      f"{scores.get('n', scores.get('tokens', '')):>8}")
    if args.output:
        from refinedweb.io import atomic_write_text

        atomic_write_text(args.output, json.dumps(results, indent=2))
    return 0
