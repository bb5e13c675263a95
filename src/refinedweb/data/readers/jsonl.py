"""JSONL (plain, .gz, .zst) documents. Byte ranges of plain files are separate work units: a unit owns the lines
that start inside ``[start, end)``, so consecutive units cover every line exactly once. A line longer than
``reader.max_line_bytes`` is skipped and counted as ``line_too_long`` without ever being held whole in memory."""

from __future__ import annotations

import codecs
import json
from typing import IO, Iterator

from refinedweb.data.readers import ReaderConfig
from refinedweb.data.readers.ids import derived_id
from refinedweb.document import Document
from refinedweb.io import open_decompressed
from refinedweb.stats import StepStats

# Over-long lines are read past in pieces of at most this size (or the cap, when smaller), so skipping a multi-GB
# line costs time but no more memory than the cap.
_DISCARD_CHUNK = 1 << 20


def _discard_line(handle: IO[bytes], chunk: int) -> int:
    """Read past the rest of the current line, ``chunk`` bytes at a time; the number of bytes read."""
    size = 0
    while True:
        piece = handle.readline(chunk)
        size += len(piece)
        if not piece or piece.endswith(b"\n"):
            return size


def _next_line(handle: IO[bytes], limit: int) -> tuple[bytes | None, int]:
    """The next line (newline included) and the bytes it spans; ``(b"", 0)`` at the end of the stream. The line is
    None when it holds more than ``limit`` bytes before its newline: then at most ``limit + 1`` bytes of it were in
    memory at once."""
    raw = handle.readline(limit + 1)
    if len(raw) <= limit or raw.endswith(b"\n"):
        return raw, len(raw)
    return None, len(raw) + _discard_line(handle, min(limit + 1, _DISCARD_CHUNK))


def read_lines(
    path: str, start: int, end: int | None, *, stats: StepStats, max_line_bytes: int
) -> Iterator[tuple[int, str]]:
    """(position, line) of the lines that start in ``[start, end)``: position is the line number when the whole file
    is read (always so for compressed files), the byte offset when a byte range of a plain file is. Shared by the line-based readers (JSONL, TSV). A
    UTF-8 byte-order mark at the start of the file is not part of the first line (it would make that record
    invalid JSON, or a TSV line's first column start with U+FEFF). A line of more than ``max_line_bytes`` bytes
    (newline not counted) is not yielded: it is counted in ``stats`` as a record dropped as ``line_too_long``."""
    whole = end is None and start == 0
    with open_decompressed(path) as handle:
        offset = start
        if start > 0:
            handle.seek(start - 1)
            # Finish the line that started before this unit (its owner reads it), in bounded pieces.
            offset = start - 1 + _discard_line(handle, min(max_line_bytes + 1, _DISCARD_CHUNK))
        number = 0
        while end is None or offset < end:
            raw, size = _next_line(handle, max_line_bytes)
            if not size:
                break
            position = number if whole else offset
            if raw is None:
                stats.total += 1
                stats.drop("line_too_long")
            else:
                text = raw.removeprefix(codecs.BOM_UTF8) if offset == 0 else raw
                yield position, text.decode("utf-8", errors="replace")
            offset += size
            number += 1


def read_jsonl(
    path: str, config: ReaderConfig, stats: StepStats, start: int = 0, end: int | None = None
) -> Iterator[Document]:
    for position, line in read_lines(path, start, end, stats=stats, max_line_bytes=config.max_line_bytes):
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
