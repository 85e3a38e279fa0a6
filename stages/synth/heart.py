"""An ellipsoidal phantom heart: the epicardial surface the coronaries run over, two blood-filled
ventricular cavities, the epicardial fat layer and the pericardium around it.

The heart has its own frame: ``centre`` (world mm, LPS) and ``axes``, whose columns are the
world directions of ``e1`` (towards the patient's left), ``e2`` (anterior) and ``e3`` (long
axis, base to apex). *Local* coordinates are mm along ``e1, e2, e3`` from the centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PERICARDIUM_MM = 1.2
"""Thickness of the pericardial sac outside the epicardial fat."""


@dataclass(frozen=True)
class Heart:
    """Phantom heart geometry (see the module docstring for the frame).

    ``semi`` ``[3]`` mm: semi-axes of the epicardial surface (outer myocardium) along
    ``e1, e2, e3``; ``lv_centre``, ``lv_semi``, ``rv_centre``, ``rv_semi`` ``[3]`` mm: the left
    and right ventricular cavities in local coordinates; ``fat_mm``: thickness of the epicardial
    fat layer; ``diaphragm_z``: world z (mm, superior positive) below which, outside the
    pericardium, lies abdominal soft tissue.
    """

    centre: NDArray[np.float64]
    axes: NDArray[np.float64]
    semi: NDArray[np.float64]
    lv_centre: NDArray[np.float64]
    lv_semi: NDArray[np.float64]
    rv_centre: NDArray[np.float64]
    rv_semi: NDArray[np.float64]
    fat_mm: float
    diaphragm_z: float

    def to_local(self, world: NDArray[np.float64]) -> NDArray[np.float64]:
        """Local coordinates ``[..., 3]`` of world points ``[..., 3]`` mm."""
        return (np.asarray(world) - self.centre) @ self.axes

    def to_world(self, local: NDArray[np.float64]) -> NDArray[np.float64]:
        """World points ``[..., 3]`` mm of local coordinates ``[..., 3]``."""
        return self.centre + np.asarray(local) @ self.axes.T

    def level(self, local: NDArray[np.float64], grow: float = 0.0) -> NDArray[np.float64]:
        """``[...]`` ellipsoid function of the epicardium grown outwards by ``grow`` mm:
        below 1 inside, 1 on the surface."""
        return np.sum((np.asarray(local) / (self.semi + grow)) ** 2, axis=-1)

    def project(self, local: NDArray[np.float64], grow: float) -> NDArray[np.float64]:
        """Radial projection ``[..., 3]`` (local) of points onto the epicardium grown by
        ``grow`` mm: the surface point on the ray from the centre through each point."""
        local = np.asarray(local, dtype=np.float64)
        return local / np.sqrt(self.level(local, grow))[..., None]

    def normal(self, local: NDArray[np.float64]) -> NDArray[np.float64]:
        """Outward unit normals ``[..., 3]`` (local) of the ellipsoid level sets at points."""
        gradient = np.asarray(local) / self.semi**2
        return gradient / np.linalg.norm(gradient, axis=-1, keepdims=True)


def draw_heart(rng: np.random.Generator) -> Heart:
    """A heart of adult size centred at the world origin, its long axis pointing to the
    patient's left, anterior and inferior (LPS: +x, -y, -z) within ~12 degrees."""
    long_axis = np.array([0.55, -0.45, -0.70]) + rng.normal(0.0, 0.12, 3)
    e3 = long_axis / np.linalg.norm(long_axis)
    anterior = np.array([0.0, -1.0, 0.0])
    e2 = anterior - e3 * (anterior @ e3)
    e2 /= np.linalg.norm(e2)
    e1 = np.cross(e2, e3)
    e1 *= np.sign(e1[0])  # towards the patient's left (+x in LPS)
    semi = np.array([rng.uniform(35.0, 40.0), rng.uniform(31.0, 36.0), rng.uniform(44.0, 52.0)])
    axes = np.stack([e1, e2, e3], axis=1)
    apex_z = semi[2] * e3[2]
    return Heart(
        centre=np.zeros(3),
        axes=axes,
        semi=semi,
        lv_centre=np.array([0.22, 0.0, -0.08]) * semi,
        lv_semi=np.array([0.45, 0.60, 0.70]) * semi,
        rv_centre=np.array([-0.60, 0.12, -0.12]) * semi,
        rv_semi=np.array([0.20, 0.50, 0.55]) * semi,
        fat_mm=float(rng.uniform(3.0, 6.0)),
        diaphragm_z=float(apex_z + rng.uniform(4.0, 12.0)),
    )
