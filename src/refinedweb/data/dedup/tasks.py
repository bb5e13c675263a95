"""Run the pieces of a dedup stage (per input unit, per shard) in worker processes, resumably.

Each piece is a picklable callable applied to one item; it writes its own outputs atomically and returns a small
JSON-able result, which is then written as the piece's completion marker. A relaunch reads the markers of finished
pieces and runs only the rest, so a run killed at any point (even by SIGKILL) finishes with the same outputs. The
results come back in item order whatever the number of workers, which keeps every stage deterministic.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any, Callable, Sequence

from refinedweb.errors import FatalError
from refinedweb.io import atomic_write_text


def run_pieces(
    fn: Callable[[Any], Any], items: Sequence[Any], marker_dir: Path, names: Sequence[str], workers: int
) -> list[Any]:
    """Apply ``fn`` to every item not yet marked done under ``marker_dir`` (marker file per name); return all
    results in item order. Raises FatalError listing the pieces that failed after the others finished."""
    marker_dir.mkdir(parents=True, exist_ok=True)
    markers = [marker_dir / f"{name}.done.json" for name in names]
    todo = [i for i, marker in enumerate(markers) if not marker.exists()]
    failures: list[str] = []
    if todo:
        if workers <= 1 or len(todo) == 1:
            outcomes = map(_Guard(fn), (items[i] for i in todo))
            _collect(outcomes, todo, markers, names, failures)
        else:
            context = multiprocessing.get_context("fork")
            with context.Pool(min(workers, len(todo))) as pool:
                outcomes = pool.imap(_Guard(fn), [items[i] for i in todo])
                _collect(outcomes, todo, markers, names, failures)
    if failures:
        raise FatalError("dedup pieces failed: " + "; ".join(failures))
    return [json.loads(marker.read_text(encoding="utf-8")) for marker in markers]


def _collect(outcomes, todo, markers, names, failures) -> None:
    for i, (ok, value) in zip(todo, outcomes):
        if ok:
            atomic_write_text(markers[i], json.dumps(value, sort_keys=True))
        else:
            failures.append(f"{names[i]}: {value}")


class _Guard:
    """Turn an exception in a worker into a reported failure, so one bad piece does not hide the others."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, item: Any) -> tuple[bool, Any]:
        try:
            return True, self.fn(item)
        except FatalError as exc:
            return False, str(exc)
