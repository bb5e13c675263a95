"""Per-step counters. Invariant, checked in tests: ``kept + sum(dropped.values()) == total``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepStats:
    name: str
    total: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    # Step-specific counters that are not drops (e.g. PII replacements by type).
    counters: Counter = field(default_factory=Counter)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def merge(self, other: "StepStats") -> None:
        self.total += other.total
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.seconds += other.seconds
        self.counters.update(other.counters)

    def consistent(self) -> bool:
        return self.kept + sum(self.dropped.values()) == self.total

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "total": self.total,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 4),
        }
        if self.counters:
            out["counters"] = dict(sorted(self.counters.items()))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepStats":
        return cls(
            name=data["name"],
            total=data["total"],
            kept=data["kept"],
            dropped=Counter(data.get("dropped", {})),
            seconds=data.get("seconds", 0.0),
            counters=Counter(data.get("counters", {})),
        )


def merge_step_lists(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Merge per-unit lists of step stats (same steps, same order) into one list."""
    merged: dict[str, StepStats] = {}
    for steps in lists:
        for entry in steps:
            stats = StepStats.from_dict(entry)
            if stats.name in merged:
                merged[stats.name].merge(stats)
            else:
                merged[stats.name] = stats
    return [s.to_dict() for s in merged.values()]
