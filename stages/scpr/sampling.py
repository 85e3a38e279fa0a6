"""Sampling square planes across a centerline from a volume, trilinear, in world coordinates.

The grid convention is DESIGN.md's: row ``i``, column ``j`` of plane ``n`` samples the world
point ``p_n + (i - (size-1)/2) * pixel * B_n + (j - (size-1)/2) * pixel * M_n`` (mm, LPS).
World points become continuous voxel indices through :class:`~stages.io.geometry.Geometry`
(origin, spacing and direction). Outside the volume the image is taken to continue with the
fill value, and interpolation blends across its faces (``scipy.ndimage`` mode
``grid-constant``, what ``skimage.transform.warp`` uses for ``mode='constant'``).

Speed and memory: the volume is never converted as a whole. Planes are sampled in chunks of
consecutive points; each chunk's samples lie in a small box of the volume, which is copied
(float32 for integer HU, about a megabyte) so ``map_coordinates`` (order 1, no prefilter)
reads from cache rather than from the whole array, in its cheapest boundary mode. The grid is
mapped to voxel indices once per plane (its centre and one pixel step along B and M), not
sample by sample.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import map_coordinates

from stages.io.geometry import Geometry

DEFAULT_FILL = -1024.0
"""HU of air: the value of samples outside the volume."""
_SAMPLES_PER_CHUNK = 16 * 48 * 48
"""Samples per chunk: 16 planes of 48 x 48, a box of about 90 x 90 x 70 voxels."""


def _offsets(size: int) -> NDArray[np.float64]:
    """``[size]`` offsets of the rows (columns) from the plane centre, in pixels."""
    return np.arange(size) - (size - 1) / 2


def plane_grid(
    points: ArrayLike, normals: ArrayLike, binormals: ArrayLike, size: int, pixel: float
) -> NDArray[np.float64]:
    """``[N, size, size, 3]`` world mm of the sampling grid: rows along ``binormals`` (B),
    columns along ``normals`` (M), centred on ``points``; all inputs ``[N, 3]`` (world mm,
    unit vectors), ``pixel`` mm. For carrying other volumes into SCPR space."""
    offsets = _offsets(size) * pixel
    p, m, b = (np.asarray(a, dtype=np.float64) for a in (points, normals, binormals))
    return (
        p[:, None, None, :]
        + offsets[None, :, None, None] * b[:, None, None, :]
        + offsets[None, None, :, None] * m[:, None, None, :]
    )


def _grid_axes(
    geometry: Geometry, points: NDArray[np.float64], normals: NDArray[np.float64],
    binormals: NDArray[np.float64], size: int, pixel: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The continuous indices ``(z, y, x)`` of :func:`plane_grid`'s points as a sum: sample
    ``(n, i, j)`` lies at ``rows[:, n, i] + columns[:, n, j]`` (both ``[3, N, size]``). The
    index map is affine, so each plane needs its centre and one pixel step along B and M."""
    centre = geometry.world_to_index(points)
    along_b = geometry.world_to_index(points + pixel * binormals) - centre
    along_m = geometry.world_to_index(points + pixel * normals) - centre
    k = _offsets(size)
    return centre.T[:, :, None] + k * along_b.T[:, :, None], k * along_m.T[:, :, None]


def sample_planes(
    image: sitk.Image,
    points: ArrayLike,
    normals: ArrayLike,
    binormals: ArrayLike,
    size: int,
    pixel: float,
    fill: float = DEFAULT_FILL,
) -> NDArray[np.float32]:
    """Sample a ``size`` x ``size`` plane of ``pixel`` mm spacing at each of ``points``
    ``[N, 3]`` (world mm), spanned by ``binormals`` (rows) and ``normals`` (columns), both
    ``[N, 3]`` unit vectors, with trilinear interpolation in the 3D scalar ``image``.

    Returns float32 ``[N, size, size]``; samples outside the volume take ``fill``.
    """
    points, normals, binormals = (np.asarray(a, dtype=np.float64) for a in (points, normals, binormals))
    if points.ndim != 2 or points.shape[1] != 3 or not points.shape == normals.shape == binormals.shape:
        raise ValueError(
            f"points, normals and binormals must each have shape [N, 3], got "
            f"{points.shape}, {normals.shape} and {binormals.shape}"
        )
    if size < 1 or not pixel > 0:
        raise ValueError(f"size must be at least 1 and pixel positive, got size {size}, pixel {pixel}")
    geometry = Geometry.from_image(image)
    volume = sitk.GetArrayViewFromImage(image)
    out = np.empty((points.shape[0], size, size), dtype=np.float32)
    box_type = np.result_type(volume.dtype, np.float32)  # exact for int16 HU and for float32 output
    chunk = max(1, _SAMPLES_PER_CHUNK // (size * size))
    for start in range(0, points.shape[0], chunk):
        part = slice(start, start + chunk)
        rows, columns = _grid_axes(geometry, points[part], normals[part], binormals[part], size, pixel)
        lowest = (rows.min(axis=2) + columns.min(axis=2)).min(axis=1)
        highest = (rows.max(axis=2) + columns.max(axis=2)).max(axis=1)
        low = np.maximum(np.floor(lowest).astype(np.int64), 0)
        high = np.minimum(np.floor(highest).astype(np.int64) + 2, volume.shape)
        if np.any(high <= low):
            out[part] = fill
            continue
        # The voxels the samples touch, clipped to the volume, inside a one-voxel border of
        # the fill value: where the box meets a volume face, samples beyond it blend with the
        # fill as the volume continued with it ('grid-constant'), and 'nearest' carries the
        # border outwards; where the box is cut inside the volume no sample reaches the border.
        box = np.full(tuple(high - low + 2), fill, dtype=box_type)
        box[1:-1, 1:-1, 1:-1] = volume[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
        rows -= (low - 1)[:, None, None]
        index = np.add(rows[:, :, :, None], columns[:, :, None, :])
        map_coordinates(box, index, output=out[part], order=1, mode="nearest")
    return out
