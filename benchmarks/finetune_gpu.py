"""GPU mode of the fine-tuning benchmark (``benchmarks/finetune.py --part gpu``): the FULL sets, one command, one GPU.

Runs, in one process and in this order (each result is written to ``RESULTS_DIR/finetune-gpu.json`` as soon as it
exists, so a run cut short still leaves what it finished):

1. NER, CoNLL-2003 English (full eng.train / testa / testb): ours vs ``transformers.Trainer``, same model, tokenized
   features, hyperparameters and seed; bf16 autocast on both sides (ours: ``--bf16 auto``; Trainer: ``bf16=True``).
2. LoRA on the same NER data and epochs; peak GPU memory (``torch.cuda.max_memory_allocated``, reset before each
   run) of full fine-tuning (the ours run of step 1) and of LoRA.
3. Distillation: the ours run of step 1 is the teacher; a 3-layer student (MiniLM's first 3 layers) fine-tuned
   alone vs distilled (one run per ``--gpu-distill alpha:T`` pair; the summary picks the best by dev), same data,
   epochs and seed (here every training sentence has gold labels: there is no unlabelled CoNLL text left over).
4. SST-2 (sst2-alps-split: full train 60,614, dev 6,735, test = GLUE dev 872): ours vs Trainer.

The device has no network and no /work/shared: everything comes from the bundle that ``benchmarks/gpu_bundle.py``
builds (data files and the MiniLM folder). The bundle stores the weights in fp16 to fit the 64 MiB transfer limit;
they are upcast to an fp32 folder here before anything loads them, so ours, the Trainer, LoRA and the student all
start from the same fp32 weights (the fp16 rounding of the pretrained weights is the same for every run).
A run is skipped, not started, when the time so far plus its expected length (scaled from the NER run) would pass
``--budget-seconds`` (510), so the command ends inside the device's limit; skipped runs are listed in the JSON.
"""

from __future__ import annotations

import gc
import json
import shutil
import time
from pathlib import Path

import torch

from finetune import distill_pairs, lora_grid, make_student, rows_table, run_hf_trainer, run_ours

MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def fp32_model(source: Path, target: Path) -> str:
    """Copy the bundled model folder with its weights upcast to float32 (a no-op copy when they already are)."""
    from safetensors.torch import load_file, save_file

    target.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).exists():
            shutil.copy(source / name, target / name)
    weights = load_file(str(source / "model.safetensors"))
    save_file({k: v.float().contiguous() for k, v in weights.items()}, str(target / "model.safetensors"),
              metadata={"format": "pt"})
    return str(target)


def fresh() -> None:
    """Free the previous run's tensors and start a new peak-memory window."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def environment() -> dict:
    import transformers

    env = {"torch": torch.__version__, "transformers": transformers.__version__, "cuda": torch.version.cuda,
           "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
           "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported()}
    for name in ("peft", "accelerate"):
        try:
            env[name] = __import__(name).__version__
        except ImportError:
            env[name] = None
    return env


def run(args) -> dict:
    bundle = Path(args.bundle)
    work = Path(args.workdir) / "gpu"
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    if not torch.cuda.is_available() and not args.allow_cpu:
        raise SystemExit("--part gpu needs CUDA (pass --allow-cpu with small --max-train-samples to test the logic)")
    missing = [p for p in ("minilm/model.safetensors", "conll2003-en/eng.train.gz", "sst2/train.tsv.gz")
               if not (bundle / p).exists()]
    if missing:
        raise SystemExit(f"--bundle {bundle}: {', '.join(missing)} missing; build it with `python "
                         "benchmarks/gpu_bundle.py` at the repository root and carry the folder to the device")
    started = time.perf_counter()
    model = fp32_model(bundle / "minilm", work / "minilm-fp32")
    conll = bundle / "conll2003-en"
    sst2 = bundle / "sst2"
    ner_files = {"task": "ner", "train": str(conll / "eng.train.gz"), "validation": str(conll / "eng.testa.gz"),
                 "test": str(conll / "eng.testb.gz")}
    sst2_files = {"task": "cls", "train": str(sst2 / "train.tsv.gz"), "validation": str(sst2 / "dev.tsv.gz"),
                  "test": str(sst2 / "test.tsv")}
    limit = {"max_train_samples": args.max_train_samples, "max_eval_samples": args.max_eval_samples}
    common = {"batch_size": 32, "eval_batch_size": 256, "warmup_ratio": 0.1, "weight_decay": 0.01, "max_length": 128,
              "seed": 42, "schedule": "linear", "log_every": 200, **{k: v for k, v in limit.items() if v}}
    ner_h = {**common, "epochs": args.ner_epochs, "lr": args.ner_lr}
    sst2_h = {**common, "epochs": args.sst2_epochs, "lr": args.sst2_lr}
    out = {"environment": environment(), "bundle": str(bundle), "trainer_first": args.trainer_first,
           "ner_hyperparameters": ner_h,
           "sst2_hyperparameters": sst2_h, "hf_train_sampling_strategy": args.hf_sampling, "runs": {}, "skipped": []}

    def save() -> None:
        out["wall_seconds"] = time.perf_counter() - started
        (results_dir / "finetune-gpu.json").write_text(json.dumps(out, indent=2))

    durations: dict[str, float] = {}

    def step(name: str, job, expect: float = 0.0) -> dict | None:
        """Run ``job`` unless it would end past the budget (``expect``: its likely seconds, from earlier runs)."""
        now = time.perf_counter() - started
        if now + expect > args.budget_seconds:
            print(f"== {name}: skipped (t={now:.0f} s + ~{expect:.0f} s would pass the {args.budget_seconds:g} s "
                  "budget)", flush=True)
            out["skipped"].append(name)
            save()
            return None
        print(f"== {name} (t={now:.0f} s)", flush=True)
        fresh()
        try:
            result = job()
        except ImportError as exc:  # e.g. no accelerate for the Trainer: record it, go on with the rest
            print(f"== {name}: not run ({exc})", flush=True)
            out["skipped"].append(f"{name}: {exc}")
            save()
            return None
        out["runs"][name] = result
        durations[name] = time.perf_counter() - started - now
        result["run_wall_seconds"] = durations[name]
        print(f"== {name}: {json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)})}", flush=True)
        save()
        return result

    # warm-up, not recorded: CUDA context, cuBLAS handles, autocast and fused-AdamW kernels are created once per
    # process; without it the first timed run (ours) would pay for them and the Trainer after it would not
    fresh()
    run_ours(ner_files, model, work / "warmup", {**ner_h, "max_train_samples": 256, "max_eval_samples": 64,
                                                 "epochs": 1})
    teacher_dir = work / "ner-ours"
    # Ours runs first by default; --trainer-first swaps each pair, to see whether the order (first use of kernels,
    # cuBLAS heuristics and allocator growth in this process) favours the second run.
    ner_pair = [("ner_ours", lambda: run_ours(ner_files, model, teacher_dir, ner_h)),
                ("ner_hf_trainer", lambda: run_hf_trainer(ner_files, model, work / "ner-hf", ner_h, args.hf_sampling))]
    for name, job in ner_pair[::-1] if args.trainer_first else ner_pair:
        step(name, job, max(durations.values(), default=0.0))
    ner = durations.get("ner_ours", 0.0)  # the yardstick for the expected length of the later runs
    r, lr, targets = lora_grid(args.gpu_lora)[0]
    step("ner_lora", lambda: run_ours(ner_files, model, work / "ner-lora",
                                      {**ner_h, "lr": lr, "lora_r": r, "lora_alpha": 2.0 * r,
                                       "lora_targets": targets.split(","),
                                       "epochs": args.gpu_lora_epochs or args.ner_epochs}),
         ner * (args.gpu_lora_epochs or args.ner_epochs) / args.ner_epochs)
    student = make_student(model, 3, work / "student-3layer")
    step("student_alone", lambda: run_ours(ner_files, student, work / "student-alone", ner_h), 0.7 * ner)
    for alpha, t in distill_pairs(args.gpu_distill) if (teacher_dir / "model").exists() else []:
        name = f"student_distilled_a{alpha:g}_t{t:g}"
        step(name, lambda: run_ours(ner_files, student, work / name, {**ner_h, "teacher": str(teacher_dir / "model"),
                                                                       "distill_alpha": alpha, "temperature": t}),
             0.8 * ner)
    # SST-2 has 4.3x the examples of eng.train (shorter ones): scale by examples x epochs, an overestimate
    sst2 = ner * (60614 * args.sst2_epochs) / (14041 * args.ner_epochs)
    sst2_pair = [("sst2_ours", lambda: run_ours(sst2_files, model, work / "sst2-ours", sst2_h)),
                 ("sst2_hf_trainer", lambda: run_hf_trainer(sst2_files, model, work / "sst2-hf", sst2_h,
                                                            args.hf_sampling))]
    for name, job in sst2_pair[::-1] if args.trainer_first else sst2_pair:
        step(name, job, max(sst2, durations.get("sst2_ours", 0.0), durations.get("sst2_hf_trainer", 0.0)))
    out["lora"] = {"r": r, "lr": lr, "targets": targets, "alpha": 2.0 * r,
                   "epochs": args.gpu_lora_epochs or args.ner_epochs}
    out["distill"] = {"alpha_temperature": distill_pairs(args.gpu_distill), "student_layers": 3}
    save()
    report = summary(out)
    (results_dir / "finetune-gpu.md").write_text(report + "\n")
    print(report)
    return out


def summary(out: dict) -> str:
    runs = out["runs"]
    names = {"ner_ours": "NER ours (full FT)", "ner_hf_trainer": "NER HF Trainer", "ner_lora": "NER LoRA (ours)",
             "student_alone": "NER 3-layer student alone", "sst2_ours": "SST-2 ours", "sst2_hf_trainer": "SST-2 HF Trainer"}
    lines = [f"device: {out['environment']['device']}; wall {out['wall_seconds']:.0f} s; skipped: {out['skipped'] or 'none'}",
             rows_table("metric (NER entity F1 / SST-2 accuracy)", [(names.get(k, k), v) for k, v in runs.items()])]
    pairs = [("ner_ours", "ner_hf_trainer"), ("sst2_ours", "sst2_hf_trainer")]
    for ours, hf in pairs:
        if ours in runs and hf in runs:
            lines.append(f"{ours}: test {runs[ours]['test'] - runs[hf]['test']:+.4f} vs Trainer, "
                         f"speed {runs[hf]['train_seconds'] / runs[ours]['train_seconds']:.2f}x (Trainer s / ours s)")
    if "ner_lora" in runs and "ner_ours" in runs:
        lora, full = runs["ner_lora"], runs["ner_ours"]
        lines.append(f"LoRA: {100 * lora['trainable_params'] / lora['total_params']:.2f} % trainable, test F1 "
                     f"{lora['test'] - full['test']:+.4f} vs full, peak GPU MB {lora['peak_memory_mb']:.0f} vs "
                     f"{full['peak_memory_mb']:.0f}")
    distilled = {k: v for k, v in runs.items() if k.startswith("student_distilled")}
    if "student_alone" in runs and distilled:
        name, best = max(distilled.items(), key=lambda kv: kv[1]["dev"])  # chosen by dev, then compared on test
        lines.append(f"distillation ({name}, best dev): test F1 {best['test'] - runs['student_alone']['test']:+.4f}"
                     f" (dev {best['dev'] - runs['student_alone']['dev']:+.4f}) vs student alone")
    return "\n".join(lines)
