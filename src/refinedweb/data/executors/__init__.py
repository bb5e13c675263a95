"""Executors decide only where work units run; the completion protocol lives in ``base.run_unit``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from refinedweb.data.executors.base import RunResult, UnitOutcome, UnitTask, WorkUnit, run_unit
from refinedweb.errors import ConfigError

EXECUTORS = ("local", "ray")

__all__ = ["RunResult", "UnitOutcome", "UnitTask", "WorkUnit", "run_unit", "run_units", "EXECUTORS"]


def run_units(
    units: Sequence[WorkUnit],
    task: UnitTask,
    state_dir: Path,
    workers: int = 1,
    executor: str = "local",
    progress: bool | None = None,
    pool: Any = None,
) -> RunResult:
    """Run ``units`` of ``task`` with the completion protocol on ``executor``. ``pool``: a ``ray.WorkerPool``
    whose actors serve several calls (Ray only)."""
    if executor == "local":
        from refinedweb.data.executors.local import run_units_local

        return run_units_local(units, task, state_dir, workers, progress)
    if executor == "ray":
        from refinedweb.data.executors.ray import run_units_ray

        return run_units_ray(units, task, state_dir, workers, progress, pool)
    raise ConfigError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
