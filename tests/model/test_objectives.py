"""Masked-LM pretraining: BERT masking, sentence-order / next-sentence pairs, checkpoints that BERT classes load."""

import numpy as np
import pytest
import torch

from refinedweb.model.config import preset
from refinedweb.data.tokenize.loader import ShardLoader
from refinedweb.model.distributed import World
from refinedweb.model.gpt import IGNORE_INDEX
from refinedweb.model.objectives import MaskedLM, MLMConfig
from refinedweb.model.pretrain import PretrainConfig, accumulate_gradients, pretrain

pytest.importorskip("transformers")
BASE_VOCAB = 257  # byte-level test tokenizer


def objective(seed=0, **mlm):
    cfg = preset("tiny", vocab_size=320, n_layer=1)
    return MaskedLM(cfg, MLMConfig.from_dict(mlm), BASE_VOCAB, torch.device("cpu"), seed=seed)


def real_batch(shards, batch_size=64, seq_len=128):
    return next(ShardLoader(shards / "train", batch_size, seq_len))


def test_bert_masking_80_10_10(shards):
    obj = objective()
    batch = real_batch(shards)
    inputs = obj.prepare(batch)
    original = torch.from_numpy(batch[:, :-1])
    ids, labels = inputs["input_ids"], inputs["labels"]
    selected = labels != IGNORE_INDEX
    n = int(selected.sum())
    assert abs(n / (ids.numel() - 2 * ids.size(0)) - 0.15) < 0.02  # [CLS] and [SEP] are never selected
    assert torch.equal(labels[selected], original[:, : ids.size(1) - 2][selected[:, 1:-1]])
    as_mask = (ids[selected] == obj.mask_id).float().mean().item()
    unchanged = (ids[selected] == labels[selected]).float().mean().item()
    assert abs(as_mask - 0.8) < 0.04
    assert abs(unchanged - 0.1) < 0.04  # includes the rare random token that equals the original
    assert int(ids.max()) <= obj.mask_id
    kept = ~selected[:, 1:-1]
    assert torch.equal(ids[:, 1:-1][kept], original[:, : ids.size(1) - 2][kept])  # unselected tokens unchanged
    assert (ids[:, 0] == obj.cls_id).all() and (ids[:, -1] == obj.sep_id).all()


@pytest.mark.parametrize("kind", ["sop", "nsp"])
def test_sentence_pairs(shards, kind):
    obj = objective(sentence_objective=kind, mask_prob=0.0)
    batch = real_batch(shards, batch_size=16, seq_len=64)
    inputs = obj.prepare(batch)
    tokens = torch.from_numpy(batch[:, :-1])
    labels = inputs["sentence_label"]
    assert 0 < int(labels.sum()) < len(labels)
    for i, row in enumerate(inputs["input_ids"]):
        seps = (row == obj.sep_id).nonzero().flatten().tolist()
        assert len(seps) == 2 and seps[1] == len(row) - 1
        a, b = row[1 : seps[0]], row[seps[0] + 1 : seps[1]]
        assert (inputs["token_type_ids"][i, seps[0] + 1 :] == 1).all()
        assert (inputs["token_type_ids"][i, : seps[0] + 1] == 0).all()
        room = len(row) - 3
        if not labels[i]:
            assert torch.equal(torch.cat([a, b]), tokens[i, :room])  # in order, from one window
        elif kind == "sop":
            assert torch.equal(torch.cat([b, a]), tokens[i, :room])  # the two halves swapped
        else:
            assert torch.equal(a, tokens[i, : len(a)])
            assert torch.equal(b, tokens[(i + 1) % len(tokens), len(a) : room])  # from the next row


def test_accumulation_matches_one_batch_when_masked_counts_differ(shards):
    obj = objective(sentence_objective="sop")
    inputs = obj.prepare(real_batch(shards, batch_size=8, seq_len=64))
    halves = [{k: v[:3] for k, v in inputs.items()}, {k: v[3:] for k, v in inputs.items()}]
    assert obj.counts(halves[0])["mlm"] * 5 != obj.counts(halves[1])["mlm"] * 3  # unequal per-row counts

    def grads(micro):
        torch.manual_seed(0)
        model = obj.build_model()
        loss = accumulate_gradients(obj, model, micro, World(0, 1, torch.device("cpu")), _nullcontext)
        return loss, [p.grad.clone() if p.grad is not None else None for p in model.parameters()]

    loss_one, grads_one = grads([inputs])
    loss_two, grads_two = grads(halves)
    assert torch.allclose(loss_one, loss_two, atol=1e-6)
    for a, b in zip(grads_one, grads_two):
        assert (a is None and b is None) or torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


def test_mlm_pretraining_saves_a_checkpoint_bert_classes_load(shards, tmp_path):
    from transformers import BertForMaskedLM, BertForPreTraining

    config = PretrainConfig.from_dict(dict(
        data=str(shards), output=str(tmp_path / "run"), preset="tiny", objective="mlm",
        mlm={"sentence_objective": "sop"}, seq_len=64, batch_size=8, max_steps=12, lr=3e-3, warmup_steps=2,
        eval_interval=6, eval_batches=2, save_interval=None, device="cpu", verbose=False,
    ))
    result = pretrain(config)
    assert result.last_loss < result.first_loss
    mlm, info = BertForMaskedLM.from_pretrained(result.checkpoint, output_loading_info=True)
    assert not info["missing_keys"]
    full = BertForPreTraining.from_pretrained(result.checkpoint)
    ids = torch.tensor([[BASE_VOCAB + 0, 5, 6, BASE_VOCAB + 2, 7, BASE_VOCAB + 1]])
    with torch.no_grad():
        assert torch.allclose(mlm(ids).logits, full(ids).prediction_logits, atol=1e-5)
    assert np.isfinite(result.val_loss)
