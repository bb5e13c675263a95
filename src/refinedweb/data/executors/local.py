"""The local executor: work units in a pool of processes on this machine (in-process when ``workers == 1``)."""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Sequence

from refinedweb.data.executors.base import RunResult, UnitOutcome, UnitTask, WorkUnit, run_unit

_TASK: UnitTask | None = None
_STATE_DIR: Path | None = None


def _init_worker(task: UnitTask, state_dir: Path) -> None:
    global _TASK, _STATE_DIR
    _TASK, _STATE_DIR = task, state_dir


def _run_in_worker(index_unit: tuple[int, WorkUnit]) -> tuple[int, UnitOutcome]:
    index, unit = index_unit
    assert _TASK is not None and _STATE_DIR is not None
    return index, run_unit(_TASK, unit, _STATE_DIR)


def run_units_local(
    units: Sequence[WorkUnit], task: UnitTask, state_dir: Path, workers: int = 1, progress: bool | None = None
) -> RunResult:
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(len(units)) if show else None
    outcomes: list[UnitOutcome | None] = [None] * len(units)
    if workers <= 1 or len(units) <= 1:
        for index, unit in enumerate(units):
            outcomes[index] = run_unit(task, unit, state_dir)
            if bar:
                bar.update(outcomes[index])
    else:
        # fork keeps start-up cheap on Linux; tasks are picklable so spawn works too (macOS, Windows).
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        context = mp.get_context(method)
        with context.Pool(min(workers, len(units)), initializer=_init_worker, initargs=(task, state_dir)) as pool:
            for index, outcome in pool.imap_unordered(_run_in_worker, list(enumerate(units))):
                outcomes[index] = outcome
                if bar:
                    bar.update(outcome)
    if bar:
        bar.close()
    return RunResult([o for o in outcomes if o is not None])


class Progress:
    """A progress bar on a terminal: units done and documents per second (from the first step's totals)."""

    def __init__(self, total: int):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="unit", dynamic_ncols=True)
        self.docs = 0
        self.start = time.monotonic()

    def update(self, outcome: UnitOutcome) -> None:
        if outcome.stats:
            self.docs += outcome.stats[0].get("total", 0)
        rate = self.docs / max(1e-9, time.monotonic() - self.start)
        self.bar.set_postfix_str(f"{rate:,.0f} docs/s")
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
