"""``refinedweb dedup INPUT... --output DIR``: deduplicate JSONL/Parquet documents.

Writes ``DIR/documents/<base>.jsonl.zst`` (one file per input), ``DIR/stats.json`` (``{"steps": [...]}``, the
format of ``refine``), ``DIR/run_config.yaml`` (the stages that ran) and, with ``--rejects``,
``DIR/rejects/<stage>/<base>.jsonl.zst`` with ``step``, ``reason`` and ``kept_id`` on every removed document.
Relaunching the same command resumes a killed run; rerunning a finished one does nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from refinedweb.errors import ConfigError, FatalError

METHODS = ("exact", "url", "minhash", "substring")
# The stages each preset runs when --method is not given, in the order of the papers' pipelines.
PRESET_METHODS = {"fineweb": ("minhash",), "refinedweb": ("minhash", "substring", "url")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="JSONL(.gz/.zst) or Parquet files, globs, folders")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--preset", choices=sorted(PRESET_METHODS), default="fineweb",
                        help="MinHash settings and default methods: fineweb (minhash 14x8) or refinedweb "
                             "(minhash 450x20, substring >= 50 tokens, url)")
    parser.add_argument("--method", action="append", choices=METHODS,
                        help="a dedup method to run (repeat for several, run in the given order); "
                             "default: the preset's")
    parser.add_argument("--min-tokens", type=int, default=50, help="substring: shortest repeat removed (tokens)")
    parser.add_argument("--jaccard-threshold", type=float, default=None,
                        help="minhash: drop candidate pairs below this exact Jaccard similarity")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--executor", default="local", choices=["local", "ray"],
                        help="where the dedup passes run: worker processes here, or Ray actors (the output folder "
                             "must then be on a filesystem every node sees)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS or a local one)")
    parser.add_argument("--rejects", action="store_true", help="write removed documents to DIR/rejects/")


def build_specs(args: argparse.Namespace) -> list[dict]:
    specs = []
    for method in args.method or PRESET_METHODS[args.preset]:
        spec: dict = {"step": method}
        if method == "minhash":
            spec["preset"] = args.preset
            if args.jaccard_threshold is not None:
                spec["jaccard_threshold"] = args.jaccard_threshold
        elif method == "substring":
            spec["min_tokens"] = args.min_tokens
        specs.append(spec)
    return specs


def run(args: argparse.Namespace) -> int:
    from refinedweb.config import dump_yaml
    from refinedweb.data.dedup import run_dedup
    from refinedweb.io import atomic_write_text

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    output = Path(args.output)
    specs = build_specs(args)
    try:
        steps = run_dedup(specs, args.inputs, output, workers=args.workers, rejects=args.rejects,
                          executor=args.executor, ray_address=args.ray_address)
    except FatalError as exc:
        print(f"refinedweb dedup: {exc}", file=sys.stderr)
        return 1
    dump_yaml({"dedup": specs}, output / "run_config.yaml")
    atomic_write_text(output / "stats.json", json.dumps({"steps": steps}, indent=1))
    for step in steps:
        dropped = sum(step["dropped"].values())
        print(f"{step['name']:>10}: {step['total']} in, {step['kept']} kept, {dropped} dropped {step['dropped']}")
    return 0
