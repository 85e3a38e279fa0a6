"""What a centerline extractor and an annotator would hand over for a phantom vessel: unevenly
spaced, slightly jittered centerline points, and stenosis instances as point-id brackets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stages.synth.lesions import Lesion
from stages.synth.vessels import Vessel

STEP_MM = (0.3, 1.2)
"""Range of the arc-length step between consecutive centerline points."""

SLACK_MM = (0.5, 2.0)
"""Range of the healthy margin an annotator leaves each side of a lesion."""


@dataclass(frozen=True)
class Centerline:
    """A vessel's centerline as written: ``arclength`` ``[n]`` mm along the true curve of each
    point, ``points`` ``[n, 3]`` world mm (jittered), ``radius`` ``[n]`` healthy lumen radius
    mm; ``point_id`` is the row index."""

    arclength: NDArray[np.float64]
    points: NDArray[np.float64]
    radius: NDArray[np.float64]


def sample_centerline(rng: np.random.Generator, vessel: Vessel, jitter_mm: float) -> Centerline:
    """Points along ``vessel`` from its start to its end at random steps in STEP_MM (scaled by
    at most ~2 % so the last point falls on the end), each moved by isotropic Gaussian jitter
    of RMS length ``jitter_mm``."""
    steps = np.cumsum(rng.uniform(*STEP_MM, size=int(vessel.length_mm / STEP_MM[0]) + 2))
    last = int(np.searchsorted(steps, vessel.length_mm))
    s = np.concatenate([[0.0], steps[:last + 1] * (vessel.length_mm / steps[last])])
    points = np.stack([np.interp(s, vessel.arclength, vessel.points[:, c]) for c in range(3)], axis=1)
    points += rng.normal(0.0, jitter_mm / np.sqrt(3.0), points.shape)
    return Centerline(s, points, np.interp(s, vessel.arclength, vessel.radius))


def bracket(rng: np.random.Generator, lesion: Lesion, centerline: Centerline) -> tuple[int, int]:
    """Inclusive ``(start, end)`` point ids around ``lesion``: the points nearest a random
    SLACK_MM margin outside its support, never closer to it than the margin's lower bound."""
    s = centerline.arclength
    before = np.flatnonzero(s <= lesion.start_mm - SLACK_MM[0])
    after = np.flatnonzero(s >= lesion.end_mm + SLACK_MM[0])
    want_start, want_end = lesion.start_mm - rng.uniform(*SLACK_MM), lesion.end_mm + rng.uniform(*SLACK_MM)
    start = before[np.argmin(np.abs(s[before] - want_start))]
    end = after[np.argmin(np.abs(s[after] - want_end))]
    return int(start), int(end)
