"""The pretraining loop: lean, resumable, the same code on a laptop CPU and under ``torchrun`` on GPUs.

``pretrain(PretrainConfig(...)) -> PretrainResult`` is the whole API (the CLI and the demo call it). Per optimizer
step: ``grad_accum`` micro-batches, each loss term divided by its token count over the whole step (so k x b equals
one batch of k*b, transformers PR #34191), gradient clipping, AdamW (fused on CUDA), linear warmup then cosine decay
to ``min_lr_ratio * lr``. bf16 autocast and ``torch.compile`` on GPU. Validation loss on ``DATA/val`` every
``eval_interval`` steps. ``OUTPUT/metrics.jsonl`` gets one JSON line per logged step (step, loss, lr, tokens/s, MFU
against the detected GPU's peak, grad norm) and per evaluation (val_loss).

Checkpoints go to ``OUTPUT/checkpoints/step-NNNNNNNN/`` (Hugging Face layout + ``trainer_state.pt`` with optimizer,
scheduler, loader position per rank and RNG states); the final model also to ``OUTPUT/final/``. ``resume: true``
continues from the newest checkpoint and reproduces the uninterrupted loss curve.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

from refinedweb.config import Config, dump_yaml
from refinedweb.errors import ConfigError
from refinedweb.model.config import GPTConfig, PRESETS, preset
from refinedweb.model.objectives import MLMConfig


@dataclasses.dataclass
class PretrainConfig(Config):
    """One pretraining run. ``model`` (a full shape) wins over ``preset``; vocab_size comes from the tokenizer."""

    data: str = ""  # shards folder with train/ and val/ (from `refinedweb tokenize`)
    output: str = ""  # run folder: metrics.jsonl, run_config.yaml, checkpoints/, final/
    preset: str | None = "tiny"  # model preset: tiny, 124m, 350m, 1b
    model: GPTConfig | None = None  # explicit model shape (overrides preset)
    objective: str = "clm"  # clm (decoder, next token) or mlm (BERT-style encoder)
    mlm: MLMConfig = dataclasses.field(default_factory=MLMConfig)
    tokenizer: str | None = None  # tokenizer.json or its folder; default: DATA/tokenizer.json if present
    max_steps: int = 1000  # optimizer steps (the schedule's length)
    time_limit_s: float | None = None  # stop early (and save) after this many seconds of training
    batch_size: int = 8  # sequences per micro-batch per process
    grad_accum: int = 1  # micro-batches per optimizer step
    seq_len: int | None = None  # tokens per sequence (default: the model's max_seq_len)
    lr: float = 6e-4  # peak learning rate (GPT-3 paper, 125M row)
    min_lr_ratio: float = 0.1  # cosine floor as a share of lr (Chinchilla decays to 10%)
    warmup_steps: int = 100
    weight_decay: float = 0.1  # applied to matrices only, not to norm gains
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float | None = 1.0  # max global grad norm (None: no clipping)
    eval_interval: int | None = 100  # steps between validation passes (None: never)
    eval_batches: int = 20  # micro-batches per validation pass
    save_interval: int | None = 500  # steps between checkpoints (None: only the final one)
    log_interval: int = 10  # steps between metrics lines
    device: str = "auto"  # auto, cpu, cuda
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU), bf16, fp32
    compile: bool | None = None  # torch.compile the model (None: on CUDA only)
    parallel: str = "auto"  # under torchrun: ddp, fsdp, or auto (fsdp for presets >= 350m)
    seed: int = 0
    resume: bool = False  # continue from the newest checkpoint in output/checkpoints
    peak_flops: float | None = None  # override the detected GPU peak (FLOP/s) used for MFU
    verbose: bool = True  # print a line per logged step

    def validate(self) -> None:
        if self.preset is not None and self.preset not in PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r}; choose one of: {', '.join(PRESETS)}")
        if self.preset is None and self.model is None:
            raise ConfigError("give a model: set `preset` (tiny, 124m, 350m, 1b) or a `model` shape")
        if self.objective not in ("clm", "mlm"):
            raise ConfigError(f"objective={self.objective!r}; use 'clm' (decoder) or 'mlm' (encoder)")
        for key in ("max_steps", "batch_size", "grad_accum", "log_interval", "eval_batches"):
            self.check_range(key, 1, None)
        for key in ("eval_interval", "save_interval", "seq_len"):
            self.check_range(key, 1, None)
        self.check_range("warmup_steps", 0, None)
        self.check_range("time_limit_s", 0.0, None)
        self.check_range("min_lr_ratio", 0.0, 1.0)
        self.check_range("lr", 0.0, None)
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device={self.device!r}; use auto, cpu or cuda")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"precision={self.precision!r}; use auto, bf16 or fp32")
        if self.parallel not in ("auto", "ddp", "fsdp"):
            raise ConfigError(f"parallel={self.parallel!r}; use auto, ddp or fsdp")


@dataclasses.dataclass
class PretrainResult:
    steps: int  # optimizer steps done in total (including those before a resume)
    losses: list[float]  # training loss of every step run in this call
    val_loss: float | None  # last validation loss
    tokens: int  # tokens trained on in this call
    seconds: float
    checkpoint: Path  # the final model (Hugging Face layout)

    @property
    def first_loss(self) -> float:
        return self.losses[0]

    @property
    def last_loss(self) -> float:
        return self.losses[-1]


def demo_config(data: str, output: str, seconds: float = 60.0) -> PretrainConfig:
    """The tiny decoder for about ``seconds`` on a CPU (the end-to-end demo): loss falls from ~ln(V) visibly."""
    return PretrainConfig(
        data=data, output=output, preset="tiny", device="cpu", max_steps=300, time_limit_s=seconds, lr=3e-3,
        warmup_steps=20, batch_size=8, seq_len=128, log_interval=20, eval_interval=100, eval_batches=10,
        save_interval=None, verbose=False,
    )


def lr_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """Multiplier of the peak lr before optimizer step ``step`` (0-based): linear warmup, then cosine to ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def find_tokenizer(config: PretrainConfig) -> str | None:
    """``config.tokenizer``, else the copy `refinedweb tokenize` leaves in ``DATA/tokenizer/``, else None."""
    if config.tokenizer:
        if not Path(config.tokenizer).exists():
            raise ConfigError(f"tokenizer {config.tokenizer} does not exist; pass tokenizer.json or its folder")
        return config.tokenizer
    for candidate in (Path(config.data) / "tokenizer" / "tokenizer.json", Path(config.data) / "tokenizer.json"):
        if candidate.is_file():
            return str(candidate.parent if candidate.parent.name == "tokenizer" else candidate)
    return None


def resolve_model(config: PretrainConfig, base_vocab: int | None, extra_tokens: int = 0) -> GPTConfig:
    """The model shape: preset or explicit, with the vocabulary sized to the tokenizer (padded to 64)."""
    fields = dataclasses.asdict(config.model) if config.model is not None else dict(PRESETS[config.preset])
    if base_vocab is not None:
        fields["vocab_size"] = -(-(base_vocab + extra_tokens) // 64) * 64
    if config.seq_len is not None and config.seq_len > fields.get("max_seq_len", config.seq_len):
        fields["max_seq_len"] = config.seq_len
    return GPTConfig.from_dict(fields) if config.model is not None else preset(config.preset, **fields)


def pretrain(config: PretrainConfig) -> PretrainResult:
    """Train, checkpoint, and return the loss curve. See the module docstring."""
    import torch

    from refinedweb.data.tokenize.loader import ShardLoader
    from refinedweb.model import distributed as dist_utils
    from refinedweb.model.checkpoint import (
        latest_checkpoint, load_trainer_state, rng_state, save_trainer_state, set_rng_state,
    )
    from refinedweb.model.hardware import detect_peak_flops
    from refinedweb.model.metrics import MetricsLog
    from refinedweb.model.objectives import CausalLM, MaskedLM

    config.validate()
    if not config.data or not config.output:
        raise ConfigError("both `data` (a shards folder) and `output` (a run folder) are required")
    world = dist_utils.setup(config.device)
    device = world.device
    output = Path(config.output)
    train_dir, val_dir = Path(config.data) / "train", Path(config.data) / "val"
    if not train_dir.is_dir():
        raise ConfigError(f"{config.data} has no train/ folder; pass the output folder of `refinedweb tokenize`")
    tokenizer = find_tokenizer(config)
    base_vocab = _tokenizer_vocab(tokenizer)
    if config.objective == "clm":
        cfg = resolve_model(config, base_vocab)
        objective: Any = CausalLM(cfg, device, tokenizer, eos_id=None)
    else:
        cfg = resolve_model(config, base_vocab, extra_tokens=4)
        base = base_vocab if base_vocab is not None else cfg.vocab_size - 4
        objective = MaskedLM(cfg, config.mlm, base, device, seed=config.seed + world.rank)
    vocab_limit = base_vocab if base_vocab is not None else cfg.vocab_size
    seq_len = config.seq_len or cfg.max_seq_len
    if seq_len > cfg.max_seq_len:
        raise ConfigError(f"seq_len={seq_len} exceeds the model's max_seq_len={cfg.max_seq_len}")

    torch.manual_seed(config.seed)  # same initial weights on every rank
    model = objective.build_model().to(device)
    resume_from = latest_checkpoint(output) if config.resume else None
    if config.resume and resume_from is None and world.is_main:
        print(f"no checkpoint in {output / 'checkpoints'}; starting from scratch", file=sys.stderr)
    if resume_from is not None:
        model.load_state_dict(objective.load(resume_from))
    strategy = config.parallel
    if strategy == "auto":
        strategy = "fsdp" if config.preset in ("350m", "1b") else "ddp"
    wrapped = dist_utils.wrap(model, world, strategy)
    use_compile = config.compile if config.compile is not None else device.type == "cuda"
    runnable = torch.compile(wrapped) if use_compile else wrapped
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 for the float32 matmuls that autocast leaves
    bf16 = config.precision == "bf16" or (config.precision == "auto" and device.type == "cuda")
    autocast = (
        (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    )

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=(config.beta1, config.beta2), fused=device.type == "cuda",
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, config.warmup_steps, config.max_steps, config.min_lr_ratio)
    )
    loader = ShardLoader(train_dir, config.batch_size, seq_len, world.rank, world.world_size, config.seed)
    if tokenizer is not None:
        _check_tokenizer(tokenizer, loader.tokenizer_sha256)
    objective.eos_id = loader.eos_id
    val_loader_args = (val_dir, config.batch_size, seq_len, world.rank, world.world_size, config.seed)
    if config.eval_interval:
        ShardLoader(*val_loader_args)  # fail now, not at the first evaluation, when val/ is missing or empty
    step = 0
    if resume_from is not None:
        state = load_trainer_state(resume_from)
        dist_utils.load_optimizer_state(model, optimizer, state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        # Per-rank states; the ShardLoader also resumes under another world size, the RNG streams then restart
        # from rank 0's (exactness needs the same world size).
        mine = world.rank if len(state["loader"]) == world.world_size else 0
        loader.load_state_dict(state["loader"][mine])
        objective.load_state_dict(state["objective"][mine])
        set_rng_state(state["rng"][mine])
        step = state["step"]
        if world.is_main:
            print(f"resumed from {resume_from} at step {step}", file=sys.stderr)

    if world.is_main:
        output.mkdir(parents=True, exist_ok=True)
        dump_yaml({**config.to_dict(), "resolved_model": cfg.to_dict()}, output / "run_config.yaml")
    device_name, peak = detect_peak_flops(str(device))
    peak = config.peak_flops or peak
    flops_per_token = objective.flops_per_token(model, seq_len)
    batches = iter(loader)  # endless: the loader goes on into the next epoch by itself

    def run_step() -> tuple[torch.Tensor, torch.Tensor | None]:
        micro = []
        for _ in range(config.grad_accum):
            batch = next(batches)
            if int(batch.max()) >= vocab_limit:
                raise ConfigError(
                    f"token id {int(batch.max())} in {train_dir} is outside the vocabulary ({vocab_limit}); "
                    "pass the tokenizer the shards were made with (`tokenizer`) or a larger model.vocab_size"
                )
            micro.append(objective.prepare(batch))
        no_sync = getattr(wrapped, "no_sync", None)
        step_loss = accumulate_gradients(objective, runnable, micro, world, autocast, no_sync)
        grad_norm = None
        if config.grad_clip is not None:
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return step_loss, grad_norm

    def evaluate() -> float:
        val_loader = ShardLoader(*val_loader_args)
        val_rng = rng_state()  # evaluation must not move the training RNG streams
        obj_state = objective.state_dict()
        sums = torch.zeros(2, dtype=torch.float64, device=device)
        runnable.eval()
        with torch.no_grad():
            for _, batch in zip(range(config.eval_batches), val_loader):
                inputs = objective.prepare(batch)
                with autocast():
                    term = next(iter(objective.weights))  # the token loss: lm or mlm
                    sums[0] += objective.losses(runnable, inputs)[term].double()
                sums[1] += objective.counts(inputs)[term]
        runnable.train()
        set_rng_state(val_rng)
        objective.load_state_dict(obj_state)
        sums = dist_utils.all_reduce_sum(sums, world)
        return float(sums[0] / sums[1].clamp(min=1))

    def save(directory: Path) -> None:
        model_sd = dist_utils.model_state(model)
        optim_sd = dist_utils.optimizer_state(model, optimizer)
        per_rank = dist_utils.all_gather(
            {"loader": loader.state_dict(), "objective": objective.state_dict(), "rng": rng_state()}, world
        )
        if world.is_main:
            objective.save(model_sd, directory)
            save_trainer_state(directory, {
                "step": step, "optimizer": optim_sd, "scheduler": scheduler.state_dict(),
                "loader": [r["loader"] for r in per_rank], "objective": [r["objective"] for r in per_rank],
                "rng": [r["rng"] for r in per_rank], "config": config.to_dict(),
            })

    metrics = MetricsLog(
        output / "metrics.jsonl", enabled=world.is_main, echo=config.verbose, resume_step=step if resume_from else None
    )
    losses: list[float] = []
    pending: list[torch.Tensor] = []  # losses still on the device: read them at log steps, not every step
    val_loss = None
    tokens_per_step = config.batch_size * config.grad_accum * seq_len * world.world_size
    start_step, started = step, time.perf_counter()
    window_start, window_steps = time.perf_counter(), 0
    try:
        while step < config.max_steps:
            loss_t, grad_norm = run_step()
            step += 1
            window_steps += 1
            pending.append(loss_t)
            last = step == config.max_steps or _out_of_time(config, started, world)
            if step % config.log_interval == 0 or last:
                values = torch.stack(pending).tolist()
                pending.clear()
                losses.extend(values)
                if not all(math.isfinite(v) for v in values):
                    raise FloatingPointError(f"loss became {values[-1]} by step {step}; lower lr or check the data")
                elapsed = time.perf_counter() - window_start
                tok_s = tokens_per_step * window_steps / elapsed
                mfu = tok_s / world.world_size * flops_per_token / peak if peak else None
                record = {
                    "step": step, "loss": round(values[-1], 6), "lr": scheduler.get_last_lr()[0],
                    "tokens_per_s": round(tok_s, 1), "mfu": round(mfu, 4) if mfu is not None else None,
                    "grad_norm": round(float(grad_norm), 6) if grad_norm is not None else None,
                    "tokens": step * tokens_per_step, "device": device_name,
                }
                metrics.write(record)
                window_start, window_steps = time.perf_counter(), 0
            paused = time.perf_counter()  # evaluation and saving do not count against tokens/s
            if config.eval_interval and (step % config.eval_interval == 0 or last):
                val_loss = evaluate()
                metrics.write({"step": step, "val_loss": round(val_loss, 6)})
            if (config.save_interval and step % config.save_interval == 0) or last:
                save(output / "checkpoints" / f"step-{step:08d}")
            window_start += time.perf_counter() - paused
            if last:
                break
        final = output / "final"
        if world.is_main:
            objective.save(dist_utils.model_state(model), final)
        else:
            dist_utils.model_state(model)  # a collective: every rank takes part
    finally:
        metrics.close()
        dist_utils.teardown(world)
    return PretrainResult(
        steps=step, losses=losses, val_loss=val_loss, tokens=(step - start_step) * tokens_per_step,
        seconds=time.perf_counter() - started, checkpoint=final,
    )


def accumulate_gradients(objective, model, micro: list[dict], world, autocast, no_sync=None):
    """Forward and backward every micro-batch of one optimizer step; return the step's mean loss (all ranks).

    Each loss term is summed per micro-batch and divided by its count over the whole step and all ranks, so the
    gradient equals that of one batch holding all micro-batches, even when counts differ between them (masked
    tokens). ``no_sync`` (DDP's) skips the gradient all-reduce on all but the last micro-batch.
    """
    import torch

    from refinedweb.model.distributed import all_reduce_sum

    totals = {k: 0 for k in objective.weights}
    for inputs in micro:
        for k, n in objective.counts(inputs).items():
            totals[k] += n
    device = next(iter(micro[0].values())).device
    counts = [float(n) for n in totals.values()]
    if world.distributed:  # (a single process skips the device round trip)
        counts = all_reduce_sum(torch.tensor(counts, dtype=torch.float64, device=device), world).tolist()
    # Each rank divides by the global count; DDP/FSDP average gradients over ranks, so multiply it back.
    scale = {k: world.world_size / max(1.0, n) for k, n in zip(totals, counts)}
    step_loss = torch.zeros((), device=device)
    for i, inputs in enumerate(micro):
        last = i == len(micro) - 1
        with (contextlib.nullcontext() if last or no_sync is None else no_sync()), autocast():
            sums = objective.losses(model, inputs)
            loss = sum(objective.weights[k] * sums[k] * scale[k] for k in sums)
        loss.backward()
        step_loss += loss.detach().float() / world.world_size
    return all_reduce_sum(step_loss, world)


def _tokenizer_json(tokenizer: str) -> Path:
    path = Path(tokenizer)
    return path / "tokenizer.json" if path.is_dir() else path


def _tokenizer_vocab(tokenizer: str | None) -> int | None:
    if tokenizer is None:
        return None
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(_tokenizer_json(tokenizer))).get_vocab_size()


def _check_tokenizer(tokenizer: str, shards_sha256: str) -> None:
    """Refuse a tokenizer other than the one the shards were written with (its ids would mean other text)."""
    import hashlib

    path = _tokenizer_json(tokenizer)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if sha != shards_sha256:
        raise ConfigError(
            f"tokenizer {path} (sha256 {sha[:12]}) is not the one the shards were written with "
            f"(tokenizer_sha256 {shards_sha256[:12]}); pass the tokenizer folder that `refinedweb tokenize` used"
        )


def _out_of_time(config: PretrainConfig, started: float, world) -> bool:
    """Whether the time limit is reached, decided on rank 0 so that every rank stops at the same step."""
    if config.time_limit_s is None:
        return False
    import torch

    from refinedweb.model.distributed import all_reduce_sum

    over = float(time.perf_counter() - started > config.time_limit_s) if world.is_main else 0.0
    return bool(all_reduce_sum(torch.tensor([over], device=world.device), world)[0] > 0)
