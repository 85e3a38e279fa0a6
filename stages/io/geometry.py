"""The one place where world coordinates and voxel indices are converted.

World points are ITK physical coordinates in millimetres (LPS), ordered ``[x, y, z]``: the
values SimpleITK's ``TransformContinuousIndexToPhysicalPoint`` returns, with origin, spacing and
direction applied. Voxel indices inside this project are *continuous array indices in numpy
order* ``[z, y, x]``, matching arrays from ``sitk.GetArrayFromImage``; integer values are voxel
centres. Every other module converts through :class:`Geometry`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, eq=False)
class Geometry:
    """The physical grid of a 3D image.

    ``origin`` ``[3]`` mm (world position of voxel ``[0, 0, 0]``), ``spacing`` ``[3]`` mm along
    the ITK axes ``i, j, k`` (array axes ``x, y, z``), ``direction`` ``[3, 3]`` with the
    world direction of ITK axis ``c`` in column ``c``, ``size`` ``[3]`` voxels in ITK order
    ``(i, j, k)``.
    """

    origin: NDArray[np.float64]
    spacing: NDArray[np.float64]
    direction: NDArray[np.float64]
    size: tuple[int, int, int]

    def __post_init__(self) -> None:
        for name, shape in (("origin", (3,)), ("spacing", (3,)), ("direction", (3, 3))):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} must be finite, got {value.tolist()}")
            object.__setattr__(self, name, value)
        if np.any(self.spacing <= 0):
            raise ValueError(f"spacing must be positive, got {self.spacing.tolist()}")
        if abs(np.linalg.det(self.direction)) < 1e-6:
            raise ValueError("direction must be an invertible 3x3 matrix")
        if len(self.size) != 3 or any(int(s) < 1 for s in self.size):
            raise ValueError(f"size must be three positive voxel counts, got {self.size}")
        object.__setattr__(self, "size", tuple(int(s) for s in self.size))

    @classmethod
    def from_image(cls, image: sitk.Image) -> Geometry:
        """The geometry of a 3D SimpleITK image."""
        if image.GetDimension() != 3:
            raise ValueError(f"expected a 3D image, got {image.GetDimension()}D")
        return cls(
            origin=np.array(image.GetOrigin()),
            spacing=np.array(image.GetSpacing()),
            direction=np.array(image.GetDirection()).reshape(3, 3),
            size=image.GetSize(),
        )

    def apply_to(self, image: sitk.Image) -> None:
        """Stamp this geometry's origin, spacing and direction onto ``image`` (same size)."""
        if tuple(image.GetSize()) != self.size:
            raise ValueError(f"image size {image.GetSize()} differs from geometry {self.size}")
        image.SetOrigin(tuple(self.origin))
        image.SetSpacing(tuple(self.spacing))
        image.SetDirection(tuple(self.direction.ravel()))

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(z, y, x)``."""
        return self.size[::-1]

    @property
    def _index_to_world_matrix(self) -> NDArray[np.float64]:
        """``[3, 3]``: world offset per unit step along ITK axes ``i, j, k``, one per column."""
        return self.direction * self.spacing[None, :]

    def index_to_world(self, index_zyx: ArrayLike) -> NDArray[np.float64]:
        """World mm ``[..., 3]`` (x, y, z) of continuous array indices ``[..., 3]`` (z, y, x)."""
        idx = np.asarray(index_zyx, dtype=np.float64)[..., ::-1]
        return self.origin + _apply(self._index_to_world_matrix, idx)

    def world_to_index(self, points_xyz: ArrayLike) -> NDArray[np.float64]:
        """Continuous array indices ``[..., 3]`` (z, y, x) of world points ``[..., 3]`` mm."""
        pts = np.asarray(points_xyz, dtype=np.float64)
        return _apply(np.linalg.inv(self._index_to_world_matrix), pts - self.origin)[..., ::-1]

    def contains(self, points_xyz: ArrayLike, margin: float = 0.5) -> NDArray[np.bool_]:
        """``[...]`` True where a world point lies inside the image, within ``margin`` voxels
        beyond the outermost voxel centres (0.5 = the voxels' outer faces)."""
        idx = self.world_to_index(points_xyz)
        upper = np.array(self.shape, dtype=np.float64) - 1 + margin
        return np.all((idx >= -margin) & (idx <= upper), axis=-1)


def _apply(matrix: NDArray[np.float64], vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """``matrix @ v`` for every ``v`` in ``vectors [..., 3]``, as three element-wise sums: a
    BLAS product of an ``[N, 3]`` array is slower here and its idle threads slow down other
    worker processes."""
    return sum(vectors[..., k, None] * matrix[:, k] for k in range(3))
