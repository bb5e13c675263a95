"""Readers: one input file (or part of one) → Documents, with every skipped record counted under a reason.

``read_documents(path, config, stats, start, end)`` picks the reader by ``config.format`` or the file suffix. The
reader's counters form the first entry of a run's stats, named ``read``: ``total`` records seen, ``kept``
documents produced, ``dropped[reason]`` records skipped (``request``, ``metadata``, ``non_html``, ``too_large``,
``line_too_long``, …).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

from refinedweb.config import Config
from refinedweb.document import Document
from refinedweb.errors import ConfigError
from refinedweb.stats import StepStats


@dataclasses.dataclass
class ReaderConfig(Config):
    format: str = "auto"
    """auto (by file suffix), warc (also WET and ARC), jsonl, tsv or parquet."""
    text_key: str = "text"
    """JSONL/Parquet: the field that holds the text."""
    id_key: str = "id"
    """JSONL/Parquet: the field that holds an existing id; kept as it is."""
    url_key: str = "url"
    """JSONL/Parquet: the field that holds the URL."""
    tsv_columns: str = "url,text"
    """TSV: the names of the tab-separated columns, in order; ``text`` is required, ``url`` and ``id`` are used as
    such, any other column goes to metadata. The default is the layout of HPLT / warc2text ``.tsv`` releases."""
    tsv_text_encoding: str = "auto"
    """TSV: how the text column is written: ``base64`` (warc2text), ``plain`` (with ``\\n``, ``\\t`` and ``\\\\``
    escapes), or ``auto``: base64 when the column is valid base64 of UTF-8 text, else plain (but a value of 64+ base64 characters
    whose bytes are not UTF-8 is an ``invalid_base64`` skip, not a document of base64)."""
    max_record_bytes: int = 10_000_000
    """WARC/ARC: payloads larger than this are skipped as too_large (the record is not read into memory)."""
    max_line_bytes: int = 64 * 1024 * 1024
    """JSONL/TSV: lines longer than this many bytes (of the decompressed file, the newline not counted) are skipped
    as line_too_long, read past in bounded pieces so a corrupt or hostile multi-GB line never sits in memory.
    64 MiB is far above a real record (a JSONL page is kilobytes; ``max_record_bytes`` keeps WARC payloads to
    10 MB) and small next to a worker's memory."""
    unit_bytes: int = 256 * 1024 * 1024
    """JSONL files larger than this are split into byte-range work units of about this size."""

    def validate(self) -> None:
        if self.format not in ("auto", "warc", "jsonl", "tsv", "parquet"):
            raise ConfigError(f"reader.format={self.format!r}; use one of auto, warc, jsonl, tsv, parquet")
        if self.tsv_text_encoding not in ("auto", "base64", "plain"):
            raise ConfigError(f"reader.tsv_text_encoding={self.tsv_text_encoding!r}; use auto, base64 or plain")
        columns = self.tsv_columns.split(",")
        if "text" not in columns or len(set(columns)) != len(columns):
            raise ConfigError(f"reader.tsv_columns={self.tsv_columns!r} must name each column once, one of them "
                              "'text' (e.g. url,text)")
        self.check_range("max_record_bytes", 1)
        self.check_range("max_line_bytes", 1)
        self.check_range("unit_bytes", 1024)


_SUFFIXES = {
    "warc": (".warc", ".warc.gz", ".warc.zst", ".wet", ".wet.gz", ".wat", ".wat.gz", ".arc", ".arc.gz", ".warc.txt"),
    "jsonl": (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json", ".json.zst", ".ndjson"),
    "tsv": (".tsv", ".tsv.gz", ".tsv.zst"),
    "parquet": (".parquet",),
}


def detect_format(path: str, configured: str = "auto") -> str:
    if configured != "auto":
        return configured
    name = path.lower()
    for fmt, suffixes in _SUFFIXES.items():
        if name.endswith(suffixes):
            return fmt
    if name.endswith(".zst") or name.endswith(".gz"):
        return "jsonl"
    raise ConfigError(f"cannot tell the format of {path} from its name; set reader.format (warc, jsonl, tsv, parquet)")


def read_documents(
    path: str,
    config: ReaderConfig | None = None,
    stats: StepStats | None = None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[Document]:
    """Documents of ``path`` (or of the byte range / row-group range ``[start, end)`` of it)."""
    config = config or ReaderConfig()
    stats = stats if stats is not None else StepStats("read")
    fmt = detect_format(path, config.format)
    if fmt == "warc":
        from refinedweb.data.readers.warc import read_warc

        return read_warc(path, config, stats)
    if fmt == "parquet":
        from refinedweb.data.readers.parquet import read_parquet

        return read_parquet(path, config, stats, start, end)
    if fmt == "tsv":
        from refinedweb.data.readers.tsv import read_tsv

        return read_tsv(path, config, stats, start, end)
    from refinedweb.data.readers.jsonl import read_jsonl

    return read_jsonl(path, config, stats, start, end)
