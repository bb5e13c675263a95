from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "data"
SAMPLES = TESTS.parent / "src" / "refinedweb" / "samples"


@pytest.fixture
def crawl_dir() -> Path:
    return FIXTURES / "crawl"


@pytest.fixture
def sample_warcs() -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob("*.warc.gz"))
