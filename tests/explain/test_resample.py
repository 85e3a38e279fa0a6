"""Carrying a patch map into SCPR space, checked against the closed-form SCPR grid of DESIGN.md."""

from __future__ import annotations

import numpy as np
import pytest

from stages.explain.resample import patch_to_scpr
from stages.io.geometry import Geometry

# a patch with a rotated, flipped direction, anisotropic spacing and an offset origin
_C, _S = np.cos(0.4), np.sin(0.4)
ROTATED = Geometry(origin=np.array([10.0, -20.0, 5.0]), spacing=np.array([0.5, 0.6, 0.4]),
                   direction=np.array([[_C, -_S, 0.0], [_S, _C, 0.0], [0.0, 0.0, -1.0]]), size=(30, 28, 32))


def closed_form_grid(points: np.ndarray, normal: np.ndarray, binormal: np.ndarray, pixel: float, size: int) -> np.ndarray:
    """``[D, size, size, 3]``: row i, column j of slice n at
    ``points[n] + (i - (size-1)/2)·pixel·binormal[n] + (j - (size-1)/2)·pixel·normal[n]``."""
    grid = np.empty((len(points), size, size, 3))
    for n in range(len(points)):
        for i in range(size):
            for j in range(size):
                grid[n, i, j] = points[n] + (i - (size - 1) / 2) * pixel * binormal[n] + (j - (size - 1) / 2) * pixel * normal[n]
    return grid


def _frame(d: int, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gently curving centerline through ``centre`` with an orthonormal normal/binormal."""
    t = np.linspace(-1, 1, d)
    points = centre + np.stack([3 * t, 2 * np.sin(t), 4 * t], axis=1)
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.cross(tangent, [0.0, 1.0, 0.0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return points, normal, np.cross(tangent, normal)


def test_a_linear_map_is_read_exactly_at_the_closed_form_grid() -> None:
    coefficients, offset = np.array([0.3, -0.7, 1.1]), 2.0
    zyx = np.stack(np.meshgrid(*(np.arange(s) for s in ROTATED.shape), indexing="ij"), axis=-1)
    patch_map = ROTATED.index_to_world(zyx) @ coefficients + offset  # linear in world mm
    centre = ROTATED.index_to_world((np.array(ROTATED.shape) - 1) / 2)
    points, normal, binormal = _frame(7, centre)
    out = patch_to_scpr(patch_map, ROTATED, points, normal, binormal, pixel=0.5, size=5)
    expected = closed_form_grid(points, normal, binormal, 0.5, 5) @ coefficients + offset
    assert out.shape == (7, 5, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)


def test_a_single_hot_voxel_lands_at_the_grid_point_on_it() -> None:
    # axis-aligned frame on voxel centres: each grid point is a voxel centre
    geometry = Geometry(origin=np.zeros(3), spacing=np.full(3, 0.5), direction=np.diag([1.0, -1.0, 1.0]), size=(20, 20, 20))
    d, size = 9, 7
    points = np.stack([np.full(d, 5.0), np.full(d, -5.0), 0.5 * np.arange(d) + 1.0], axis=1)
    normal, binormal = np.tile([1.0, 0.0, 0.0], (d, 1)), np.tile([0.0, 1.0, 0.0], (d, 1))
    n, i, j = 4, 1, 5
    hot = closed_form_grid(points, normal, binormal, 0.5, size)[n, i, j]
    patch_map = np.zeros(geometry.shape, np.float32)
    patch_map[tuple(np.rint(geometry.world_to_index(hot)).astype(int))] = 1.0
    out = patch_to_scpr(patch_map, geometry, points, normal, binormal, pixel=0.5, size=size)
    assert np.unravel_index(out.argmax(), out.shape) == (n, i, j)
    assert out[n, i, j] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_outside_the_patch_reads_zero() -> None:
    geometry = Geometry(origin=np.zeros(3), spacing=np.ones(3), direction=np.eye(3), size=(6, 6, 6))
    points = np.array([[2.5, 2.5, 2.5], [50.0, 50.0, 50.0]])
    out = patch_to_scpr(np.ones(geometry.shape), geometry, points, np.tile([1.0, 0, 0], (2, 1)), np.tile([0, 1.0, 0], (2, 1)), 1.0, 3)
    assert np.all(out[0] == 1) and np.all(out[1] == 0)


def test_a_map_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="does not have the patch's shape"):
        patch_to_scpr(np.zeros((3, 3, 3)), ROTATED, np.zeros((1, 3)), np.eye(3)[:1], np.eye(3)[1:2], 1.0, 3)
