"""The Ray executor: work units on a pool of Ray actors, on this machine or on a cluster.

Each of the ``workers`` actors holds one copy of the task and calls ``base.run_unit`` on the units it is given, so
the completion protocol, the outputs and the stats are exactly those of the local executor; only the place where
a unit runs changes. The task's ``setup()`` (loading models) runs once per actor process, on its first unfinished
unit. The driver hands each idle actor the next unit and collects outcomes (small stats dicts, never documents):
documents, outputs and completion markers go straight from the workers to the output folder, which therefore must
be a path that every node sees (a shared filesystem).

Failures:

- a worker process that dies mid-unit (killed, out of memory, its node lost) is restarted by Ray and the unit is
  retried on it, up to ``RETRIES`` times; the retried unit replaces any partial output of the dead attempt;
- a unit whose task fails (an unreadable file) is reported by ``run_unit`` with its error like on the local
  executor, and the other units go on;
- a unit whose worker died on every attempt is reported with Ray's reason.

Steps registered outside refinedweb (``@register`` in a user's script) exist only in the driver's process; they
are sent to the actors with the task, so a custom step runs on Ray as it does locally.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from refinedweb.data.executors.base import RunResult, UnitOutcome, UnitTask, WorkUnit, run_unit
from refinedweb.errors import ConfigError, MissingDependencyError

RETRIES = 2
"""Extra attempts for a unit whose worker process died; a unit that kills its worker three times is reported."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc
    return ray


def connect(address: str | None, workers: int) -> None:
    """Join the Ray cluster at ``address`` (``auto`` or ``host:port`` of its head node; default: the
    ``RAY_ADDRESS`` environment variable). With neither, start a Ray instance on this machine with ``workers``
    CPUs. Does nothing when this process is already connected (tests start one instance for many runs)."""
    ray = _import_ray()
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            # "local" always starts a new instance; plain ray.init() would join any cluster that someone started
            # on this machine with `ray start`, with its CPUs and its users.
            ray.init(address="local", num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    except ConnectionError as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at {address!r} ({exc}); start one with `ray start --head`, "
            "check --ray-address / RAY_ADDRESS, or leave both unset to start Ray on this machine"
        ) from exc


def _user_steps() -> dict[str, type]:
    """Steps registered by code outside the refinedweb package (a worker process would not import it)."""
    from refinedweb.registry import registered_steps

    return {name: cls for name, cls in registered_steps().items() if not cls.__module__.startswith("refinedweb.")}


class UnitWorker:
    """The body of one Ray actor: one task, set up on first use, run unit after unit."""

    def __init__(self, task: UnitTask, state_dir: str, user_steps: dict[str, type], cwd: str):
        from refinedweb.registry import register

        # Ray starts cluster workers in a session folder of its own: relative paths in the task (an input, the
        # output folder) must mean what they mean to the driver. An actor owns its process, so changing directory
        # is safe; a node without that folder can still run tasks whose paths are absolute.
        if os.path.isdir(cwd):
            os.chdir(cwd)
        for name, cls in user_steps.items():
            register(name)(cls)
        self.task, self.state_dir = task, Path(state_dir)

    def run(self, unit: WorkUnit, task: UnitTask | None = None, state_dir: str | None = None) -> UnitOutcome:
        """Run ``unit`` of this actor's task, or, for an actor of a ``WorkerPool``, of the ``task`` sent with it."""
        if task is None:
            return run_unit(self.task, unit, self.state_dir)
        return run_unit(task, unit, Path(state_dir or self.state_dir))


class WorkerPool:
    """Ray actors kept for several ``run_units`` calls, such as the passes of a dedup run: starting the actors of a
    call costs about a second (measured on a 2-core VM), more than a small pass itself. Here the task travels with
    each unit instead of living in the actor, so its ``setup()`` runs for every unit and must be cheap. Use as a
    context manager; the actors are started on the first call and killed on exit."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self.actors: list[Any] = []

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info) -> None:
        ray = _import_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

    def take(self, ray: Any, units: int) -> list[Any]:
        if not self.actors:
            count = _actor_count(ray, self.workers, self.workers)
            actor_class = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=RETRIES)(UnitWorker)
            self.actors = [actor_class.remote(None, ".", _user_steps(), os.getcwd()) for _ in range(count)]
        return self.actors[: max(1, min(units, len(self.actors)))]


def _actor_count(ray: Any, workers: int, units: int) -> int:
    """One actor per requested worker, but never more than there are units or CPUs in the cluster: an actor that
    cannot be placed would hold its unit forever."""
    count = max(1, min(workers, units))
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if 0 < cpus < count:
        print(f"refinedweb: the Ray cluster has {cpus} CPUs; running {cpus} workers, not {count}", file=sys.stderr)
        count = cpus
    return count


def _describe_failure(ray: Any, exc: Exception) -> str:
    """What the user reads for a unit that Ray could not run (``run_unit`` reports ordinary task errors itself)."""
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    if isinstance(exc, ray.exceptions.RayActorError):
        return (f"the worker process running this unit died on each of {RETRIES + 1} attempts (killed, out of "
                f"memory, or its node was lost): {detail}")
    return f"{type(exc).__name__}: {detail}"


def run_units_ray(
    units: Sequence[WorkUnit],
    task: UnitTask,
    state_dir: Path,
    workers: int = 1,
    progress: bool | None = None,
    pool: WorkerPool | None = None,
) -> RunResult:
    """Run ``units`` on ``workers`` Ray actors (those of ``pool`` when given); the outcomes come back in the order
    of ``units``."""
    ray = _import_ray()
    connect(None, workers)
    state_dir = Path(state_dir).absolute()
    state_dir.mkdir(parents=True, exist_ok=True)
    if not units:
        return RunResult([])
    from refinedweb.data.executors.local import Progress

    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(len(units)) if show else None
    # max_restarts=-1: a dead worker is always replaced; max_task_retries: the unit it held runs again on it.
    if pool is None:
        actor_class = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=RETRIES)(UnitWorker)
        # The task is passed as is, not through ray.put: a restarted actor is rebuilt from its creation arguments,
        # and an argument held in the object store may be gone by then (ray-project/ray#53727). Tasks hold configs,
        # not data, so they are small enough for Ray to inline.
        steps, cwd = _user_steps(), os.getcwd()
        count = _actor_count(ray, workers, len(units))
        actors = [actor_class.remote(task, str(state_dir), steps, cwd) for _ in range(count)]
        extra: tuple = ()
    else:
        actors = pool.take(ray, len(units))
        extra = (task, str(state_dir))  # a retried call carries them too, so a restarted actor needs nothing else

    outcomes: list[UnitOutcome | None] = [None] * len(units)
    queue = iter(enumerate(units))
    running: dict[Any, tuple[int, Any]] = {}  # object ref -> (unit index, actor)

    def give_next_unit(actor: Any) -> None:
        item = next(queue, None)
        if item is not None:
            running[actor.run.remote(item[1], *extra)] = (item[0], actor)

    try:
        for actor in actors:
            give_next_unit(actor)
        while running:
            [ref], _ = ray.wait(list(running), num_returns=1)
            index, actor = running.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as exc:
                outcome = UnitOutcome(units[index], error=_describe_failure(ray, exc))
            outcomes[index] = outcome
            if bar:
                bar.update(outcome)
            give_next_unit(actor)
    finally:
        for actor in actors if pool is None else ():
            ray.kill(actor)
        if bar:
            bar.close()
    return RunResult([o for o in outcomes if o is not None])


__all__ = ["connect", "run_units_ray", "WorkerPool", "RETRIES"]
