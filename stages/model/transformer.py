"""The grade transformer: a learnable grade token and position embeddings, pre-norm encoder
layers over the instance tokens, and an MLP from the grade token to the outputs."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GradeTransformer(nn.Module):
    """Tokens ``[B, L, dim]`` with validity ``[B, L]`` -> outputs ``[B, n_outputs]``."""

    def __init__(
        self, dim: int, depth: int, heads: int, n_outputs: int, max_tokens: int = 256, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"heads must divide dim: dim={dim}, heads={heads}")
        if depth < 1 or max_tokens < 1 or n_outputs < 1:
            raise ValueError(f"depth, max_tokens and n_outputs must be >= 1, got {depth}, {max_tokens}, {n_outputs}")
        self.max_tokens = max_tokens
        self.grade_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.zeros(1, max_tokens + 1, dim))
        nn.init.trunc_normal_(self.grade_token, std=0.02)
        nn.init.trunc_normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=4 * dim, dropout=dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, n_outputs))

    def forward(self, tokens: Tensor, valid: Tensor) -> Tensor:
        batch, length, _ = tokens.shape
        if length > self.max_tokens:
            raise ValueError(f"instance core of {length} points exceeds max_tokens={self.max_tokens}")
        x = torch.cat([self.grade_token.expand(batch, -1, -1), tokens], dim=1) + self.position[:, : length + 1]
        ignore = torch.cat([torch.zeros_like(valid[:, :1]), ~valid], dim=1)
        x = self.encoder(x, src_key_padding_mask=ignore)
        return self.mlp(self.norm(x[:, 0]))
