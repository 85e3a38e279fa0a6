"""sample_planes: the grid convention of DESIGN.md in world coordinates (origin, spacing,
direction), trilinear interpolation, the fill value outside, and the baseline's samples."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from benchmarks.scpr_baseline import baseline_sample_planes
from stages.io.geometry import Geometry
from stages.scpr import compute_frames, resample_centerline, sample_planes
from tests.fixtures import DIRECTION, ORIGIN, SPACING

SIZE = (40, 50, 30)  # ITK order (x, y, z)
RAMP = np.array([0.7, -1.3, 2.1])  # value per world mm along x, y, z


def _geometry() -> Geometry:
    return Geometry(origin=ORIGIN, spacing=SPACING, direction=DIRECTION, size=SIZE)


def _image(array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    _geometry().apply_to(image)
    return image


def _ramp_image() -> sitk.Image:
    """float64 voxels holding a linear function of their world position (trilinear
    interpolation reproduces it exactly)."""
    geometry = _geometry()
    index = np.stack(np.meshgrid(*(np.arange(n) for n in geometry.shape), indexing="ij"), axis=-1)
    return _image(geometry.index_to_world(index) @ RAMP + 5.0)


def _random_frames(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random orthonormal pairs (M, B)."""
    q = np.linalg.qr(rng.normal(size=(n, 3, 3)))[0]
    return q[:, :, 0], q[:, :, 1]


def _centre_world() -> np.ndarray:
    return _geometry().index_to_world((np.array(SIZE[::-1]) - 1) / 2)


def test_grid_convention_in_world_coordinates() -> None:
    rng = np.random.default_rng(1)
    n, size, pixel = 6, 7, 0.35
    points = _centre_world() + rng.uniform(-2, 2, size=(n, 3))
    normals, binormals = _random_frames(rng, n)
    planes = sample_planes(_ramp_image(), points, normals, binormals, size, pixel)
    assert planes.shape == (n, size, size) and planes.dtype == np.float32
    k = (np.arange(size) - (size - 1) / 2) * pixel
    world = (points[:, None, None, :] + k[None, :, None, None] * binormals[:, None, None, :]
             + k[None, None, :, None] * normals[:, None, None, :])
    np.testing.assert_allclose(planes, world @ RAMP + 5.0, atol=1e-4)
    # row i runs along B, column j along M: one pixel down a row adds pixel * (B . RAMP)
    np.testing.assert_allclose(planes[:, 1, 0] - planes[:, 0, 0], pixel * binormals @ RAMP, atol=1e-4)
    np.testing.assert_allclose(planes[:, 0, 1] - planes[:, 0, 0], pixel * normals @ RAMP, atol=1e-4)


def test_outside_takes_the_fill_value() -> None:
    far = _centre_world() + np.array([[500.0, 0.0, 0.0], [0.0, -400.0, 0.0]])
    normals, binormals = np.array([[0.0, 1.0, 0.0]] * 2), np.array([[0.0, 0.0, 1.0]] * 2)
    image = _ramp_image()
    assert np.all(sample_planes(image, far, normals, binormals, 5, 0.4) == -1024.0)
    assert np.all(sample_planes(image, far, normals, binormals, 5, 0.4, fill=-7.5) == -7.5)


def test_samples_across_the_volume_face_blend_with_the_fill() -> None:
    """Half a voxel beyond the first voxel centre the sample is the mean of voxel and fill."""
    array = np.full(SIZE[::-1], 100, dtype=np.int16)
    geometry = _geometry()
    corner = geometry.index_to_world([[-0.5, 10.0, 10.0], [-1.5, 10.0, 10.0], [0.0, 10.0, 10.0]])
    m, b = np.array([[1.0, 0.0, 0.0]] * 3), np.array([[0.0, 1.0, 0.0]] * 3)
    centre = sample_planes(_image(array), corner, m, b, 1, 0.4, fill=-100.0)[:, 0, 0]
    np.testing.assert_allclose(centre, [0.0, -100.0, 100.0], atol=1e-4)


@pytest.mark.parametrize("frame", ["rmf", "projection"])
def test_same_points_and_frames_give_the_baselines_samples(frame: str) -> None:
    rng = np.random.default_rng(2)
    array = rng.integers(-1024, 2000, size=SIZE[::-1], dtype=np.int16)
    t = np.linspace(0.0, 1.0, 30)
    # a curve that crosses the volume and leaves it, so the fill value is compared too
    index = np.stack([2 + 40 * t, 25 + 12 * np.sin(5 * t), 20 + 30 * t * (1 - t)], axis=1)
    curve = resample_centerline(np.arange(30), _geometry().index_to_world(index), step=0.5, smooth=1.0)
    frames = compute_frames(curve.points, curve.tangents, frame)
    ours = sample_planes(_image(array), curve.points, frames.normal, frames.binormal, 48, 0.4)
    theirs = baseline_sample_planes(array, _geometry(), curve.points, frames.normal, frames.binormal, 48, 0.4)
    assert (ours == -1024.0).any() and (ours != -1024.0).any()
    assert np.abs(ours - theirs).max() < 0.01


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        sample_planes(_ramp_image(), np.zeros((3, 3)), np.zeros((2, 3)), np.zeros((3, 3)), 5, 0.4)
