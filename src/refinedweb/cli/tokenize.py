"""``refinedweb tokenize``: documents -> token shards (train and validation) that ``ShardLoader`` reads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refinedweb.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="JSONL(.gz/.zst) or Parquet documents: files, globs, folders")
    parser.add_argument("--tokenizer", required=True, help="a tokenizer folder (refinedweb tokenizer train), a "
                        "tokenizer.json, or a local Hugging Face tokenizer folder")
    parser.add_argument("--output", "-o", required=True, help="output folder (SHARDS)")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes (default 1)")
    parser.add_argument("--executor", default="local", choices=["local", "ray"], help="where work units run")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS or a local one)")
    parser.add_argument("--val-fraction", type=float, default=0.0,
                        help="share of documents held out in SHARDS/val, chosen by hashing the id (default 0)")
    parser.add_argument("--shard-tokens", type=int, default=100_000_000, help="tokens per shard at most (default 1e8)")
    parser.add_argument("--bpe-cache-words", type=int, default=250_000,
                        help="distinct words a BPE tokenizer caches, about 0.9 kB each (default 250000; tokenizers' own "
                        "default is 10000)")
    parser.add_argument("--eos-token", default=None, help="the EOS token (default: the tokenizer's eos_token)")
    parser.add_argument("--overwrite", action="store_true", help="replace an output folder made with another config")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")


def run(args: argparse.Namespace) -> int:
    from refinedweb.data.tokenize.run import tokenize_corpus
    from refinedweb.data.tokenize.task import TokenizeConfig

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    config = TokenizeConfig.from_dict({
        "tokenizer": args.tokenizer,
        "eos_token": args.eos_token,
        "val_fraction": args.val_fraction,
        "shard_tokens": args.shard_tokens,
        "bpe_cache_words": args.bpe_cache_words,
    })
    output = Path(args.output)
    if args.executor == "ray":
        from refinedweb.data.executors.ray import connect

        connect(args.ray_address, args.workers)
    summary = tokenize_corpus(args.inputs, output, config, args.workers, args.executor, args.overwrite,
                              progress=False if args.quiet else None)
    if not args.quiet:
        for split, s in summary["splits"].items():
            print(f"{split}: {s['num_documents']} documents, {s['num_tokens']} tokens in {s['num_shards']} shards"
                  f" -> {output / split}")
        for step in summary["steps"]:
            if step["dropped"]:
                print(f"{step['name']}: skipped " + ", ".join(f"{k} {v}" for k, v in step["dropped"].items()))
        print(f"stats: {output / 'stats.json'}")
    for path in summary["units"]["without_documents"]:
        print(f"refinedweb: warning: no document with text in {path}", file=sys.stderr)
    for failure in summary["units"]["failed"]:
        print(f"refinedweb: failed: {failure['input']}: {failure['error']}", file=sys.stderr)
    return 1 if summary["units"]["failed"] else 0
