"""``refinedweb finetune``: fine-tune a checkpoint or any local Hugging Face model for cls, ner or sft.

Every ``FinetuneConfig`` field is an option (``lora_r`` -> ``--lora-r``); ``--config FILE`` loads a YAML of the same
keys and the command line overrides it. Writes ``OUTPUT/results.json``, ``OUTPUT/predictions/{validation,test}.jsonl``,
``OUTPUT/model/`` (loadable by transformers) and, with LoRA, ``OUTPUT/adapter/``; prints the test report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from refinedweb.model.finetune.config import FinetuneConfig

    parser.add_argument("--config", help="YAML file of FinetuneConfig keys (command-line options override it)")
    hints = typing.get_type_hints(FinetuneConfig)
    for f in dataclasses.fields(FinetuneConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        if hint is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        elif typing.get_origin(hint) is list or f.name == "lora_targets":
            parser.add_argument("--lora-target", dest=f.name, action="append", default=None,
                                help="module name to adapt with LoRA (repeatable)")
        else:
            base = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
            kind = base[0] if base[0] in (int, float) else str
            parser.add_argument(flag, dest=f.name, type=kind, default=None)


def run(args: argparse.Namespace) -> int:
    from refinedweb.config import load_yaml
    from refinedweb.model.finetune.config import FinetuneConfig

    data = load_yaml(args.config) if args.config else {}
    for f in dataclasses.fields(FinetuneConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            data[f.name] = value
    config = FinetuneConfig.from_dict(data)
    try:
        import torch  # noqa: F401
    except ImportError:
        from refinedweb.errors import MissingDependencyError

        raise MissingDependencyError("torch", "train") from None

    from refinedweb.model.finetune.train import finetune
    from refinedweb.model.tasks.metrics import format_classification_report, format_ner_report

    results = finetune(config)
    for split in ("validation", "test"):
        if split not in results:
            continue
        print(f"\n{split}:")
        scores = results[split]
        if config.task == "ner":
            print(format_ner_report(scores))
        elif config.task == "cls":
            print(format_classification_report(scores))
        else:
            print(json.dumps({k: scores[k] for k in ("loss", "perplexity", "tokens")}))
    print(f"\nwrote {config.output}/results.json and {', '.join(results['saved'].values())}")
    return 0
