"""Curved Feature Reconstruction: backbone features aligned point by point along the
centerline of a stenosis instance."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def core_positions(core_start: Tensor, core_end: Tensor, length: int) -> tuple[Tensor, Tensor]:
    """Positions ``[B, L]`` of each instance core ``core_start..core_end`` (inclusive) along
    the extended centerline, ``L`` the longest core, and their validity ``[B, L]`` (padding
    positions repeat the last core position and are invalid)."""
    n = core_end - core_start + 1
    longest = int(n.max().item())
    steps = torch.arange(longest, device=core_start.device)[None, :]
    valid = steps < n[:, None]
    positions = (core_start[:, None] + torch.minimum(steps, (n - 1)[:, None])).clamp(0, length - 1)
    return positions, valid


def sample_at_points(features: Tensor, points: Tensor) -> Tensor:
    """Trilinear features ``[B, L, C]`` of volumes ``[B, C, D, H, W]`` at continuous voxel
    indices ``[B, L, 3]`` in ``[z, y, x]`` order (integer = voxel centre; outside -> 0)."""
    size = torch.tensor(features.shape[-3:], device=points.device, dtype=points.dtype)
    normalised = 2 * points / (size - 1).clamp(min=1) - 1  # align_corners=True: -1, +1 at the end voxel centres
    grid = normalised.flip(-1)[:, :, None, None, :].to(features.dtype)  # grid_sample wants (x, y, z)
    sampled = F.grid_sample(features, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return sampled[:, :, :, 0, 0].transpose(1, 2)


class FeatureMLP(nn.Sequential):
    """Per-token MLP ``[..., C] -> [..., C]``."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__(nn.Linear(channels, hidden), nn.GELU(), nn.Linear(hidden, channels))


class CurvedFeatureReconstruction(nn.Module):
    """Instance tokens ``[B, L, C]`` from SCPR features (averaged over the cross-section, read
    at the core positions) and CCTA features (interpolated at the core's points), each through
    an MLP, summed. Either input may be None (data-type ablation)."""

    def __init__(self, channels: int, hidden: int, use_scpr: bool, use_ccta: bool) -> None:
        super().__init__()
        if not (use_scpr or use_ccta):
            raise ValueError("use_scpr and use_ccta cannot both be False")
        self.scpr_mlp = FeatureMLP(channels, hidden) if use_scpr else None
        self.ccta_mlp = FeatureMLP(channels, hidden) if use_ccta else None

    def forward(self, f_scpr: Tensor | None, f_ccta: Tensor | None, points: Tensor, positions: Tensor) -> Tensor:
        """``f_scpr`` ``[B, C, D, H, W]``, ``f_ccta`` ``[B, C, Dc, Hc, Wc]``, ``points`` ``[B, D, 3]``
        (``[z, y, x]`` indices into the CCTA patch), ``positions`` ``[B, L]`` core positions."""
        tokens = 0
        if self.scpr_mlp is not None:
            profile = f_scpr.mean(dim=(-2, -1)).transpose(1, 2)  # [B, D, C]
            gathered = profile.gather(1, positions[:, :, None].expand(-1, -1, profile.shape[-1]))
            tokens = tokens + self.scpr_mlp(gathered)
        if self.ccta_mlp is not None:
            core_points = points.gather(1, positions[:, :, None].expand(-1, -1, 3))
            tokens = tokens + self.ccta_mlp(sample_at_points(f_ccta, core_points))
        return tokens
