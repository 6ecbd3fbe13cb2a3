"""ScoreNet: a conditional network over return windows with assets as tokens.

A window ``u`` (B, H, d) becomes d asset tokens: each asset's H-day path (time on the feature axis,
embedded by a shared linear map, i.e. a full-width temporal filter) concatenated with that asset's
state features, plus one market token carrying the global state. Transformer blocks mix across assets
(attention) and within tokens (MLP); every norm is modulated by ``emb = embed(log sigma) + embed(cond)``.
Output: a per-asset H-day path (score form) or one scalar (energy form). Weights are shared across
assets, so a model is defined for any number of assets (it is trained on the fit set's d) — unless
it carries static asset descriptors (``asset_static_dim > 0``): fixed per-asset vectors, e.g. loadings
on the training correlation's principal components, that tell the tokens apart so attention can learn
pair-specific dependence. They are a buffer of shape (n_assets, S), kept in checkpoints, and are not
dropped with the condition (the unconditional branch still knows which asset is which).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from finscore.nets.layers import AdaBlock, FourierEmbedding, mlp


@dataclass(frozen=True)
class NetConfig:
    """Shape and capacity of a :class:`ScoreNet`.

    horizon : days H per window; cond_dim : global features C (0: none); asset_cond_dim : per-asset
    features Ca (0: none); width : token width W; depth : number of blocks; heads : attention heads;
    dropout : dropout rate; energy : scalar energy head instead of a window output;
    n_assets, asset_static_dim : shape (n_assets, S) of the static asset descriptors (0: none, any d);
    keep_cond, keep_asset_cond : indices of the global / per-asset features that the unconditional branch
    still sees (empty: it sees none of them, classifier-free guidance's plain null condition).
    """

    horizon: int
    cond_dim: int = 0
    asset_cond_dim: int = 0
    width: int = 128
    depth: int = 2
    heads: int = 4
    dropout: float = 0.0
    energy: bool = False
    n_assets: int = 0
    asset_static_dim: int = 0
    keep_cond: tuple[int, ...] = ()
    keep_asset_cond: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.horizon < 1 or self.width < 1 or self.depth < 0 or self.cond_dim < 0 or self.asset_cond_dim < 0:
            raise ValueError(f"invalid NetConfig {self}")
        if self.asset_static_dim < 0 or (self.asset_static_dim > 0) != (self.n_assets > 0):
            raise ValueError(f"asset_static_dim and n_assets must both be positive or both 0, got {self}")
        for name, keep, dim in (("keep_cond", self.keep_cond, self.cond_dim),
                                ("keep_asset_cond", self.keep_asset_cond, self.asset_cond_dim)):
            if any(not 0 <= i < dim for i in keep) or len(set(keep)) != len(keep):
                raise ValueError(f"{name} must be distinct feature indices in [0, {dim}), got {keep}")
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be divisible by heads ({self.heads})")


class ScoreNet(nn.Module):
    """``F(u, c_noise, cond, asset_cond, cond_mask)``: (B, H, d) -> (B, H, d), or (B,) if ``energy``.

    ``cond`` (B, C), ``asset_cond`` (B, d, Ca); ``cond_mask`` (B,) bool, False replaces both by learned
    null embeddings (classifier-free guidance's unconditional branch), except the features listed in
    ``config.keep_cond`` / ``keep_asset_cond``: with those, a dropped row's other features are replaced by
    learned null values, feature by feature, and the kept ones pass (a partially conditional branch).
    ``asset_static`` (n_assets, S) fills the descriptor buffer (zeros if None, e.g. before a checkpoint's
    weights are loaded).
    """

    #: buffers that describe the training data, not learned weights (a warm start does not copy them)
    DATA_BUFFERS = ("asset_static",)

    def __init__(self, config: NetConfig, asset_static: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = c = config
        w = c.width
        if c.asset_static_dim:
            shape = (c.n_assets, c.asset_static_dim)
            static = torch.zeros(shape) if asset_static is None else torch.as_tensor(asset_static, dtype=torch.float32)
            if tuple(static.shape) != shape:
                raise ValueError(f"asset_static must have shape {shape}, got {tuple(static.shape)}")
            self.register_buffer("asset_static", static.clone())
        elif asset_static is not None:
            raise ValueError("asset_static given but the NetConfig has asset_static_dim=0")
        self.noise_embed = nn.Sequential(FourierEmbedding(16), mlp(32, w, w))
        self.cond_embed = mlp(c.cond_dim, w, w) if c.cond_dim else None
        self.null_cond = nn.Parameter(torch.zeros(w))
        self.null_asset = nn.Parameter(torch.zeros(c.asset_cond_dim)) if c.asset_cond_dim else None
        self.null_features = nn.Parameter(torch.zeros(c.cond_dim)) if c.keep_cond else None
        for name, keep, dim in (("kept", c.keep_cond, c.cond_dim), ("kept_asset", c.keep_asset_cond, c.asset_cond_dim)):
            mask = torch.zeros(dim, dtype=torch.bool)
            mask[list(keep)] = True
            self.register_buffer(name, mask, persistent=False)  # derived from the config, not in checkpoints
        self.stem = nn.Linear(c.horizon + c.asset_cond_dim + c.asset_static_dim, w)
        self.market_token = nn.Parameter(torch.zeros(w))
        self.blocks = nn.ModuleList(AdaBlock(w, c.heads, c.dropout) for _ in range(c.depth))
        self.out_norm = nn.LayerNorm(w, elementwise_affine=False)
        self.out_mod = nn.Linear(w, 2 * w)
        self.head = nn.Linear(w, 1 if c.energy else c.horizon)
        for layer in (self.out_mod, self.head):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, u: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None,
                asset_cond: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config
        b, h, d = u.shape
        if h != c.horizon:
            raise ValueError(f"window has {h} days but the network was built for horizon={c.horizon}")
        keep = None if cond_mask is None else cond_mask.reshape(b, 1).to(u.dtype)
        emb = self.noise_embed(c_noise)
        if self.cond_embed is not None:
            if cond is None:
                raise ValueError(f"this network needs cond of shape ({b}, {c.cond_dim})")
            if keep is not None and self.null_features is not None:  # partial: kept features pass, the rest null
                emb = emb + self.cond_embed(keep * cond + (1 - keep) * torch.where(self.kept, cond, self.null_features))
            else:
                ce = self.cond_embed(cond)
                emb = emb + (ce if keep is None else keep * ce + (1 - keep) * self.null_cond)
        else:
            emb = emb + self.null_cond
        tokens = u.transpose(1, 2)  # (B, d, H)
        if c.asset_cond_dim:
            if asset_cond is None or asset_cond.shape != (b, d, c.asset_cond_dim):
                got = None if asset_cond is None else tuple(asset_cond.shape)
                raise ValueError(f"asset_cond must have shape ({b}, {d}, {c.asset_cond_dim}), got {got}")
            if keep is not None:  # a partial branch keeps some features: null only the others
                null = torch.where(self.kept_asset, asset_cond, self.null_asset) if c.keep_asset_cond else self.null_asset
                asset_cond = keep[:, :, None] * asset_cond + (1 - keep[:, :, None]) * null
            tokens = torch.cat([tokens, asset_cond], dim=-1)
        if c.asset_static_dim:
            if d != c.n_assets:
                raise ValueError(f"this network carries descriptors of {c.n_assets} assets; got a window of {d}")
            tokens = torch.cat([tokens, self.asset_static.to(tokens.dtype).expand(b, d, -1)], dim=-1)
        x = torch.cat([self.market_token.expand(b, 1, -1), self.stem(tokens)], dim=1)  # (B, 1 + d, W)
        for block in self.blocks:
            x = block(x, emb)
        shift, scale = self.out_mod(nn.functional.silu(emb))[:, None].chunk(2, dim=-1)
        x = self.out_norm(x) * (1 + scale) + shift
        if c.energy:
            return self.head(x).squeeze(-1).sum(1)  # (B,)
        return self.head(x[:, 1:]).transpose(1, 2)  # (B, H, d)
