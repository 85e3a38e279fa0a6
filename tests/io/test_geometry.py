"""World <-> continuous-index conversion against SimpleITK and hand-written LPS fixtures."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from stages.io.geometry import Geometry
from tests.fixtures import DIRECTION, ORIGIN, SPACING, make_image


def test_hand_written_lps_fixture() -> None:
    # 90-degree rotation about z: ITK axis i points along world +y, axis j along world -x.
    direction = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    geometry = Geometry(origin=np.array([10.0, -20.0, 5.0]), spacing=np.array([0.5, 2.0, 3.0]),
                        direction=direction, size=(4, 5, 6))
    # array index [z, y, x] = [1, 2, 3]: i=3 -> +1.5 mm along world y; j=2 -> 4 mm along -x; k=1 -> 3 mm along z
    np.testing.assert_allclose(geometry.index_to_world([1, 2, 3]), [10.0 - 4.0, -20.0 + 1.5, 5.0 + 3.0])
    np.testing.assert_allclose(geometry.world_to_index([6.0, -18.5, 8.0]), [1, 2, 3], atol=1e-12)
    assert geometry.shape == (6, 5, 4)


def test_matches_simpleitk_on_rotated_flipped_image() -> None:
    image = make_image()
    geometry = Geometry.from_image(image)
    rng = np.random.default_rng(0)
    index_zyx = rng.uniform(-2, 40, size=(50, 3))
    expected = np.array([image.TransformContinuousIndexToPhysicalPoint(tuple(i[::-1])) for i in index_zyx])
    np.testing.assert_allclose(geometry.index_to_world(index_zyx), expected, atol=1e-9)
    back = np.array([image.TransformPhysicalPointToContinuousIndex(tuple(p)) for p in expected])[:, ::-1]
    np.testing.assert_allclose(geometry.world_to_index(expected), back, atol=1e-9)
    np.testing.assert_allclose(geometry.world_to_index(geometry.index_to_world(index_zyx)), index_zyx, atol=1e-9)


def test_geometry_from_image_keeps_everything() -> None:
    geometry = Geometry.from_image(make_image())
    np.testing.assert_allclose(geometry.origin, ORIGIN)
    np.testing.assert_allclose(geometry.spacing, SPACING)
    np.testing.assert_allclose(geometry.direction, DIRECTION)
    target = sitk.Image(*geometry.size, sitk.sitkUInt8)
    geometry.apply_to(target)
    stamped = Geometry.from_image(target)
    for name in ("origin", "spacing", "direction"):
        np.testing.assert_allclose(getattr(stamped, name), getattr(geometry, name))


def test_contains_respects_voxel_faces() -> None:
    geometry = Geometry.from_image(make_image())
    last = np.array(geometry.shape) - 1
    points = geometry.index_to_world(np.array([[0, 0, 0], last, [-0.49, 0, 0], [-0.51, 0, 0], last + [0, 0, 0.6]]))
    assert geometry.contains(points).tolist() == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("spacing", {"spacing": np.array([1.0, 0.0, 1.0])}),
        ("direction", {"direction": np.zeros((3, 3))}),
        ("origin", {"origin": np.array([0.0, np.nan, 0.0])}),
        ("size", {"size": (3, 0, 3)}),
    ],
)
def test_bad_geometry_names_argument(name: str, kwargs: dict) -> None:
    args = {"origin": np.zeros(3), "spacing": np.ones(3), "direction": np.eye(3), "size": (3, 3, 3)} | kwargs
    with pytest.raises(ValueError, match=name):
        Geometry(**args)
