"""The local executor survives a worker process that dies: the unit is retried in a fresh pool."""

import os
from pathlib import Path

from refinedweb.data.executors import WorkUnit, run_units


class DieOnceTask:
    """Kills its own worker process the first time it sees unit 'b' (a marker file remembers the attempt)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def setup(self) -> None:
        pass

    def run(self, unit: WorkUnit) -> list[dict]:
        flag = self.folder / f"{unit.id}.attempted"
        if unit.id == "b" and not flag.exists():
            flag.write_text("1")
            os._exit(9)
        (self.folder / f"{unit.id}.out").write_text(unit.path)
        return [{"name": "read", "total": 1, "kept": 1, "dropped": {}, "seconds": 0.0}]


class AlwaysDieTask(DieOnceTask):
    def run(self, unit: WorkUnit) -> list[dict]:
        if unit.id == "b":
            os._exit(9)
        return super().run(unit)


def test_killed_worker_is_retried(tmp_path):
    units = [WorkUnit(id=name, path=name) for name in "abcd"]
    result = run_units(units, DieOnceTask(tmp_path), tmp_path / "state", workers=2, progress=False)
    assert not result.failures
    assert sorted(p.name for p in tmp_path.glob("*.out")) == ["a.out", "b.out", "c.out", "d.out"]


def test_unit_that_always_kills_its_worker_is_reported(tmp_path):
    units = [WorkUnit(id=name, path=name) for name in "abc"]
    result = run_units(units, AlwaysDieTask(tmp_path), tmp_path / "state", workers=2, progress=False)
    assert [o.unit.id for o in result.failures] == ["b"] and "died" in result.failures[0].error
    assert sorted(p.name for p in tmp_path.glob("*.out")) == ["a.out", "c.out"]
