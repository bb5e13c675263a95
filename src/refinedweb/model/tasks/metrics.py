"""Evaluation metrics, written here and cross-checked in tests against seqeval and scikit-learn.

- ``ner_scores``: entity-level precision/recall/F1 with seqeval's default (conlleval) semantics: an entity is a
  maximal run that starts at ``B-X``, or at an ``I-X`` that does not continue an ``X`` entity, and goes on over
  ``I-X``; a predicted entity counts only if its type and both boundaries match a gold entity. Headline numbers are
  micro-averaged over entities (seqeval's ``f1_score`` default); per-type numbers carry ``support`` = gold count.
  Divisions by zero give 0, as in seqeval and scikit-learn.
- ``classification_scores``: accuracy, per-class precision/recall/F1, macro-F1 over the labels seen in gold or
  predictions (scikit-learn's ``f1_score(average="macro")``), and the confusion matrix (rows gold, columns predicted).
"""

from __future__ import annotations

from collections import Counter


def entities(tags: list[str]) -> set[tuple[str, int, int]]:
    """(type, first, last) spans of one sentence's IOB tags; ``E-``/``S-`` are read as IOBES."""
    spans = set()
    kind, start = None, 0
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, this = (tag[0], tag[2:]) if tag != "O" else ("O", None)
        continues = prefix in "IE" and this == kind
        if kind is not None and not continues:
            spans.add((kind, start, i - 1))
            kind = None
        if prefix != "O" and not continues:
            kind, start = this, i
        if prefix in "ES" and kind is not None:  # IOBES: the entity ends at this tag
            spans.add((kind, start, i))
            kind = None
    return spans


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def ner_scores(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    """Entity-level scores for parallel lists of tag sequences (one list per sentence)."""
    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tag sequences must have the same shape")
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    for sent_gold, sent_pred in zip(gold, predicted):
        g, p = entities(sent_gold), entities(sent_pred)
        for kind, *_ in g:
            n_gold[kind] += 1
        for kind, *_ in p:
            n_pred[kind] += 1
        for kind, *_ in g & p:
            tp[kind] += 1
    per_type = {}
    for kind in sorted(set(n_gold) | set(n_pred)):
        per_type[kind] = {**_prf(tp[kind], n_pred[kind], n_gold[kind]), "support": n_gold[kind]}
    overall = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    macro = {k: (sum(v[k] for v in per_type.values()) / len(per_type) if per_type else 0.0)
             for k in ("precision", "recall", "f1")}
    token_accuracy = _accuracy([t for s in gold for t in s], [t for s in predicted for t in s])
    return {**overall, "support": sum(n_gold.values()), "per_type": per_type, "macro": macro,
            "token_accuracy": token_accuracy}


def _accuracy(gold: list, predicted: list) -> float:
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0


def classification_scores(gold: list[str], predicted: list[str], labels: list[str] | None = None) -> dict:
    """Accuracy, macro-F1, per-class report and confusion matrix. ``labels`` fixes the matrix order (default:
    sorted labels seen in gold or predictions)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted label lists must have the same length")
    present = sorted(set(gold) | set(predicted))
    order = list(labels) if labels else present
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for g, p in zip(gold, predicted):
        matrix[index[g]][index[p]] += 1
    per_class = {}
    for label in order:
        i = index[label]
        tp = matrix[i][i]
        n_pred = sum(row[i] for row in matrix)
        n_gold = sum(matrix[i])
        per_class[label] = {**_prf(tp, n_pred, n_gold), "support": n_gold}
    macro_f1 = sum(per_class[label]["f1"] for label in present) / len(present) if present else 0.0
    return {"accuracy": _accuracy(gold, predicted), "macro_f1": macro_f1, "per_class": per_class,
            "labels": order, "confusion_matrix": matrix, "support": len(gold)}


def format_ner_report(scores: dict) -> str:
    lines = [f"{'type':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for kind, s in scores["per_type"].items():
        lines.append(f"{kind:<12}{s['precision']:>10.4f}{s['recall']:>10.4f}{s['f1']:>10.4f}{s['support']:>9}")
    lines.append(f"{'micro avg':<12}{scores['precision']:>10.4f}{scores['recall']:>10.4f}{scores['f1']:>10.4f}"
                 f"{scores['support']:>9}")
    return "\n".join(lines)


def format_classification_report(scores: dict) -> str:
    lines = [f"{'label':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for label, s in scores["per_class"].items():
        lines.append(f"{label:<12}{s['precision']:>10.4f}{s['recall']:>10.4f}{s['f1']:>10.4f}{s['support']:>9}")
    lines.append(f"accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f}  (n={scores['support']})")
    lines.append("confusion matrix (rows gold, columns predicted): " + " ".join(scores["labels"]))
    lines.extend("  " + " ".join(f"{v:>6}" for v in row) for row in scores["confusion_matrix"])
    return "\n".join(lines)
