"""The decoder, in one file: a Llama-style GPT.

Pre-norm blocks of RMSNorm -> causal self-attention with rotary position embeddings -> residual, RMSNorm -> SwiGLU
MLP -> residual; a final RMSNorm and a linear head (optionally tied to the input embedding). No biases, no dropout
(neither helps single-epoch pretraining; nanoGPT commit e808a67 measured ~6% speed from dropping biases).

Module and parameter names match Hugging Face ``LlamaForCausalLM`` (``embed_tokens``, ``layers.N.self_attn.q_proj``,
...), and the rotary embedding uses the same "rotate half" pairing, so a checkpoint is our ``state_dict`` with a
``model.`` prefix and nothing is permuted (``refinedweb.model.checkpoint``). Attention goes through
``F.scaled_dot_product_attention(is_causal=True)``, which picks a flash / memory-efficient kernel when it can.

Shapes in comments: B batch, T sequence, C = d_model, H query heads, K key/value heads, D = C // H, F = d_ff,
V vocabulary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from refinedweb.model.config import GPTConfig

IGNORE_INDEX = -100  # target value that contributes no loss (same convention as transformers)


class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in float32 and cast back (as in Llama, for bf16 stability)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class Rotary(nn.Module):
    """Rotary position embedding tables (Su et al. 2021, RoFormer), rotate-half layout.

    Channel i of the first half is paired with channel i of the second half and rotated by angle
    ``pos * theta ** (-2i / D)``.
    """

    def __init__(self, head_dim: int, max_seq_len: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))  # (D/2,)
        angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), inv_freq)  # (T_max, D/2)
        angles = torch.cat([angles, angles], dim=-1)  # (T_max, D)
        # Not saved in checkpoints (persistent=False): they are a function of the config.
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, heads, T, D)
        T = x.size(-2)
        cos, sin = self.cos[:T].to(x.dtype), self.sin[:T].to(x.dtype)  # (T, D)
        x1, x2 = x.chunk(2, dim=-1)  # (B, heads, T, D/2) each
        rotated = torch.cat([-x2, x1], dim=-1)  # (B, heads, T, D)
        return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.n_kv, self.head_dim = cfg.n_head, cfg.kv_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.d_model, cfg.n_head * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.d_model, cfg.kv_heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.d_model, cfg.kv_heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.n_head * cfg.head_dim, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor, rotary: Rotary) -> torch.Tensor:
        B, T, _ = x.shape  # x: (B, T, C)
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)  # (B, K, T, D)
        v = self.v_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)  # (B, K, T, D)
        q, k = rotary(q), rotary(k)
        if self.n_kv != self.n_head:  # grouped-query attention: each K/V head serves H/K query heads
            k = k.repeat_interleave(self.n_head // self.n_kv, dim=1)  # (B, H, T, D)
            v = v.repeat_interleave(self.n_head // self.n_kv, dim=1)  # (B, H, T, D)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, self.n_head * self.head_dim)  # (B, T, C)
        return self.o_proj(y)  # (B, T, C)


class MLP(nn.Module):
    """SwiGLU (Shazeer 2020): down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.down_proj = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, T, C) -> (B, T, F) -> (B, T, C)
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, rotary: Rotary) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), rotary)  # (B, T, C)
        return x + self.mlp(self.post_attention_layernorm(x))  # (B, T, C)


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        self.rotary = Rotary(cfg.head_dim, cfg.max_seq_len, cfg.rope_theta)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Normal(0, init_std) weights; the projections that write into the residual stream are scaled by
        1/sqrt(2 * n_layer) so its variance does not grow with depth (GPT-2 paper, section 2.3)."""
        std = self.config.init_std
        for name, p in self.named_parameters():
            if p.dim() == 1:  # RMSNorm gains
                nn.init.ones_(p)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer))
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        """Token ids (B, T) -> next-token logits (B, T, V); with ``targets`` (B, T), the summed token loss instead
        (see ``token_loss``). Computing the loss inside ``forward`` lets ``torch.compile`` fuse the head with the
        cross-entropy, so the float32 (B, T, V) logits never have to be materialised whole."""
        T = idx.size(1)
        if T > self.config.max_seq_len:
            raise ValueError(f"sequence length {T} exceeds max_seq_len={self.config.max_seq_len}")
        x = self.embed_tokens(idx)  # (B, T, C)
        for block in self.layers:
            x = block(x, self.rotary)  # (B, T, C)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        return logits if targets is None else token_loss(logits, targets)[0]

    def num_params(self, with_embedding_lookup: bool = False) -> int:
        """Parameters, a tied matrix counted once. The input embedding is a table lookup, not a matmul, so it is
        left out unless asked for (when tied it stays in: it is also the output head)."""
        n = sum(p.numel() for p in self.parameters())
        if not with_embedding_lookup and not self.config.tie_embeddings:
            n -= self.embed_tokens.weight.numel()
        return n

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token, forward + backward: 6N + 12 L H D T (PaLM appendix B, as in nanoGPT's
        ``estimate_mfu``); the second term is attention's QK^T and AV matmuls."""
        c = self.config
        return 6 * self.num_params() + 12 * c.n_layer * c.n_head * c.head_dim * seq_len


def token_loss(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy over targets that are not ``IGNORE_INDEX``, and how many there were.

    Returning the sum and the count (not the mean) lets gradient accumulation divide by the number of target tokens
    in the whole optimizer step, which is what one big batch would do (transformers PR #34191).
    logits: (B, T, V), targets: (B, T) -> (scalar sum, scalar count)
    """
    loss = F.cross_entropy(
        logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return loss, (targets != IGNORE_INDEX).sum()
