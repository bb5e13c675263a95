import pytest

from refinedweb.errors import ConfigError
from refinedweb.model.tasks.choice import add_fewshot, load_items
from refinedweb.model.tasks.conll import read_conll, to_iob2
from refinedweb.model.tasks.instructions import read_pairs
from refinedweb.model.tasks.tabular import read_labelled_texts

from ._tiny_models import DATA


def test_conll_sample_is_converted_from_iob1_to_iob2():
    sentences = read_conll(str(DATA / "conll_train.txt"))
    assert len(sentences) == 300
    first = sentences[0]
    assert first.tokens[:3] == ["EU", "rejects", "German"]
    assert first.labels[:3] == ["B-ORG", "O", "B-MISC"]  # I-ORG / I-MISC in the IOB1 file
    for s in sentences:
        for prev, tag in zip(["O"] + s.labels, s.labels):
            assert not (tag.startswith("I-") and prev[2:] != tag[2:])


def test_scheme_conversions():
    assert to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"]) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert to_iob2(["B-ORG", "M-ORG", "E-ORG", "S-LOC", "O"]) == ["B-ORG", "I-ORG", "I-ORG", "B-LOC", "O"]
    assert to_iob2(["S-PER", "S-PER"]) == ["B-PER", "B-PER"]
    assert to_iob2(["B-PER", "I-PER"]) == ["B-PER", "I-PER"]  # IOB2 stays as it is


def test_malformed_conll_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("EU NNP I-NP I-ORG\nrejects\n")
    with pytest.raises(ConfigError, match=r"bad.conll:2: malformed CoNLL line"):
        read_conll(str(path))


def test_empty_split_is_an_error(tmp_path):
    path = tmp_path / "empty.conll"
    path.write_text("-DOCSTART- -X- O O\n\n")
    with pytest.raises(ConfigError, match="empty.conll holds no sentences"):
        read_conll(str(path))
    (tmp_path / "empty.tsv").write_text("sentence\tlabel\n")
    with pytest.raises(ConfigError, match="no examples"):
        read_labelled_texts(str(tmp_path / "empty.tsv"))


def test_tabular_and_pairs_readers(tmp_path):
    examples = read_labelled_texts(str(DATA / "sst2_train.tsv"))
    assert len(examples) == 300 and {e.label for e in examples} == {"0", "1"}
    (tmp_path / "x.jsonl").write_text('{"review": "good", "stars": "5"}\n')
    assert read_labelled_texts(str(tmp_path / "x.jsonl"), label_column="stars")[0].label == "5"
    with pytest.raises(ConfigError, match="--text-column"):
        read_labelled_texts(str(tmp_path / "x.jsonl"))
    pairs = read_pairs(str(DATA / "copa_sft.jsonl"))
    assert len(pairs) == 60 and pairs[0].response == "water flowed from the spout."


@pytest.mark.parametrize("task,choices", [("hellaswag", 4), ("arc_easy", 4), ("piqa", 2), ("boolq", 2), ("copa", 2),
                                          ("winogrande", 2), ("lambada", 1), ("arc_challenge", None)])
def test_choice_tasks_read(task, choices):
    items = load_items(task, DATA / "eval")
    assert len(items) in (10, 12)
    for item in items:
        assert choices is None or len(item.continuations) == choices
        assert all(c.startswith(" ") for c in item.continuations)
        assert 0 <= item.gold < len(item.continuations)
    if task == "arc_easy":
        assert items[0].contexts[0].endswith("\nAnswer:")


def test_fewshot_is_deterministic_and_excludes_the_item():
    items = load_items("arc_easy", DATA / "eval")
    a, b = add_fewshot(items, 3, seed=7), add_fewshot(items, 3, seed=7)
    assert [x.contexts for x in a] == [x.contexts for x in b]
    for original, shot in zip(items, a):
        assert shot.contexts[0].endswith(original.contexts[0])
        assert shot.contexts[0].count("\n\n") == 3
        assert original.contexts[0] not in shot.contexts[0][: -len(original.contexts[0])]
    assert [x.contexts for x in add_fewshot(items, 3, seed=8)] != [x.contexts for x in a]
