"""Centerline preparation: uniform arc-length resampling, interpolation at zero smoothing,
smoothing of jitter, repeated points, fractional source positions, and bad centerlines."""

from __future__ import annotations

import numpy as np
import pytest

from stages.scpr import resample_centerline
from tests.scpr.phantoms import arclength

STEP = 0.5


def _quarter_circle(n: int, radius: float = 10.0) -> np.ndarray:
    angle = np.linspace(0.0, np.pi / 2, n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle), np.zeros(n)], axis=1)


def _line(distances: list[float]) -> np.ndarray:
    direction = np.array([2.0, -1.0, 2.0]) / 3.0
    return np.array([10.0, 20.0, 30.0]) + np.outer(distances, direction)


def test_resampled_every_step_along_the_arc() -> None:
    curve = resample_centerline(np.arange(40), _quarter_circle(40), step=STEP, smooth=0.0)
    length = np.pi / 2 * 10.0
    assert curve.points.shape == (int(length / STEP) + 1, 3)
    np.testing.assert_allclose(curve.arclength, np.arange(curve.points.shape[0]) * STEP)
    np.testing.assert_allclose(np.linalg.norm(curve.points[:, :2], axis=1), 10.0, atol=1e-4)
    angle = np.arctan2(curve.points[:, 1], curve.points[:, 0])
    np.testing.assert_allclose(angle * 10.0, curve.arclength, atol=1e-4)
    expected_tangent = np.stack([-np.sin(angle), np.cos(angle), np.zeros_like(angle)], axis=1)
    np.testing.assert_allclose(curve.tangents, expected_tangent, atol=1e-4)


def test_zero_smoothing_interpolates_the_input_points() -> None:
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.3, 1.2, size=30))
    points = np.stack([t, 3 * np.sin(t / 3), 2 * np.cos(t / 4)], axis=1)
    ids = 100 + 2 * np.arange(30)
    curve = resample_centerline(ids, points, step=0.02, smooth=0.0)
    # every input point lies on the densely resampled polyline
    a, b = curve.points[:-1], curve.points[1:]
    along = np.clip(np.einsum("psk,sk->ps", points[:, None] - a, b - a) / np.sum((b - a) ** 2, axis=1), 0, 1)
    nearest = a + along[..., None] * (b - a)
    assert np.linalg.norm(points[:, None] - nearest, axis=2).min(axis=1)[:-1].max() < 1e-4
    assert curve.source_point[0] == ids[0] and abs(curve.source_point[-1] - ids[-1]) < 0.1


def test_smoothing_removes_jitter() -> None:
    rng = np.random.default_rng(4)
    distances = np.arange(0.0, 40.0, 0.8)
    truth = _line(list(distances))
    noisy = truth + rng.normal(0.0, 0.15, size=truth.shape)

    def off_line(smooth: float) -> float:
        curve = resample_centerline(np.arange(distances.size), noisy, step=STEP, smooth=smooth)
        d = curve.points - truth[0]
        axis = (truth[-1] - truth[0]) / np.linalg.norm(truth[-1] - truth[0])
        return float(np.sqrt(np.mean(np.sum((d - np.outer(d @ axis, axis)) ** 2, axis=1))))

    spread = [off_line(smooth) for smooth in (0.0, 1.0, 3.0)]
    assert spread[0] > 0.18 and spread[1] < 0.6 * spread[0] and spread[2] < 0.4 * spread[0]


def test_source_points_follow_the_input_point_ids_through_arc_length() -> None:
    distances = [0.0, 1.0, 3.0, 3.5, 6.0]
    curve = resample_centerline([10, 11, 12, 13, 14], _line(distances), step=STEP, smooth=1.0)
    np.testing.assert_allclose(curve.source_point, np.interp(curve.arclength, distances, [10, 11, 12, 13, 14]), atol=1e-9)
    np.testing.assert_allclose(arclength(curve.points), curve.arclength, atol=1e-9)


def test_repeated_points_are_dropped() -> None:
    with_repeat = resample_centerline([0, 1, 2, 3, 4, 5], _line([0.0, 1.0, 1.0, 3.0, 6.0, 8.0]), step=STEP)
    without = resample_centerline([0, 1, 3, 4, 5], _line([0.0, 1.0, 3.0, 6.0, 8.0]), step=STEP)
    np.testing.assert_allclose(with_repeat.points, without.points, atol=1e-9)
    # ids 1 and 2 share a place: the source position runs up to 1 there and on from 2
    at, source = with_repeat.arclength, with_repeat.source_point
    np.testing.assert_allclose(source[at < 1.0], at[at < 1.0], atol=1e-9)
    span = (at > 1.0) & (at <= 3.0)
    np.testing.assert_allclose(source[span], 2.0 + (at[span] - 1.0) / 2.0)


def test_two_points_make_a_straight_centerline() -> None:
    curve = resample_centerline([0, 1], _line([0.0, 2.2]), step=STEP)
    np.testing.assert_allclose(curve.arclength, [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(curve.tangents, np.broadcast_to([2 / 3, -1 / 3, 2 / 3], (5, 3)), atol=1e-12)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (_line([0.0, 0.4, 0.9]), "shorter than two steps"),
        (_line([0.0, 0.0, 0.0]), "all points coincide"),
        (np.array([[0.0, 0.0, 0.0], [np.nan, 1.0, 1.0], [0.0, 2.0, 3.0]]), "point_id 1 is not finite"),
    ],
)
def test_bad_centerlines_are_refused(points: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resample_centerline(np.arange(len(points)), points, step=STEP)
