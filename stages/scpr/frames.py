"""Cross-section frames along a resampled centerline.

At each point the tangent T, the normal M and the binormal B = T x M are unit vectors in world
mm coordinates, mutually orthogonal. Two rules carry M along the curve:

- ``rmf``: a rotation-minimising frame by double reflection (Wang, Juettler, Zheng and Liu,
  "Computation of rotation minimizing frames", ACM TOG 2008): no twist about T, so anatomy does
  not spiral in the straightened volume.
- ``projection``: the paper authors' rule: project the previous M onto the plane normal to the
  next tangent and renormalise.

Both start from the world x axis projected onto the plane normal to the first tangent, or from
the y axis where x is nearly parallel to that tangent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FRAMES = ("rmf", "projection")
_NEARLY_PARALLEL = 0.9
"""|cos| between the first tangent and the x axis above which the y axis starts M instead."""


@dataclass(frozen=True)
class Frames:
    """``tangent``, ``normal`` (M) and ``binormal`` (B = T x M), each ``[N, 3]`` unit vectors."""

    tangent: NDArray[np.float64]
    normal: NDArray[np.float64]
    binormal: NDArray[np.float64]


def initial_normal(tangent: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[3]`` unit vector normal to ``tangent`` ``[3]`` (unit): the world x axis projected onto
    the plane normal to it, or the y axis where x is nearly parallel to it."""
    axis = np.eye(3)[1 if abs(tangent[0]) > _NEARLY_PARALLEL else 0]
    normal = axis - (axis @ tangent) * tangent
    return normal / np.linalg.norm(normal)


def _rmf_normals(points: NDArray[np.float64], tangents: NDArray[np.float64]) -> NDArray[np.float64]:
    """Double reflection: reflect (M_i, T_i) in the bisector plane of p_i p_i+1, then reflect
    in the plane that takes the reflected tangent onto T_i+1."""
    # M_i+1 = H2_i H1_i M_i with Householder reflections H = I - 2 v v^T / (v . v).
    v1 = np.diff(points, axis=0)
    h1 = _householder(v1)
    v2 = tangents[1:] - np.einsum("kij,kj->ki", h1, tangents[:-1])
    steps = _householder(v2) @ h1
    normals = np.empty_like(tangents)
    normals[0] = initial_normal(tangents[0])
    for i, step in enumerate(steps):
        normals[i + 1] = step @ normals[i]
    return normals


def _householder(axes: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[K, 3, 3]``: the reflections ``I - 2 v v^T / (v . v)`` in the planes normal to ``axes``
    ``[K, 3]``; the identity for a zero axis (nothing to reflect)."""
    norms2 = np.einsum("ij,ij->i", axes, axes)
    scale = np.divide(2.0, norms2, out=np.zeros_like(norms2), where=norms2 > 1e-30)
    return np.eye(3) - scale[:, None, None] * axes[:, :, None] * axes[:, None, :]


def _projection_normals(tangents: NDArray[np.float64]) -> NDArray[np.float64]:
    """The authors' rule: M_i+1 = normalise(M_i - (M_i . T_i+1) T_i+1). Where M_i is parallel to
    T_i+1 (a right-angle turn within one step) the previous binormal is projected instead."""
    normals = np.empty_like(tangents)
    normal = initial_normal(tangents[0])
    normals[0] = normal
    for i in range(1, tangents.shape[0]):
        t = tangents[i]
        projected = normal - (normal @ t) * t
        length = np.linalg.norm(projected)
        if length < 1e-6:
            binormal = np.cross(tangents[i - 1], normal)
            projected = binormal - (binormal @ t) * t
            length = np.linalg.norm(projected)
        normal = projected / length
        normals[i] = normal
    return normals


def compute_frames(points: NDArray[np.float64], tangents: NDArray[np.float64], method: str = "rmf") -> Frames:
    """Frames at ``points`` ``[N, 3]`` (world mm) with unit ``tangents`` ``[N, 3]`` by ``method``
    (one of :data:`FRAMES`); M is re-orthogonalised against T so the triad is orthonormal to
    rounding error."""
    if method == "rmf":
        normals = _rmf_normals(points, tangents)
    elif method == "projection":
        normals = _projection_normals(tangents)
    else:
        raise ValueError(f"frame must be one of {', '.join(FRAMES)}, got '{method}'")
    normals = normals - np.einsum("ij,ij->i", normals, tangents)[:, None] * tangents
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return Frames(tangent=tangents, normal=normals, binormal=np.cross(tangents, normals))
