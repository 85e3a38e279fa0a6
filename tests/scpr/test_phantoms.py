"""The SCPR of synthetic tubes with a known centerline and radius: the lumen stays centred in
every slice, the measured radius follows the known profile and the stenosis appears at its arc
length, on images with a non-identity direction, a non-zero origin and anisotropic spacing, for
both frame rules; and on the real coronary centerline shapes of ../shared/realdata."""

from __future__ import annotations


import h5py
import numpy as np
import pytest

from stages.io.volumes import write_volume
from stages.scpr import FRAMES, ScprParams, compute_frames, extract_case, resample_centerline, sample_planes
from tests.fixtures import DIRECTION
from tests.scpr.phantoms import (
    REALDATA, arclength, centroid_offsets, geometry_around, measured_radius, read_vtk_lines, tube_image,
)

SPACING = np.array([0.35, 0.45, 0.6])
ORIGIN = np.array([-12.5, 40.0, 101.25])
PARAMS = dict(size=32, pixel=0.4, step=0.5)
RADIUS, STENOSIS_AT, NARROWING = 1.5, 20.0, 0.5  # mm, mm of arc length, fraction of the radius lost
EDGE = 0.5  # mm of partial volume at the lumen wall
HALF_PIXEL = PARAMS["pixel"] / 2


def _radius(s: np.ndarray) -> np.ndarray:
    """Known lumen radius (mm) at arc length ``s`` from the first input point."""
    return RADIUS * (1 - NARROWING * np.exp(-(((s - STENOSIS_AT) / 2.0) ** 2)))


@pytest.fixture(scope="module")
def tube(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A curved 40 mm tube with a stenosis in a rotated, flipped, anisotropic grid; centerline
    points every 0.6-1.2 mm along it with 0.1 mm RMS jitter, written as NIfTI + CSV."""
    folder = tmp_path_factory.mktemp("tube")
    t = np.linspace(-0.1, 1.1, 6000)  # the tube runs 4 mm beyond the centerline's ends
    local = np.stack([40 * t, 6 * np.sin(2 * np.pi * 0.8 * t), 4 * np.cos(2 * np.pi * 0.6 * t)], axis=1)
    geometry, world = geometry_around(local, SPACING, DIRECTION, ORIGIN, margin_mm=6.0)
    s = arclength(world) - arclength(world)[t.searchsorted(0.0)]
    write_volume(tube_image(geometry, world, _radius(s), EDGE), folder / "image.nii.gz")
    rng = np.random.default_rng(5)
    at = np.cumsum(np.r_[0.0, rng.uniform(0.6, 1.2, size=60)])
    at = at[at < s[t.searchsorted(1.0)]]
    points = np.stack([np.interp(at, s, world[:, k]) for k in range(3)], axis=1)
    points += rng.normal(0.0, 0.1 / np.sqrt(3), size=points.shape)
    rows = ["vessel_id,point_id,x,y,z"] + [f"LAD,{i},{p[0]:.5f},{p[1]:.5f},{p[2]:.5f}" for i, p in enumerate(points)]
    (folder / "centerlines.csv").write_text("\n".join(rows) + "\n")
    return {"folder": folder}


def _extract(tube: dict, frame: str) -> dict[str, np.ndarray]:
    folder = tube["folder"]
    out = folder / f"{frame}.h5"
    extract_case(folder / "image.nii.gz", folder / "centerlines.csv", out, ScprParams(frame=frame, **PARAMS))
    with h5py.File(out, "r") as h5:
        return {name: h5["LAD"][name][()] for name in ("scpr", "arclength")}


@pytest.mark.parametrize("frame", FRAMES)
def test_tube_stays_centred_follows_its_radius_and_shows_the_stenosis(tube: dict, frame: str) -> None:
    result = _extract(tube, frame)
    scpr, s = result["scpr"], result["arclength"]
    assert centroid_offsets(scpr, PARAMS["pixel"], within_mm=RADIUS + 1.0).max() < HALF_PIXEL
    radius = measured_radius(scpr, PARAMS["pixel"])
    assert np.abs(radius - _radius(s)).max() < 0.1
    assert abs(s[np.argmin(radius)] - STENOSIS_AT) <= PARAMS["step"]


@pytest.fixture(scope="module")
def real_tubes() -> list[tuple[str, object, np.ndarray]]:
    """Each real centreline, smoothed into a plausible true course and voxelised as a 1.25 mm
    tube in a rotated, flipped grid: (name, image, points every 1 mm of the course)."""
    if not REALDATA.is_dir():
        pytest.skip(f"real centerlines not found in {REALDATA}")
    tubes = []
    for path in sorted(REALDATA.glob("*.vtk")):
        for k, raw in enumerate(read_vtk_lines(path)):
            course = resample_centerline(np.arange(len(raw)), raw, step=0.05, smooth=1.5).points
            geometry, world = geometry_around(course, np.array([0.4, 0.4, 0.5]), DIRECTION, ORIGIN, margin_mm=5.0)
            tubes.append((f"{path.stem}[{k}]", tube_image(geometry, world, np.full(len(world), 1.25), EDGE), world[::20]))
    return tubes


@pytest.mark.parametrize("frame", FRAMES)
def test_lumen_stays_centred_along_real_coronary_shapes(real_tubes: list, frame: str) -> None:
    params = ScprParams(frame=frame, **PARAMS)
    worst = {}
    for name, image, given in real_tubes:
        curve = resample_centerline(np.arange(len(given)), given, step=params.step, smooth=params.smooth)
        frames = compute_frames(curve.points, curve.tangents, frame)
        scpr = sample_planes(image, curve.points, frames.normal, frames.binormal, params.size, params.pixel)
        worst[name] = centroid_offsets(scpr, params.pixel, within_mm=2.25).max()
    assert max(worst.values()) < HALF_PIXEL, worst
