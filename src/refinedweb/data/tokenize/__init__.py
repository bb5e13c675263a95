"""Tokenization: train or load a byte-level BPE tokenizer, write self-describing token shards, load them back.

- ``train``: train a byte-level BPE tokenizer with Hugging Face ``tokenizers``.
- ``files``: tokenizer folders on disk (the Hugging Face layout we write, the ones we can read) and their hash.
- ``shards``: the shard format (``.bin`` tokens, ``.idx`` document ends, ``.json`` sidecar), see docs/shards.md.
- ``task``: the per-work-unit job of ``refinedweb tokenize`` (one input file -> its train and validation shards).
- ``summary``: token statistics (``stats.json``) computed from finished shards.
- ``loader``: ``ShardLoader``, the memory-mapped, rank-aware, resumable batch loader used by training.
"""
