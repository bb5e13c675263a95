"""``run_dedup``: run dedup stages in order over a corpus, resumably, into ``output_dir/documents/``.

State lives under ``output_dir/.dedup/``:

- ``plan.json``: the stage specs and inputs of the run; a relaunch with different ones is refused (a ConfigError
  that says to use a fresh output folder), so stale intermediate files are never mixed into a new run;
- ``NN-<stage>/``: one folder per stage with its passes' files and markers (see ``tasks.Pieces``), its rewritten
  documents (``documents/``, the next stage's input) and ``stats.json``, written last, which marks the stage done;
- ``done.json``: the final stats, written after the documents are published. A rerun into a finished folder returns
  them and does nothing else.

A stage reads the previous stage's files; every stage keeps one file per input (same base name), so refs stay
comparable and the output has one ``documents/<base>.jsonl.zst`` per input file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

from refinedweb.data.dedup.corpus import base_name, check_inputs, open_writer, read_documents
from refinedweb.data.dedup.stage import DedupStage, KeyedStage, StageContext, keeper_id
from refinedweb.data.dedup.tasks import Pieces
from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write_text, expand_inputs
from refinedweb.stats import StepStats, merge_step_lists


def run_dedup(
    specs: list[dict],
    inputs: list[str],
    output_dir: Path,
    workers: int = 1,
    rejects: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
) -> list[dict]:
    """Run the stages ``specs`` (e.g. ``[{"step": "exact"}, {"step": "minhash", "preset": "fineweb"}]``) over the
    JSONL/Parquet files ``inputs``; write ``output_dir/documents/<base>.jsonl.zst`` per input and, with ``rejects``,
    ``output_dir/rejects/<stage>/<base>.jsonl.zst``. Returns one stats dict per stage. ``executor`` ("local" or
    "ray") is where the passes' pieces run (see ``tasks.Pieces``); the output is the same on both, and a run
    killed on one resumes on the other. ``ray_address``: the cluster to join (see ``executors.ray.connect``), once the
    specs and inputs are known to be valid."""
    from refinedweb.data.dedup import build_stages

    stages = build_stages(specs)
    paths = expand_inputs(list(inputs))
    check_inputs(paths)
    output_dir = Path(output_dir)
    state = output_dir / ".dedup"
    _check_plan(state, specs, paths, rejects)
    done = state / "done.json"
    if done.exists():
        return json.loads(done.read_text(encoding="utf-8"))
    if executor == "ray":
        from refinedweb.data.executors.ray import connect

        connect(ray_address, workers)
    names = [base_name(p) for p in paths]
    current = list(paths)
    all_stats = []
    with Pieces(workers, executor) as pieces:
        for number, stage in enumerate(stages):
            stage_dir = state / f"{number:02d}-{stage.name}"
            ctx = StageContext(current, names, stage_dir, pieces)
            all_stats.append(_run_stage(stage, ctx, output_dir / "rejects" / stage.name if rejects else None,
                                        first=number == 0))
            current = [str(stage_dir / "documents" / f"{name}.jsonl.zst") for name in names]
    for name, path in zip(names, current):
        _publish(Path(path), output_dir / "documents" / f"{name}.jsonl.zst")
    atomic_write_text(done, json.dumps(all_stats, indent=1))
    return all_stats


def _check_plan(state: Path, specs: list[dict], paths: list[str], rejects: bool) -> None:
    plan = json.dumps({"specs": specs, "inputs": [os.path.abspath(p) for p in paths], "rejects": rejects},
                      sort_keys=True)
    path = state / "plan.json"
    if path.exists():
        if path.read_text(encoding="utf-8") != plan:
            raise ConfigError(
                f"{state.parent} holds a dedup run with other stages or inputs; use a new --output folder or "
                f"delete {state} and {state.parent / 'documents'}"
            )
        return
    atomic_write_text(path, plan)


def _run_stage(stage: DedupStage, ctx: StageContext, rejects_dir: Path | None, first: bool) -> dict:
    marker = ctx.stage_dir / "stats.json"
    if marker.exists():
        return json.loads(marker.read_text(encoding="utf-8"))
    start = time.perf_counter()
    counters = stage.find(ctx)
    apply = _Apply(stage, ctx, rejects_dir, count_invalid=first)
    results = ctx.pieces.run(apply, list(range(len(ctx.inputs))), ctx.stage_dir / "documents" / "markers",
                             ctx.names)
    merged = merge_step_lists([[r] for r in results])
    stats = StepStats.from_dict(merged[0]) if merged else StepStats(stage.name)  # no input files: nothing to do
    stats.seconds = time.perf_counter() - start
    stats.counters.update(counters)
    out = stats.to_dict()
    atomic_write_text(marker, json.dumps(out, indent=1))
    return out


class _Apply:
    """Rewrite one unit: keep what the stage's decider keeps, send the rest to the rejects sink."""

    def __init__(self, stage: DedupStage, ctx: StageContext, rejects_dir: Path | None, count_invalid: bool):
        self.stage, self.ctx, self.rejects_dir, self.count_invalid = stage, ctx, rejects_dir, count_invalid

    def __call__(self, unit: int) -> dict:
        name = self.ctx.names[unit]
        decide = self.stage.decider(self.ctx, unit)
        stats = StepStats(self.stage.name)
        read = StepStats("read")
        ids: dict[int, list[str]] = {}
        out = open_writer(self.ctx.stage_dir / "documents" / f"{name}.jsonl.zst")
        sink = open_writer(self.rejects_dir / f"{name}.jsonl.zst") if self.rejects_dir else None
        with out, (sink or contextlib.nullcontext()):
            for index, doc in enumerate(read_documents(self.ctx.inputs[unit], read)):
                stats.total += 1
                verdict = decide(index, doc)
                if verdict is None:
                    stats.kept += 1
                    out.write(doc.to_record())
                    continue
                reason, keeper = verdict
                stats.drop(reason)
                if sink is not None:
                    kept_id = None
                    if keeper is not None and isinstance(self.stage, KeyedStage):
                        kept_id = keeper_id(self.ctx.stage_dir, self.ctx.names, keeper, ids)
                    sink.write(dict(doc.to_record(), step=self.stage.name, reason=reason, kept_id=kept_id))
        if self.count_invalid:  # records the reader skipped count as dropped by the first stage
            stats.total += sum(read.dropped.values())
            stats.dropped.update(read.dropped)
        return stats.to_dict()


def _publish(source: Path, target: Path) -> None:
    """Copy a finished stage file to the output folder atomically (the stage state stays valid for reruns)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.copyfile(source, tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
