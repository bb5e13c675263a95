"""``refinedweb extract``: the main text of every HTML response record, one JSON line each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="WARC/ARC files, globs or URLs")
    parser.add_argument("--output", "-o", required=True, help="OUT.jsonl, OUT.jsonl.gz or OUT.jsonl.zst")
    parser.add_argument("--engine", default=None, help="extraction engine (default: the Extract step's default)")
    parser.add_argument("--timeout", type=float, default=2.0, help="per-document time limit in seconds")
    parser.add_argument("--remove-urls", action="store_true", help="remove URLs from the text (RefinedWeb)")


def run(args: argparse.Namespace) -> int:
    from refinedweb.data.extract import Extract
    from refinedweb.data.readers import ReaderConfig, read_documents
    from refinedweb.data.writers import FORMATS, RecordWriter, WriterConfig
    from refinedweb.errors import ConfigError, RefinedWebError
    from refinedweb.io import expand_inputs
    from refinedweb.stats import StepStats

    output = Path(args.output)
    fmt = next((f for f in FORMATS if f.startswith("jsonl") and output.name.endswith("." + f)), None)
    if fmt is None:
        raise ConfigError(f"--output {output} must end in .jsonl, .jsonl.gz or .jsonl.zst")
    options = {"timeout_seconds": args.timeout, "remove_urls": args.remove_urls}
    if args.engine:
        options["engine"] = args.engine
    step = Extract.from_dict(options)
    read_stats = StepStats("read")
    failed = []
    with RecordWriter(output, WriterConfig(format=fmt)) as writer:
        for path in expand_inputs(args.inputs):
            try:
                for doc in step(read_documents(path, ReaderConfig(format="warc"), read_stats)):
                    writer.write({"url": doc.url, "text": doc.text, "id": doc.id, **doc.metadata})
            except RefinedWebError as exc:
                failed.append(f"{path}: {exc}")
    for stats in (read_stats, step.stats):
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items()))
        print(f"{stats.name}: {stats.total} in, {stats.kept} kept" + (f" (skipped: {skipped})" if skipped else ""),
              file=sys.stderr)
    for line in failed:
        print(f"refinedweb: failed: {line}", file=sys.stderr)
    return 1 if failed else 0
