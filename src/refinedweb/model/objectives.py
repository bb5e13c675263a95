"""Training objectives: what a batch of shard tokens becomes, which losses it gives, how the model is saved.

The training loop (``refinedweb.model.pretrain``) only talks to this interface:

- ``build_model()``; ``prepare(batch) -> inputs`` (tensors on the device); ``counts(inputs) -> {term: n}`` known
  before the forward pass; ``losses(model, inputs) -> {term: summed loss}``; ``weights = {term: w}``. The loop
  divides each term's sum by its count over the whole optimizer step (all micro-batches, all ranks), so gradient
  accumulation equals one big batch even when counts vary per micro-batch (masked tokens do).
- ``save(state, directory)`` writes a Hugging Face checkpoint; ``load(directory)`` reads its state dict back.
- ``state_dict()`` / ``load_state_dict()`` hold the objective's own randomness (masking), for exact resume.

``CausalLM`` trains our decoder (``refinedweb.model.gpt``). ``MaskedLM`` trains a BERT encoder (``transformers``'
``BertForPreTraining``, so ``BertForMaskedLM`` / ``BertModel`` load the result) with BERT's masking and an optional
sentence-order (ALBERT, Lan et al. 2019) or next-sentence (BERT, Devlin et al. 2018) head.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from refinedweb.config import Config
from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write_text
from refinedweb.model.config import GPTConfig
from refinedweb.model.gpt import GPT, IGNORE_INDEX, token_loss


class CausalLM:
    """Next-token prediction: a (B, T+1) window gives inputs [:, :-1] and targets [:, 1:]."""

    weights = {"lm": 1.0}

    def __init__(self, cfg: GPTConfig, device: torch.device, tokenizer: str | None, eos_id: int | None = None):
        self.cfg, self.device, self.tokenizer = cfg, device, tokenizer
        self.eos_id = eos_id  # written to config.json as bos/eos; the trainer sets it from the shards

    def build_model(self) -> nn.Module:
        return GPT(self.cfg)

    def prepare(self, batch: np.ndarray) -> dict[str, torch.Tensor]:
        tokens = torch.from_numpy(batch)  # (B, T+1)
        if self.device.type == "cuda":  # pinned memory makes the copy asynchronous (overlaps the previous step)
            tokens = tokens.pin_memory()
        tokens = tokens.to(self.device, non_blocking=True)
        return {"input": tokens[:, :-1], "targets": tokens[:, 1:]}

    def counts(self, inputs: dict[str, torch.Tensor]) -> dict[str, int]:
        return {"lm": int(inputs["targets"].numel())}

    def losses(self, model: nn.Module, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"lm": model(inputs["input"], inputs["targets"])}

    def flops_per_token(self, model: nn.Module, seq_len: int) -> float:
        return model.flops_per_token(seq_len)

    def save(self, state: dict[str, torch.Tensor], directory: Path) -> None:
        from refinedweb.model.checkpoint import save_model

        save_model(state, self.cfg, directory, tokenizer=self.tokenizer, eos_token_id=self.eos_id)

    def load(self, directory: Path) -> dict[str, torch.Tensor]:
        from refinedweb.model.checkpoint import load_gpt

        return load_gpt(directory).state_dict()

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@dataclasses.dataclass
class MLMConfig(Config):
    """Masked-LM options (``objective: mlm``)."""

    mask_prob: float = 0.15  # share of tokens selected for prediction (BERT section 3.1)
    # Of the selected tokens: 80% become [MASK], 10% a random token, 10% stay (BERT appendix A.1).
    mask_token_share: float = 0.8
    random_token_share: float = 0.1
    sentence_objective: str | None = None  # None, "sop" (sentence order) or "nsp" (next sentence)
    sentence_weight: float = 1.0  # weight of the sentence loss next to the MLM loss

    def validate(self) -> None:
        self.check_range("mask_prob", 0.0, 1.0)
        self.check_range("mask_token_share", 0.0, 1.0)
        self.check_range("random_token_share", 0.0, 1.0 - self.mask_token_share)
        self.check_range("sentence_weight", 0.0, None)
        if self.sentence_objective not in (None, "sop", "nsp"):
            raise ConfigError(f"mlm.sentence_objective={self.sentence_objective!r}; use null, 'sop' or 'nsp'")


class MaskedLM:
    """BERT-style encoder pretraining on the same shards.

    The shard vocabulary has no [CLS]/[SEP]/[MASK]/[PAD], so four ids are appended after it (``base_vocab`` ..
    ``base_vocab + 3``) and written to ``mlm_special_tokens.json`` in every checkpoint. Each (B, T+1) window gives a
    sequence of T tokens: ``[CLS] A [SEP] B [SEP]`` with a random cut between A and B (or ``[CLS] text [SEP]`` with
    no sentence objective). SOP swaps A and B in half the rows (label 1 = swapped); NSP replaces B with the matching
    span of the next row in half the rows (label 1 = not next). Compromise: windows are cut from the token stream
    and may cross a document boundary, so some "sentences" straddle two documents.
    """

    def __init__(self, cfg: GPTConfig, mlm: MLMConfig, base_vocab: int, device: torch.device, seed: int):
        self.mlm, self.device = mlm, device
        self.base_vocab = base_vocab
        self.cls_id, self.sep_id, self.mask_id, self.pad_id = (base_vocab + i for i in range(4))
        self.cfg = cfg
        self.generator = torch.Generator().manual_seed(seed)
        self.weights = {"mlm": 1.0}
        if mlm.sentence_objective:
            self.weights["sentence"] = mlm.sentence_weight

    def bert_config(self):
        from transformers import BertConfig

        c = self.cfg
        return BertConfig(
            vocab_size=c.vocab_size, hidden_size=c.d_model, num_hidden_layers=c.n_layer,
            num_attention_heads=c.n_head, intermediate_size=c.d_ff, max_position_embeddings=c.max_seq_len,
            pad_token_id=self.pad_id, initializer_range=c.init_std, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )

    def build_model(self) -> nn.Module:
        from transformers import BertForPreTraining

        return BertForPreTraining(self.bert_config())

    def prepare(self, batch: np.ndarray) -> dict[str, torch.Tensor]:
        tokens = torch.from_numpy(batch[:, :-1].copy())  # (B, T)
        B, T = tokens.shape
        g = self.generator
        if self.mlm.sentence_objective:
            ids, types, label = self._sentence_pairs(tokens, g)
        else:
            cls, sep = torch.full((B, 1), self.cls_id), torch.full((B, 1), self.sep_id)
            ids, types, label = torch.cat([cls, tokens[:, : T - 2], sep], 1), torch.zeros(B, T, dtype=torch.long), None
        special = (ids == self.cls_id) | (ids == self.sep_id)
        selected = (torch.rand(ids.shape, generator=g) < self.mlm.mask_prob) & ~special
        labels = torch.where(selected, ids, torch.full_like(ids, IGNORE_INDEX))
        roll = torch.rand(ids.shape, generator=g)
        to_mask = selected & (roll < self.mlm.mask_token_share)
        to_random = selected & (roll >= self.mlm.mask_token_share) & (
            roll < self.mlm.mask_token_share + self.mlm.random_token_share
        )
        ids = torch.where(to_mask, torch.full_like(ids, self.mask_id), ids)
        ids = torch.where(to_random, torch.randint(0, self.base_vocab, ids.shape, generator=g), ids)
        out = {"input_ids": ids, "token_type_ids": types, "labels": labels}
        if label is not None:
            out["sentence_label"] = label
        return {k: v.to(self.device, non_blocking=True) for k, v in out.items()}

    def _sentence_pairs(self, tokens: torch.Tensor, g: torch.Generator):
        B, T = tokens.shape
        room = T - 3  # tokens left for A and B after [CLS] ... [SEP] ... [SEP]
        cut = torch.randint(1, room, (B,), generator=g)
        flip = torch.rand(B, generator=g) < 0.5
        ids = torch.empty(B, T, dtype=torch.long)
        types = torch.zeros(B, T, dtype=torch.long)
        for i in range(B):
            c = int(cut[i])
            a, b = tokens[i, :c], tokens[i, c:room]
            if flip[i] and self.mlm.sentence_objective == "sop":
                a, b = tokens[i, room - c : room], tokens[i, : room - c]  # B before A: same lengths, swapped order
            elif flip[i]:  # nsp: the second segment comes from another row
                b = tokens[(i + 1) % B, c:room]
            row = torch.cat([torch.tensor([self.cls_id]), a, torch.tensor([self.sep_id]), b, torch.tensor([self.sep_id])])
            ids[i] = row
            types[i, len(a) + 2 :] = 1
        return ids, types, flip.long()

    def counts(self, inputs: dict[str, torch.Tensor]) -> dict[str, int]:
        counts = {"mlm": int((inputs["labels"] != IGNORE_INDEX).sum())}
        if "sentence_label" in inputs:
            counts["sentence"] = int(inputs["sentence_label"].numel())
        return counts

    def losses(self, model: nn.Module, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = model(input_ids=inputs["input_ids"], token_type_ids=inputs["token_type_ids"])
        losses = {"mlm": token_loss(out.prediction_logits, inputs["labels"])[0]}
        if "sentence_label" in inputs:
            losses["sentence"] = F.cross_entropy(
                out.seq_relationship_logits.float(), inputs["sentence_label"], reduction="sum"
            )
        return losses

    def flops_per_token(self, model: nn.Module, seq_len: int) -> float:
        c = self.cfg
        n = sum(p.numel() for p in model.parameters()) - c.vocab_size * c.d_model - c.max_seq_len * c.d_model
        return 6 * n + 12 * c.n_layer * c.d_model * seq_len

    def save(self, state: dict[str, torch.Tensor], directory: Path) -> None:
        from transformers import BertForPreTraining

        model = BertForPreTraining(self.bert_config())
        model.load_state_dict(state)
        model.save_pretrained(directory)
        special = {"cls": self.cls_id, "sep": self.sep_id, "mask": self.mask_id, "pad": self.pad_id}
        atomic_write_text(directory / "mlm_special_tokens.json", json.dumps(special, indent=2) + "\n")

    def load(self, directory: Path) -> dict[str, torch.Tensor]:
        from transformers import BertForPreTraining

        return BertForPreTraining.from_pretrained(directory).state_dict()

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
