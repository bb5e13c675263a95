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

import json
import shutil
import time
from pathlib import Path

import torch

from finetune import distill_pairs, lora_grid, make_student, rows_table, spawn
from gpu_bundle import MODEL_FILES



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
    limit = {"max_train_samples": args.max_train_samples, "max_eval_samples": args.max_eval_samples,
             "max_distill_samples": args.max_train_samples}
    common = {"batch_size": 32, "eval_batch_size": 256, "warmup_ratio": 0.1, "weight_decay": 0.01, "max_length": 128,
              "seed": 42, "schedule": "linear", "log_every": 200, **{k: v for k, v in limit.items() if v}}
    ner_h = {**common, "epochs": args.ner_epochs, "lr": args.ner_lr}
    sst2_h = {**common, "epochs": args.sst2_epochs, "lr": args.sst2_lr}
    out = {"environment": environment(), "bundle": str(bundle), "pair_order": args.pair_order, "only": args.only,
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

    teacher_dir = work / "ner-ours-1"
    parts = set(args.only.split(","))

    def pair(task: str, files: dict, h: dict) -> None:
        """Ours and the Trainer, each run in a fresh process after its own unrecorded warm-up, in the order of
        ``--pair-order`` (default ABBA: ours, Trainer, Trainer, ours), so neither side always runs first or last."""
        counts = {"A": 0, "B": 0}
        for code in args.pair_order:
            counts[code] += 1
            kind = "ours" if code == "A" else "hf"
            name = f"{task}_{'ours' if kind == 'ours' else 'hf_trainer'}_{counts[code]}"
            expect = max((v for k, v in durations.items() if k.startswith(task)), default=0.0)
            step(name, lambda: spawn(files, h, work / f"{task}-{kind}-{counts[code]}", model, kind, warmup=True,
                                     hf_sampling=args.hf_sampling), expect)

    if "ner" in parts:
        pair("ner", ner_files, ner_h)
    elif "distill" in parts:  # the teacher of the distillation runs
        step("ner_ours_1", lambda: spawn(ner_files, ner_h, teacher_dir, model))
    ner = durations.get("ner_ours_1", 60.0)  # the yardstick for the expected length of the later runs
    r, lr, targets = lora_grid(args.gpu_lora)[0]
    if "lora" in parts:
        step("ner_lora", lambda: spawn(ner_files, {**ner_h, "lr": lr, "lora_r": r, "lora_alpha": args.gpu_lora_alpha_ratio * r,
                                                   "lora_targets": targets.split(","),
                                                   "epochs": args.gpu_lora_epochs or args.ner_epochs},
                                       work / "ner-lora", model),
             ner * (args.gpu_lora_epochs or args.ner_epochs) / args.ner_epochs)
    if "distill" in parts and (teacher_dir / "model").exists():
        student = make_student(model, 3, work / "student-3layer")
        alone = step("student_alone", lambda: spawn(ner_files, ner_h, work / "student-alone", student), 0.7 * ner)
        teacher = {"teacher": str(teacher_dir / "model")}
        for alpha, t in distill_pairs(args.gpu_distill) if args.gpu_distill else []:
            name = f"student_distilled_a{alpha:g}_t{t:g}"
            step(name, lambda: spawn(ner_files, {**ner_h, **teacher, "distill_alpha": alpha, "temperature": t},
                                     work / name, student), 0.8 * ner)
        transfer = bundle / "transfer" / "unlabelled-en.conll.gz"
        for alpha, t in distill_pairs(args.gpu_transfer_grid) if transfer.exists() and args.gpu_transfer_grid else []:
            name = f"student_transfer_a{alpha:g}_t{t:g}"
            run = step(name, lambda: spawn(ner_files, {**ner_h, **teacher, "distill_alpha": alpha, "temperature": t,
                                                       "distill_data": str(transfer)}, work / name, student),
                       3.5 * ner)
            if run and alone and "student_equal_steps" not in out["runs"]:
                # the control: the student alone for as many optimizer steps as the distilled run took
                step("student_equal_steps", lambda: spawn(ner_files, {**ner_h, "max_steps": run["steps"]},
                                                          work / "student-equal-steps", student), 3.0 * ner)
    if "sst2" in parts:
        pair("sst2", sst2_files, sst2_h)
    out["lora"] = {"r": r, "lr": lr, "targets": targets, "alpha": args.gpu_lora_alpha_ratio * r,
                   "epochs": args.gpu_lora_epochs or args.ner_epochs}
    out["distill"] = {"alpha_temperature": distill_pairs(args.gpu_distill) if args.gpu_distill else [],
                      "transfer_alpha_temperature": distill_pairs(args.gpu_transfer_grid) if args.gpu_transfer_grid else [], "student_layers": 3}
    save()
    report = summary(out)
    (results_dir / "finetune-gpu.md").write_text(report + "\n")
    print(report)
    return out


def mean_pair(runs: dict, prefix: str) -> dict | None:
    """The mean of every numeric field over the repeats ``<prefix>_1``, ``<prefix>_2``, ..."""
    repeats = [v for k, v in runs.items() if k.rsplit("_", 1)[0] == prefix]
    if not repeats:
        return None
    keys = [k for k, v in repeats[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {k: sum(r[k] for r in repeats) / len(repeats) for k in keys} | {"repeats": len(repeats)}


def summary(out: dict) -> str:
    runs = out["runs"]
    names = {"ner_lora": "NER LoRA (ours)", "student_alone": "NER 3-layer student alone",
             "student_equal_steps": "NER 3-layer student alone, as many steps as the transfer run"}
    lines = [f"device: {out['environment']['device']}; wall {out['wall_seconds']:.0f} s; skipped: {out['skipped'] or 'none'}",
             rows_table("metric (NER entity F1 / SST-2 accuracy)", [(names.get(k, k), v) for k, v in runs.items()])]
    for task in ("ner", "sst2"):
        ours, hf = mean_pair(runs, f"{task}_ours"), mean_pair(runs, f"{task}_hf_trainer")
        if ours and hf:
            lines.append(f"{task}: ours vs Trainer (mean of {ours['repeats']} / {hf['repeats']} runs, each in its own "
                         f"process): test {ours['test'] - hf['test']:+.4f}, dev {ours['dev'] - hf['dev']:+.4f}, speed "
                         f"{hf['train_seconds'] / ours['train_seconds']:.3f}x (Trainer s {hf['train_seconds']:.1f} / "
                         f"ours s {ours['train_seconds']:.1f})")
    full = runs.get("ner_ours_1")
    if "ner_lora" in runs and full:
        lora = runs["ner_lora"]
        lines.append(f"LoRA: {100 * lora['trainable_params'] / lora['total_params']:.2f} % trainable, test F1 "
                     f"{lora['test'] - full['test']:+.4f} (dev {lora['dev'] - full['dev']:+.4f}) vs full, peak GPU MB "
                     f"{lora['peak_memory_mb']:.0f} vs {full['peak_memory_mb']:.0f}")
    alone = runs.get("student_alone")
    for kind, control_name in (("student_distilled", "student_alone"), ("student_transfer", "student_equal_steps")):
        distilled = {k: v for k, v in runs.items() if k.startswith(kind)}
        if alone and distilled:
            name, best = max(distilled.items(), key=lambda kv: kv[1]["dev"])  # chosen by dev, then compared on test
            for control in {"student_alone", control_name}:
                if control in runs:
                    lines.append(f"distillation ({name}, best dev): test F1 {best['test'] - runs[control]['test']:+.4f}"
                                 f" (dev {best['dev'] - runs[control]['dev']:+.4f}) vs {control}")
    return "\n".join(lines)
