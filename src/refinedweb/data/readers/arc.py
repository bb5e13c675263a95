"""ARC (Internet Archive, version 1) files: a ``filedesc://`` header record, then for each capture a header line
``URL IP DATE CONTENT-TYPE LENGTH`` followed by LENGTH bytes (HTTP headers and body). Gzip per record or plain."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from typing import Iterator

from refinedweb.data.readers import ReaderConfig
from refinedweb.data.readers.charset import decode_html
from refinedweb.data.readers.warc import HTML_TYPES
from refinedweb.document import Document
from refinedweb.errors import InputError
from refinedweb.io import open_binary
from refinedweb.stats import StepStats


def read_arc(path: str, config: ReaderConfig, stats: StepStats) -> Iterator[Document]:
    raw = open_binary(path)
    stream = gzip.GzipFile(fileobj=raw) if path.lower().endswith(".gz") else raw
    name = os.path.basename(path)
    offset = 0
    try:
        while True:
            try:
                line = stream.readline()
            except (OSError, EOFError, zlib.error):
                stats.total += 1
                stats.drop("corrupt_stream")
                return
            if not line:
                return
            offset += len(line)
            if not line.strip():
                continue
            stats.total += 1
            fields = line.decode("latin-1").split()
            try:
                length = int(fields[-1])
            except (ValueError, IndexError):
                stats.drop("corrupt_record")
                return  # without a length the stream cannot be resynchronised
            try:
                block = stream.read(length)
            except (OSError, EOFError, zlib.error):
                stats.drop("corrupt_stream")
                return
            offset += len(block)
            if len(block) < length:
                stats.drop("truncated_record")
                return
            url = fields[0]
            if url.startswith("filedesc://"):
                stats.drop("arc_header")
                continue
            try:
                doc = _to_document(url, fields, block, name, offset, config)
            except InputError as exc:
                stats.drop(exc.reason)
                continue
            stats.kept += 1
            yield doc
    finally:
        raw.close()


def _to_document(url: str, fields: list[str], block: bytes, name: str, offset: int, config: ReaderConfig) -> Document:
    if len(block) > config.max_record_bytes:
        raise InputError("too_large")
    head, sep, body = block.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = block.partition(b"\n\n")
    status_line = head.split(b"\n", 1)[0].decode("latin-1")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].upper().startswith("HTTP"):
        raise InputError("non_http")
    if not parts[1].isdigit() or not (200 <= int(parts[1]) < 300):
        raise InputError("http_status")
    content_type, charset = (fields[-2].lower() if len(fields) >= 5 else ""), None
    for header in head.split(b"\n")[1:]:
        key, _, value = header.decode("latin-1").partition(":")
        if key.strip().lower() == "content-type":
            content_type, _, params = value.strip().lower().partition(";")
            if "charset=" in params:
                charset = params.split("charset=", 1)[1].strip()
    if content_type.split(";")[0].strip() not in HTML_TYPES:
        raise InputError("non_html")
    if not body.strip():
        raise InputError("empty_payload")
    text, used = decode_html(body, charset)
    doc_id = hashlib.sha1(f"{name}:{offset}".encode()).hexdigest()[:24]
    date = fields[2] if len(fields) >= 5 else ""
    return Document(id=doc_id, text=text, url=url, metadata={"arc": {"date": date, "file": name, "charset": used}})
