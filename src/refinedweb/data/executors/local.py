"""The local executor: work units in a pool of processes on this machine (in-process when ``workers == 1``).

A worker process that dies (killed, out of memory) breaks the pool; the units it had not finished are run again in
a fresh pool, up to ``MAX_ATTEMPTS`` times each, then reported as failed. Finished units are never redone: their
completion markers are on disk.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Sequence

from refinedweb.data.executors.base import RunResult, UnitOutcome, UnitTask, WorkUnit, run_unit

MAX_ATTEMPTS = 3

_TASK: UnitTask | None = None
_STATE_DIR: Path | None = None


def _init_worker(task: UnitTask, state_dir: Path) -> None:
    global _TASK, _STATE_DIR
    _TASK, _STATE_DIR = task, state_dir


def _run_in_worker(unit: WorkUnit) -> UnitOutcome:
    assert _TASK is not None and _STATE_DIR is not None
    return run_unit(_TASK, unit, _STATE_DIR)


def run_units_local(
    units: Sequence[WorkUnit], task: UnitTask, state_dir: Path, workers: int = 1, progress: bool | None = None
) -> RunResult:
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(len(units)) if show else None
    outcomes: dict[int, UnitOutcome] = {}

    def done(index: int, outcome: UnitOutcome) -> None:
        outcomes[index] = outcome
        if bar:
            bar.update(outcome)

    if workers <= 1 or len(units) <= 1:
        for index, unit in enumerate(units):
            done(index, run_unit(task, unit, state_dir))
    else:
        _run_pool(units, task, state_dir, min(workers, len(units)), done)
    if bar:
        bar.close()
    return RunResult([outcomes[i] for i in range(len(units))])


def _run_pool(units, task, state_dir, workers, done) -> None:
    # fork keeps start-up cheap on Linux; tasks are picklable so spawn works too (macOS, Windows).
    context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    attempts = {i: 0 for i in range(len(units))}
    pending = set(attempts)
    while pending:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(task, state_dir)) as pool:
            futures = {pool.submit(_run_in_worker, units[i]): i for i in sorted(pending)}
            for index in futures.values():
                attempts[index] += 1
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = futures.pop(future)
                    try:
                        done(index, future.result())
                        pending.discard(index)
                    except BrokenProcessPool:
                        if attempts[index] >= MAX_ATTEMPTS:
                            done(index, UnitOutcome(units[index], error=f"worker process died {MAX_ATTEMPTS} times"))
                            pending.discard(index)


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
