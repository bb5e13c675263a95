"""Properties every filter keeps on any input: no crash, counts add up, ids and untouched fields unchanged."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinedweb.document import Document
from refinedweb.registry import step_class

STEPS = [
    "url_filter", "gopher_repetition", "gopher_quality", "c4_quality", "c4_badwords", "fineweb_quality", "roots",
    "refinedweb_lines", "pii",
]
ALPHABET = st.sampled_from(list("ab cdé\n\n.,!?#…-•1 2中文ひらがなカナ") + ["the ", "and ", "Home\n", "12 likes\n", "x@y.org ", "8.8.8.8 "])
TEXTS = st.lists(ALPHABET, max_size=80).map("".join)


@pytest.mark.parametrize("name", STEPS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXTS, min_size=1, max_size=8), lang=st.sampled_from([None, "en", "zh", "sw"]))
def test_any_text(name, texts, lang, run_step):
    docs = [
        Document(f"id-{i}", text, url=f"https://site{i}.example.com/page", metadata={"langid": {"lang": lang, "score": 0.9}} if lang else {})
        for i, text in enumerate(texts)
    ]
    urls = [d.url for d in docs]
    step = step_class(name)()
    kept = run_step(step, docs)
    assert [d.url for d in docs] == urls
    for doc in kept:
        assert isinstance(doc.text, str)


def test_batch_of_real_documents_through_all_filters(real_docs, run_step):
    remaining = real_docs
    for name in STEPS:
        remaining = run_step(step_class(name)(), remaining)
    assert all(d.id.startswith(("dclm", "aeb")) for d in remaining)  # Chinese pages fail the English Gopher rules
