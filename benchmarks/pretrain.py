"""Training throughput: our decoder vs transformers' LlamaForCausalLM of the same shape, in one run.

Both models take the same training step: the loop's ``accumulate_gradients`` (forward, summed token loss, backward),
gradient clipping at 1.0 and AdamW (fused on CUDA), on the same batches of real text. MFU uses the PaLM / nanoGPT
FLOPs-per-token formula of our model (the shapes are identical) and the detected GPU's dense bf16 peak.

    # GPU (the issue's setting): GPT-124M shape (12 x 768, SwiGLU 2048, tied, vocab 50304), T=1024, bf16, compiled
    python benchmarks/pretrain.py --mode gpu --batch-size 32 --json benchmarks/pretrain-gpu.json
    # CPU: a small shape, fp32, eager; prints the same table and the ratio
    python benchmarks/pretrain.py --mode cpu --json benchmarks/pretrain-cpu.json

Data: token ids of real text, byte-level encoded (tests/data/pretrain/shakespeare.txt unless ``--text`` is given) and
cut into (B, T+1) windows; throughput does not depend on which ids they are, but the loss printed beside it does
show that both models are training on text.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from refinedweb.model.config import GPTConfig, preset  # noqa: E402
from refinedweb.model.distributed import World  # noqa: E402
from refinedweb.model.gpt import GPT, token_loss  # noqa: E402
from refinedweb.model.hardware import detect_peak_flops  # noqa: E402
from refinedweb.model.objectives import CausalLM  # noqa: E402
from refinedweb.model.pretrain import accumulate_gradients  # noqa: E402

SHAPES = {
    "gpu": dict(shape=preset("124m"), seq_len=1024, batch_size=32, steps=20, warmup=5),
    "cpu": dict(
        shape=GPTConfig(vocab_size=512, n_layer=4, d_model=256, n_head=4, d_ff=704, max_seq_len=256),
        seq_len=256, batch_size=4, steps=8, warmup=2,
    ),
}


class HFLogits(nn.Module):
    """transformers' LlamaForCausalLM behind our model's call signature: ids (B, T) [, targets] -> logits | loss."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        from transformers import LlamaConfig, LlamaForCausalLM

        hf = cfg.to_hf_config()
        hf.pop("architectures"), hf.pop("model_type"), hf.pop("torch_dtype")
        self.model = LlamaForCausalLM(LlamaConfig(**hf, attn_implementation="sdpa", use_cache=False))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.model(input_ids=idx, use_cache=False).logits
        return logits if targets is None else token_loss(logits, targets)[0]


def real_batches(text_path: Path, vocab: int, batch_size: int, seq_len: int, count: int) -> list[np.ndarray]:
    ids = np.frombuffer(text_path.read_bytes(), dtype=np.uint8).astype(np.int64) % vocab
    need = batch_size * (seq_len + 1)
    reps = -(-need * count // len(ids))
    stream = np.tile(ids, reps)
    return [stream[i * need : (i + 1) * need].reshape(batch_size, seq_len + 1) for i in range(count)]


def make_step(model: nn.Module, args, cfg: GPTConfig, device: torch.device):
    """One training step of ``model`` as a closure: batch -> loss (device synchronised, so it can be timed)."""
    model = model.to(device)
    objective = CausalLM(cfg, device, None, None)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), fused=device.type == "cuda")
    runnable = torch.compile(model) if args.compile else model
    bf16 = device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    world = World(0, 1, device)

    def step(batch: np.ndarray) -> float:
        loss = accumulate_gradients(objective, runnable, [objective.prepare(batch)], world, autocast)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return value

    return step


def measure(models: dict, args, cfg: GPTConfig, batches, device: torch.device, peak) -> list[dict]:
    """Warm up (and compile) each model, then time the models in alternation, step by step, so that both see
    the same machine load (the CPU runs here share a 2-core VM with other jobs)."""
    steps, warmup_s, times, losses = {}, {}, {name: [] for name in models}, {name: [] for name in models}
    for name, build in models.items():
        torch.manual_seed(0)
        steps[name] = make_step(build(), args, cfg, device)
        start = time.perf_counter()
        for batch in batches[: args.warmup]:
            losses[name].append(steps[name](batch))
        warmup_s[name] = time.perf_counter() - start
    for batch in batches[args.warmup :]:
        for name in models:
            start = time.perf_counter()
            losses[name].append(steps[name](batch))
            times[name].append(time.perf_counter() - start)
    with torch.device("meta"):  # same shape, same FLOPs for both models; meta builds no weights
        flops = GPT(cfg).flops_per_token(args.seq_len)
    rows = []
    for name in models:
        step_s = statistics.median(times[name])
        tok_s = args.batch_size * args.seq_len / step_s
        rows.append({
            "model": name, "ms_per_step": round(step_s * 1000, 2), "tokens_per_s": round(tok_s, 1),
            "mfu": round(tok_s * flops / peak, 4) if peak else None, "warmup_s": round(warmup_s[name], 1),
            "loss_first": round(losses[name][0], 4), "loss_last": round(losses[name][-1], 4),
        })
    if device.type == "cuda":
        rows[-1]["peak_mem_gib_both"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["auto", "gpu", "cpu"], default="auto")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seq-len", type=int)
    parser.add_argument("--steps", type=int, help="timed steps (after warm-up)")
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile both models (default: on GPU only)")
    parser.add_argument("--attention", choices=["auto", "flash", "cudnn", "efficient"], default="auto",
                        help="the only scaled_dot_product_attention backend allowed (GPU; default: torch's choice)")
    parser.add_argument("--text", type=Path, default=ROOT / "tests" / "data" / "pretrain" / "shakespeare.txt")
    parser.add_argument("--threads", type=int, help="torch CPU threads (CPU mode)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    mode = args.mode if args.mode != "auto" else ("gpu" if torch.cuda.is_available() else "cpu")
    if mode == "gpu" and not torch.cuda.is_available():
        parser.error("--mode gpu needs a CUDA device")
    setup = SHAPES[mode]
    cfg: GPTConfig = setup["shape"]
    for key in ("batch_size", "seq_len", "steps", "warmup"):
        if getattr(args, key) is None:
            setattr(args, key, setup[key])
    if args.compile is None:
        args.compile = mode == "gpu"
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if mode == "gpu" else "cpu")
    device_name, peak = detect_peak_flops(str(device))
    if mode == "gpu":
        torch.backends.cuda.matmul.allow_tf32 = True
        if args.attention != "auto":
            chosen = {"efficient": "mem_efficient"}.get(args.attention, args.attention)
            for name in ("flash", "cudnn", "mem_efficient", "math"):
                getattr(torch.backends.cuda, f"enable_{name}_sdp")(name == chosen)
    batches = real_batches(args.text, cfg.vocab_size, args.batch_size, args.seq_len, args.warmup + args.steps)
    models = {"refinedweb GPT": lambda: GPT(cfg), "transformers LlamaForCausalLM": lambda: HFLogits(cfg)}
    rows = measure(models, args, cfg, batches, device, peak)
    ratio = rows[0]["tokens_per_s"] / rows[1]["tokens_per_s"]
    print(f"device: {device_name}; shape {cfg.n_layer}L x {cfg.d_model}d, T={args.seq_len}, B={args.batch_size}, "
          f"{'bf16' if mode == 'gpu' else 'fp32'}, compile={args.compile}, threads={torch.get_num_threads()}, "
          f"attention={args.attention}")
    print(f"{'model':32} {'ms/step':>9} {'tok/s':>11} {'MFU':>7} {'loss first->last':>18}")
    for r in rows:
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        print(f"{r['model']:32} {r['ms_per_step']:9.1f} {r['tokens_per_s']:11,.0f} {mfu:>7} "
              f"{r['loss_first']:>8.3f} -> {r['loss_last']:.3f}")
    print(f"ratio refinedweb / transformers tokens/s: {ratio:.2f}")
    if args.json:
        report = {
            "mode": mode, "device": device_name, "peak_flops": peak, "torch": torch.__version__,
            "python": platform.python_version(), "shape": cfg.to_dict(), "seq_len": args.seq_len,
            "batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup, "compile": args.compile,
            "attention": args.attention,
            "threads": torch.get_num_threads(), "rows": rows, "ratio_tokens_per_s": round(ratio, 3),
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
