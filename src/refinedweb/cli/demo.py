"""``refinedweb demo``: the whole path on the real sample crawl shipped in the package, in about a minute."""

from __future__ import annotations

import argparse
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the refinery")


def sample_files() -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob("*.warc.gz"))


def run(args: argparse.Namespace) -> int:
    from refinedweb.cli.refine import format_table
    from refinedweb.data.pipeline import load_pipeline
    from refinedweb.data.refine import refine

    output = Path(args.output)
    print(f"1. refine: {len(sample_files())} real WARC files from {SAMPLES} with the refinedweb preset")
    config = load_pipeline("refinedweb", None, [])
    result = refine(sample_files(), output / "refined", config, workers=args.workers, rejects=True, overwrite=True)
    print(format_table(result["steps"]))
    print(f"   kept documents: {output / 'refined' / 'documents'}; every removal with its reason: "
          f"{output / 'refined' / 'rejects'}")
    print(f"   report: {output / 'refined' / 'report.html'}")
    return 1 if result["failures"] else 0
