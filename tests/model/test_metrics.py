import random

import pytest

from refinedweb.model.tasks.conll import read_conll
from refinedweb.model.tasks.metrics import classification_scores, entities, ner_scores

from ._tiny_models import DATA

seqeval = pytest.importorskip("seqeval.metrics")
sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _perturb(sentences, seed):
    """Fixed, imperfect predictions: real gold tags with some tags replaced (also producing ill-formed IOB)."""
    rng = random.Random(seed)
    tags = sorted({t for s in sentences for t in s})
    return [[rng.choice(tags) if rng.random() < 0.15 else t for t in s] for s in sentences]


def test_entities_reads_iob2_and_broken_iob():
    assert entities(["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC"]) == {("PER", 0, 1), ("LOC", 3, 4), ("LOC", 5, 5)}
    assert entities(["B-PER", "I-LOC"]) == {("PER", 0, 0), ("LOC", 1, 1)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ner_scores_match_seqeval_on_real_conll(seed):
    gold = [s.labels for s in read_conll(str(DATA / "conll_dev.txt"))]
    predicted = _perturb(gold, seed)
    ours = ner_scores(gold, predicted)
    assert ours["f1"] == pytest.approx(seqeval.f1_score(gold, predicted))
    assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, predicted))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(gold, predicted))
    report = seqeval.classification_report(gold, predicted, output_dict=True)
    for kind, scores in ours["per_type"].items():
        assert scores["f1"] == pytest.approx(report[kind]["f1-score"])
        assert scores["support"] == report[kind]["support"]
    assert ours["macro"]["f1"] == pytest.approx(report["macro avg"]["f1-score"])
    assert 0 < ours["f1"] < 1


def test_ner_perfect_and_empty_predictions():
    gold = [["B-PER", "I-PER", "O"], ["B-LOC"]]
    assert ner_scores(gold, gold)["f1"] == 1.0
    none = ner_scores(gold, [["O"] * 3, ["O"]])
    assert none["f1"] == 0.0 and none["precision"] == 0.0 and none["support"] == 2


def test_classification_scores_match_scikit_learn():
    gold = [line.split("\t")[1].strip() for line in (DATA / "sst2_dev.tsv").read_text().splitlines()[1:]]
    rng = random.Random(3)
    predicted = [g if rng.random() < 0.7 else rng.choice(["0", "1", "2"]) for g in gold]
    ours = classification_scores(gold, predicted)
    assert ours["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(gold, predicted))
    assert ours["macro_f1"] == pytest.approx(sklearn_metrics.f1_score(gold, predicted, average="macro"))
    assert ours["confusion_matrix"] == sklearn_metrics.confusion_matrix(gold, predicted, labels=ours["labels"]).tolist()
    per = sklearn_metrics.precision_recall_fscore_support(gold, predicted, labels=ours["labels"], zero_division=0)
    for i, label in enumerate(ours["labels"]):
        assert ours["per_class"][label]["precision"] == pytest.approx(per[0][i])
        assert ours["per_class"][label]["f1"] == pytest.approx(per[2][i])
        assert ours["per_class"][label]["support"] == per[3][i]
