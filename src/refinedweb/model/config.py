"""Model shapes: ``GPTConfig`` and the named presets, from ``tiny`` (trains on a CPU in minutes) to ``1b``.

The field names follow our decoder (``refinedweb.model.gpt``); ``to_hf_config`` / ``from_hf_config`` translate to and
from the Hugging Face Llama ``config.json`` so that a checkpoint loads in ``transformers`` unchanged.

Preset shapes and where they come from:

- ``124m``: GPT-2 small's 12 layers x 768 wide x 12 heads (Radford et al. 2019), with a SwiGLU width of 2048 and
  tied embeddings; the Llama-style shape measured in ``docs/reference/training-anchors.md`` section 1.4.
- ``350m``: GPT-2 medium's 24 x 1024 x 16, SwiGLU width 2816 (about 8/3 x 1024, rounded to a multiple of 256).
- ``1b``: the Llama 3.2 1B shape (16 x 2048, 32 query heads, 8 key/value heads, SwiGLU 8192, tied embeddings,
  rope theta 500000), from its published ``config.json``.
- ``tiny``: 2 x 128, context 128, for tests and the CPU demo.

Vocabulary sizes in presets are defaults; the trainer replaces them with the tokenizer's size (padded up to a
multiple of 64, which keeps matmuls on fast tile sizes: nanoGPT commit 77e7e04 measured ~25% from 50257 -> 50304).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from refinedweb.config import Config
from refinedweb.errors import ConfigError


@dataclasses.dataclass
class GPTConfig(Config):
    """Shape of the decoder. ``n_kv_head`` < ``n_head`` gives grouped-query attention."""

    vocab_size: int = 50304  # rows of the embedding table (>= the tokenizer's vocabulary)
    n_layer: int = 12  # transformer blocks
    d_model: int = 768  # residual stream width
    n_head: int = 12  # query heads; head size is d_model // n_head
    n_kv_head: int | None = None  # key/value heads (None: same as n_head)
    d_ff: int = 2048  # SwiGLU hidden width
    max_seq_len: int = 1024  # longest sequence trained on (rotary tables are built this long)
    rope_theta: float = 10000.0  # rotary base frequency
    norm_eps: float = 1e-5  # RMSNorm epsilon
    tie_embeddings: bool = True  # share the input embedding and the output projection
    init_std: float = 0.02  # std of the normal init of every weight matrix

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    @property
    def kv_heads(self) -> int:
        return self.n_kv_head or self.n_head

    def validate(self) -> None:
        for key in ("vocab_size", "n_layer", "d_model", "n_head", "d_ff", "max_seq_len"):
            self.check_range(key, 1, None)
        if self.d_model % self.n_head:
            raise ConfigError(f"GPTConfig.d_model={self.d_model} must be a multiple of n_head={self.n_head}")
        if self.head_dim % 2:
            raise ConfigError(f"GPTConfig: head size d_model/n_head={self.head_dim} must be even for rotary embeddings")
        if self.n_head % self.kv_heads:
            raise ConfigError(f"GPTConfig.n_head={self.n_head} must be a multiple of n_kv_head={self.kv_heads}")

    def to_hf_config(self, bos_token_id: int | None = None, eos_token_id: int | None = None) -> dict[str, Any]:
        """The Hugging Face ``LlamaConfig`` dict (``config.json``) describing this shape."""
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.d_model,
            "intermediate_size": self.d_ff,
            "num_hidden_layers": self.n_layer,
            "num_attention_heads": self.n_head,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_seq_len,
            "initializer_range": self.init_std,
            "rms_norm_eps": self.norm_eps,
            # transformers >= 5 reads rope_parameters; 4.x reads rope_theta. Writing both serves both.
            "rope_theta": self.rope_theta,
            "rope_parameters": {"rope_type": "default", "rope_theta": self.rope_theta},
            "tie_word_embeddings": self.tie_embeddings,
            "attention_bias": False,
            "mlp_bias": False,
            "bos_token_id": bos_token_id,
            "eos_token_id": eos_token_id,
            "torch_dtype": "float32",
        }

    @classmethod
    def from_hf_config(cls, hf: dict[str, Any]) -> "GPTConfig":
        """Read a Llama ``config.json`` dict; refuse what our decoder cannot represent."""
        if hf.get("model_type") != "llama":
            raise ConfigError(f"checkpoint config has model_type={hf.get('model_type')!r}; only 'llama' is supported")
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        if rope.get("rope_type", "default") != "default":
            raise ConfigError(f"checkpoint uses rope_type={rope.get('rope_type')!r}; only 'default' rotary is supported")
        d_model, n_head = hf["hidden_size"], hf["num_attention_heads"]
        if hf.get("head_dim", d_model // n_head) != d_model // n_head:
            raise ConfigError("checkpoint head_dim differs from hidden_size / num_attention_heads; not supported")
        return cls.from_dict(
            {
                "vocab_size": hf["vocab_size"],
                "n_layer": hf["num_hidden_layers"],
                "d_model": d_model,
                "n_head": n_head,
                "n_kv_head": hf.get("num_key_value_heads") or n_head,
                "d_ff": hf["intermediate_size"],
                "max_seq_len": hf.get("max_position_embeddings", 2048),
                "rope_theta": float(rope.get("rope_theta", hf.get("rope_theta", 10000.0))),
                "norm_eps": hf.get("rms_norm_eps", 1e-6),
                "tie_embeddings": bool(hf.get("tie_word_embeddings", False)),
                "init_std": hf.get("initializer_range", 0.02),
            }
        )


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(n_layer=2, d_model=128, n_head=4, d_ff=384, max_seq_len=128, vocab_size=512),
    "124m": dict(n_layer=12, d_model=768, n_head=12, d_ff=2048, max_seq_len=1024),
    "350m": dict(n_layer=24, d_model=1024, n_head=16, d_ff=2816, max_seq_len=1024),
    "1b": dict(
        n_layer=16, d_model=2048, n_head=32, n_kv_head=8, d_ff=8192, max_seq_len=2048, rope_theta=500000.0,
        vocab_size=128256,
    ),
}


def preset(name: str, **overrides: Any) -> GPTConfig:
    """The named preset as a ``GPTConfig``; ``overrides`` replace single fields (e.g. ``vocab_size``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return GPTConfig.from_dict({**PRESETS[name], **overrides})
