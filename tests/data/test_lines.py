from refinedweb.data.lines import RefinedWebLinesFilter
from refinedweb.document import Document

BODY = [
    "The bridge was closed for repairs during most of the spring and early summer this year.",
    "Engineers found that several of the steel cables had rusted and needed to be replaced.",
    "The work was finished in July, two weeks ahead of the schedule that the city had announced.",
    "Drivers who had been using the ferry returned to the bridge almost at once, the council said.",
    "A small ceremony was held on the first morning, and the mayor was the first person to drive across.",
]


def test_small_corrections_keep_the_document_with_corrected_text():
    lines = BODY + ["Continue with the story Read more..."]
    doc = Document("l", "\n".join(lines + ["12 likes"]))
    step = RefinedWebLinesFilter()
    assert list(step(iter([doc]))) == [doc]
    assert doc.text.split("\n") == BODY + ["Continue with the story"]
    meta = doc.metadata["refinedweb_lines"]
    assert meta["counter"] == 1 and meta["boilerplate"] == 1
    assert 0 < meta["removed_word_frac"] <= 0.05


def test_more_than_five_percent_removed_drops_the_document():
    lines = ["HOME | NEWS | SPORT | WEATHER", "Share", "Comments: 14", "2,345 views", "© 2023 - 2024"] + BODY
    doc = Document("l", "\n".join(lines))
    step = RefinedWebLinesFilter()
    assert list(step(iter([doc]))) == []
    meta = doc.metadata["refinedweb_lines"]
    assert meta == {**meta, "uppercase": 1, "short": 1, "counter": 2, "numeric": 1}
    assert step.stats.dropped == {"refinedweb_lines_removed_frac": 1}


def test_annotate_only_leaves_the_text_and_empty_result_is_dropped():
    text = "\n".join(["Login", "Menu", "SIGN UP FOR OUR NEWSLETTER TODAY"] + BODY)
    doc = Document("l", text)
    step = RefinedWebLinesFilter.from_dict({"annotate_only": True})
    assert list(step(iter([doc]))) == [doc]
    assert doc.text == text and doc.metadata["refinedweb_lines"]["would_drop"] == "refinedweb_lines_removed_frac"
    step = RefinedWebLinesFilter()
    list(step(iter([Document("e", "MENU\n123\n")])))
    assert step.stats.dropped == {"empty": 1}


def test_real_documents(real_docs, run_step):
    kept = run_step(RefinedWebLinesFilter(), real_docs)
    for doc in kept:
        assert doc.metadata["refinedweb_lines"]["removed_word_frac"] <= 0.05
