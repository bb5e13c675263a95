"""How dedup stages see the corpus: numbered files of documents, each document addressed by a 64-bit ``ref``.

A ``ref`` packs ``(unit, index)``: the number of the input file in the sorted list of inputs (high 24 bits) and the
position of the document among the valid records of that file (low 40 bits). Refs order documents the way the
inputs are ordered, so "keep the smallest ref" is a deterministic rule that does not depend on how many workers
ran or in which order they finished.

Reading (JSONL plain, ``.gz`` or ``.zst``, and Parquet) and writing (JSONL.zst, deterministic bytes) use the
project's readers and writers, so dedup sees and writes records exactly as ``refine`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from refinedweb.document import Document
from refinedweb.errors import ConfigError
from refinedweb.stats import StepStats

UNIT_BITS = 24
INDEX_BITS = 40
INDEX_MASK = (1 << INDEX_BITS) - 1
MAX_UNITS = 1 << UNIT_BITS

_SUFFIXES = (".jsonl.zst", ".jsonl.gz", ".jsonl", ".json.zst", ".json.gz", ".json", ".parquet")


def make_ref(unit: int, index: int) -> int:
    return (unit << INDEX_BITS) | index


def ref_unit(ref: int) -> int:
    return ref >> INDEX_BITS


def ref_index(ref: int) -> int:
    return ref & INDEX_MASK


def base_name(path: str) -> str:
    """``a/b/part-1.jsonl.zst`` -> ``part-1``; the output file of this input is ``part-1.jsonl.zst``."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def check_inputs(paths: list[str]) -> None:
    """One output file per input file, so two inputs may not share a base name; and refs must fit."""
    if len(paths) >= MAX_UNITS:
        raise ConfigError(f"{len(paths)} input files; dedup handles at most {MAX_UNITS - 1}; merge small files first")
    seen: dict[str, str] = {}
    for path in paths:
        base = base_name(path)
        if base in seen:
            raise ConfigError(
                f"inputs {seen[base]} and {path} would both write documents/{base}.jsonl.zst; rename one of them"
            )
        seen[base] = path


def read_documents(path: str, stats: StepStats | None = None) -> Iterator[Document]:
    """The documents of one JSONL or Parquet file in file order, through the project's readers (which count every
    skipped record in ``stats`` under its reason: ``invalid_json``, ``no_text``, ...). Every pass of every stage
    reads a file the same way, so a document's position is the same in all of them."""
    from refinedweb.data.readers import read_documents as read

    return read(path, stats=stats)


def open_writer(path: Path):
    """A JSONL.zst writer (the project's: atomic, sorted keys, fixed level, so the same documents give the same
    bytes)."""
    from refinedweb.data.writers import RecordWriter, WriterConfig

    return RecordWriter(path, WriterConfig(format="jsonl.zst"))
