"""Shared fixtures: the real multi-script documents and a small tokenizer trained on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from refinedweb.data.tokenize.files import save_tokenizer
from refinedweb.data.tokenize.train import SpecialTokens, TrainConfig, train_tokenizer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures-tokenize"
DOCUMENTS = FIXTURES / "multiscript.jsonl"


def fixture_records() -> list[dict]:
    return [json.loads(line) for line in DOCUMENTS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def documents_path() -> Path:
    return DOCUMENTS


@pytest.fixture(scope="session")
def records() -> list[dict]:
    return fixture_records()


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, records) -> Path:
    """A 600-token byte-level BPE tokenizer trained on the fixture documents, saved in our folder layout."""
    config = TrainConfig(vocab_size=600, special=SpecialTokens())
    tokenizer = train_tokenizer((r["text"] for r in records), config)
    folder = tmp_path_factory.mktemp("tokenizer")
    save_tokenizer(tokenizer.to_str(pretty=True), config.special.as_roles(), folder)
    return folder
