"""CCTA patches in physical space, against independent sampling of the source image."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy.ndimage import map_coordinates

from stages.ccta.patch import PatchParams, crop_patch
from stages.io.geometry import Geometry
from tests.fixtures import ROTATION, make_image


def _smooth_image() -> sitk.Image:
    """A smooth field (so trilinear sampling is exact enough) on the rotated fixture grid."""
    image = make_image(direction=ROTATION)
    z, y, x = np.meshgrid(*(np.arange(s, dtype=np.float64) for s in image.GetSize()[::-1]), indexing="ij")
    smooth = sitk.GetImageFromArray((100 * np.sin(x / 7) + 80 * np.cos(y / 9) + 3 * z).astype(np.float32))
    smooth.CopyInformation(image)
    return smooth


def test_patch_samples_the_image_at_the_same_world_positions() -> None:
    image = _smooth_image()
    source = Geometry.from_image(image)
    points = source.index_to_world(np.array([[10.0, 20, 15], [12, 24, 19], [14, 27, 22]]))
    patch = crop_patch(image, points, PatchParams(size=16, spacing=0.5, margin=2.0))
    np.testing.assert_allclose(patch.geometry.direction, ROTATION, atol=1e-9)
    # every patch voxel centre, mapped back into the source image, sampled independently
    grid = np.stack(np.meshgrid(*(np.arange(16.0),) * 3, indexing="ij"), -1).reshape(-1, 3)
    expected = map_coordinates(sitk.GetArrayFromImage(image), source.world_to_index(patch.geometry.index_to_world(grid)).T, order=1)
    np.testing.assert_allclose(patch.array.reshape(-1), expected, atol=1e-2)
    np.testing.assert_allclose(patch.geometry.index_to_world(patch.points_index), points, atol=1e-9)


def test_points_keep_the_margin_and_spacing_grows_when_needed() -> None:
    image = _smooth_image()
    source = Geometry.from_image(image)
    near = source.index_to_world(np.array([[10.0, 20, 15], [11, 21, 16]]))
    patch = crop_patch(image, near, PatchParams(size=32, spacing=0.5, margin=3.0))
    assert not patch.grown
    assert patch.points_index.min() >= 3.0 / 0.5 - 1e-9 and patch.points_index.max() <= 31 - 6 + 1e-9
    far = source.index_to_world(np.array([[2.0, 5, 5], [25, 45, 35]]))
    grown = crop_patch(image, far, PatchParams(size=32, spacing=0.5, margin=3.0))
    assert grown.grown and grown.geometry.spacing[0] > 0.5
    assert grown.points_index.min() >= 3.0 / grown.geometry.spacing[0] - 1e-6
    assert grown.points_index.max() <= 31 - 3.0 / grown.geometry.spacing[0] + 1e-6
