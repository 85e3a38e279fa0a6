"""3D residual U-Net (Yu et al. 2017 style): residual blocks in an encoder-decoder with skip
connections, giving ``out_channels`` features at the input's resolution."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResidualBlock3d(nn.Module):
    """Two 3x3x3 convolutions with group norm and a residual connection (1x1x1 projection when
    the channel count changes)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False), _norm(out_channels), nn.ReLU(inplace=True),
            nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False), _norm(out_channels),
        )
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv3d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.skip(x))


class ResUNet3d(nn.Module):
    """Input ``[B, in_channels, D, H, W]`` -> features ``[B, out_channels, D, H, W]``.

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
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv3d(a, b, 2, stride=2, bias=False), _norm(b), nn.ReLU(inplace=True), ResidualBlock3d(b, b))
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.up = nn.ModuleList(nn.ConvTranspose3d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.merge = nn.ModuleList(ResidualBlock3d(2 * a, a) for a in widths[:-1])
        self.head = nn.Conv3d(widths[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-3:]
        pad = [(-s) % self.factor for s in size]
        x = F.pad(x, (0, pad[2], 0, pad[1], 0, pad[0]))
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            y = merge(torch.cat([up(y), skips.pop()], dim=1))
        return self.head(y)[..., : size[0], : size[1], : size[2]]
