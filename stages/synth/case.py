"""One phantom case: draw its anatomy, lesions and scanner grid, rasterise, and write its files
(``image.nii.gz``, ``lumen.nii.gz``, ``centerlines.csv``) into ``<out_dir>/<case_id>/``.

Everything a case draws comes from its own generator ``np.random.default_rng([seed, index])``,
so a case's files do not depend on how many cases there are or how many processes make them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from stages.io.artifacts import atomic_output
from stages.io.geometry import Geometry
from stages.io.volumes import write_volume
from stages.synth.annotate import bracket, sample_centerline
from stages.synth.heart import draw_heart
from stages.synth.lesions import draw_lesions
from stages.synth.phantom import draw_tissue, rasterise
from stages.synth.vessels import Vessel, draw_vessels, lesion_room

CROP_MARGIN_MM = 8.0
"""Margin around the vessels' bounding box kept in the cropped volume."""

SLICE_MM = 0.5
PIXEL_MM = (0.35, 0.5)

GEOMETRY_KINDS = ("oblique", "plain", "shifted")
"""Case ``i`` gets kind ``GEOMETRY_KINDS[i % 3]``: ``plain`` identity direction and zero
origin; ``shifted`` identity direction, scanner-like non-zero origin; ``oblique`` a rotated
(sometimes also flipped) direction and a non-zero origin. Every cohort of three or more cases
holds all three."""

INSTANCE_COLUMNS = ("instance_id", "case_id", "vessel_id", "start", "end", "grade")
LESION_COLUMNS = ("instance_id", "grade", "reduction", "length_mm", "plaque", "eccentricity", "calcium_hu")
_CASE_FILES = ("image.nii.gz", "lumen.nii.gz", "centerlines.csv")


@dataclass(frozen=True)
class CaseRecord:
    """What a written case holds, for the cohort tables and summary. ``image`` and
    ``centerlines`` paths relative to the cohort folder; ``instances`` rows in
    INSTANCE_COLUMNS order and ``lesions`` rows in LESION_COLUMNS order; ``spacing`` mm in ITK
    order ``(x, y, z)``; ``kind`` one of GEOMETRY_KINDS; ``bytes`` on disk of the case's files."""

    case_id: str
    image: str
    centerlines: str
    vessels: tuple[str, ...]
    instances: tuple[tuple[object, ...], ...]
    lesions: tuple[tuple[object, ...], ...]
    spacing: tuple[float, float, float]
    kind: str
    bytes: int


def case_id(index: int) -> str:
    """The id of case ``index``: ``case000``, ``case001``, ..."""
    return f"case{index:03d}"


def generate_case(
    out_dir: Path, index: int, seed: int, probabilities: NDArray[np.float64], *, noise: bool = True,
) -> CaseRecord:
    """Draw and write case ``index`` of the cohort with ``seed``; ``probabilities`` ``[5]`` of
    grades 1..5. ``noise=False`` leaves the image noise out."""
    rng = np.random.default_rng([seed, index])
    name = case_id(index)
    heart = draw_heart(rng)
    vessels = draw_vessels(rng, heart, tortuosity=rng.uniform(0.5, 1.5))
    vessels = [
        _with_lesions(rng, v, [b for b in vessels if b.parent == v.name], probabilities) for v in vessels
    ]
    tissue = draw_tissue(rng)
    kind = GEOMETRY_KINDS[index % len(GEOMETRY_KINDS)]
    grid = _crop_grid(rng, kind, vessels)
    noise_rng = np.random.default_rng(int(rng.integers(2**63)))
    image, labels = rasterise(grid, heart, vessels, tissue, noise_rng if noise else None)
    # The anatomy is drawn about the world origin; the written case sits where its kind says.
    shift = _placement(rng, kind, grid)
    written = Geometry(grid.origin + shift, grid.spacing, grid.direction, grid.size)

    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    write_volume(_image(image, written), folder / "image.nii.gz")
    write_volume(_image(labels, written), folder / "lumen.nii.gz")
    instances, lesions = _write_centerlines(rng, folder / "centerlines.csv", name, vessels, shift)
    return CaseRecord(
        case_id=name,
        image=f"{name}/image.nii.gz",
        centerlines=f"{name}/centerlines.csv",
        vessels=tuple(v.name for v in vessels),
        instances=instances,
        lesions=lesions,
        spacing=tuple(float(s) for s in grid.spacing),
        kind=kind,
        bytes=sum(f.stat().st_size for f in folder.iterdir() if f.name in _CASE_FILES),
    )


def _write_centerlines(
    rng: np.random.Generator, path: Path, name: str, vessels: list[Vessel], shift: NDArray[np.float64],
) -> tuple[tuple[tuple[object, ...], ...], tuple[tuple[object, ...], ...]]:
    """Write the vessels' centerlines as an extractor would leave them (world mm, moved by
    ``shift``) and return the instance rows (INSTANCE_COLUMNS) and lesion rows
    (LESION_COLUMNS) bracketing their lesions on those points."""
    jitter = rng.uniform(0.1, 0.2)
    instances: list[tuple[object, ...]] = []
    lesions: list[tuple[object, ...]] = []
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(("vessel_id", "point_id", "x", "y", "z", "radius"))
        for vessel in vessels:
            line = sample_centerline(rng, vessel, jitter)
            for pid, (p, r) in enumerate(zip(line.points + shift, line.radius)):
                out.writerow((vessel.name, pid, f"{p[0]:.4f}", f"{p[1]:.4f}", f"{p[2]:.4f}", f"{r:.4f}"))
            for k, lesion in enumerate(vessel.lesions):
                instance = f"{name}_{vessel.name}_{k}"
                start, end = bracket(rng, lesion, line)
                instances.append((instance, name, vessel.name, start, end, lesion.grade))
                lesions.append((instance, lesion.grade, f"{lesion.reduction:.4f}", f"{lesion.length_mm:.2f}",
                                lesion.plaque, f"{lesion.eccentricity:.3f}",
                                f"{lesion.calcium_hu:.0f}" if lesion.calcium_half_angle > 0 else ""))
    return tuple(instances), tuple(lesions)


def _with_lesions(
    rng: np.random.Generator, vessel: Vessel, branches: list[Vessel], probabilities: NDArray[np.float64],
) -> Vessel:
    """``vessel`` with lesions drawn where there is room for them."""
    return replace(vessel, lesions=tuple(draw_lesions(rng, lesion_room(vessel, branches), probabilities)))


def _crop_grid(rng: np.random.Generator, kind: str, vessels: list[Vessel]) -> Geometry:
    """A grid of clinical spacing and ``kind``'s direction covering the vessels' bounding box
    (in the grid's own axes) plus CROP_MARGIN_MM, in the anatomy's world frame."""
    pixel = round(float(rng.uniform(*PIXEL_MM)), 3)
    spacing = np.array([pixel, pixel, SLICE_MM])
    direction = _direction(rng) if kind == "oblique" else np.eye(3)
    probe = Geometry(np.zeros(3), spacing, direction, (1, 1, 1))
    index = probe.world_to_index(np.concatenate([v.points for v in vessels]))
    margin = CROP_MARGIN_MM / spacing[::-1]
    lo = np.floor(index.min(axis=0) - margin)
    hi = np.ceil(index.max(axis=0) + margin)
    size = tuple(int(n) for n in (hi - lo + 1)[::-1])
    return Geometry(probe.index_to_world(lo), spacing, direction, size)


def _direction(rng: np.random.Generator) -> NDArray[np.float64]:
    """A rotation by 15-40 degrees about a random axis, in half the cases combined with a
    flip of one or two axes."""
    axis = rng.normal(size=3)
    rotation = Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.radians(rng.uniform(15.0, 40.0))).as_matrix()
    flips = (np.diag([1.0, 1.0, 1.0]), np.diag([-1.0, -1.0, 1.0]), np.diag([1.0, 1.0, -1.0]), np.diag([1.0, -1.0, 1.0]))
    flip = flips[int(rng.integers(len(flips))) if rng.random() < 0.5 else 0]
    return rotation @ flip


def _placement(rng: np.random.Generator, kind: str, grid: Geometry) -> NDArray[np.float64]:
    """World shift (mm) applied to the written case: brings the origin to zero for ``plain``,
    to a scanner-table position otherwise."""
    if kind == "plain":
        return -grid.origin
    return rng.uniform([-60.0, -240.0, -260.0], [60.0, -120.0, -110.0]) - grid.origin


def _image(array: NDArray, geometry: Geometry) -> sitk.Image:
    """A SimpleITK image of ``array`` ``[z, y, x]`` with ``geometry``."""
    image = sitk.GetImageFromArray(array)
    geometry.apply_to(image)
    return image
