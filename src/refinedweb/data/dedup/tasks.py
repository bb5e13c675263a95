"""Run the pieces of a dedup stage (per input unit, per shard) in worker processes or on Ray, resumably.

Each piece is a picklable callable applied to one item; it writes its own outputs atomically and returns a small
JSON-able result, which is then written as the piece's completion marker. A relaunch reads the markers of finished
pieces and runs only the rest, so a run killed at any point (even by SIGKILL) finishes with the same outputs. The
results come back in item order whatever the number of workers, which keeps every stage deterministic.

With ``executor="ray"`` the pieces of a pass are the work units of one ``run_units`` call on the Ray executor: they
read and write the stage folder (which must be on a filesystem every node sees) and return only their small
results, so buckets, edges and cluster tables never pass through the driver. Both executors keep their workers for
the whole run (a process pool, a ``ray.WorkerPool``): starting them per pass cost more than small passes. The local
executor does not go through ``run_units``, whose fsync per marker made small runs 2-3x slower.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from refinedweb.errors import ConfigError, FatalError

EXECUTORS = ("local", "ray")


class Pieces:
    """Runs pieces on one pool of ``workers`` processes kept for a whole dedup run (a pool per pass would cost
    more than small passes themselves), or with ``executor="ray"`` on ``workers`` Ray actors kept likewise. Use as a
    context manager; picklable (without its pool) so that stage objects holding it can be sent to workers."""

    def __init__(self, workers: int, executor: str = "local"):
        if executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
        self.workers = max(1, workers)
        self.executor = executor
        self._pool = None
        self._actors = None

    def __enter__(self) -> "Pieces":
        if self.executor == "ray":
            from refinedweb.data.executors.ray import WorkerPool

            self._actors = WorkerPool(self.workers)
        elif self.workers > 1:
            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._actors is not None:
            self._actors.__exit__(*exc_info)
            self._actors = None

    def __getstate__(self) -> dict:
        return {"workers": self.workers, "executor": self.executor, "_pool": None, "_actors": None}

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any], marker_dir: Path, names: Sequence[str]) -> list:
        """Apply ``fn`` to every item not yet marked done under ``marker_dir`` (one marker file per name); return
        all results in item order. Raises FatalError listing the pieces that failed, after the others finished."""
        marker_dir.mkdir(parents=True, exist_ok=True)
        markers = [marker_dir / f"{name}.done.json" for name in names]
        todo = [i for i, marker in enumerate(markers) if not marker.exists()]
        failures: list[str] = []
        if todo:
            if self.executor == "ray":
                outcomes = _run_on_ray(fn, items, todo, marker_dir, names, self.workers, self._actors)
            elif self._pool is None or len(todo) == 1:
                outcomes = map(_Guard(fn), (items[i] for i in todo))
            else:
                outcomes = self._pool.imap(_Guard(fn), [items[i] for i in todo])
            _collect(outcomes, todo, markers, names, failures)
        if failures:
            raise FatalError("dedup pieces failed: " + "; ".join(failures))
        return [json.loads(marker.read_text(encoding="utf-8")) for marker in markers]


def _run_on_ray(fn, items, todo, marker_dir: Path, names, workers: int, actors) -> list[tuple[bool, Any]]:
    """Run the pieces ``todo`` as work units on the Ray executor; their ``run_unit`` markers (``<name>.done``)
    sit next to the pieces' own, so a piece whose result reached its ``.done`` but not its ``.done.json`` (the
    driver was killed in between) is not run again."""
    from refinedweb.data.executors import WorkUnit, run_units

    units = [WorkUnit(id=names[i], path=str(marker_dir), start=i) for i in todo]
    result = run_units(units, _PieceTask(fn, items), marker_dir, workers, executor="ray", progress=False,
                       pool=actors)
    return [(False, o.error) if o.error is not None else (True, o.stats[0]) for o in result.outcomes]


class _PieceTask:
    """One pass as a ``UnitTask``: unit ``start`` is the index of its item. ``items`` are the pass's small inputs
    (unit or shard numbers, file paths), never the data: the pieces read that from the stage folder."""

    def __init__(self, fn: Callable[[Any], Any], items: Sequence[Any]):
        self.fn, self.items = fn, list(items)

    def setup(self) -> None:
        pass

    def run(self, unit) -> list[dict[str, Any]]:
        return [self.fn(self.items[unit.start])]


def _collect(outcomes, todo, markers, names, failures) -> None:
    for i, (ok, value) in zip(todo, outcomes):
        if ok:
            with state_write(markers[i]) as handle:
                handle.write(json.dumps(value, sort_keys=True).encode("utf-8"))
        else:
            failures.append(f"{names[i]}: {value}")


class _Guard:
    """Turn an exception in a piece into a reported failure, so one bad piece (an unreadable file) does not hide
    the others; the run then stops with every failure listed, and a relaunch retries only the failed pieces."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, item: Any) -> tuple[bool, Any]:
        try:
            return True, self.fn(item)
        except Exception as exc:  # noqa: BLE001 - reported with its type, never swallowed
            return False, f"{type(exc).__name__}: {exc}"


@contextmanager
def state_write(path: Path) -> Iterator[IO[bytes]]:
    """Write an intermediate state file atomically: a temporary file renamed into place when the block succeeds.

    Unlike ``refinedweb.io.atomic_write`` this does not fsync. A killed process (SIGKILL included) leaves either
    the whole file or none, which is what resumption needs; only a power loss could lose a state file, and then
    the piece is simply redone. An fsync per file made small runs several times slower (measured: 0.7 s of 1.1 s).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
