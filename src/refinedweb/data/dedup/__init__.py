"""Corpus-level deduplication: exact text, normalised URL, MinHash-LSH near duplicates, exact substrings.

``run_dedup(specs, inputs, output_dir, workers, rejects)`` runs a list of stage specs such as
``[{"step": "exact"}, {"step": "minhash", "preset": "fineweb"}, {"step": "substring", "min_tokens": 50},
{"step": "url"}]`` (the ``dedup:`` list of a pipeline config) over JSONL/Parquet files. See ``runner.py`` for the
state layout and resumption, ``stage.py`` for how a stage is built, and docs/dedup.md for the user guide.

Stage names live in ``STAGES`` below, not in the global step registry: dedup stages are not per-document steps
(they see the whole corpus), and ``url`` would clash with the URL filter's name there.
"""

from __future__ import annotations

from typing import Any

from refinedweb.data.dedup.exact import ExactDedup
from refinedweb.data.dedup.minhash import MinhashDedup
from refinedweb.data.dedup.runner import run_dedup
from refinedweb.data.dedup.stage import DedupStage
from refinedweb.data.dedup.substring import SubstringDedup
from refinedweb.data.dedup.url import UrlDedup
from refinedweb.errors import ConfigError

STAGES: dict[str, type[DedupStage]] = {
    "exact": ExactDedup,
    "url": UrlDedup,
    "minhash": MinhashDedup,
    "substring": SubstringDedup,
}

__all__ = ["STAGES", "build_stages", "run_dedup"]


def build_stages(specs: list[dict[str, Any]]) -> list[DedupStage]:
    """Validate ``specs`` and build their stages; every mistake is a ConfigError naming the key and the fix."""
    if not isinstance(specs, list) or not specs:
        raise ConfigError("dedup needs a non-empty list of stages, e.g. [{step: exact}, {step: minhash}]")
    stages: list[DedupStage] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or "step" not in spec:
            raise ConfigError(f"dedup[{i}] must be a mapping with a 'step' key: one of {', '.join(STAGES)}")
        kind = spec["step"]
        if kind not in STAGES:
            raise ConfigError(f"dedup[{i}]: unknown dedup step {kind!r}; use one of {', '.join(STAGES)}")
        name = str(spec.get("name") or kind)
        if name in seen or "/" in name:
            raise ConfigError(f"dedup[{i}]: stage name {name!r} is used twice or has a '/'; give it another 'name:'")
        seen.add(name)
        cls = STAGES[kind]
        options = {k: v for k, v in spec.items() if k not in ("step", "name")}
        stages.append(cls(cls.Config.from_dict(options, where=f"dedup.{name}"), name))
    return stages
