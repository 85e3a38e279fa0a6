"""Stenoses of a phantom vessel: grades, diameter reductions, placement along the vessel, and
the wall profile (lumen, plaque, calcium) they make at every dense sample of the vessel.

Positions along a vessel are arc lengths in mm from its proximal end. A lesion's *support*
``[start_mm, end_mm]`` is where the wall differs from a healthy vessel; inside it a severity
profile ``w`` rises with a raised-cosine shoulder from 0 to 1, stays at 1 over the core and
falls back to 0. The lumen radius is ``R (1 - reduction * w)``, ``R`` the healthy radius.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stages.grades import GRADES

GRADE_RANGES: dict[int, tuple[float, float]] = {
    1: (0.01, 0.24), 2: (0.25, 0.49), 3: (0.50, 0.69), 4: (0.70, 0.99), 5: (1.0, 1.0),
}
"""CAD-RADS 2.0 diameter-reduction range of each grade, as fractions (inclusive)."""

DRAW_RANGES: dict[int, tuple[float, float]] = {
    1: (0.05, 0.19), 2: (0.28, 0.44), 3: (0.53, 0.63), 4: (0.78, 0.90), 5: (1.0, 1.0),
}
"""Diameter reductions actually drawn per grade, inside GRADE_RANGES with margins of 3-9
points. Measured on the 0.35-0.5 mm label map, a lesion of grade 1-3 reads on average 1-2
points more severe (a minimum over cross-sections that voxelisation makes noisy), so its
lower margin is the smaller; grade 4 reads up to ~8 points less severe (its thinnest lumen
still fills a whole voxel), so its lower margin is 8 points and it stops at 90 %, where a
patent lumen can never read as an occlusion."""

LESIONS_PER_VESSEL = (0.2, 0.4, 0.3, 0.1)
"""Probability of 0, 1, 2 or 3 stenoses drawn for a vessel (fewer when they do not fit)."""

HEALTHY_GAP_MM = 6.0
"""Least healthy vessel between two lesion supports, and between a support and a vessel end."""

LESION_LENGTH_MM = (7.0, 14.0)
"""Range of a lesion's support length; drawn independently of the grade, so dropping lesions
that do not fit leaves the grade proportions unbiased."""

MIN_LESION_RADIUS_MM = 1.35
"""Lesions sit only where the healthy radius is at least this (proximal and mid segments, as
most graded stenoses do): a patent lumen is at least one voxel wide in the label map, which
reads as ~0.2-0.45 mm^2: its equivalent diameter must stay under 30 % of the reference one for
grade 4."""

PLAQUE_KINDS = ("soft", "mixed", "calcified")


@dataclass(frozen=True)
class Lesion:
    """One stenosis on a vessel.

    ``grade`` 1..5; ``reduction`` diameter reduction at the core, a fraction (1.0: occluded);
    ``start_mm <= core_start_mm <= core_end_mm <= end_mm`` arc lengths along the vessel;
    ``eccentricity`` 0 (concentric) .. 1 (lumen pushed against the wall); ``angle`` rad, the
    direction the lumen is pushed towards, about the tangent, from the heart's outward normal;
    ``outward_mm`` plaque thickness bulging outside the healthy wall at the core (positive
    remodelling); ``plaque`` one of PLAQUE_KINDS; ``calcium_half_angle`` rad, half the angle
    of the calcified sector, centred opposite the lumen shift (0: no calcium); ``soft_hu`` and
    ``calcium_hu`` the plaque attenuations in HU.
    """

    grade: int
    reduction: float
    start_mm: float
    core_start_mm: float
    core_end_mm: float
    end_mm: float
    eccentricity: float
    angle: float
    outward_mm: float
    plaque: str
    calcium_half_angle: float
    soft_hu: float
    calcium_hu: float

    @property
    def length_mm(self) -> float:
        """Length of the support in mm."""
        return self.end_mm - self.start_mm

    def severity(self, arclength: NDArray[np.float64]) -> NDArray[np.float64]:
        """Severity profile ``w`` in [0, 1] at arc lengths ``[N]`` mm (0 outside the support)."""
        s = np.asarray(arclength, dtype=np.float64)
        rise = _shoulder((s - self.start_mm) / (self.core_start_mm - self.start_mm))
        fall = _shoulder((self.end_mm - s) / (self.end_mm - self.core_end_mm))
        return np.minimum(rise, fall)


def _shoulder(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Raised cosine from 0 at ``t <= 0`` to 1 at ``t >= 1``."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))


def grade_probabilities(grade_mix: Sequence[float]) -> NDArray[np.float64]:
    """``[5]`` probabilities of grades 1..5 from relative frequencies; ValueError naming
    ``grade_mix`` unless they are 5 finite non-negative numbers with a positive sum."""
    try:
        mix = np.asarray(grade_mix, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"grade_mix must be 5 numbers, got {grade_mix!r}") from None
    if mix.shape != (5,):
        raise ValueError(f"grade_mix must be 5 numbers (grades 1..5), got {len(mix.ravel())}")
    if not np.all(np.isfinite(mix)) or np.any(mix < 0) or mix.sum() <= 0:
        raise ValueError(f"grade_mix must be non-negative with a positive sum, got {mix.tolist()}")
    return mix / mix.sum()


def draw_lesions(
    rng: np.random.Generator,
    allowed: Sequence[tuple[float, float]],
    probabilities: NDArray[np.float64],
) -> list[Lesion]:
    """Draw 0-3 non-overlapping stenoses for one vessel, sorted along it.

    ``allowed``: intervals ``(a, b)`` of arc length (mm) that a lesion's whole support may
    occupy (healthy margins at vessel ends, branch points and thin segments already cut out).
    ``probabilities`` ``[5]`` of grades 1..5. Supports keep HEALTHY_GAP_MM apart; a lesion
    with no room left is dropped.
    """
    count = int(rng.choice(len(LESIONS_PER_VESSEL), p=LESIONS_PER_VESSEL))
    placed: list[Lesion] = []
    for _ in range(count):
        grade = int(rng.choice(GRADES, p=probabilities))
        length = rng.uniform(*LESION_LENGTH_MM)
        free = list(allowed)
        for other in placed:
            free = _subtract(free, other.start_mm - HEALTHY_GAP_MM, other.end_mm + HEALTHY_GAP_MM)
        starts = [(a, b - length) for a, b in free if b - length > a]
        if not starts:
            continue
        placed.append(_draw_lesion(rng, grade, _uniform_in(rng, starts), length))
    return sorted(placed, key=lambda lesion: lesion.start_mm)


def _subtract(intervals: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """``intervals`` minus the open interval ``(lo, hi)``."""
    out: list[tuple[float, float]] = []
    for a, b in intervals:
        if a < lo:
            out.append((a, min(b, lo)))
        if b > hi:
            out.append((max(a, hi), b))
    return out


def _uniform_in(rng: np.random.Generator, intervals: list[tuple[float, float]]) -> float:
    """A point drawn uniformly over the union of disjoint intervals."""
    widths = np.array([b - a for a, b in intervals])
    pick = rng.uniform(0.0, widths.sum())
    k = min(int(np.searchsorted(np.cumsum(widths), pick)), len(intervals) - 1)
    return intervals[k][0] + min(pick - widths[:k].sum(), widths[k])


def _draw_lesion(rng: np.random.Generator, grade: int, start: float, length: float) -> Lesion:
    """The shape, plaque and attenuation of one lesion of ``grade`` on ``[start, start+length]``."""
    if grade == 5:
        # An occlusion: short shoulders around a core of at least ~3 mm with no lumen.
        shoulders = rng.uniform(1.5, 2.0, size=2)
        plaque = str(rng.choice(("soft", "mixed"), p=(0.6, 0.4)))
    else:
        shoulders = rng.uniform(0.2, 0.35, size=2) * length
        plaque = str(rng.choice(PLAQUE_KINDS, p=(0.45, 0.3, 0.25)))
    eccentric = rng.random() < 0.6
    half_angle = {"soft": 0.0, "mixed": rng.uniform(0.5, 1.2), "calcified": rng.uniform(1.2, 2.6)}[plaque]
    return Lesion(
        grade=grade,
        reduction=float(rng.uniform(*DRAW_RANGES[grade])),
        start_mm=float(start),
        core_start_mm=float(start + shoulders[0]),
        core_end_mm=float(start + length - shoulders[1]),
        end_mm=float(start + length),
        eccentricity=float(rng.uniform(0.5, 1.0) if eccentric else rng.uniform(0.0, 0.15)),
        angle=float(rng.uniform(-np.pi, np.pi)),
        outward_mm=float(rng.uniform(0.8, 1.3) if plaque == "calcified" else rng.uniform(0.3, 1.0)),
        plaque=plaque,
        calcium_half_angle=float(half_angle),
        soft_hu=float(rng.uniform(25.0, 110.0)),
        calcium_hu=float(rng.uniform(700.0, 1200.0)),
    )


@dataclass(frozen=True)
class WallProfile:
    """The vessel wall at each of a vessel's ``N`` dense samples (world mm, LPS).

    ``lumen_radius`` ``[N]`` (0 where occluded); ``lumen_offset`` ``[N, 3]`` lumen centre
    minus centerline point; ``outer_radius`` ``[N]`` radius of the vessel including plaque,
    about the centerline point; ``calcium_axis`` ``[N, 3]`` unit centre direction of the
    calcified sector; ``calcium_cos`` ``[N]`` cosine of its half angle (above 1 where there is
    no calcium); ``soft_hu``, ``calcium_hu`` ``[N]``; ``lesion`` ``[N]`` index into the
    vessel's lesions, -1 on healthy samples.
    """

    lumen_radius: NDArray[np.float64]
    lumen_offset: NDArray[np.float64]
    outer_radius: NDArray[np.float64]
    calcium_axis: NDArray[np.float64]
    calcium_cos: NDArray[np.float64]
    soft_hu: NDArray[np.float64]
    calcium_hu: NDArray[np.float64]
    lesion: NDArray[np.int64]


CALCIUM_MIN_SEVERITY = 0.35
"""Calcium lies only where the severity profile is at least this (the lesion's thick part)."""


def wall_profile(
    arclength: NDArray[np.float64],
    radius: NDArray[np.float64],
    tangent: NDArray[np.float64],
    normal: NDArray[np.float64],
    lesions: Sequence[Lesion],
) -> WallProfile:
    """The wall of a vessel with ``lesions`` at its dense samples.

    ``arclength`` ``[N]`` mm, ``radius`` ``[N]`` healthy lumen radius mm, ``tangent`` and
    ``normal`` ``[N, 3]`` orthonormal unit vectors (``normal`` points away from the heart).
    """
    n = len(arclength)
    lumen = radius.copy()
    offset = np.zeros((n, 3))
    outer = radius.copy()
    calcium_axis = np.zeros((n, 3))
    calcium_cos = np.full(n, 2.0)
    soft_hu = np.zeros(n)
    calcium_hu = np.zeros(n)
    which = np.full(n, -1, dtype=np.int64)
    binormal = np.cross(tangent, normal)
    for k, lesion in enumerate(lesions):
        inside = (arclength > lesion.start_mm) & (arclength < lesion.end_mm)
        w = lesion.severity(arclength[inside])
        r = radius[inside]
        lumen[inside] = r * (1.0 - lesion.reduction * w)
        shift = np.cos(lesion.angle) * normal[inside] + np.sin(lesion.angle) * binormal[inside]
        offset[inside] = (lesion.eccentricity * (r - lumen[inside]))[:, None] * shift
        outer[inside] = r + lesion.outward_mm * w
        calcium_axis[inside] = -shift
        if lesion.calcium_half_angle > 0:
            calcium_cos[inside] = np.where(w >= CALCIUM_MIN_SEVERITY, np.cos(lesion.calcium_half_angle), 2.0)
        soft_hu[inside] = lesion.soft_hu
        calcium_hu[inside] = lesion.calcium_hu
        which[inside] = k
    return WallProfile(lumen, offset, outer, calcium_axis, calcium_cos, soft_hu, calcium_hu, which)
