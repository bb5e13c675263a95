"""The refine task: what one work unit does, whichever executor runs it.

read the unit → per-document steps in order → write kept documents (and rejects) atomically → return stats.
The output file of a unit is named after the unit, so a rerun replaces it rather than adding to it.
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterator

from refinedweb.data.executors.base import WorkUnit
from refinedweb.data.pipeline import PipelineConfig
from refinedweb.data.readers import ReaderConfig, detect_format, read_documents
from refinedweb.data.step import PipelineStep
from refinedweb.data.writers import RecordWriter, WriterConfig, suffix, write_documents
from refinedweb.document import Document
from refinedweb.stats import StepStats

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def plan_units(inputs: list[str], reader: ReaderConfig) -> list[WorkUnit]:
    """One unit per file; plain JSONL and TSV files larger than ``reader.unit_bytes`` become byte ranges and Parquet files
    with several row groups become row-group ranges, so one big file does not serialise a run."""
    units: list[WorkUnit] = []
    for index, path in enumerate(inputs):
        base = _UNSAFE.sub("_", os.path.basename(path))[:80]
        fmt = detect_format(path, reader.format)
        ranges: list[tuple[int, int | None]] = [(0, None)]
        if fmt in ("jsonl", "tsv") and not path.endswith((".gz", ".zst")) and "://" not in path:
            size = os.path.getsize(path)
            if size > reader.unit_bytes:
                ranges = [(lo, min(lo + reader.unit_bytes, size)) for lo in range(0, size, reader.unit_bytes)]
        elif fmt == "parquet":
            from refinedweb.data.readers.parquet import row_group_count

            groups = row_group_count(path)
            per_unit = 8
            if groups > per_unit:
                ranges = [(lo, min(lo + per_unit, groups)) for lo in range(0, groups, per_unit)]
        for part, (start, end) in enumerate(ranges):
            name = f"{index:05d}-{base}" if len(ranges) == 1 else f"{index:05d}-{base}-{part:04d}"
            units.append(WorkUnit(id=name, path=path, start=start, end=end))
    return units


class RefineTask:
    """Picklable: holds only the config and output folder; steps are built in ``setup`` in each worker."""

    def __init__(self, config: PipelineConfig, documents_dir: Path, rejects_dir: Path | None):
        self.config = config
        self.documents_dir = Path(documents_dir)
        self.rejects_dir = Path(rejects_dir) if rejects_dir else None
        self.steps: list[PipelineStep] = []

    def setup(self) -> None:
        self.steps = self.config.build_steps()
        for step in self.steps:
            step.ensure_setup()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "steps": []}

    def output_path(self, unit: WorkUnit) -> Path:
        return self.documents_dir / f"{unit.id}{suffix(self.config.writer)}"

    def run(self, unit: WorkUnit) -> list[dict[str, Any]]:
        for folder in (self.documents_dir, self.rejects_dir):
            if folder is not None and folder.exists():
                for stale in folder.glob(f".{unit.id}.*.tmp-*"):  # left by a killed attempt
                    stale.unlink(missing_ok=True)
        read_stats = StepStats("read")
        for step in self.steps:
            step.stats = StepStats(step.name)
        with ExitStack() as stack:
            if self.rejects_dir is not None:
                sink = stack.enter_context(RecordWriter(self.rejects_dir / f"{unit.id}.jsonl.zst", WriterConfig()))
                for step in self.steps:
                    step.rejects = lambda doc, name, reason: sink.write({**doc.to_record(), "step": name, "reason": reason})
            docs: Iterator[Document] = read_documents(unit.path, self.config.reader, read_stats, unit.start, unit.end)
            for step in self.steps:
                docs = step(docs)
            write_documents(self.output_path(unit), docs, self.config.writer)
        return [read_stats.to_dict()] + [step.stats.to_dict() for step in self.steps]


__all__ = ["plan_units", "RefineTask"]
