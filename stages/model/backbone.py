"""3D residual U-Net (Yu et al. 2017 style): residual blocks in an encoder-decoder with skip
connections, giving ``out_channels`` features at the input's resolution.

An optional mask along the first spatial axis (``[B, D]``, False on padding) makes the output
at valid positions independent of how much padding a batch adds: group-norm statistics are
taken over valid positions only and padded positions are held at zero after every layer, so
an instance gives the same features alone or padded in any batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Mask = Tensor | None  # [B, 1, D, 1, 1] float, 1 on valid positions


class MaskedGroupNorm(nn.GroupNorm):
    """Group norm whose statistics skip masked positions; masked outputs are zero."""

    def forward(self, x: Tensor, mask: Mask = None) -> Tensor:  # type: ignore[override]
        if mask is None:
            return super().forward(x)
        b, c = x.shape[:2]
        grouped = x.reshape(b, self.num_groups, c // self.num_groups, *x.shape[2:])
        m = mask[:, None]  # [B, 1, 1, D, 1, 1]
        count = (m.sum(dim=(3, 4, 5), keepdim=True) * grouped.shape[2] * x.shape[3] * x.shape[4]).clamp(min=1)
        mean = (grouped * m).sum(dim=(2, 3, 4, 5), keepdim=True) / count
        var = (((grouped - mean) * m) ** 2).sum(dim=(2, 3, 4, 5), keepdim=True) / count
        normed = ((grouped - mean) / torch.sqrt(var + self.eps)).reshape_as(x)
        return (normed * self.weight[None, :, None, None, None] + self.bias[None, :, None, None, None]) * mask


def _norm(channels: int) -> MaskedGroupNorm:
    return MaskedGroupNorm(min(8, channels), channels)


def _zero(x: Tensor, mask: Mask) -> Tensor:
    return x if mask is None else x * mask


class ResidualBlock3d(nn.Module):
    """Two 3x3x3 convolutions with group norm and a residual connection (1x1x1 projection when
    the channel count changes)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm1 = _norm(out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = _norm(out_channels)
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv3d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor, mask: Mask = None) -> Tensor:
        y = F.relu(self.norm1(self.conv1(x), mask))
        y = self.norm2(self.conv2(y), mask)
        return _zero(F.relu(y + self.skip(x)), mask)


class Down(nn.Module):
    """Stride-2 convolution, norm, ReLU and a residual block at the coarser level."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 2, stride=2, bias=False)
        self.norm = _norm(out_channels)
        self.block = ResidualBlock3d(out_channels, out_channels)

    def forward(self, x: Tensor, mask: Mask = None) -> Tensor:
        return self.block(F.relu(self.norm(self.conv(x), mask)), mask)


class ResUNet3d(nn.Module):
    """Input ``[B, in_channels, D, H, W]`` (and optionally ``mask`` ``[B, D]``) -> features
    ``[B, out_channels, D, H, W]`` (zero at masked positions).

    ``widths`` are the channels of the encoder levels, finest first; each coarser level halves
    every spatial size (inputs are padded to a multiple of ``2**(len(widths)-1)`` and the output
    cropped back).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 64, widths: Sequence[int] = (32, 64, 128)) -> None:
        super().__init__()
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"widths must be positive channel counts, got {list(widths)}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"in_channels and out_channels must be >= 1, got {in_channels}, {out_channels}")
        self.factor = 2 ** (len(widths) - 1)
        self.stem = ResidualBlock3d(in_channels, widths[0])
        self.down = nn.ModuleList(Down(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.up = nn.ModuleList(nn.ConvTranspose3d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.merge = nn.ModuleList(ResidualBlock3d(2 * a, a) for a in widths[:-1])
        self.head = nn.Conv3d(widths[0], out_channels, 1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        size = x.shape[-3:]
        pad = [(-s) % self.factor for s in size]
        x = F.pad(x, (0, pad[2], 0, pad[1], 0, pad[0]))
        masks: list[Mask] = [None] * (len(self.down) + 1)
        if mask is not None:
            level = F.pad(mask.to(x.dtype), (0, pad[0]))[:, None, :, None, None]
            for k in range(len(masks)):
                masks[k] = level
                level = F.max_pool3d(level, (2, 1, 1)) if k < len(self.down) else level
            x = x * masks[0]
        skips = [self.stem(x, masks[0])]
        for k, down in enumerate(self.down, start=1):
            skips.append(down(skips[-1], masks[k]))
        y = skips.pop()
        for k in range(len(self.up) - 1, -1, -1):
            y = self.merge[k](torch.cat([_zero(self.up[k](y), masks[k]), skips.pop()], dim=1), masks[k])
        return _zero(self.head(y), masks[0])[..., : size[0], : size[1], : size[2]]
