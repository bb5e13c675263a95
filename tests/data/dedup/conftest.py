"""Fixtures for the dedup tests: the real pages of aeb_pages.jsonl.gz, and ``helpers`` to write JSONL inputs and
read JSONL.zst outputs (a fixture, because the suite imports test modules with --import-mode=importlib)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import zstandard

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def pages() -> list[dict]:
    with gzip.open(HERE / "aeb_pages.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def write_jsonl(path: Path, records: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write((record if isinstance(record, str) else json.dumps(record)) + "\n")
    return str(path)


def read_zst(path: Path) -> list[dict]:
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8")
        return [json.loads(line) for line in text]


def read_output(out: Path) -> dict[str, list[dict]]:
    return {p.name: read_zst(p) for p in sorted((out / "documents").glob("*.jsonl.zst"))}


def output_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "documents").glob("*.jsonl.zst"))}


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    return SimpleNamespace(write_jsonl=write_jsonl, read_zst=read_zst, read_output=read_output,
                           output_bytes=output_bytes)
