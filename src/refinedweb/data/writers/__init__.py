"""Writers: Documents → one output file per work unit, written atomically (temporary file, then rename).

Records are ``{"id", "url", "text", "metadata"}``. JSONL is written with sorted metadata keys and a fixed
compression level, so the same documents always give the same bytes.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
from pathlib import Path
from typing import Iterable

from refinedweb.config import Config
from refinedweb.document import Document
from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write

FORMATS = ("jsonl.zst", "jsonl.gz", "jsonl", "parquet")


@dataclasses.dataclass
class WriterConfig(Config):
    format: str = "jsonl.zst"
    """jsonl.zst, jsonl.gz, jsonl or parquet."""
    compression_level: int = 3

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"writer.format={self.format!r}; use one of {', '.join(FORMATS)}")
        self.check_range("compression_level", 1, 19)


def encode_record(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n").encode("utf-8")


class RecordWriter:
    """Stream records into ``path``; the file appears (atomically) only when the writer closes without error."""

    def __init__(self, path: Path, config: WriterConfig):
        self.path, self.config, self.count = Path(path), config, 0
        self._rows: list[dict] = []

    def __enter__(self) -> "RecordWriter":
        if self.config.format == "parquet":
            return self
        self._context = atomic_write(self.path)
        raw = self._context.__enter__()
        self._raw = raw
        if self.config.format == "jsonl.zst":
            import zstandard

            self._sink = zstandard.ZstdCompressor(level=self.config.compression_level).stream_writer(raw, closefd=False)
        elif self.config.format == "jsonl.gz":
            # mtime=0 and no file name: identical input gives identical bytes.
            level = min(9, self.config.compression_level)
            self._sink = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0, filename="")
        else:
            self._sink = raw
        self._buffer = io.BufferedWriter(self._sink, buffer_size=1 << 20) if self._sink is not raw else raw
        return self

    def write(self, record: dict) -> None:
        self.count += 1
        if self.config.format == "parquet":
            self._rows.append(record)
        else:
            self._buffer.write(encode_record(record))

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.config.format == "parquet":
            if exc_type is None:
                _write_parquet(self.path, self._rows)
            return
        if exc_type is None:
            self._buffer.flush()
            if self._sink is not self._raw:
                self._sink.close()
        self._context.__exit__(exc_type, exc, tb)


def write_records(path: Path, records: Iterable[dict], config: WriterConfig) -> int:
    """Write records to ``path`` atomically in the configured format; return how many were written."""
    with RecordWriter(path, config) as writer:
        for record in records:
            writer.write(record)
    return writer.count


def write_documents(path: Path, docs: Iterable[Document], config: WriterConfig) -> int:
    return write_records(path, (doc.to_record() for doc in docs), config)


def _write_parquet(path: Path, records: list[dict]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {
        "id": [r["id"] for r in records],
        "url": [r.get("url", "") for r in records],
        "text": [r["text"] for r in records],
        # Metadata differs from step to step; JSON keeps it lossless without a per-file schema.
        "metadata": [json.dumps(r.get("metadata", {}), ensure_ascii=False, sort_keys=True, default=str) for r in records],
    }
    extra = sorted({k for r in records for k in r} - set(rows))
    for key in extra:
        rows[key] = [json.dumps(r.get(key), ensure_ascii=False, sort_keys=True, default=str) for r in records]
    table = pa.table(rows)
    with atomic_write(path) as handle:
        pq.write_table(table, handle, compression="zstd")
    return len(records)


def suffix(config: WriterConfig) -> str:
    return "." + config.format
