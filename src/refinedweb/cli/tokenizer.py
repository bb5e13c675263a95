"""``refinedweb tokenizer``: train a byte-level BPE tokenizer on documents, or import an existing one, into a folder
that ``refinedweb tokenize`` and ``transformers.AutoTokenizer.from_pretrained`` both load."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refinedweb.errors import ConfigError, FatalError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    train = actions.add_parser("train", help="train a byte-level BPE tokenizer on JSONL/Parquet/WARC documents")
    train.add_argument("inputs", nargs="+", metavar="INPUT", help="files, globs or folders of documents")
    train.add_argument("--vocab-size", type=int, required=True, help="vocabulary size, special tokens included")
    train.add_argument("--output", "-o", required=True, help="folder for tokenizer.json and the transformers files")
    train.add_argument("--min-frequency", type=int, default=2, help="merge only pairs seen this often (default 2)")
    train.add_argument("--max-documents", type=int, default=None, help="train on the first N documents only")
    for role, default in (("bos", "<|bos|>"), ("eos", "<|endoftext|>"), ("pad", "<|pad|>"), ("unk", "<|unk|>")):
        train.add_argument(f"--{role}-token", default=default,
                           help=f"the {role.upper()} special token (default {default}; '' disables it"
                           + (", except EOS" if role == "eos" else "") + ")")
    imp = actions.add_parser("import", help="copy a tokenizer.json or a local Hugging Face tokenizer folder")
    imp.add_argument("source", help="a tokenizer.json file or a local Hugging Face tokenizer folder")
    imp.add_argument("--output", "-o", required=True, help="destination folder")
    imp.add_argument("--eos-token", default=None, help="the EOS token when the source does not name one")


def run(args: argparse.Namespace) -> int:
    if args.action == "train":
        return _train(args)
    return _import(args)


def _train(args: argparse.Namespace) -> int:
    from refinedweb.data.tokenize.train import TrainConfig, train_on_documents

    config = TrainConfig.from_dict({
        "vocab_size": args.vocab_size,
        "min_frequency": args.min_frequency,
        "max_documents": args.max_documents,
        "special": {"bos": args.bos_token or None, "eos": args.eos_token, "pad": args.pad_token or None,
                    "unk": args.unk_token or None},
    })
    try:
        record = train_on_documents(args.inputs, config, Path(args.output))
    except FatalError as exc:  # an unreadable input file: nothing to train on
        print(f"refinedweb: failed: {exc}", file=sys.stderr)
        return 1
    print(f"trained a {record['vocab_size']}-token byte-level BPE tokenizer on {record['documents']} documents"
          f" -> {Path(args.output) / 'tokenizer.json'}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from refinedweb.data.tokenize.files import load_tokenizer, save_tokenizer

    output = Path(args.output)
    if output.resolve() == Path(args.source).resolve():
        raise ConfigError("--output is the source folder; choose another folder")
    loaded = load_tokenizer(args.source, args.eos_token)
    save_tokenizer(loaded.json_text, loaded.roles, output)
    print(f"imported a {loaded.vocab_size}-token tokenizer (EOS {loaded.eos_token!r} = {loaded.eos_id})"
          f" -> {output / 'tokenizer.json'}, sha256 {loaded.sha256[:16]}")
    return 0
