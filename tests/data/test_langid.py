from refinedweb.data.langid import LanguageId
from refinedweb.document import Document

EN = "The quick brown fox jumps over the lazy dog while the children watch from the garden."
ZH = "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u4e00\u8d77\u53bb\u516c\u56ed\u6563\u6b65\uff0c\u770b\u770b\u82b1\u5f00\u4e86\u6ca1\u6709\u3002"


def test_keeps_wanted_language_and_records_scores():
    step = LanguageId.from_dict({"languages": ["en"], "min_score": 0.65})
    docs = list(step([Document("1", EN), Document("2", ZH), Document("3", "1234 5678 ### ***")]))
    assert [d.id for d in docs] == ["1"]
    assert docs[0].metadata["langid"]["lang"] == "en" and docs[0].metadata["langid"]["score"] > 0.65
    assert step.stats.dropped["lang_not_wanted"] >= 1 and step.stats.consistent()


def test_any_language_and_per_language_minimum():
    step = LanguageId.from_dict({"languages": None, "min_score": 0.3, "min_scores": {"zh": 0.99999}})
    docs = list(step([Document("1", EN), Document("2", ZH)]))
    assert [d.id for d in docs] == ["1"] and step.stats.dropped == {"lang_score": 1}


def test_annotate_only_drops_nothing():
    step = LanguageId.from_dict({"languages": ["fr"], "annotate_only": True})
    [doc] = list(step([Document("1", EN)]))
    assert doc.metadata["langid"]["would_drop"] == "lang_not_wanted"
