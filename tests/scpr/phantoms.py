"""Synthetic tube volumes with a known centerline and radius profile, and the real coronary
centerline shapes of ../shared/realdata (legacy VTK ASCII polydata, parsed here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from stages.io.geometry import Geometry

LUMEN_HU = 400.0
TISSUE_HU = -50.0
REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "clinical-centrelines"


def arclength(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[K]`` cumulative polyline length (mm) of ``points`` ``[K, 3]``."""
    return np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))]


def geometry_around(
    local: NDArray[np.float64], spacing: NDArray[np.float64], direction: NDArray[np.float64],
    origin_shift: NDArray[np.float64], margin_mm: float,
) -> tuple[Geometry, NDArray[np.float64]]:
    """A grid with ``spacing`` and ``direction`` whose box holds the curve ``local`` ``[K, 3]``
    (mm, along the grid's own axes) with ``margin_mm`` around it, and the curve in world mm:
    ``world = origin + direction @ (local - low corner)``, the origin moved by ``origin_shift``."""
    low = local.min(axis=0) - margin_mm
    extent = local.max(axis=0) + margin_mm - low
    size = tuple(int(n) for n in np.ceil(extent / spacing) + 1)
    geometry = Geometry(origin=origin_shift, spacing=spacing, direction=direction, size=size)
    return geometry, origin_shift + (local - low) @ direction.T


def tube_image(
    geometry: Geometry, curve: NDArray[np.float64], radius: NDArray[np.float64], edge_mm: float
) -> sitk.Image:
    """An int16 volume on ``geometry``: tissue, and lumen within ``radius`` ``[K]`` mm of the
    dense world curve ``curve`` ``[K, 3]``, with a linear edge ``edge_mm`` wide (partial volume)."""
    reach = radius.max() + edge_mm
    # Only voxels near the curve: those within ``reach`` of a voxel the curve passes through.
    half = np.ceil(reach / geometry.spacing[::-1]).astype(int) + 1
    cube = np.stack(np.meshgrid(*(np.arange(-h, h + 1) for h in half), indexing="ij"), axis=-1).reshape(-1, 3)
    passed = np.unique(np.round(geometry.world_to_index(curve)).astype(int), axis=0)
    index = np.unique((passed[:, None, :] + cube[None, :, :]).reshape(-1, 3), axis=0)
    index = index[np.all((index >= 0) & (index < geometry.shape), axis=1)]
    distance, nearest = cKDTree(curve).query(geometry.index_to_world(index), distance_upper_bound=reach, workers=-1)
    inside = np.isfinite(distance)
    fraction = np.clip((radius[nearest[inside]] - distance[inside]) / edge_mm + 0.5, 0.0, 1.0)
    array = np.full(geometry.shape, TISSUE_HU, dtype=np.float64)
    array[tuple(index[inside].T)] += (LUMEN_HU - TISSUE_HU) * fraction
    image = sitk.GetImageFromArray(np.round(array).astype(np.int16))
    geometry.apply_to(image)
    return image


def lumen_weights(scpr: NDArray[np.float32]) -> NDArray[np.float64]:
    """``[N, H, W]`` lumen fraction of each sample (0 tissue .. 1 lumen)."""
    return np.clip((scpr - TISSUE_HU) / (LUMEN_HU - TISSUE_HU), 0.0, 1.0)


def centroid_offsets(scpr: NDArray[np.float32], pixel: float, within_mm: float) -> NDArray[np.float64]:
    """``[N]`` distance (mm) from the plane centre to the lumen's intensity centroid in each
    slice, counting samples within ``within_mm`` of the centre."""
    size = scpr.shape[1]
    offsets = (np.arange(size) - (size - 1) / 2) * pixel
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    weights = lumen_weights(scpr) * (np.hypot(rows, cols) <= within_mm)
    total = weights.sum(axis=(1, 2))
    return np.hypot((weights * rows).sum(axis=(1, 2)) / total, (weights * cols).sum(axis=(1, 2)) / total)


def measured_radius(scpr: NDArray[np.float32], pixel: float) -> NDArray[np.float64]:
    """``[N]`` lumen radius (mm) of each slice from its lumen area (fractions times pixel area)."""
    return np.sqrt(lumen_weights(scpr).sum(axis=(1, 2)) * pixel**2 / np.pi)


def helix(a: float, b: float, turns: float, n: int) -> NDArray[np.float64]:
    """``n`` points ``[n, 3]`` of the helix ``(a cos t, a sin t, b t)`` for t in [0, 2 pi turns]."""
    t = np.linspace(0.0, 2 * np.pi * turns, n)
    return np.stack([a * np.cos(t), a * np.sin(t), b * t], axis=1)


def read_vtk_lines(path: Path) -> list[NDArray[np.float64]]:
    """The polylines ``[K, 3]`` of a legacy VTK ASCII polydata file (POINTS and LINES)."""
    tokens = path.read_text().split()
    at = tokens.index("POINTS")
    n_points = int(tokens[at + 1])
    points = np.array(tokens[at + 3 : at + 3 + 3 * n_points], dtype=np.float64).reshape(-1, 3)
    at = tokens.index("LINES")
    n_lines, cursor, lines = int(tokens[at + 1]), at + 3, []
    for _ in range(n_lines):
        count = int(tokens[cursor])
        lines.append(points[np.array(tokens[cursor + 1 : cursor + 1 + count], dtype=np.int64)])
        cursor += count + 1
    return lines
