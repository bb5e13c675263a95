import pytest

from refinedweb.data.filters.roots import RootsFilter
from refinedweb.document import Document
from refinedweb.errors import ConfigError, MissingDependencyError

EN = (
    "The library is open every day of the week. It has a large collection of books for children and adults, "
    "and the staff are happy to help you find what you need. There is also a quiet room where people can read "
    "or work, and a small garden behind the building that is used for events in the summer months."
)
ZH = "北京是中国的首都，也是一座历史悠久的城市。这里有很多名胜古迹，每年都有大量游客来参观。我们在这里学习和工作，生活很方便。"


def en(text, score=0.95):
    return Document("d", text, metadata={"langid": {"lang": "en", "score": score}})


def test_english_prose_is_kept_with_signals():
    doc = en(EN)
    assert list(RootsFilter()(iter([doc]))) == [doc]
    meta = doc.metadata["roots"]
    assert meta["lang"] == "en" and meta["n_words"] == 60
    assert meta["stopword_ratio"] > 0.3 and meta["flagged_ratio"] == 0.0 and meta["word_rep_ratio"] == 0.0


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (en("Too short to be a real page."), "roots_min_words"),
        (en(" ".join(["buy cheap shoes online today"] * 10)), "roots_char_rep"),
        (en(EN + " ".join(f"#{i}$%{i * 7}!" for i in range(80))), "roots_special_chars"),
        (en(EN, score=0.7), "roots_lang_score"),
        (en(EN + " porn sex anal fuck shit."), "roots_flagged_words"),
        (en("Apple banana cherry orange grape melon lemon lime kiwi mango papaya peach pear plum fig date "
            "guava lychee quince apricot nectarine tangerine."), "roots_stopwords"),
    ],
)
def test_reasons(doc, reason):
    step = RootsFilter()
    list(step(iter([doc])))
    assert step.stats.dropped == {reason: 1}


def test_chinese_uses_the_zh_row_and_augmented_stop_words():
    doc = Document("z", ZH, metadata={"langid": {"lang": "zh", "score": 0.99}})
    assert list(RootsFilter()(iter([doc]))) == [doc]
    assert doc.metadata["roots"]["stopword_ratio"] > 0.1691


def test_languages_option_cutoff_overrides_and_default_language():
    step = RootsFilter.from_dict({"languages": ["fr"]})
    list(step(iter([en(EN)])))
    assert step.stats.dropped == {"roots_language": 1}
    step = RootsFilter.from_dict({"cutoffs": {"en": {"min_words": 100}}})
    list(step(iter([en(EN)])))
    assert step.stats.dropped == {"roots_min_words": 1}
    doc = Document("n", EN)  # no langid metadata: default language, no LID check
    assert list(RootsFilter()(iter([doc]))) == [doc]
    assert doc.metadata["roots"]["lang_score"] is None


def test_bad_cutoffs_and_missing_kenlm():
    with pytest.raises(ConfigError, match="unknown cutoff min_wrds"):
        RootsFilter.from_dict({"cutoffs": {"en": {"min_wrds": 3}}})
    try:
        import kenlm  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="kenlm"):
            RootsFilter.from_dict({"kenlm_model": "en.arpa.bin"}).ensure_setup()


def test_real_documents(real_docs, run_step):
    for doc in real_docs:
        lang = "zh" if doc.id.startswith("magic-zh") else "en"
        doc.metadata["langid"] = {"lang": lang, "score": 0.9}
    run_step(RootsFilter(), real_docs)
