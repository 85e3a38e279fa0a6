"""Measure a written phantom cohort from its files alone: lumen cross-sections perpendicular to
the written centerline, diameter reductions of the instances, HU at centerline points.

Independent of the generator: world points map to voxel indices with this module's own
inverse of origin + direction @ (spacing * index), checked against SimpleITK in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from numpy.typing import NDArray
from scipy.ndimage import label, map_coordinates

PIXEL_MM = 0.1  # cross-section sampling pitch
STEP_MM = 0.25  # cross-sections along the vessel
SMOOTH_MM = 1.0  # running-mean window of the area profile
TANGENT_SPAN_MM = 1.5  # tangent from the points this far before and after (smooths the jitter)
REFERENCE_MM = (0.5, 2.5)  # reference window beyond each end of a bracket


def world_to_index_zyx(image: sitk.Image, points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Continuous numpy indices ``[..., 3]`` (z, y, x) of world points ``[..., 3]`` (x, y, z)."""
    origin = np.array(image.GetOrigin())
    matrix = np.array(image.GetDirection()).reshape(3, 3) * np.array(image.GetSpacing())[None, :]
    return (np.linalg.solve(matrix, (np.asarray(points) - origin).T).T)[..., ::-1]


@dataclass
class VesselLine:
    """A written centerline: ``points`` ``[n, 3]`` world mm, ``arclength`` ``[n]`` mm (chord
    sums), ``radius`` ``[n]`` mm, ``tangent`` ``[n, 3]`` unit."""

    points: NDArray[np.float64]
    arclength: NDArray[np.float64]
    radius: NDArray[np.float64]
    tangent: NDArray[np.float64]


def read_centerlines(path: Path) -> dict[str, VesselLine]:
    """The vessels of a written ``centerlines.csv`` with smoothed tangents."""
    table = pd.read_csv(path)
    lines = {}
    for vessel, rows in table.groupby("vessel_id", sort=False):
        rows = rows.sort_values("point_id")
        assert list(rows.point_id) == list(range(len(rows))), f"{path}: {vessel} point_ids not 0..n-1"
        p = rows[["x", "y", "z"]].to_numpy(float)
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
        ids = np.arange(len(s))
        before = np.clip(np.minimum(np.searchsorted(s, s - TANGENT_SPAN_MM), ids - 1), 0, len(s) - 1)
        after = np.clip(np.maximum(np.searchsorted(s, s + TANGENT_SPAN_MM), ids + 1), 0, len(s) - 1)
        t = p[after] - p[before]
        lines[str(vessel)] = VesselLine(p, s, rows.radius.to_numpy(float), t / np.linalg.norm(t, axis=1, keepdims=True))
    return lines


def lumen_areas(image: sitk.Image, lumen: NDArray[np.float32], line: VesselLine, at_mm: NDArray[np.float64]) -> NDArray[np.float64]:
    """Lumen area (mm^2) in the plane perpendicular to the centerline at each arc length
    ``at_mm`` (points and tangents interpolated linearly between the written points): the
    label map's lumen indicator ``lumen`` ``[z, y, x]`` interpolated (trilinear) on a PIXEL_MM
    grid over a disc of 1.2 radius + 0.6 mm, summed over the connected lumen patch nearest the
    centre (so a side branch in the plane is not counted)."""
    areas = []
    for s in np.atleast_1d(at_mm):
        centre = np.array([np.interp(s, line.arclength, line.points[:, c]) for c in range(3)])
        t = np.array([np.interp(s, line.arclength, line.tangent[:, c]) for c in range(3)])
        t /= np.linalg.norm(t)
        u = np.cross(t, [1.0, 0.0, 0.0] if abs(t[0]) < 0.9 else [0.0, 1.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(t, u)
        half = int(np.ceil((1.2 * np.interp(s, line.arclength, line.radius) + 0.6) / PIXEL_MM))
        a, b = np.meshgrid(np.arange(-half, half + 1) * PIXEL_MM, np.arange(-half, half + 1) * PIXEL_MM, indexing="ij")
        disc = a**2 + b**2 <= (half * PIXEL_MM) ** 2
        world = centre + a[..., None] * u + b[..., None] * v
        values = map_coordinates(lumen, world_to_index_zyx(image, world.reshape(-1, 3)).T, order=1, cval=0.0)
        values = values.reshape(a.shape) * disc
        patches, n = label(values > 0)
        if n == 0:
            areas.append(0.0)
            continue
        centre_distance = np.hypot(a, b)
        nearest = min(range(1, n + 1), key=lambda k: centre_distance[patches == k].min())
        areas.append(float(values[patches == nearest].sum() * PIXEL_MM**2))
    return np.array(areas)


@dataclass
class Measured:
    """One instance measured: ``reduction`` 1 - sqrt(A_min / A_ref) from the smoothed area
    profile; ``min_area`` the smallest raw cross-section (mm^2), 0 where the lumen is
    interrupted; ``ref_area`` mm^2."""

    instance_id: str
    grade: int
    reduction: float
    min_area: float
    ref_area: float


def measure_instances(cohort: Path) -> list[Measured]:
    """Measure every instance of a written cohort from ``lumen.nii.gz`` and ``centerlines.csv``.

    The lumen area is sampled every STEP_MM of arc length from point ``start`` to point
    ``end`` and smoothed by a running mean over SMOOTH_MM (voxelisation makes the area of a
    lumen a few voxels across jump from plane to plane; the minimum of raw planes would read
    too severe). Its minimum is compared with the reference area interpolated linearly in arc
    length, to the minimum's position, between the median areas of the REFERENCE_MM windows
    beyond each end of the bracket.
    """
    instances = pd.read_csv(cohort / "instances.csv")
    manifest = pd.read_csv(cohort / "cases.csv").set_index("case_id")
    kernel = np.ones(int(round(SMOOTH_MM / STEP_MM)) + 1)
    out = []
    for case, rows in instances.groupby("case_id"):
        lumen_path = cohort / Path(manifest.loc[case, "image"]).parent / "lumen.nii.gz"
        image = sitk.ReadImage(str(lumen_path))
        lumen = (sitk.GetArrayFromImage(image) == 1).astype(np.float32)
        lines = read_centerlines(cohort / manifest.loc[case, "centerlines"])
        for row in rows.itertuples():
            line = lines[row.vessel_id]
            first, last = line.arclength[row.start], line.arclength[row.end]
            at = np.arange(first, last + 1e-9, STEP_MM)
            raw = lumen_areas(image, lumen, line, at)
            smooth = np.convolve(raw, kernel, mode="same") / np.convolve(np.ones_like(raw), kernel, mode="same")
            k = int(np.argmin(smooth))
            refs = []
            for edge, sign in ((first, -1), (last, 1)):
                lo, hi = sorted(edge + sign * np.array(REFERENCE_MM))
                window = np.arange(lo, hi + 1e-9, STEP_MM)
                window = window[(window >= 0) & (window <= line.arclength[-1])]
                if len(window):
                    refs.append((float(window.mean()), float(np.median(lumen_areas(image, lumen, line, window)))))
            assert refs, f"{row.instance_id}: no reference window"
            ref = float(np.interp(at[k], [r[0] for r in refs], [r[1] for r in refs]))
            out.append(Measured(row.instance_id, int(row.grade), 1.0 - np.sqrt(smooth[k] / ref), float(raw.min()), ref))
    return out
