"""``refinedweb refine``: run a pipeline over crawl files and write clean documents, stats and the config used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refinedweb.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, globs, folders or fsspec URLs")
    parser.add_argument("--output", "-o", required=True, help="output folder")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", help="refinedweb (default), fineweb, roots, c4 or gopher")
    source.add_argument("--config", help="a pipeline YAML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. steps.gopher_quality.min_words=100 (repeatable)")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes (default 1)")
    parser.add_argument("--executor", default="local", choices=["local", "ray"], help="where work units run")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS or a local one)")
    parser.add_argument("--rejects", action="store_true", help="also write every dropped document with its reason")
    parser.add_argument("--overwrite", action="store_true", help="replace an output folder made with another config")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")


def run(args: argparse.Namespace) -> int:
    from refinedweb.data.pipeline import load_pipeline
    from refinedweb.data.refine import refine

    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if "://" in args.output:
        raise ConfigError(f"--output {args.output}: write to a local or shared-filesystem folder; URL outputs are "
                          "not supported yet (copy the folder to object storage afterwards)")
    config = load_pipeline(args.preset, args.config, args.overrides)
    result = refine(
        args.inputs,
        Path(args.output),
        config,
        workers=args.workers,
        executor=args.executor,
        rejects=args.rejects,
        overwrite=args.overwrite,
        progress=None if not args.quiet else False,
        ray_address=args.ray_address,
    )
    if not args.quiet:
        print(format_table(result["steps"]))
        print(f"\ndocuments: {Path(args.output) / 'documents'}    stats: {Path(args.output) / 'stats.json'}")
    for failure in result["failures"]:
        print(f"refinedweb: failed: {failure['input']}: {failure['error']}", file=sys.stderr)
    return 1 if result["failures"] else 0


def format_table(steps: list[dict]) -> str:
    rows = [("step", "in", "kept", "removed", "top reasons")]
    for step in steps:
        dropped = step["dropped"]
        top = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1])[:3])
        rows.append((step["name"], str(step["total"]), str(step["kept"]), str(sum(dropped.values())), top))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(r[:4])) + "  " + r[4]
        for r in rows
    )



