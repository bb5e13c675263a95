"""The one command line. Subcommands come from ``COMMANDS``; each module has ``add_arguments(parser)`` and
``run(args) -> int``. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error (message, no
traceback)."""

from __future__ import annotations

import argparse
import importlib
import sys

from refinedweb import __version__
from refinedweb.errors import ConfigError

# name -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "refine": ("refinedweb.cli.refine", "run a refinement pipeline on WARC/WET/ARC, JSONL or Parquet input"),
    "extract": ("refinedweb.cli.extract", "extract the main text of every HTML response in WARC files to JSONL"),
    "dedup": ("refinedweb.cli.dedup", "deduplicate JSONL/Parquet documents (exact, URL, MinHash, substring)"),
    "tokenizer": ("refinedweb.cli.tokenizer", "train or import a BPE tokenizer"),
    "tokenize": ("refinedweb.cli.tokenize", "tokenize documents into training shards"),
    "pretrain": ("refinedweb.cli.pretrain", "pretrain a decoder (or an MLM encoder) on token shards"),
    "finetune": ("refinedweb.cli.finetune", "fine-tune a model for classification, NER or instructions"),
    "evaluate": ("refinedweb.cli.evaluate", "evaluate a model: perplexity, multiple choice, NER, classification"),
    "generate": ("refinedweb.cli.generate", "generate text from a checkpoint"),
    "serve": ("refinedweb.cli.serve", "serve a checkpoint over an OpenAI-compatible HTTP API"),
    "demo": ("refinedweb.cli.demo", "run the end-to-end demo on the sample crawl shipped in the package"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default exits 2 already; keep the message short and clear
        self.print_usage(sys.stderr)
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="refinedweb", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"refinedweb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # a command that has not landed yet
            raise
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        return int(args._run(args) or 0)
    except ConfigError as exc:
        print(f"refinedweb: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("refinedweb: interrupted", file=sys.stderr)
        return 130
