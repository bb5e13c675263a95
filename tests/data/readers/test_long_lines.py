"""The line cap of the line-based readers (JSONL, TSV): a line over ``reader.max_line_bytes`` is skipped and counted
as ``line_too_long``, the lines after it are still read, and the over-long line is never held whole in memory.

The records around the over-long line are real HPLT records (``tests/data/crawl/hplt_zh_sample.tsv.zst``); the
over-long line stands for a corrupt or hostile file and is generated here.
"""

import gzip
from collections import Counter
import io
import json
from pathlib import Path

import pytest
import zstandard

from refinedweb.data.readers import ReaderConfig, jsonl, read_documents
from refinedweb.data.readers.tsv import decode_text
from refinedweb.errors import ConfigError
from refinedweb.stats import StepStats

HPLT = Path(__file__).parents[1] / "crawl" / "hplt_zh_sample.tsv.zst"


def _hplt_lines() -> list[bytes]:
    """The real HPLT TSV lines (``url<TAB>base64(text)``), newline included."""
    with zstandard.ZstdDecompressor().stream_reader(HPLT.open("rb"), read_across_frames=True) as raw:
        return io.BufferedReader(raw).readlines()


def _write(path: Path, lines: list[bytes]) -> str:
    data = b"".join(lines)
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return str(path)


class _Spy:
    """A binary stream that remembers the longest piece any ``readline`` call returned."""

    def __init__(self, handle):
        self._handle = handle
        self.longest = 0

    def readline(self, limit=-1):
        line = self._handle.readline(limit)
        self.longest = max(self.longest, len(line))
        return line

    def seek(self, offset):
        return self._handle.seek(offset)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


@pytest.fixture
def spies(monkeypatch):
    """Every stream the line reader opens, wrapped in a ``_Spy``."""
    opened: list[_Spy] = []
    real_open = jsonl.open_decompressed

    def spying_open(path):
        opened.append(_Spy(real_open(path)))
        return opened[-1]

    monkeypatch.setattr(jsonl, "open_decompressed", spying_open)
    return opened


def _hplt_jsonl() -> tuple[list[bytes], list[str]]:
    lines, texts = [], []
    for number, line in enumerate(_hplt_lines()):
        url, encoded = line.rstrip(b"\n").decode("utf-8").split("\t")
        texts.append(decode_text(encoded, "base64"))
        lines.append((json.dumps({"id": f"hplt-{number}", "url": url, "text": texts[-1]}) + "\n").encode("utf-8"))
    return lines, texts


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_over_long_jsonl_line_is_counted_and_the_rest_is_read(tmp_path, spies, suffix):
    lines, texts = _hplt_jsonl()
    cap = max(len(line) for line in lines)  # every real record fits
    hostile = (json.dumps({"id": "hostile", "text": "x" * (50 * cap)}) + "\n").encode()
    path = _write(tmp_path / f"docs{suffix}", lines[:5] + [hostile] + lines[5:])
    stats = StepStats("read")
    docs = list(read_documents(path, ReaderConfig(max_line_bytes=cap), stats))
    assert [d.text for d in docs] == texts
    assert stats.dropped == {"line_too_long": 1} and stats.kept == len(texts) and stats.consistent()
    # The 50x line was read past in pieces: no read returned more than the cap and its newline.
    assert spies and max(spy.longest for spy in spies) <= cap + 1


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz"])
def test_over_long_tsv_line_is_counted_and_the_rest_is_read(tmp_path, spies, suffix):
    lines = _hplt_lines()
    cap = max(len(line) for line in lines)
    hostile = b"http://hostile\t" + b"QUFB" * (20 * cap) + b"\n"
    path = _write(tmp_path / f"docs{suffix}", [hostile] + lines)
    stats = StepStats("read")
    docs = list(read_documents(path, ReaderConfig(max_line_bytes=cap), stats))
    assert len(docs) == len(lines) and docs[0].url.startswith("http") and docs[0].url != "http://hostile"
    assert stats.dropped == {"line_too_long": 1} and stats.consistent()
    assert max(spy.longest for spy in spies) <= cap + 1


def test_the_cap_counts_bytes_before_the_newline(tmp_path):
    cap = 100
    fits = json.dumps({"text": "a" * (cap - 12)}).encode()  # exactly cap bytes, then the newline
    over = json.dumps({"text": "b" * (cap - 11)}).encode()  # one byte more
    assert len(fits) == cap and len(over) == cap + 1
    path = _write(tmp_path / "edge.jsonl", [fits + b"\n", over + b"\n", fits])  # the last line has no newline
    stats = StepStats("read")
    docs = list(read_documents(path, ReaderConfig(max_line_bytes=cap), stats))
    assert [d.text[0] for d in docs] == ["a", "a"] and stats.dropped == {"line_too_long": 1}


@pytest.mark.parametrize("unit", [64, 1000, 4096, 10_000])
def test_byte_ranges_see_each_line_once_when_an_over_long_line_spans_a_boundary(tmp_path, spies, unit):
    lines, texts = _hplt_jsonl()
    cap = max(len(line) for line in lines)
    hostile = (json.dumps({"id": "hostile", "text": "y" * (5 * cap)}) + "\n").encode()
    path = _write(tmp_path / "docs.jsonl", lines[:3] + [hostile] + lines[3:])
    hostile_start = sum(len(line) for line in lines[:3])
    size = Path(path).stat().st_size
    boundaries = range(0, size, unit)
    # The over-long line starts in one unit and runs through the next (several, for the small units).
    assert any(hostile_start < b < hostile_start + len(hostile) for b in boundaries)
    docs, dropped = [], Counter()
    for start in boundaries:
        stats = StepStats("read")
        docs += read_documents(path, ReaderConfig(max_line_bytes=cap), stats, start, min(start + unit, size))
        assert stats.consistent()
        dropped.update(stats.dropped)
    assert [d.id for d in docs] == [f"hplt-{i}" for i in range(len(texts))]
    assert dropped == {"line_too_long": 1}
    # Units that start inside the over-long line read past its rest in bounded pieces too.
    assert max(spy.longest for spy in spies) <= cap + 1


def test_max_line_bytes_must_be_positive():
    with pytest.raises(ConfigError, match="max_line_bytes"):
        ReaderConfig(max_line_bytes=0).validate()
    assert ReaderConfig().max_line_bytes == 64 * 1024 * 1024
