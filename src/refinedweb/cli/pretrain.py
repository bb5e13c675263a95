"""``refinedweb pretrain``: train a decoder (or, with ``--objective mlm``, a BERT-style encoder) on token shards.

    refinedweb pretrain --preset tiny --data SHARDS --output RUN --max-steps 200 --device cpu
    refinedweb pretrain --config configs/pretrain/124m.yaml --data SHARDS --output RUN --set lr=3e-4
    torchrun --standalone --nproc_per_node=8 -m refinedweb pretrain --preset 124m --data SHARDS --output RUN

Flags override the config file; ``--set key=value`` overrides any field (``--set model.n_layer=4``,
``--set mlm.sentence_objective=sop``). See docs/pretrain.md.
"""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="model preset: tiny, 124m, 350m, 1b")
    source.add_argument("--config", help="a YAML file of PretrainConfig fields (see configs/pretrain/)")
    parser.add_argument("--data", help="shards folder with train/ and val/ (from `refinedweb tokenize`)")
    parser.add_argument("--output", help="run folder: metrics.jsonl, checkpoints/, final/")
    parser.add_argument("--max-steps", type=int, help="optimizer steps")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: cuda when available")
    parser.add_argument("--objective", choices=["clm", "mlm"], help="clm: decoder (default); mlm: BERT-style encoder")
    parser.add_argument("--tokenizer", help="tokenizer.json (or its folder) to copy into checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any field")


def run(args: argparse.Namespace) -> int:
    from refinedweb.config import apply_overrides, load_yaml
    from refinedweb.model.pretrain import PretrainConfig, pretrain

    data = load_yaml(args.config) if args.config else {"preset": args.preset}
    flags = {
        "data": args.data, "output": args.output, "max_steps": args.max_steps, "device": args.device,
        "objective": args.objective, "tokenizer": args.tokenizer, "resume": args.resume or None,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    config = PretrainConfig.from_dict(apply_overrides(data, args.set))
    result = pretrain(config)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 reports
        return 0
    print(
        f"trained {result.steps} steps: loss {result.first_loss:.4f} -> {result.last_loss:.4f}"
        + (f", val loss {result.val_loss:.4f}" if result.val_loss is not None else "")
        + f"; model in {result.checkpoint}"
    )
    return 0
