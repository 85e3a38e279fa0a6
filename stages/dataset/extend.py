"""Instance extension: the instance S̄ (input point ids ``start..end``) mapped onto the
resampled centerline through the fractional source positions, extended by ``m`` points on each
side to Ŝ, padded (and masked) where it runs past a vessel end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Extension:
    """Ŝ as indices ``[D]`` into the resampled centerline (clamped at the vessel ends), its
    ``mask`` ``[D]`` (False where Ŝ runs past an end), and the core S̄ at positions
    ``core_start..core_end`` (inclusive) of Ŝ."""

    indices: NDArray[np.int64]
    mask: NDArray[np.bool_]
    core_start: int
    core_end: int


def core_range(source_point: ArrayLike, start: float, end: float) -> tuple[int, int]:
    """First and last resampled index whose source position lies in ``[start, end]``
    (input point ids); when the instance falls between two resampled points, the one nearest
    to its middle alone. ``source_point`` ``[N]`` increases along the vessel."""
    source = np.asarray(source_point, dtype=np.float64)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    inside = np.flatnonzero((source >= start - 1e-9) & (source <= end + 1e-9))
    if inside.size:
        return int(inside[0]), int(inside[-1])
    nearest = int(np.argmin(np.abs(source - (start + end) / 2)))
    return nearest, nearest


def extend(n_points: int, core_first: int, core_last: int, m: int) -> Extension:
    """Ŝ = resampled indices ``core_first - m .. core_last + m`` of a centerline with
    ``n_points`` points; positions beyond either end repeat the end index and are masked."""
    if m < 0:
        raise ValueError(f"m (the extension) must be >= 0, got {m}")
    if not 0 <= core_first <= core_last < n_points:
        raise ValueError(f"core {core_first}..{core_last} is not within 0..{n_points - 1}")
    wanted = np.arange(core_first - m, core_last + m + 1)
    return Extension(
        indices=np.clip(wanted, 0, n_points - 1),
        mask=(wanted >= 0) & (wanted < n_points),
        core_start=m,
        core_end=m + core_last - core_first,
    )
