"""Sampling square planes across a centerline from a volume, trilinear, in world coordinates.

The grid convention is DESIGN.md's: row ``i``, column ``j`` of plane ``n`` samples the world
point ``p_n + (i - (size-1)/2) * pixel * B_n + (j - (size-1)/2) * pixel * M_n`` (mm, LPS).
World points become continuous voxel indices through :class:`~stages.io.geometry.Geometry`
(origin, spacing and direction). Outside the volume the image is taken to continue with the
fill value, and interpolation blends across its faces (``scipy.ndimage`` mode
``grid-constant``, what ``skimage.transform.warp`` uses for ``mode='constant'``).

The volume is read in its own pixel type, without converting it: ``map_coordinates`` with
order 1 needs no spline prefilter, so each chunk of consecutive planes samples the stored
array directly and memory stays at one chunk of coordinates on top of the image.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import map_coordinates

from stages.io.geometry import Geometry

DEFAULT_FILL = -1024.0
"""HU of air: the value of samples outside the volume."""
_SAMPLES_PER_CHUNK = 1 << 16
"""Samples per call of ``map_coordinates``: bounds the coordinate arrays to a few MB."""


def plane_grid(
    points: ArrayLike, normals: ArrayLike, binormals: ArrayLike, size: int, pixel: float
) -> NDArray[np.float64]:
    """``[N, size, size, 3]`` world mm of the sampling grid: rows along ``binormals`` (B),
    columns along ``normals`` (M), centred on ``points``; all inputs ``[N, 3]`` world mm/unit
    vectors, ``pixel`` mm."""
    offsets = (np.arange(size) - (size - 1) / 2) * pixel
    p, m, b = (np.asarray(a, dtype=np.float64) for a in (points, normals, binormals))
    return (
        p[:, None, None, :]
        + offsets[None, :, None, None] * b[:, None, None, :]
        + offsets[None, None, :, None] * m[:, None, None, :]
    )


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
    chunk = max(1, _SAMPLES_PER_CHUNK // (size * size))
    for start in range(0, points.shape[0], chunk):
        part = slice(start, start + chunk)
        index = geometry.world_to_index(plane_grid(points[part], normals[part], binormals[part], size, pixel))
        map_coordinates(
            volume, np.moveaxis(index, -1, 0), output=out[part], order=1, mode="grid-constant", cval=fill
        )
    return out
