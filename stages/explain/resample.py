"""Carrying a map over the CCTA patch into SCPR space.

The SCPR of an instance was sampled on the grid of DESIGN.md: row ``i``, column ``j`` of slice
``n`` at the world point ``points[n] + (i - (H-1)/2)·pixel·binormal[n] + (j - (W-1)/2)·pixel·normal[n]``
(mm, LPS; :func:`stages.scpr.sampling.plane_grid`). A patch map is read at those same world
points, mapped into the patch through its :class:`~stages.io.geometry.Geometry`, with
trilinear interpolation; grid points outside the patch read 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import map_coordinates

from stages.io.geometry import Geometry
from stages.scpr.sampling import plane_grid


def patch_to_scpr(
    patch_map: NDArray, geometry: Geometry, points: ArrayLike, normal: ArrayLike, binormal: ArrayLike,
    pixel: float, size: int,
) -> NDArray[np.float32]:
    """``[D, size, size]`` float32: ``patch_map`` ``[Dc, Hc, Wc]`` (on ``geometry``'s grid)
    sampled at the SCPR grid of ``points``, ``normal``, ``binormal`` ``[D, 3]`` (world mm,
    unit vectors) with ``pixel`` mm; 0 outside the patch."""
    if tuple(patch_map.shape) != tuple(geometry.shape):
        raise ValueError(f"patch map {tuple(patch_map.shape)} does not have the patch's shape {geometry.shape}")
    world = plane_grid(points, normal, binormal, size, pixel)  # [D, size, size, 3]
    index = geometry.world_to_index(world.reshape(-1, 3)).T  # [3, D*size*size], (z, y, x)
    values = map_coordinates(np.asarray(patch_map, dtype=np.float32), index, order=1, mode="constant", cval=0.0)
    return values.reshape(world.shape[:3]).astype(np.float32)
