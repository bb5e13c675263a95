"""``refinedweb demo``: the whole path on the real sample crawl shipped in the package, in about two minutes on a
laptop CPU: refine → train a tokenizer → tokenize into shards → pretrain the tiny decoder → generate a sample."""

from __future__ import annotations

import argparse
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", default="demo-output", help="output folder (default: demo-output)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the refinery")
    parser.add_argument("--train-seconds", type=float, default=60.0, help="CPU time budget for pretraining")
    parser.add_argument("--refine-only", action="store_true", help="stop after the refinery (no torch needed)")


def sample_files() -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob("*.warc.gz"))


def run(args: argparse.Namespace) -> int:
    from refinedweb.cli.refine import format_table
    from refinedweb.data.pipeline import load_pipeline
    from refinedweb.data.refine import refine

    output = Path(args.output)
    refined = output / "refined"
    print(f"1. refine: {len(sample_files())} real WARC files from {SAMPLES} with the refinedweb preset")
    config = load_pipeline("refinedweb", None, [])
    result = refine(sample_files(), refined, config, workers=args.workers, rejects=True, overwrite=True)
    print(format_table(result["steps"]))
    print(f"   kept documents: {refined / 'documents'}\n   every removal with its reason: {refined / 'rejects'}")
    print(f"   report: {refined / 'report.html'}")
    if result["failures"]:
        return 1
    if args.refine_only:
        return 0
    return _model_half(refined / "documents", output, args.train_seconds)


def _model_half(documents: Path, output: Path, seconds: float) -> int:
    from refinedweb.data.tokenize.run import tokenize_corpus
    from refinedweb.data.tokenize.task import TokenizeConfig
    from refinedweb.data.tokenize.train import TrainConfig, train_on_documents
    from refinedweb.model.pretrain import demo_config, pretrain

    tokenizer = output / "tokenizer"
    record = train_on_documents([str(documents)], TrainConfig(vocab_size=2048), tokenizer)
    print(f"\n2. tokenizer: byte-level BPE, {record['vocab_size']} tokens, trained on {record['documents']} documents"
          f" -> {tokenizer}")
    shards = output / "shards"
    stats = tokenize_corpus([str(documents)], shards, TokenizeConfig(tokenizer=str(tokenizer), val_fraction=0.1),
                            overwrite=True, progress=False)
    print(f"3. tokenize: {_count(stats)} -> {shards}")
    print(f"4. pretrain: the tiny decoder on CPU for about {seconds:.0f} s")
    result = pretrain(demo_config(str(shards), str(output / "model"), seconds=seconds))
    print(f"   {result.steps} steps, {result.tokens:,} tokens: training loss {result.first_loss:.3f} -> "
          f"{result.last_loss:.3f}" + (f", validation loss {result.val_loss:.3f}" if result.val_loss else ""))
    print(f"   checkpoint (Hugging Face Llama layout): {result.checkpoint}")
    print("5. generate: `refinedweb generate` samples from the checkpoint (top-k 40, temperature 0.8)")
    print("   " + _sample(result.checkpoint).replace("\n", "\n   "))
    return 0


def _count(stats: dict) -> str:
    splits = [f"{name} {s['num_tokens']:,} tokens in {s['num_documents']} documents"
              for name, s in stats.get("splits", {}).items() if isinstance(s, dict) and "num_tokens" in s]
    return "; ".join(splits) or "done"


def _sample(checkpoint: Path, prompt: str = "The", tokens: int = 40) -> str:
    """Sample a continuation with our decoding loop (``refinedweb.model.generate``), seeded so reruns agree."""
    from refinedweb.model.generate import GenerationParams, Generator

    generator = Generator.load(checkpoint)
    params = GenerationParams(max_new_tokens=tokens, temperature=0.8, top_k=40, seed=0)
    return prompt + generator.generate(prompt, params)[0].text
