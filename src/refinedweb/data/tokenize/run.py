"""Orchestration of one ``refinedweb tokenize`` run.

Layout of the output folder (see docs/shards.md)::

    SHARDS/train/           training shards, ``{unit id}-{k:05d}.{bin,idx,json}``
    SHARDS/val/             held-out shards (documents whose id hashes below --val-fraction)
    SHARDS/tokenizer/       a copy of the tokenizer; its tokenizer.json hashes to the sidecars' tokenizer_sha256
    SHARDS/stats.json       token statistics and the document counts of every step
    SHARDS/run_config.yaml  the resolved configuration
    SHARDS/.state/          completion markers; a relaunch skips finished units
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from refinedweb.config import dump_yaml
from refinedweb.data.executors import run_units
from refinedweb.data.refine import RUN_OUTPUTS, check_output_folder
from refinedweb.data.runner import plan_units
from refinedweb.data.tokenize.files import load_tokenizer, save_tokenizer
from refinedweb.data.tokenize.shards import token_dtype
from refinedweb.data.tokenize.summary import summarize
from refinedweb.data.tokenize.task import SPLITS, TokenizeConfig, TokenizeTask
from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write_text, expand_inputs, is_url
from refinedweb.stats import merge_step_lists

OUR_OUTPUTS = (*SPLITS, "tokenizer")


def tokenize_corpus(
    inputs: list[str],
    output: Path,
    config: TokenizeConfig,
    workers: int = 1,
    executor: str = "local",
    overwrite: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Tokenize ``inputs`` into shards under ``output``; returns the content of ``stats.json``.

    Configuration mistakes (no such tokenizer, no such input, an output folder holding another run) raise
    ``ConfigError`` before any work. Units that fail are listed under ``units.failed``; the others finish.
    """
    config.validate()  # also when built in Python rather than from_dict
    files = expand_inputs(inputs)
    missing = [f for f in files if not is_url(f) and not os.path.exists(f)]
    if missing:
        raise ConfigError(f"input file {missing[0]} does not exist; check the path")
    loaded = load_tokenizer(config.tokenizer, config.eos_token)  # fail early, in the parent, on a bad tokenizer
    output = Path(output)
    # The cache size changes speed and memory, never a shard: a relaunch with another one resumes.
    settings = {k: v for k, v in config.to_dict().items() if k != "bpe_cache_words"}
    fingerprint = {"config": settings, "inputs": files, "tokenizer_sha256": loaded.sha256}
    check_output_folder(output, fingerprint, overwrite, outputs=(*RUN_OUTPUTS, *OUR_OUTPUTS))
    dump_yaml(config.to_dict(), output / "run_config.yaml")
    save_tokenizer(loaded.json_text, loaded.roles, output / "tokenizer")

    units = plan_units(files, config.reader)
    task = TokenizeTask(config, output, loaded)
    result = run_units(units, task, output / ".state" / "tokenize", workers, executor, progress)
    failures = [{"input": o.unit.path, "unit": o.unit.id, "error": o.error} for o in result.failures]
    # A unit that yielded no document (an empty file, or only records without text) is not an error, but it is
    # listed so that it is never silent.
    empty = [o.unit.path for o in result.outcomes if o.error is None and o.stats and o.stats[-1]["kept"] == 0]
    summary = {
        **summarize(output),
        "dtype": token_dtype(loaded.vocab_size),
        "eos_id": loaded.eos_id,
        "tokenizer_sha256": loaded.sha256,
        "steps": merge_step_lists(result.unit_stats),
        "units": {
            "total": len(units),
            "completed": len(units) - len(failures),
            "resumed": sum(1 for o in result.outcomes if o.skipped),
            "without_documents": empty,
            "failed": failures,
        },
    }
    atomic_write_text(output / "stats.json", json.dumps(summary, indent=1, ensure_ascii=False))
    return summary
