"""TSV (plain, .gz, .zst) documents: one record per line, tab-separated columns named by ``reader.tsv_columns``.

The default layout, ``url<TAB>base64(text)``, is that of the HPLT releases written by warc2text. Byte ranges of plain
files are separate work units, as for JSONL. Records are skipped and counted, never dropped silently:
``tsv_columns`` (a line with another number of columns), ``invalid_base64`` (a text column that is not base64 of
UTF-8 text when ``tsv_text_encoding`` is ``base64``; in ``auto`` mode, a long base64 value whose bytes are not UTF-8), ``no_text`` (an empty text) and ``line_too_long`` (a line over
``reader.max_line_bytes``, never held whole in memory).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Iterator

from refinedweb.data.readers import ReaderConfig
from refinedweb.data.readers.ids import derived_id
from refinedweb.data.readers.jsonl import read_lines
from refinedweb.document import Document
from refinedweb.stats import StepStats

_ESCAPES = re.compile(r"\\([nt\\])")
_UNESCAPED = {"n": "\n", "t": "\t", "\\": "\\"}


def _from_base64(value: str) -> str | None:
    """The UTF-8 text that ``value`` is the base64 of, or None when it is not."""
    try:  # validate=True refuses characters outside the alphabet and bad padding
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _from_plain(value: str) -> str:
    return _ESCAPES.sub(lambda m: _UNESCAPED[m.group(1)], value)


_BASE64_ALPHABET = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_LOOKS_ENCODED = 64
"""In ``auto`` mode, a value of at least this many base64 characters (and a multiple of 4 long) is taken for
base64 even when it does not decode to UTF-8: plain text that long without a space or other punctuation does not
occur, while base64 of a page in another encoding (a corrupt record) does, and must be a counted skip rather than a
document made of base64."""


def decode_text(value: str, encoding: str) -> str | None:
    """The text of a TSV text column under ``encoding`` (auto, base64, plain); None: not valid base64 of UTF-8."""
    if encoding == "plain":
        return _from_plain(value)
    text = _from_base64(value)
    if text is None and encoding == "auto":
        looks_encoded = (len(value) >= _LOOKS_ENCODED and len(value) % 4 == 0
                         and _BASE64_ALPHABET.fullmatch(value) is not None)
        return None if looks_encoded else _from_plain(value)
    return text


def read_tsv(
    path: str, config: ReaderConfig, stats: StepStats, start: int = 0, end: int | None = None
) -> Iterator[Document]:
    columns = config.tsv_columns.split(",")
    for position, line in read_lines(path, start, end, stats=stats, max_line_bytes=config.max_line_bytes):
        line = line.rstrip("\r\n")
        if not line.strip() and "\t" not in line:  # a blank line is no record; "url<TAB>" (tabs) is one
            continue
        stats.total += 1
        values = line.split("\t")
        if len(values) != len(columns):
            stats.drop("tsv_columns")
            continue
        record = dict(zip(columns, values))
        text = decode_text(record.pop("text"), config.tsv_text_encoding)
        if text is None:
            stats.drop("invalid_base64")
            continue
        if not text.strip():
            stats.drop("no_text")
            continue
        doc_id = record.pop("id", None)
        url = record.pop("url", "")
        stats.kept += 1
        yield Document(id=doc_id or derived_id(path, position), text=text, url=url, metadata=record)
