"""A CCTA patch around a set of world points, resampled with SimpleITK on a fixed isotropic
grid oriented like the source image, so that the points are known in patch coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike, NDArray

from stages.io.geometry import Geometry

AIR_HU = -1024.0


@dataclass(frozen=True)
class PatchParams:
    """``size`` voxels per side, isotropic ``spacing`` mm (grown when the points plus
    ``margin`` mm on every side do not fit), outside the image ``fill`` HU."""

    size: int = 64
    spacing: float = 0.5
    margin: float = 3.0
    fill: float = AIR_HU

    def __post_init__(self) -> None:
        if self.size < 2:
            raise ValueError(f"size must be at least 2, got {self.size}")
        if not self.spacing > 0 or not self.margin >= 0:
            raise ValueError(f"spacing must be positive and margin non-negative, got {self.spacing}, {self.margin}")


@dataclass(frozen=True)
class Patch:
    """``array`` float32 ``[size, size, size]`` HU (``[z, y, x]``), its ``geometry``, the points
    as continuous ``[z, y, x]`` indices ``[D, 3]``, and whether the spacing had to grow."""

    array: NDArray[np.float32]
    geometry: Geometry
    points_index: NDArray[np.float64]
    grown: bool


def _patch_direction(image: sitk.Image) -> NDArray[np.float64]:
    """The image's direction when it is a rotation or reflection, else the closest orthonormal
    matrix (a sheared grid cannot orient an isotropic patch)."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    u, _, vt = np.linalg.svd(direction)
    return u @ vt


def crop_patch(image: sitk.Image, points: ArrayLike, params: PatchParams = PatchParams()) -> Patch:
    """The patch of ``image`` centred on the bounding box of ``points`` ``[D, 3]`` (world mm)
    in the patch's own axes, large enough to hold them with ``margin`` mm on every side."""
    pts = np.asarray(points, dtype=np.float64)
    direction = _patch_direction(image)
    local = pts @ direction  # coordinates along the patch axes (columns of direction)
    low, high = local.min(axis=0), local.max(axis=0)
    needed = float((high - low).max() + 2 * params.margin)
    spacing = max(params.spacing, needed / (params.size - 1))
    half = spacing * (params.size - 1) / 2
    origin = direction @ ((low + high) / 2 - half)
    resampled = sitk.Resample(
        image, [params.size] * 3, sitk.Transform(), sitk.sitkLinear,
        tuple(origin), (spacing,) * 3, tuple(direction.ravel()), params.fill, sitk.sitkFloat32,
    )
    geometry = Geometry.from_image(resampled)
    return Patch(
        array=sitk.GetArrayFromImage(resampled),
        geometry=geometry,
        points_index=geometry.world_to_index(pts),
        grown=spacing > params.spacing * (1 + 1e-9),
    )
