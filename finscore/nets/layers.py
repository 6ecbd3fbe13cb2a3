"""Building blocks: Fourier noise embedding, adaptive-LayerNorm transformer block over asset tokens."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierEmbedding(nn.Module):
    """``[cos(2 pi f_k t), sin(2 pi f_k t)]`` with fixed log-spaced frequencies (deterministic, no RNG)."""

    def __init__(self, n_freqs: int = 16, max_freq: float = 16.0) -> None:
        super().__init__()
        self.register_buffer("freqs", torch.logspace(-2, math.log10(max_freq), n_freqs), persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # (B,) -> (B, 2 n_freqs)
        arg = 2 * math.pi * t[:, None] * self.freqs[None]
        return torch.cat([arg.cos(), arg.sin()], dim=1)


def mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, width), nn.SiLU(), nn.Linear(width, n_out))


class Attention(nn.Module):
    """Multi-head self-attention written out (softmax(QK^T / sqrt(d_h)) V): twice differentiable on every
    backend, which the energy form needs (its score is a gradient, trained through a second backward)."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, W)
        b, t, w = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(w // self.heads), dim=-1)
        return self.proj((self.drop(att) @ v).transpose(1, 2).reshape(b, t, w))


class AdaBlock(nn.Module):
    """Pre-norm transformer block whose norms are modulated by the embedding (DiT adaLN-Zero).

    Attention runs across tokens (the assets plus one market token); weights are shared across
    assets, so the block works for any number of assets.
    """

    def __init__(self, width: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False)
        self.attn = Attention(width, heads, dropout)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Dropout(dropout), nn.Linear(2 * width, width))
        self.mod = nn.Linear(width, 6 * width)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:  # h (B, T, W), emb (B, W)
        s1, b1, g1, s2, b2, g2 = self.mod(nn.functional.silu(emb))[:, None].chunk(6, dim=-1)
        a = self.norm1(h) * (1 + s1) + b1
        h = h + g1 * self.attn(a)
        f = self.norm2(h) * (1 + s2) + b2
        return h + g2 * self.ff(f)
