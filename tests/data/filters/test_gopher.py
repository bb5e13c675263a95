import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refinedweb.data.filters import gopher
from refinedweb.data.filters.gopher import GopherQualityFilter, GopherRepetitionFilter, ngram_chars, ngram_chars_numpy
from refinedweb.document import Document

PROSE = (
    "The history of the town is long and it has been told many times. People came to the valley to farm, and "
    "they built houses with stone from the hills. In the winter the roads were closed, so the families had to "
    "store food for months. Later a railway reached the valley and the town grew quickly. Today it is known for "
    "its market, which is held every week in the square near the old church, and for the walks that start there."
)


def reference_ngram_chars(words, n_top=(2, 3, 4), n_dup=range(5, 11)):
    """The definitions of Gopher Table A1 written the slow, obvious way (as in datatrove)."""
    top = {}
    for n in n_top:
        grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        if not grams:
            top[n] = 0
            continue
        best = max(grams, key=lambda g: (grams.count(g), -grams.index(g)))
        top[n] = len(best) * grams.count(best)
    dup = {}
    for n in n_dup:
        seen, chars, i = set(), 0, 0
        while i < len(words) - n + 1:
            gram = tuple(words[i : i + n])
            if gram in seen:
                chars += sum(map(len, gram))
                i += n
            else:
                seen.add(gram)
                i += 1
        dup[n] = chars
    return top, dup


IMPLEMENTATIONS = pytest.mark.parametrize("count", [ngram_chars, ngram_chars_numpy], ids=["c", "numpy"])


def test_the_c_extension_is_built():
    # `pip install -e .` (make test) builds it; without a compiler the filter silently falls back to numpy.
    assert gopher._ngram_chars_c is not None


@IMPLEMENTATIONS
@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(["a", "bb", "ccc", "a1", "ü"]), max_size=60))
def test_ngram_chars_matches_the_definition(count, words):
    assert count(words) == reference_ngram_chars(words)


@IMPLEMENTATIONS
def test_ngram_chars_small_example(count):
    top, dup = count("a b c a b c".split())
    assert top == {2: 6, 3: 10, 4: 7}  # "a b" twice; "a b c" twice; every 4-gram once, first is "a b c a"
    assert dup == {n: 0 for n in range(5, 11)}
    # Three copies of a 5-word block: the scan finds the repeat at word 5, jumps to word 10, finds it again.
    _, dup = count(["w0", "w1", "w2", "w3", "w4"] * 3)
    assert dup[5] == 20
    assert count([]) == count(["x"]) == ({2: 0, 3: 0, 4: 0}, {n: 0 for n in range(5, 11)})


def test_c_and_numpy_agree_on_real_documents():
    from pathlib import Path

    from refinedweb.data.readers import read_documents
    from refinedweb.data.text import split_words

    docs = list(read_documents(str(Path(__file__).parent / "real" / "web_docs.jsonl.gz")))
    assert len(docs) >= 20
    for doc in docs:
        words = split_words(doc.text)
        assert ngram_chars(words) == ngram_chars_numpy(words), doc.id


def test_repeated_paragraphs_are_dropped_with_exact_signals():
    text = "\n\n".join(["Buy now and save big on everything.", "Buy now and save big on everything.", PROSE])
    doc = Document("d1", text)
    step = GopherRepetitionFilter()
    assert list(step(iter([doc]))) == []
    meta = doc.metadata["gopher_repetition"]
    assert meta["dup_para_frac"] == round(1 / 3, 4)
    assert step.stats.dropped == {"gopher_rep_dup_para_frac": 1}


def test_repeated_lines_are_dropped():
    lines = ["Home", "Home", "Home", "Home", PROSE]
    step = GopherRepetitionFilter.from_dict({"dup_para_frac": None, "dup_para_char_frac": None})
    assert list(step(iter([Document("d", "\n".join(lines))]))) == []
    assert step.stats.dropped == {"gopher_rep_dup_line_frac": 1}


def test_top_ngram_spam_is_dropped():
    text = " ".join(["cheap flights"] * 30) + " " + PROSE
    step = GopherRepetitionFilter()
    list(step(iter([Document("d", text)])))
    assert step.stats.dropped == {"gopher_rep_top_2_gram": 1}


def test_prose_is_kept_and_annotate_only_keeps_everything(real_docs, run_step):
    step = GopherRepetitionFilter()
    assert len(list(step(iter([Document("p", PROSE)])))) == 1
    step = GopherRepetitionFilter.from_dict({"annotate_only": True})
    spam = Document("s", "\n".join(["Home"] * 10))
    kept = run_step(step, [spam, *real_docs])
    assert len(kept) == len(real_docs) + 1
    assert spam.metadata["gopher_repetition"]["would_drop"] == "gopher_rep_dup_line_frac"


def test_empty_text_is_dropped_as_empty():
    step = GopherRepetitionFilter()
    assert list(step(iter([Document("e", "  \n ")]))) == []
    assert step.stats.dropped == {"empty": 1}


def test_out_of_range_threshold_is_a_config_error():
    from refinedweb.errors import ConfigError

    with pytest.raises(ConfigError, match="dup_line_frac"):
        GopherRepetitionFilter.from_dict({"dup_line_frac": 3})


def test_quality_short_document_reason_and_metadata():
    doc = Document("q", "Hello there, this is short.")
    step = GopherQualityFilter()
    assert list(step(iter([doc]))) == []
    meta = doc.metadata["gopher_quality"]
    assert meta["n_words"] == 5 and meta["stop_words"] == 0
    assert step.stats.dropped == {"gopher_quality_min_words": 1}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (PROSE + " #tag" * 20, "gopher_quality_hash_ratio"),
        (PROSE + " wait..." * 20, "gopher_quality_ellipsis_ratio"),
        ("\n".join(f"- item number {i} of the list with the things" for i in range(20)), "gopher_quality_bullet_lines"),
        (" ".join(["apple banana cherry orange grape melon lemon"] * 10) + " the", "gopher_quality_stop_words"),
        (PROSE + " 123 4567 89" * 30, "gopher_quality_alpha_words"),
        (" ".join(["extraordinarily"] * 60) + " the and", "gopher_quality_mean_word_length"),
    ],
)
def test_quality_reasons(text, reason):
    step = GopherQualityFilter()
    list(step(iter([Document("q", text)])))
    assert step.stats.dropped == {reason: 1}


def test_quality_keeps_prose_and_counts_chinese_characters_as_words():
    step = GopherQualityFilter()
    assert len(list(step(iter([Document("p", PROSE)])))) == 1
    doc = Document("zh", "我们今天去北京。" * 10)
    list(GopherQualityFilter()(iter([doc])))
    assert doc.metadata["gopher_quality"]["n_words"] == 70


def test_quality_on_real_documents(real_docs, run_step):
    step = GopherQualityFilter()
    kept = run_step(step, real_docs)
    kept_ids = {d.id for d in kept}
    # Chinese pages fail the English rules (mean word length 1 < 3); full news articles pass.
    assert not any(i.startswith("magic-zh") for i in kept_ids)
    assert {"aeb-0", "aeb-1"} <= kept_ids


def test_punctuation_tokens_option_counts_punctuation_in_the_ratios():
    text = PROSE + " 1, 2, 3, 4, 5; 6, 7, 8, 9, 10." * 2
    words_only = Document("w", text)
    list(GopherQualityFilter()(iter([words_only])))
    with_punct = Document("p", text)
    list(GopherQualityFilter.from_dict({"punctuation_tokens": True})(iter([with_punct])))
    words = words_only.metadata["gopher_quality"]
    tokens = with_punct.metadata["gopher_quality"]
    # 83 prose words + 20 numbers; 9 punctuation marks in the prose and 10 per number list.
    assert words["n_words"] == tokens["n_words"] == 103
    assert words["alpha_words_ratio"] == round(83 / 103, 4)
    assert tokens["alpha_words_ratio"] == round(83 / 132, 4)
