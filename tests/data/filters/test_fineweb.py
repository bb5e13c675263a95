import pytest

from refinedweb.data.filters.fineweb import FineWebQualityFilter
from refinedweb.document import Document

SENTENCES = [
    "The committee met on Tuesday to discuss the new budget for the library.",
    "Several members asked for more money to repair the roof before winter.",
    "After a long debate they agreed to postpone the vote until next month.",
]


def test_prose_is_kept_with_signals():
    doc = Document("f", "\n".join(SENTENCES))
    step = FineWebQualityFilter()
    assert list(step(iter([doc]))) == [doc]
    meta = doc.metadata["fineweb_quality"]
    assert meta["line_punct_ratio"] == 1.0 and meta["short_line_ratio"] == 0.0 and meta["char_dup_ratio"] == 0.0
    assert meta["list_ratio"] == round(2 / 41, 4)  # 2 newlines; 38 words + 3 full stops


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([s[:-1] for s in SENTENCES], "fineweb_line_punct_ratio"),
        (SENTENCES + ["Home", "About", "Contact", "Shop", "Blog", "Login", "Cart"], "fineweb_short_line_ratio"),
        (SENTENCES + [SENTENCES[0]], "fineweb_char_dup_ratio"),
    ],
)
def test_reasons(lines, reason):
    step = FineWebQualityFilter()
    list(step(iter([Document("f", "\n".join(lines))])))
    assert step.stats.dropped == {reason: 1}


def test_list_ratio():
    lines = [f"Part {i}." for i in range(30)]  # 29 newlines / 90 tokens > 0.3
    step = FineWebQualityFilter.from_dict({"short_line_thr": None})
    list(step(iter([Document("f", "\n".join(lines))])))
    assert step.stats.dropped == {"fineweb_list_ratio": 1}


def test_empty_and_real_documents(real_docs, run_step):
    step = FineWebQualityFilter()
    run_step(step, [Document("e", "\n\n"), *real_docs])
    assert step.stats.dropped["empty"] == 1
