"""Frames: orthonormal triads for both rules, the start from the world x (or y) axis, and on a
helix the rotation-minimising frame turns against the Frenet frame at the rate of the torsion."""

from __future__ import annotations

import numpy as np
import pytest

from stages.scpr import FRAMES, compute_frames, resample_centerline
from stages.scpr.frames import initial_normal
from tests.scpr.phantoms import REALDATA, helix, read_vtk_lines

A, B_PITCH = 5.0, 2.0  # helix radius and rise per radian, mm
CURVATURE, TORSION = A / (A**2 + B_PITCH**2), B_PITCH / (A**2 + B_PITCH**2)


def _helix_centerline(step: float = 0.5):
    points = helix(A, B_PITCH, turns=3.0, n=400)
    return resample_centerline(np.arange(400), points, step=step, smooth=0.0)


def _curves():
    """A helix and, when present, the real coronary centerline shapes."""
    curves = [_helix_centerline()]
    for path in sorted(REALDATA.glob("*.vtk")):
        curves += [resample_centerline(np.arange(len(p)), p, step=0.5, smooth=1.0) for p in read_vtk_lines(path)]
    return curves


@pytest.mark.parametrize("method", FRAMES)
def test_frames_are_orthonormal_and_right_handed(method: str) -> None:
    for curve in _curves():
        f = compute_frames(curve.points, curve.tangents, method)
        for v in (f.tangent, f.normal, f.binormal):
            np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
        for u, v in ((f.tangent, f.normal), (f.tangent, f.binormal), (f.normal, f.binormal)):
            assert np.abs(np.einsum("ij,ij->i", u, v)).max() < 1e-6
        np.testing.assert_allclose(f.binormal, np.cross(f.tangent, f.normal), atol=1e-12)


@pytest.mark.parametrize("method", FRAMES)
def test_frames_start_from_the_x_axis_or_y_when_x_is_nearly_parallel(method: str) -> None:
    t = np.linspace(0.0, 10.0, 21)
    oblique = np.stack([t, 0.5 * t, 2.0 * t], axis=1)
    along_x = np.stack([t, 0.1 * t, 0.0 * t], axis=1)
    for points, axis in ((oblique, np.array([1.0, 0.0, 0.0])), (along_x, np.array([0.0, 1.0, 0.0]))):
        curve = resample_centerline(np.arange(21), points, step=0.5)
        tangent = curve.tangents[0]
        expected = axis - (axis @ tangent) * tangent
        expected /= np.linalg.norm(expected)
        np.testing.assert_allclose(initial_normal(tangent), expected, atol=1e-12)
        frames = compute_frames(curve.points, curve.tangents, method)
        np.testing.assert_allclose(frames.normal, np.broadcast_to(expected, frames.normal.shape), atol=1e-9)


def test_rmf_turns_against_the_frenet_frame_at_the_torsion_rate() -> None:
    curve = _helix_centerline()
    frames = compute_frames(curve.points, curve.tangents, "rmf")
    t = np.unwrap(np.arctan2(curve.points[:, 1], curve.points[:, 0]))
    frenet_n = np.stack([-np.cos(t), -np.sin(t), np.zeros_like(t)], axis=1)
    frenet_b = np.cross(frames.tangent, frenet_n)
    angle = np.unwrap(np.arctan2(np.einsum("ij,ij->i", frames.normal, frenet_b),
                                 np.einsum("ij,ij->i", frames.normal, frenet_n)))
    slope, intercept = np.polyfit(curve.arclength, angle, 1)
    assert abs(abs(slope) - TORSION) < 1e-5 * TORSION
    assert np.abs(angle - (slope * curve.arclength + intercept)).max() < 1e-4
    # the Frenet normal turns about T at the torsion rate; the projection rule, not exactly
    # rotation-minimising, stays within a few degrees of the rmf over three turns
    projection = compute_frames(curve.points, curve.tangents, "projection")
    drift = np.arccos(np.clip(np.einsum("ij,ij->i", projection.normal, frames.normal), -1, 1))
    assert drift.max() < np.radians(5)


def test_unknown_frame_is_refused() -> None:
    curve = _helix_centerline()
    with pytest.raises(ValueError, match="frame must be one of"):
        compute_frames(curve.points, curve.tangents, "frenet")
