import pytest

from refinedweb.data.filters.c4 import C4BadWordsFilter, C4QualityFilter
from refinedweb.document import Document
from refinedweb.errors import ConfigError

GOOD_LINES = [
    "The museum opened its new wing on Monday.",
    "Visitors can see paintings from the last three centuries.",
    "Entry is free for children under twelve.",
    "The café on the ground floor serves lunch until three.",
    "Tickets can be booked at the front desk or by phone.",
]


def test_line_rules_remove_lines_and_rewrite_the_text():
    text = "\n".join(
        ["Menu", "Please enable JavaScript to view the comments.", "Read our privacy policy for details."]
        + GOOD_LINES
        + ["Last edited [edit] by a user of the site today.[1]", "no terminal punctuation on this line"]
    )
    doc = Document("c", text)
    step = C4QualityFilter()
    assert list(step(iter([doc]))) == [doc]
    assert doc.text.split("\n") == GOOD_LINES + ["Last edited  by a user of the site today."]
    assert doc.metadata["c4_quality"] == {"lines_removed": 4, "lines_kept": 6, "sentences": 6, "page_flag": ""}


def test_fineweb_setting_keeps_lines_without_terminal_punctuation():
    doc = Document("c", "\n".join(GOOD_LINES + ["a line without a final stop"]))
    step = C4QualityFilter.from_dict({"filter_no_terminal_punct": False})
    list(step(iter([doc])))
    assert doc.text.endswith("a line without a final stop")


@pytest.mark.parametrize(
    ("extra", "reason"),
    [("Lorem ipsum dolor sit amet, consectetur.", "c4_lorem_ipsum"), ("var x = {a: 1}; return x.", "c4_curly_bracket")],
)
def test_page_rules(extra, reason):
    step = C4QualityFilter()
    doc = Document("c", "\n".join(GOOD_LINES + [extra]))
    assert list(step(iter([doc]))) == []
    assert step.stats.dropped == {reason: 1}


def test_too_few_sentences_and_annotate_only_leaves_text():
    text = "\n".join(GOOD_LINES[:3] + ["Menu"])
    step = C4QualityFilter()
    list(step(iter([Document("c", text)])))
    assert step.stats.dropped == {"c4_min_sentences": 1}
    doc = Document("c", text)
    step = C4QualityFilter.from_dict({"annotate_only": True})
    assert list(step(iter([doc]))) == [doc]
    assert doc.text == text and doc.metadata["c4_quality"]["would_drop"] == "c4_min_sentences"


def test_badwords_match_whole_words_in_english():
    step = C4BadWordsFilter()
    docs = [Document("a", "The assassin passed the class."), Document("b", "What a load of bullshit, honestly.")]
    kept = list(step(iter(docs)))
    assert [d.id for d in kept] == ["a"]
    assert docs[1].metadata["c4_badwords"] == {"lang": "en", "badword": "bullshit"}
    assert step.stats.dropped == {"c4_badwords": 1}


def test_badwords_use_the_langid_language_and_substrings_for_chinese():
    zh = Document("z", "这是一部三级片的介绍", metadata={"langid": {"lang": "zh", "score": 0.99}})
    ok = Document("y", "他的性格很好", metadata={"langid": {"lang": "zh", "score": 0.99}})  # 性 is allow-listed
    step = C4BadWordsFilter()
    assert [d.id for d in step(iter([zh, ok]))] == ["y"]


def test_language_without_list_is_kept_and_counted_or_an_error():
    doc = Document("x", "Habari ya asubuhi", metadata={"langid": {"lang": "sw", "score": 0.9}})
    step = C4BadWordsFilter()
    assert list(step(iter([doc]))) == [doc]
    assert step.stats.counters == {"no_badwords_list_sw": 1}
    step = C4BadWordsFilter.from_dict({"missing_language": "error"})
    with pytest.raises(ConfigError, match="no bad-word list for language 'sw'"):
        list(step(iter([Document("x", "Habari", metadata={"langid": {"lang": "sw"}})])))


def test_keep_fraction_is_deterministic_by_id():
    docs = [Document(str(i), "you are an asshole") for i in range(200)]
    runs = []
    for _ in range(2):
        step = C4BadWordsFilter.from_dict({"keep_fraction": 0.5})
        runs.append([d.id for d in step(iter([Document(d.id, d.text) for d in docs]))])
    assert runs[0] == runs[1]
    assert 60 < len(runs[0]) < 140


def test_c4_on_real_documents(real_docs, run_step):
    kept = run_step(C4QualityFilter(), real_docs)
    for doc in kept:
        for line in doc.text.split("\n"):
            assert len(line.split()) >= 3 and line.endswith((".", "?", "!", '"', "'"))
