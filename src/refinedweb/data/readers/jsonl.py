"""JSONL (plain, .gz, .zst) documents. Byte ranges of plain files are separate work units: a unit owns the lines
that start inside ``[start, end)``, so consecutive units cover every line exactly once."""

from __future__ import annotations

import codecs
import json
from typing import Iterator

from refinedweb.data.readers import ReaderConfig
from refinedweb.data.readers.ids import derived_id
from refinedweb.document import Document
from refinedweb.io import open_binary, open_text_stream
from refinedweb.stats import StepStats


def read_lines(path: str, start: int, end: int | None) -> Iterator[tuple[int, str]]:
    """(position, line) of the lines that start in ``[start, end)``: position is the byte offset for plain files,
    the line number for compressed ones (which are read whole). Shared by the line-based readers (JSONL, TSV). A
    UTF-8 byte-order mark at the start of the file is not part of the first line (it would make that record
    invalid JSON, or a TSV line's first column start with U+FEFF)."""
    if end is None and start == 0:
        with open_text_stream(path) as handle:
            for number, line in enumerate(handle):
                yield number, (line.removeprefix("\ufeff") if number == 0 else line)
        return
    with open_binary(path) as handle:
        offset = start
        if start > 0:
            handle.seek(start - 1)
            skipped = handle.readline()  # finish the line that started before this unit
            offset = start - 1 + len(skipped)
        while end is None or offset < end:
            raw = handle.readline()
            if not raw:
                break
            text = raw.removeprefix(codecs.BOM_UTF8) if offset == 0 else raw
            yield offset, text.decode("utf-8", errors="replace")
            offset += len(raw)


def read_jsonl(
    path: str, config: ReaderConfig, stats: StepStats, start: int = 0, end: int | None = None
) -> Iterator[Document]:
    for position, line in read_lines(path, start, end):
        if not line.strip():
            continue
        stats.total += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            stats.drop("invalid_json")
            continue
        if not isinstance(record, dict):
            stats.drop("invalid_json")
            continue
        text = record.get(config.text_key)
        if not isinstance(text, str) or not text.strip():
            stats.drop("no_text")
            continue
        doc_id = record.get(config.id_key)
        metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
        extra = {k: v for k, v in record.items() if k not in (config.text_key, config.id_key, config.url_key, "metadata")}
        if extra:
            metadata = {**extra, **metadata}
        stats.kept += 1
        yield Document(
            id=str(doc_id) if doc_id is not None else derived_id(path, position),
            text=text,
            url=str(record.get(config.url_key) or ""),
            metadata=metadata,
        )
