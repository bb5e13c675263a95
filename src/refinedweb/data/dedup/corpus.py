"""How dedup stages see the corpus: numbered files of documents, each document addressed by a 64-bit ``ref``.

A ``ref`` packs ``(unit, index)``: the number of the input file in the sorted list of inputs (high 24 bits) and the
position of the document among the valid records of that file (low 40 bits). Refs order documents the way the
inputs are ordered, so "keep the smallest ref" is a deterministic rule that does not depend on how many workers
ran or in which order they finished.

Reading accepts JSONL (plain, ``.gz`` or ``.zst``) and Parquet. A record that is not a JSON object (or has no
text) is skipped and counted as ``invalid_record``; a record without an id gets ``<file base name>/<index>``.
Writing is JSONL.zst with fixed key order, separators and compression level, so the same documents give the same
bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator

from refinedweb.document import Document
from refinedweb.data.dedup.tasks import state_write
from refinedweb.errors import ConfigError, FatalError, InputError
from refinedweb.io import atomic_write, open_binary, open_text_stream

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


def read_documents(path: str, on_invalid: Callable[[str], None] | None = None) -> Iterator[Document]:
    """Yield the documents of one JSONL or Parquet file in file order. Invalid records call ``on_invalid(reason)``
    and are skipped; an unreadable file raises FatalError naming it."""
    base = base_name(path)
    records = _parquet_records(path) if path.endswith(".parquet") else _jsonl_records(path)
    index = 0
    try:
        for record in records:
            try:
                doc = _to_document(record, base, index)
            except InputError as exc:
                if on_invalid is not None:
                    on_invalid(exc.reason)
                continue
            index += 1
            yield doc
    except (OSError, EOFError, ValueError) as exc:
        raise FatalError(f"cannot read {path}: {exc}; check that the file is complete JSONL or Parquet") from exc


def _to_document(record: object, base: str, index: int) -> Document:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise InputError("invalid_record")
    if record.get("id") in (None, ""):
        record = dict(record, id=f"{base}/{index}")
    return Document.from_record(record)


def _jsonl_records(path: str) -> Iterator[object]:
    with open_text_stream(path) as stream:
        for line in stream:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield None


def _parquet_records(path: str) -> Iterator[dict]:
    import pyarrow.parquet as pq

    with open_binary(path) as raw:
        table = pq.ParquetFile(raw)
        for batch in table.iter_batches(batch_size=1024):
            yield from batch.to_pylist()


def encode_record(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class JsonlZstWriter:
    """Atomic, deterministic JSONL.zst writer: the file appears complete or not at all. ``durable`` files (final
    outputs) are fsynced; intermediate stage files are not (see ``tasks.state_write``)."""

    def __init__(self, path: Path, level: int = 3, durable: bool = False):
        self.path = path
        self.level = level
        self.durable = durable
        self._context = None

    def __enter__(self) -> "JsonlZstWriter":
        import zstandard

        self._context = atomic_write(self.path) if self.durable else state_write(self.path)
        handle = self._context.__enter__()
        self._stream = zstandard.ZstdCompressor(level=self.level).stream_writer(handle, closefd=False)
        return self

    def write(self, record: dict) -> None:
        self._stream.write(encode_record(record))

    def __exit__(self, *exc_info) -> None:
        self._stream.close()
        self._context.__exit__(*exc_info)
