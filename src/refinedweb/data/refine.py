"""Orchestration of one ``refine`` run: plan units, run them on an executor, merge stats, run dedup stages.

Layout of the output folder::

    DIR/run_config.yaml     the resolved pipeline (loadable again with --config)
    DIR/documents/          kept documents, one file per work unit (or per input file after dedup)
    DIR/rejects/            with --rejects: every dropped document with the step and reason
    DIR/stats.json          {"steps": [{name, total, kept, dropped, seconds}, ...], "units": {...}}
    DIR/report.html         the funnel, removals by reason, samples of removed documents
    DIR/.state/             completion markers; a relaunch skips finished units
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from refinedweb.config import dump_yaml
from refinedweb.data.executors import run_units
from refinedweb.data.pipeline import PipelineConfig
from refinedweb.data.runner import RefineTask, plan_units
from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write_text, expand_inputs
from refinedweb.stats import merge_step_lists


RUN_OUTPUTS = ("documents", "rejects", ".state", ".work", "stats.json", "run_config.yaml", "report.html")


def check_output_folder(
    output: Path, fingerprint: dict[str, Any], overwrite: bool, outputs: tuple[str, ...] = RUN_OUTPUTS
) -> None:
    """Refuse to mix two different runs in one folder; ``overwrite`` clears the old run's ``outputs`` instead."""
    previous = output / ".state" / "run.json"
    if previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        if old != fingerprint:
            if not overwrite:
                raise ConfigError(
                    f"{output} holds a run with another config or other inputs; "
                    "use another --output, or --overwrite to replace it"
                )
            for name in outputs:
                target = output / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
    atomic_write_text(previous, json.dumps(fingerprint, sort_keys=True, indent=1))


def refine(
    inputs: list[str],
    output: Path,
    config: PipelineConfig,
    workers: int = 1,
    executor: str = "local",
    rejects: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    ray_address: str | None = None,
) -> dict[str, Any]:
    files = expand_inputs(inputs)
    output = Path(output)
    config_dict = config.to_dict()
    check_output_folder(output, {"config": config_dict, "inputs": files, "rejects": rejects}, overwrite)
    dump_yaml(config_dict, output / "run_config.yaml")
    if executor == "ray":
        from refinedweb.data.executors.ray import connect

        connect(ray_address, workers)

    documents = output / ".work" / "filtered" if config.dedup else output / "documents"
    task = RefineTask(config, documents, output / "rejects" if rejects else None)
    units = plan_units(files, config.reader)
    result = run_units(units, task, output / ".state" / "refine", workers, executor, progress)
    steps = merge_step_lists(result.unit_stats)
    failures = [{"input": o.unit.path, "unit": o.unit.id, "error": o.error} for o in result.failures]

    if config.dedup and not failures:
        from refinedweb.data.dedup import run_dedup

        filtered = sorted(str(p) for p in documents.glob("*") if p.is_file() and not p.name.startswith("."))
        steps += run_dedup(config.dedup, filtered, output, workers, rejects, executor)

    summary = {
        "steps": steps,
        "units": {
            "total": len(units),
            "completed": len(units) - len(failures),
            "resumed": sum(1 for o in result.outcomes if o.skipped),
            "failed": failures,
        },
    }
    atomic_write_text(output / "stats.json", json.dumps(summary, indent=1, ensure_ascii=False))
    from refinedweb.data.report import write_report

    write_report(output)
    return {"steps": steps, "failures": failures}


