"""Task data and metrics for fine-tuning and evaluation.

- ``conll``: CoNLL column files (IOB1/IOB2/BMES/IOBES) read into sentences with IOB2 labels.
- ``tabular``: TSV/CSV/JSONL files with a text column and a label column.
- ``instructions``: JSONL prompt/response pairs.
- ``metrics``: entity-level NER scores (seqeval semantics) and classification scores (scikit-learn semantics).
- ``choice``: zero/few-shot multiple-choice and LAMBADA-style items from the evaluation files.
- ``shards``: a small reader of the refinery's token shards (``*.bin`` + ``*.idx`` + ``*.json``).

Readers raise ``ConfigError`` naming the file, the line and the fix: a training set is one unit of work, so a bad
line stops the run rather than being skipped (a silently shorter training set would change the result).
"""
