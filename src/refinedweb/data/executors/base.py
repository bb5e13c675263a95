"""Work units and the one rank-runner that every executor shares.

A run is a list of ``WorkUnit``s (a file, a byte range of a file, or a row-group range) and a ``task``: a picklable
object with ``setup()`` (once per worker: load models) and ``run(unit) -> list[dict]`` (process the unit, write its
outputs atomically, return its per-step stats). ``run_unit`` wraps that with the completion protocol:

1. if ``state_dir/<unit id>.done`` exists, the unit is finished: return its recorded stats, do nothing;
2. otherwise run the task (its outputs replace any partial output of a killed earlier attempt),
3. then write the marker atomically, holding the stats.

A process killed at any point leaves either no marker (the unit reruns and overwrites its output) or a marker
after complete output, so a relaunch neither loses nor duplicates documents. Executors (``local``, ``ray``) only
decide where ``run_unit`` is called.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from refinedweb.errors import RefinedWebError
from refinedweb.io import atomic_write_text


@dataclass(frozen=True)
class WorkUnit:
    id: str
    """Stable and file-name safe; output files and the completion marker are named after it."""
    path: str
    start: int = 0
    end: int | None = None


class UnitTask(Protocol):
    def setup(self) -> None: ...

    def run(self, unit: WorkUnit) -> list[dict[str, Any]]: ...


@dataclass
class UnitOutcome:
    unit: WorkUnit
    stats: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    """True when the unit was already complete (resume)."""


@dataclass
class RunResult:
    outcomes: list[UnitOutcome]

    @property
    def failures(self) -> list[UnitOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def unit_stats(self) -> list[list[dict[str, Any]]]:
        return [o.stats for o in self.outcomes if o.error is None]


def marker_path(state_dir: Path, unit: WorkUnit) -> Path:
    return Path(state_dir) / f"{unit.id}.done"


def read_marker(state_dir: Path, unit: WorkUnit) -> list[dict[str, Any]] | None:
    path = marker_path(state_dir, unit)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))["stats"]
    except (json.JSONDecodeError, KeyError):
        return None  # a marker that cannot be read is treated as absent: the unit reruns


def run_unit(task: UnitTask, unit: WorkUnit, state_dir: Path) -> UnitOutcome:
    """Run one unit with the completion protocol; never raises for a failing unit (the error is returned)."""
    done = read_marker(state_dir, unit)
    if done is not None:
        return UnitOutcome(unit, done, skipped=True)
    try:
        # Set up once per process: a task pickled to another process (a worker, an actor) sets up again there.
        if getattr(task, "_ready_in_pid", None) != os.getpid():
            task.setup()
            task._ready_in_pid = os.getpid()  # type: ignore[attr-defined]
        stats = task.run(unit)
    except RefinedWebError as exc:
        return UnitOutcome(unit, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug or an unexpected library error: report it with its origin, keep going
        tail = "".join(traceback.format_exception(exc)[-3:]).strip()
        return UnitOutcome(unit, error=f"{type(exc).__name__}: {exc} [{tail.splitlines()[-2].strip()}]")
    atomic_write_text(marker_path(state_dir, unit), json.dumps({"unit": asdict(unit), "stats": stats}, sort_keys=True))
    return UnitOutcome(unit, stats)
