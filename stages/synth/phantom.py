"""Rasterise the phantom anatomy onto an image grid: an HU volume that looks like CCTA and a
label map of the coronary lumen and plaque on the same grid.

Arrays are numpy order ``[z, y, x]`` over the grid of a :class:`Geometry`; world points are mm
(LPS). The HU volume is built from tissue values at the voxel centres (vessel walls
anti-aliased by their partial volume), blurred by a Gaussian scanner PSF with Gaussian noise
added before the blur, so the noise is correlated like CT noise, scaled to reach the case's
noise SD after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from stages.io.geometry import Geometry
from stages.synth.heart import PERICARDIUM_MM, Heart
from stages.synth.lesions import wall_profile
from stages.synth.vessels import Vessel

BACKGROUND, LUMEN, SOFT_PLAQUE, CALCIFIED_PLAQUE = 0, 1, 2, 3
"""Values of the label map."""

FAT_SLEEVE_MM = 2.5
"""Epicardial fat kept around every vessel wall where it leaves the myocardium."""

_CHUNK = 20  # dense samples (2 mm) per bounding box of a vessel's near field
_SLAB = 16  # slices per slab of the background anatomy
_PSF_TRUNCATE = 3.0  # PSF kernel half-width in sigmas
_HU_RANGE = (-1024, 3071)


@dataclass(frozen=True)
class Tissue:
    """Attenuations (HU) and scanner properties of one case.

    ``lumen_hu`` contrast-filled coronary lumen at the ostium, falling by ``attenuation`` (a
    fraction) per 100 mm downstream; ``lv_hu``, ``rv_hu`` ventricular blood pools;
    ``noise_sd`` HU; ``psf_sigma_mm`` Gaussian scanner blur.
    """

    lumen_hu: float
    attenuation: float
    lv_hu: float
    rv_hu: float
    myocardium_hu: float
    fat_hu: float
    pericardium_hu: float
    lung_hu: float
    abdomen_hu: float
    noise_sd: float
    psf_sigma_mm: float


def draw_tissue(rng: np.random.Generator) -> Tissue:
    """Attenuations and scanner properties of a contrast-enhanced coronary CT."""
    lumen = rng.uniform(300.0, 500.0)
    return Tissue(
        lumen_hu=lumen,
        attenuation=rng.uniform(0.03, 0.10),
        lv_hu=lumen * rng.uniform(0.95, 1.08),
        rv_hu=lumen * rng.uniform(0.55, 0.90),
        myocardium_hu=rng.uniform(50.0, 95.0),
        fat_hu=rng.uniform(-115.0, -85.0),
        pericardium_hu=rng.uniform(20.0, 45.0),
        lung_hu=rng.uniform(-870.0, -780.0),
        abdomen_hu=rng.uniform(45.0, 65.0),
        noise_sd=rng.uniform(15.0, 30.0),
        psf_sigma_mm=rng.uniform(0.3, 0.5),
    )


def rasterise(
    geometry: Geometry,
    heart: Heart,
    vessels: Sequence[Vessel],
    tissue: Tissue,
    noise_rng: np.random.Generator | None,
) -> tuple[NDArray[np.int16], NDArray[np.uint8]]:
    """The HU volume (int16) and label map (uint8: BACKGROUND, LUMEN, SOFT_PLAQUE,
    CALCIFIED_PLAQUE), both ``geometry.shape`` ``[z, y, x]``. The noise is drawn from
    ``noise_rng``; None leaves it out (the blur stays)."""
    hu, outside_heart = _anatomy(geometry, heart, tissue)
    labels = np.zeros(geometry.shape, dtype=np.uint8)
    ostium_mm = {v.name: 0.0 for v in vessels if v.parent is None}
    covers = []
    for vessel in vessels:  # parents precede their branches
        if vessel.parent is not None:
            ostium_mm[vessel.name] = ostium_mm[vessel.parent] + vessel.branch_mm
        covers.append(_draw_vessel(geometry, vessel, tissue, ostium_mm[vessel.name], hu, outside_heart, labels))
    _composite(hu, covers)
    if noise_rng is not None:
        hu += noise_rng.standard_normal(hu.shape, dtype=np.float32) * np.float32(
            tissue.noise_sd / _blurred_noise_gain(geometry, tissue.psf_sigma_mm))
    hu = gaussian_filter(hu, sigma=_psf_sigma_voxels(geometry, tissue.psf_sigma_mm), truncate=_PSF_TRUNCATE)
    return np.clip(np.rint(hu), *_HU_RANGE).astype(np.int16), labels


def _anatomy(geometry: Geometry, heart: Heart, tissue: Tissue) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """HU ``[z, y, x]`` of the background anatomy (lung, abdomen below the diaphragm,
    pericardium, epicardial fat, myocardium, ventricular blood) and a mask of the voxels
    outside the myocardium. Computed in slabs of _SLAB slices to keep temporaries small."""
    start, steps = _affine(geometry)
    local_start, local_steps = heart.to_local(start), steps @ heart.axes
    hu = np.empty(geometry.shape, dtype=np.float32)
    outside_heart = np.empty(geometry.shape, dtype=bool)
    for z0 in range(0, geometry.shape[0], _SLAB):
        rows = slice(z0, min(z0 + _SLAB, geometry.shape[0]))
        z = np.arange(rows.start, rows.stop)
        local = [_affine_slab(geometry, z, local_start[k], local_steps[:, k]) for k in range(3)]

        def inside(centre: NDArray[np.float64], semi: NDArray[np.float64]) -> NDArray[np.bool_]:
            level = ((local[0] - np.float32(centre[0])) / np.float32(semi[0])) ** 2
            for k in (1, 2):
                level += ((local[k] - np.float32(centre[k])) / np.float32(semi[k])) ** 2
            return level <= 1.0

        slab = np.full(local[0].shape, tissue.lung_hu, dtype=np.float32)
        pericardium = inside(np.zeros(3), heart.semi + heart.fat_mm + PERICARDIUM_MM)
        slab[(_affine_slab(geometry, z, start[2], steps[:, 2]) < heart.diaphragm_z) & ~pericardium] = tissue.abdomen_hu
        slab[pericardium] = tissue.pericardium_hu
        slab[inside(np.zeros(3), heart.semi + heart.fat_mm)] = tissue.fat_hu
        myocardium = inside(np.zeros(3), heart.semi)
        slab[myocardium] = tissue.myocardium_hu
        slab[inside(heart.lv_centre, heart.lv_semi)] = tissue.lv_hu
        slab[inside(heart.rv_centre, heart.rv_semi)] = tissue.rv_hu
        hu[rows] = slab
        outside_heart[rows] = ~myocardium
    return hu, outside_heart


def _affine(geometry: Geometry) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The grid's affine map: world mm ``[3]`` of voxel ``[0, 0, 0]`` and ``[3, 3]`` world
    step per unit index along array axes z, y, x (one row each)."""
    start = geometry.index_to_world(np.zeros(3))
    return start, geometry.index_to_world(np.eye(3)) - start


def _affine_slab(geometry: Geometry, z: NDArray[np.int64], value0: float, per_step: NDArray[np.float64]) -> NDArray[np.float32]:
    """``value0 + per_step[0] z + per_step[1] y + per_step[2] x`` over slices ``z`` of the
    grid: float32 ``[len(z), ny, nx]``."""
    _, ny, nx = geometry.shape
    return (np.float32(value0)
            + np.float32(per_step[0]) * z.astype(np.float32)[:, None, None]
            + np.float32(per_step[1]) * np.arange(ny, dtype=np.float32)[None, :, None]
            + np.float32(per_step[2]) * np.arange(nx, dtype=np.float32)[None, None, :])


def _voxel_world(geometry: Geometry, flat: NDArray[np.int64]) -> NDArray[np.float64]:
    """World points ``[n, 3]`` mm of the voxel centres at ``flat`` indices into
    ``geometry.shape``: the grid's affine map applied by broadcasting, which unlike an
    ``[n, 3] @ [3, 3]`` product needs no (multi-threaded) BLAS call in a worker process."""
    start, steps = _affine(geometry)
    world = np.broadcast_to(start, (len(flat), 3)).copy()
    for axis, index in enumerate(np.unravel_index(flat, geometry.shape)):
        world += index[:, None] * steps[axis]
    return world


def _composite(hu: NDArray[np.float32], covers: Sequence[tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]]) -> None:
    """Blend vessels into ``hu`` in place: each cover is (flat voxel indices, fraction of the
    voxel the vessel fills, HU of that part); where vessels overlap, the fuller one counts."""
    flat, fraction, inside_hu = (np.concatenate(parts) for parts in zip(*covers))
    order = np.lexsort((-fraction, flat))
    flat, fraction, inside_hu = flat[order], fraction[order], inside_hu[order]
    first = np.concatenate([[True], flat[1:] != flat[:-1]])
    flat, fraction, inside_hu = flat[first], fraction[first], inside_hu[first]
    hu.flat[flat] += fraction * (inside_hu - hu.flat[flat])


def _draw_vessel(
    geometry: Geometry, vessel: Vessel, tissue: Tissue, ostium_mm: float,
    background: NDArray[np.float32], outside_heart: NDArray[np.bool_], labels: NDArray[np.uint8],
) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
    """Draw one vessel's lumen and plaque labels into ``labels`` (lumen wins over calcium over
    soft plaque where vessels meet) and its fat sleeve into ``background`` outside the heart;
    return its cover for :func:`_composite`: flat voxel indices, the fraction of each voxel
    the vessel fills, and the HU of that part. ``ostium_mm``: arc length from the coronary
    ostium to this vessel's start."""
    wall = wall_profile(vessel.arclength, vessel.radius, vessel.tangent, vessel.normal, vessel.lesions)
    reach = float(wall.outer_radius.max()) + FAT_SLEEVE_MM + 1.0
    flat = _near_voxels(geometry, vessel.points, reach)
    world = _voxel_world(geometry, flat)
    distance, k = cKDTree(vessel.points).query(world, distance_upper_bound=reach)
    near = np.isfinite(distance)
    flat, world, k = flat[near], world[near], k[near]

    radial = world - vessel.points[k]
    centre_distance = np.linalg.norm(radial, axis=1)
    lumen_distance = np.linalg.norm(radial - wall.lumen_offset[k], axis=1)
    lumen_radius, outer_radius = wall.lumen_radius[k], wall.outer_radius[k]

    across = radial - np.sum(radial * vessel.tangent[k], axis=1, keepdims=True) * vessel.tangent[k]
    cos_to_calcium = np.sum(across * wall.calcium_axis[k], axis=1) / np.maximum(np.linalg.norm(across, axis=1), 1e-9)
    is_lumen = lumen_distance < lumen_radius
    is_plaque = ~is_lumen & (centre_distance < outer_radius) & (wall.lesion[k] >= 0)
    is_calcium = is_plaque & (cos_to_calcium >= wall.calcium_cos[k])
    label = np.where(is_lumen, LUMEN, np.where(is_calcium, CALCIFIED_PLAQUE, np.where(is_plaque, SOFT_PLAQUE, BACKGROUND)))
    _merge_labels(labels, flat, label.astype(np.uint8))

    voxel_mm = float(np.prod(geometry.spacing) ** (1 / 3))
    outer_fraction = _partial_volume(centre_distance, outer_radius, voxel_mm)
    lumen_fraction = np.minimum(_partial_volume(lumen_distance, lumen_radius, voxel_mm), outer_fraction)
    lumen_hu = tissue.lumen_hu * (1.0 - tissue.attenuation * (ostium_mm + vessel.arclength[k]) / 100.0)
    plaque_hu = np.where(is_calcium, wall.calcium_hu[k], wall.soft_hu[k])
    inside_hu = (lumen_fraction * lumen_hu + (outer_fraction - lumen_fraction) * plaque_hu) / np.maximum(outer_fraction, 1e-9)
    sleeve = flat[(centre_distance < outer_radius + FAT_SLEEVE_MM) & outside_heart.flat[flat]]
    background.flat[sleeve] = tissue.fat_hu

    _trace_lumen_axis(geometry, vessel, wall.lumen_offset, wall.lumen_radius, wall.lesion, labels)
    covered = outer_fraction > 0
    return flat[covered], outer_fraction[covered], inside_hu[covered].astype(np.float32)


def _near_voxels(geometry: Geometry, points: NDArray[np.float64], reach: float) -> NDArray[np.int64]:
    """Flat indices (into ``geometry.shape``) of the voxels inside the bounding boxes of
    consecutive chunks of ``points`` ``[N, 3]`` (world mm) grown by ``reach`` mm."""
    mask = np.zeros(geometry.shape, dtype=bool)
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=np.float64)
    upper = np.array(geometry.shape) - 1
    for first in range(0, len(points), _CHUNK):
        chunk = points[first:first + _CHUNK + 1]
        lo, hi = chunk.min(axis=0) - reach, chunk.max(axis=0) + reach
        index = geometry.world_to_index(lo + corners * (hi - lo))
        start = np.clip(np.floor(index.min(axis=0)).astype(int), 0, upper)
        stop = np.clip(np.ceil(index.max(axis=0)).astype(int), -1, upper) + 1
        mask[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]] = True
    return np.flatnonzero(mask)


def _partial_volume(distance: NDArray[np.float64], radius: NDArray[np.float64], voxel_mm: float) -> NDArray[np.float32]:
    """Fraction of a voxel (edge ``voxel_mm``) at ``distance`` from a tube axis that the tube
    of ``radius`` fills: a linear ramp one voxel wide across the wall, capped for tubes
    thinner than a voxel by their cross-section over a voxel face (0 for radius 0)."""
    ramp = np.clip(0.5 + (radius - distance) / voxel_mm, 0.0, 1.0)
    return np.minimum(ramp, np.pi * radius**2 / voxel_mm**2).astype(np.float32)


def _merge_labels(labels: NDArray[np.uint8], flat: NDArray[np.int64], label: NDArray[np.uint8]) -> None:
    """Write ``label`` at ``flat`` where it outranks the label already there
    (lumen > calcified plaque > soft plaque > background)."""
    rank = np.array([0, 3, 1, 2], dtype=np.int8)  # by label value
    current = labels.flat[flat]
    better = rank[label] > rank[current]
    labels.flat[flat[better]] = label[better]


def _trace_lumen_axis(
    geometry: Geometry, vessel: Vessel, offset: NDArray[np.float64], radius: NDArray[np.float64],
    lesion: NDArray[np.int64], labels: NDArray[np.uint8],
) -> None:
    """Label LUMEN the voxel holding each lumen-axis sample inside a lesion where the lumen is
    patent, so a lumen thinner than a voxel stays connected in the label map."""
    patent = (lesion >= 0) & (radius > 0)
    index = np.rint(geometry.world_to_index(vessel.points[patent] + offset[patent])).astype(int)
    index = index[np.all((index >= 0) & (index < np.array(geometry.shape)), axis=1)]
    labels[index[:, 0], index[:, 1], index[:, 2]] = LUMEN


def _psf_sigma_voxels(geometry: Geometry, sigma_mm: float) -> NDArray[np.float64]:
    """The PSF sigma in voxels along array axes ``[z, y, x]``."""
    return sigma_mm / geometry.spacing[::-1]


def _blurred_noise_gain(geometry: Geometry, sigma_mm: float) -> float:
    """Standard deviation of unit white noise after the PSF blur: the product over axes of
    the L2 norm of the discrete Gaussian kernel scipy applies."""
    gain = 1.0
    for sigma in _psf_sigma_voxels(geometry, sigma_mm):
        half = int(_PSF_TRUNCATE * sigma + 0.5)
        kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        gain *= float(np.linalg.norm(kernel / kernel.sum()))
    return gain
